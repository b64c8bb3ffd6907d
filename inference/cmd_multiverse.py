"""`ctfp multiverse STUDY --out DIR`: the specification curve over the study's [multiverse] choices."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "multiverse", help="specification curve: every combination of a DEA measure's choices, its estimates",
        description="Run every universe of the study's [multiverse] (one DEA measure's options crossed) and "
        "follow its estimands; writes multiverse/results.csv, multiverse/summary.json and "
        "figures/specification_curve.png under --out. Finished universes are reused on a rerun.")
    p.add_argument("study", help="study file (.toml) with a [multiverse] section")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (may be a run folder)")
    p.add_argument("--panel", help="panel file; replaces [data] panel of the study")
    p.add_argument("--scheduler", default="", metavar="WHERE",
                   help="\"\" in-process (default; else the study's [compute] scheduler), local:N or tcp://HOST:PORT")
    p.add_argument("--quick", action="store_true",
                   help="fewer draws (2 chains x 300) for the Bayesian estimands: a fast look, not for a paper")
    p.add_argument("--no-bayes", action="store_true", help="follow only the table estimands")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar on stderr (default: only when stderr is a terminal)")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from ctfp.core.errors import InputError
    from ctfp.core.study_load import load_study, quick, with_panel
    from ctfp.inference.compute import parse_scheduler
    from ctfp.inference.multiverse import run_multiverse

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: is a file; give a folder")
    parse_scheduler(args.scheduler)
    study = load_study(args.study)
    if args.panel:
        study = with_panel(study, args.panel)
    if args.quick:
        study = quick(study)
    if args.no_bayes and study.multiverse is not None:
        from dataclasses import replace

        kept = tuple(e for e in study.multiverse.estimands if "model" not in e)
        if not kept:
            raise InputError(f"{study.multiverse.where}: --no-bayes leaves no estimand: the [multiverse] follows "
                             "only Bayesian models")
        study = replace(study, multiverse=replace(study.multiverse, estimands=kept))
    from ctfp.inference.quiet import quiet

    out.mkdir(parents=True, exist_ok=True)
    # third-party warnings of the fits (LOO's Pareto k, ...) go to DIR/log.txt, each kind said once
    with quiet(out) as q, q.step("multiverse"):
        table = run_multiverse(study, out, scheduler=args.scheduler, progress=args.progress)
    s = table.attrs["summary"]
    print(f"ctfp multiverse: {s['universes']} universes ({s['computed']} computed, {s['reused']} reused, "
          f"{s['scheduler']}) -> {out / 'multiverse' / 'results.csv'}", file=sys.stderr)
    for e in s["estimands"]:
        parts = [f"{e['label']}: median {e.get('median_estimate', float('nan')):.4g}"]
        if "share_main_sign" in e:
            parts.append(f"main sign in {e['share_main_sign']:.0%}")
        if "share_published_sign" in e:
            parts.append(f"published sign in {e['share_published_sign']:.0%}")
        if "share_significant" in e:
            parts.append(f"p < 0.05 in {e['share_significant']:.0%}")
        print("  " + ", ".join(parts) + f" of {e['estimated']} universes", file=sys.stderr)
    if (out / "run.json").is_file():  # a run folder: its report gains the multiverse section
        from ctfp.reports import build_report

        print(f"ctfp multiverse: report {build_report(out)}", file=sys.stderr)
    return 0
