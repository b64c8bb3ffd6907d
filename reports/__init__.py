"""ctfp.reports: tables, ArviZ figures and the self-contained HTML report.

`build_report(run_dir) -> Path` writes RUNDIR/report.html (+ figures/*.png, tables/*.csv);
`print_summary(run_dir)` prints the run's key numbers as terminal tables. Both are loaded on first use so that
importing the package stays cheap.
"""

from __future__ import annotations

from typing import Any

__all__ = ["build_report", "print_summary"]


def __getattr__(name: str) -> Any:
    if name == "build_report":
        from ctfp.reports.html import build_report

        return build_report
    if name == "print_summary":
        from ctfp.reports.console import print_summary

        return print_summary
    raise AttributeError(f"module 'ctfp.reports' has no attribute {name!r}")
