"""`ctfp dea`: score DMUs with SBM / super-SBM / CCR / BCC / super-CCR / super-BCC and write one row per DMU,
or the global Malmquist-Luenberger index (`--model gml`) with one row per DMU and pair of periods.

Imports pandas and the DEA engine inside the handler only (no PyMC/ArviZ on this path).
"""

from __future__ import annotations

import argparse
import sys

from ctfp.core.errors import InputError

OUT_FORMATS = (".csv", ".parquet")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "dea",
        help="DEA efficiency scores: SBM with undesirable outputs, super-SBM, radial CCR/BCC",
        description="Score every row of DATA as a decision-making unit. Writes the id (and period) columns, "
        "efficiency (in (0,1]; output-oriented radial is 1/phi; super-sbm gives the two-stage score), "
        "slack_<column> and target_<column> per variable, peers, residual and status. See docs/dea.md.",
    )
    p.add_argument("data", metavar="DATA", help="panel file: .csv, .tsv, .xlsx, .dta or .parquet")
    p.add_argument("--inputs", required=True, metavar="A,B", help="input columns, comma separated")
    p.add_argument("--good", required=True, metavar="C,D", help="desirable output columns")
    p.add_argument("--bad", default="", metavar="E", help="undesirable output columns (optional)")
    p.add_argument("--id", dest="id_col", metavar="COL", help="DMU id column")
    p.add_argument("--period", dest="period_col", metavar="COL", help="period column (needed by non-global frontiers)")
    p.add_argument("--model", default="sbm",
                   help="sbm (default) | super-sbm | ccr | bcc | super-ccr | super-bcc (Andersen-Petersen radial "
                   "super-efficiency) | gml (global Malmquist-Luenberger index with EC x TC; needs --id and --period)")
    p.add_argument("--gml-form", default="ddf", choices=("ddf", "sbm"),
                   help="gml only: directional distance form as Stata gtfpch (default) or SBM form")
    p.add_argument("--orientation", default=None,
                   help="none | input | output (default: none for SBM models, input for ccr/bcc)")
    p.add_argument("--rts", default=None, help="crs | vrs (default: crs; ccr means crs, bcc means vrs)")
    p.add_argument("--frontier", default="global",
                   help="global (default) | contemporaneous | sequential | window:K (K odd, centred)")
    p.add_argument("--weights", default="1:1", metavar="GOOD:BAD",
                   help="good:bad output weight ratio, normalised so weights sum to s1+s2 (default 1:1)")
    p.add_argument("--translation", type=float, default=None, metavar="C",
                   help="ccr/bcc: constant c of the bad outputs' negative normalisation (max-b)/(max-min)+c "
                   "(default 0.01)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar on stderr (default: only when stderr is a terminal)")
    p.add_argument("--scheduler", default="", metavar="WHERE",
                   help="where the LPs run: \"\" in this process (default), local:N (a Dask cluster of N worker "
                   "processes on 127.0.0.1, started and closed here) or tcp://HOST:PORT (an existing Dask cluster)")
    p.add_argument("--chunk-size", type=int, default=None, metavar="K",
                   help="DMUs per task on a Dask scheduler (default: about 4 tasks per worker, at least 500)")
    p.add_argument("--out", required=True, metavar="FILE", help="output table: .csv or .parquet")
    p.set_defaults(func=_run)


def _names(text: str, flag: str) -> list[str]:
    names = [t.strip() for t in text.split(",") if t.strip()]
    if text.strip() and len(names) != len(text.split(",")):
        raise InputError(f"{flag} {text!r}: empty column name; write names separated by commas, e.g. A,B")
    return names


def _weights(text: str) -> tuple[float, float]:
    try:
        a, b = (float(v) for v in text.split(":"))
    except ValueError:
        raise InputError(f"--weights {text!r}: write GOOD:BAD with two positive numbers, e.g. 1:0.3") from None
    if not (a > 0 and b > 0):
        raise InputError(f"--weights {text!r}: both weights must be positive")
    return a, b


def _write(out, table) -> None:  # noqa: ANN001 - Path, DataFrame (pandas imported lazily)
    from ctfp.core.atomic import atomic_path, write_csv

    if out.suffix.lower() == ".csv":
        write_csv(out, table)
    else:
        with atomic_path(out) as tmp:
            table.to_parquet(tmp, index=False)


