"""`ctfp demo` and `ctfp run SPEC.toml`: the whole study, end to end, into one run folder."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

QUICK = {"bayes": {"draws": 300, "tune": 300, "chains": 2}, "replicas": {"permutations": 200}}


def register(sub: argparse._SubParsersAction) -> None:
    demo = sub.add_parser("demo", help="run the paper's study on the embedded SYNTHETIC panel and write a report",
                          description="Run the whole pipeline of the paper's specification on the embedded "
                                      "synthetic paper-world panel (clearly labelled SYNTHETIC).")
    demo.add_argument("--out", default="runs/demo", help="run folder (default: runs/demo)")
    _common(demo)
    demo.set_defaults(func=_demo)

    run = sub.add_parser("run", help="run an analysis specification (TOML) on a panel",
                         description="Run an analysis specification: read, validate, derive, CTFP, replicas, "
                                     "Bayesian fits, validation and report. Finished steps are reused.")
    run.add_argument("spec", help="analysis specification (.toml); see ctfp/inference/specs/paper.toml")
    run.add_argument("--out", help="run folder (default: runs/<spec name>)")
    run.add_argument("--panel", help="panel file; overrides [data] panel of the spec")
    _common(run)
    run.set_defaults(func=_run)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quick", action="store_true",
                   help="fewer draws (2 chains x 300) and permutations (200): a fast look, not for a paper")
    p.add_argument("--no-bayes", action="store_true", help="skip the Bayesian fits")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    over: dict[str, Any] = {}
    if args.quick:
        over = {k: dict(v) for k, v in QUICK.items()}
    if args.no_bayes:
        over.setdefault("bayes", {})["run"] = False
    return over


def _execute(spec_path: str | None, out: str, args: argparse.Namespace, extra: dict[str, Any] | None = None) -> int:
    from rich.console import Console

    from ctfp.inference.pipeline import Pipeline
    from ctfp.inference.spec import load_spec

    over = _overrides(args)
    if extra:
        for k, v in extra.items():
            over.setdefault(k, {}).update(v)
    spec = load_spec(spec_path, overrides=over)
    console = Console(stderr=True)
    # the pipeline's closing summary ends with the report's path
    Pipeline(spec, out, console=console, progress=not args.no_progress).run()
    return 0


def _demo(args: argparse.Namespace) -> int:
    return _execute(None, args.out, args)


def _run(args: argparse.Namespace) -> int:
    out = args.out or str(Path("runs") / Path(args.spec).stem)
    extra = {"data": {"panel": str(Path(args.panel).resolve())}} if args.panel else None
    return _execute(args.spec, out, args, extra)
