"""`ctfp report RUNDIR`: (re)build the self-contained HTML report of a run folder."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="(re)build the HTML report of a run folder",
        description="Build RUNDIR/report.html (figures embedded; also RUNDIR/figures/*.png and RUNDIR/tables/*.csv) "
        "from whatever the run folder holds; missing pieces are named in the report with the command that "
        "produces them.",
    )
    p.add_argument("rundir", metavar="RUNDIR", type=Path, help="run folder written by `ctfp demo`/`ctfp run`")
    p.add_argument("--quiet", action="store_true", help="print only the report's path, not the summary tables")
    p.set_defaults(func=_handle)


def _handle(args: argparse.Namespace) -> int:
    # Heavy imports (matplotlib, ArviZ, pandas) only when the command runs.
    from ctfp.reports.console import print_summary
    from ctfp.reports.html import build_report

    path = build_report(args.rundir)
    if args.quiet:
        print(path)
    else:
        print_summary(args.rundir)
    return 0
