"""The `ctfp` command line.

Each subcommand lives in its own `cmd_*` module exposing `register(subparsers)`; a module sets
`func=<handler>` on its parser, and the handler returns an exit code. Heavy libraries (PyMC, ArviZ, pandas)
are imported inside handlers so `ctfp --help`, `ctfp data check` and `ctfp dea` start fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from ctfp.core.errors import CtfpError

# Order is the order of `ctfp --help`.
COMMAND_MODULES = (
    "ctfp.inference.cmd_run",  # demo, run
    "ctfp.inference.cmd_data",  # data synth, data check
    "ctfp.inference.cmd_dea",  # dea
    "ctfp.inference.cmd_multiverse",  # multiverse
    "ctfp.inference.cmd_simulate",  # simulate
    "ctfp.inference.cmd_panel",  # fe, iv, replicate
    "ctfp.inference.cmd_fit",  # fit
    "ctfp.inference.cmd_table",  # table
    "ctfp.inference.cmd_report",  # report
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ctfp",
        description="City carbon TFP: SBM-DEA, Stata-exact panel replicas, Bayesian hierarchical models, reports.",
    )
    parser.add_argument("--version", action=_VersionAction, help="show the installed ctfp version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        return int(func(args) or 0)
    except CtfpError as err:
        print(f"ctfp: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("ctfp: interrupted; finished steps are kept, rerun to resume", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `ctfp data check p.csv | head`: the reader left; not an error of ctfp's
        import os

        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the final flush must not fail again
        except (OSError, ValueError, AttributeError):
            pass
        return 141


class _VersionAction(argparse.Action):
    """`--version`, looked up only when asked: importlib.metadata costs about 30 ms of every start-up otherwise
    (argparse's own "version" action needs the string when the parser is built)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS,
                 default: str = argparse.SUPPRESS, help: str | None = None) -> None:  # noqa: A002 - argparse's name
        super().__init__(option_strings=option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object,
                 option_string: str | None = None) -> None:
        print(f"ctfp {_version()}")
        parser.exit()


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("ctfp")
    except PackageNotFoundError:
        return "unknown"


if __name__ == "__main__":
    sys.exit(main())
