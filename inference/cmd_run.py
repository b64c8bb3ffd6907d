"""`ctfp demo` and `ctfp run STUDY.toml`: a whole study, end to end, into one run folder."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    demo = sub.add_parser("demo", help="run the paper's study on the embedded SYNTHETIC panel and write a report",
                          description="Run the shipped paper study (studies/shen_chao_2025/study.toml) on its "
                                      "preset's embedded synthetic panel (clearly labelled SYNTHETIC).")
    demo.add_argument("--out", default="runs/demo", help="run folder (default: runs/demo)")
    _common(demo)
    demo.set_defaults(func=_demo)

    run = sub.add_parser("run", help="run a study file (TOML) on its panel",
                         description="Run a study (docs/study.md): data, derive, groups, DEA measures, tables, "
                                     "Bayesian models, validation and report. Finished steps are reused.")
    run.add_argument("study", help="study file (.toml); docs/study.md documents every key")
    run.add_argument("--out", help="run folder (default: runs/<study file name>)")
    run.add_argument("--panel", help="panel file; replaces [data] panel of the study")
    _common(run)
    run.set_defaults(func=_run)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quick", action="store_true",
                   help="fewer draws (2 chains x 300) and permutations (200): a fast look, not for a paper")
    p.add_argument("--no-bayes", action="store_true", help="skip the Bayesian models")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--verbose", action="store_true",
                   help="show third-party warnings raw (default: RUNDIR/log.txt, each kind said once)")
    p.add_argument("--scheduler", default=None, metavar="WHERE",
                   help="where independent steps run: \"\" in-process, local:N (a local Dask cluster of N "
                        "processes) or tcp://HOST:PORT (an existing one); default: the study's [compute] scheduler")


def _execute(study_path: str | Path, out: str, args: argparse.Namespace, panel: str | None = None) -> int:
    from rich.console import Console

    from ctfp.core.runfolder import check_out_dir
    from ctfp.core.study_load import load_study, quick, with_panel, without_bayes
    from ctfp.inference.pipeline import Pipeline

    check_out_dir(out)  # before any work: --out must be new, empty or a run folder
    if args.scheduler is not None:  # a mistyped --scheduler is said before the study is read
        from ctfp.inference.compute import parse_scheduler

        parse_scheduler(args.scheduler)
    study = load_study(study_path)
    if panel:
        study = with_panel(study, panel)
    if args.quick:
        study = quick(study)
    if args.no_bayes:
        study = without_bayes(study)
    # the pipeline's closing summary ends with the report's path
    Pipeline(study, out, console=Console(stderr=True), progress=not args.no_progress, verbose=args.verbose,
             scheduler=args.scheduler).run()
    return 0


def _demo(args: argparse.Namespace) -> int:
    from ctfp.studies import study_path

    return _execute(study_path(), args.out, args)


def _run(args: argparse.Namespace) -> int:
    out = args.out or str(Path("runs") / Path(args.study).stem)
    return _execute(args.study, out, args, panel=args.panel)
