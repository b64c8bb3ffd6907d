"""`ctfp report RUNDIR`: (re)build the self-contained HTML report of a run folder, in English or Chinese."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="(re)build the HTML report of a run folder",
        description="Build RUNDIR/report.html (figures embedded; also RUNDIR/figures/*.png|svg|pdf and "
        "RUNDIR/tables/report_*.csv) from whatever the run folder holds; a piece the study asks for but the run "
        "lacks is named in the report with the command that produces it. Third-party warnings go to "
        "RUNDIR/log.txt, each kind said once (--verbose: raw).",
    )
    p.add_argument("rundir", metavar="RUNDIR", type=Path, help="run folder written by `ctfp demo`/`ctfp run`")
    p.add_argument("--lang", choices=("en", "zh"), default=None,
                   help="language of the report (default: the study's [report] language, else en)")
    p.add_argument("--out", metavar="FILE", type=Path, default=None,
                   help="where to write the page (default: RUNDIR/report.html in the study's language, "
                   "RUNDIR/report.<lang>.html in another)")
    p.add_argument("--quiet", action="store_true", help="print only the report's path, not the summary tables")
    p.add_argument("--verbose", action="store_true", help="show third-party warnings raw as they happen")
    p.set_defaults(func=_handle)


def _handle(args: argparse.Namespace) -> int:
    # Heavy imports (matplotlib, ArviZ, pandas) only when the command runs.
    from ctfp.core.errors import InputError
    from ctfp.inference.quiet import quiet
    from ctfp.reports.console import print_summary
    from ctfp.reports.html import build_report
    from ctfp.reports.runfolder import load_run

    if not args.rundir.is_dir():
        raise InputError(f"{args.rundir}: no such run folder; create one with `ctfp demo --out {args.rundir}`")
    with quiet(args.rundir, verbose=args.verbose) as q, q.step("report"):
        run = load_run(args.rundir)  # read once: the page and the terminal summary share its posteriors
        path = build_report(run, lang=args.lang, out=args.out)
    if args.quiet:
        print(path)
    else:
        print_summary(run, report=path)
    return 0
