"""`ctfp table RUNDIR`: a run's regression tables in the layout papers print, as LaTeX, Word, Markdown or HTML.

Reads only the run folder's tables (`tables/replicas.csv`, `tables/columns.csv`, `tables/tests.csv`); imports
pandas and python-docx inside the handler, never PyMC or ArviZ.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ctfp.core.errors import InputError

FORMATS = ("latex", "docx", "md", "html")
SUFFIXES = {".tex": "latex", ".docx": "docx", ".md": "md", ".html": "html", ".htm": "html"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "table",
        help="regression tables of a run folder for a manuscript: LaTeX, Word, Markdown, HTML",
        description="Write the run's regression tables as papers print them: models as columns, coefficients "
        "with stars and t (or se) in parentheses, rows for controls, fixed effects, clustering, N, R2 and KP "
        "statistics, the note line; published | replica column pairs where the study has published values. "
        "See docs/report.md.",
    )
    p.add_argument("rundir", metavar="RUNDIR", type=Path, help="run folder written by `ctfp run`/`ctfp demo`")
    p.add_argument("--table", metavar="T", action="append", default=None,
                   help="table id as in the study file, e.g. T2 (repeat for several; default: every table)")
    p.add_argument("--format", dest="fmt", choices=FORMATS, default=None,
                   help="latex | docx | md | html (default: from the --out suffix, else md)")
    p.add_argument("--lang", choices=("en", "zh"), default=None,
                   help="language of labels and notes (default: the study's [report] language, else en)")
    p.add_argument("--se", action="store_true", help="standard errors in parentheses instead of t statistics")
    p.add_argument("--keep", metavar="A,B", default=None,
                   help="coefficient rows to show, in order (default: the published rows, else every regressor)")
    p.add_argument("--label", metavar="TERM=TEXT", action="append", default=[],
                   help="print a regressor under another name, e.g. --label l_ai=AI (repeatable; terms sharing "
                   "a label share a row)")
    p.add_argument("--no-published", dest="published", action="store_false",
                   help="replica columns only, even where the study has published values")
    p.add_argument("--standalone", action="store_true",
                   help="LaTeX/HTML: a whole document that compiles or opens on its own (default for HTML)")
    p.add_argument("--out", metavar="FILE", type=Path, default=None,
                   help="output file (default: stdout; required for docx)")
    p.set_defaults(func=_run)


def _format(args: argparse.Namespace) -> str:
    if args.fmt:
        return str(args.fmt)
    if args.out is not None:
        fmt = SUFFIXES.get(args.out.suffix.lower())
        if fmt is None:
            raise InputError(f"--out {args.out}: cannot tell the format from the suffix; add --format "
                             f"{'|'.join(FORMATS)}")
        return fmt
    return "md"


def _run(args: argparse.Namespace) -> int:
    from ctfp.reports.i18n import check_lang
    from ctfp.reports.regtable import build_regtable
    from ctfp.reports.regwriters import render_tables, write_tables
    from ctfp.reports.tabledata import load_table_data, study_language

    fmt = _format(args)
    if fmt == "docx" and args.out is None:
        raise InputError("--format docx needs --out FILE.docx (a Word file cannot go to the terminal)")
    data = load_table_data(args.rundir)
    if data is None:
        raise InputError(f"{args.rundir}: the run folder has no tables (tables/replicas.csv); run the study's "
                         f"tables with `ctfp run STUDY.toml --out {args.rundir}`")
    lang = check_lang(args.lang or study_language(args.rundir) or "en")
    ids = data.table_ids
    wanted = args.table or ids
    unknown = [t for t in wanted if t not in ids]
    if unknown:
        raise InputError(f"{data.source}: no table {', '.join(unknown)}; the run has {', '.join(ids)}")
    keep = [k.strip() for k in args.keep.split(",") if k.strip()] if args.keep else None
    labels = dict(data.labels)
    for item in args.label:
        term, sep, text = item.partition("=")
        if not sep or not term.strip() or not text.strip():
            raise InputError(f"--label {item!r}: write TERM=TEXT, e.g. --label l_ai=AI")
        labels[term.strip()] = text.strip()
    tables = []
    for t in wanted:
        try:
            tables.append(build_regtable(data.replicas, data.columns_for(lang), t, tests=data.tests, lang=lang,
                                         beneath="se" if args.se else "t", keep=keep, labels=labels,
                                         title=data.title(t, lang), note=data.notes.get(t, ""), unit=data.unit,
                                         time=data.time, pairs=None if args.published else False))
        except KeyError as err:
            raise InputError(f"--keep: table {t} has no coefficient {err.args[0]}; its regressors are listed in "
                             f"{data.source}") from None
    standalone = args.standalone or fmt == "html"
    if args.out is None:
        sys.stdout.write(render_tables(tables, fmt, standalone=standalone))
        return 0
    path = write_tables(tables, fmt, args.out, standalone=standalone)
    print(f"{len(tables)} table(s) -> {path}")
    return 0