def _run_gml(args: argparse.Namespace, out, inputs: list[str], good: list[str], bad: list[str],  # noqa: ANN001
             weights: tuple[float, float]) -> int:
    """Global Malmquist-Luenberger (Oh 2010): one row per DMU and pair of consecutive periods."""
    if not args.id_col or not args.period_col:
        raise InputError("--model gml compares periods of the same DMU: give --id COL and --period COL")
    for flag, value, default in (("--orientation", args.orientation, None), ("--frontier", args.frontier, "global"),
                                 ("--scheduler", args.scheduler, ""), ("--chunk-size", args.chunk_size, None)):
        if value != default and not (flag == "--frontier" and str(value).strip().lower() == "global"):
            raise InputError(f"{flag} does not apply to --model gml (global frontier, non-oriented, in-process)")
    if args.gml_form == "ddf" and args.weights != "1:1":
        raise InputError("--weights applies to --gml-form sbm only (the DDF direction is (0, y, -b))")
    from ctfp.data.readers import read_panel
    from ctfp.models.dea.malmquist import run_malmquist

    rts = (args.rts or "crs").strip().lower()
    frame = read_panel(args.data)
    table = run_malmquist(frame, inputs, good, bad, id_col=args.id_col, period_col=args.period_col,
                          form=args.gml_form, rts=rts, weights=weights, source=str(args.data))
    _write(out, table)
    print(f"ctfp dea: global Malmquist-Luenberger ({args.gml_form}, {rts}), {table[args.id_col].nunique()} DMUs x "
          f"{table['from'].nunique()} period pairs, mean GML {table['gml'].mean():.4f}, EC {table['ec'].mean():.4f}, "
          f"TC {table['tc'].mean():.4f} -> {out}", file=sys.stderr)
    return 0


def _run(args: argparse.Namespace) -> int:
    from pathlib import Path

    out = Path(args.out)
    if out.suffix.lower() not in OUT_FORMATS:
        raise InputError(f"--out {args.out}: unknown output format {out.suffix!r}; use .csv or .parquet")
    from ctfp.core.atomic import check_output_path

    check_output_path(args.out, "file")  # before any scoring: a folder or a file on the way is one line
    inputs, good, bad = _names(args.inputs, "--inputs"), _names(args.good, "--good"), _names(args.bad, "--bad")
    weights = _weights(args.weights)
    model = args.model.strip().lower()
    if args.translation is not None and model not in ("ccr", "bcc", "super-ccr", "super-bcc"):
        raise InputError("--translation applies to the radial models (ccr, bcc, super-ccr, super-bcc) only")
    if model == "gml":
        return _run_gml(args, out, inputs, good, bad, weights)
    if args.gml_form != "ddf":
        raise InputError("--gml-form applies to --model gml only")

    if args.chunk_size is not None and args.chunk_size < 1:
        raise InputError(f"--chunk-size {args.chunk_size}: give a positive number of DMUs per task")
    from ctfp.inference.compute import open_executor, parse_scheduler

    scheduler = parse_scheduler(args.scheduler)
    from ctfp.data.readers import read_panel
    from ctfp.models.dea import run_dea
    from ctfp.models.dea.radial import DEFAULT_TRANSLATION

    frame = read_panel(args.data)
    kw = dict(
        id_col=args.id_col, period_col=args.period_col, model=model,
        orientation=args.orientation and args.orientation.strip().lower(),
        rts=args.rts and args.rts.strip().lower(), frontier=args.frontier, weights=weights,
        progress=args.progress,
        translation=DEFAULT_TRANSLATION if args.translation is None else args.translation,
        source=str(args.data), row_offset=2, chunk_size=args.chunk_size,
    )
    if scheduler.kind == "inprocess":
        table = run_dea(frame, inputs, good, bad, **kw)
    else:
        with open_executor(scheduler) as ex:
            table = run_dea(frame, inputs, good, bad, executor=ex, **kw)
    _write(out, table)
    flagged = table.attrs.get("ill_scaled", [])
    if flagged:
        more = f" (and {len(flagged) - 1} more; all in the status column)" if len(flagged) > 1 else ""
        print(f"ctfp dea: warning: {len(flagged)} DMU(s) not scored, efficiency NaN with status ill_scaled: "
              f"{flagged[0]}{more}", file=sys.stderr)
    n_eff = int(table["efficient"].sum())
    a = table.attrs
    where = "" if a.get("scheduler", "in-process") == "in-process" else f", {a['chunks']} tasks on {a['scheduler']}"
    print(
        f"ctfp dea: {len(table)} DMUs, model {a['model']} ({a['orientation']}, {a['rts']}, {a['frontier']} frontier), "
        f"{n_eff} efficient, mean efficiency {table['efficiency'].mean():.4f}{where} -> {out}",
        file=sys.stderr,
    )
    return 0
