"""`ctfp data synth | check | vars`: write the synthetic panel, validate a panel, list the dictionary.

Heavy imports stay inside the handlers; `data check` needs pandas only.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ctfp.core.errors import InputError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="panel data: synthesize, check, list variables",
                       description="Panel data: write the synthetic paper-world panel, validate a panel, "
                       "list the variable dictionary.")
    dsub = p.add_subparsers(dest="data_command", metavar="ACTION")
    p.set_defaults(func=lambda _args: (p.print_help(), 2)[1])

    s = dsub.add_parser("synth", help="write the embedded synthetic paper-world panel")
    s.add_argument("--seed", type=int, default=20251201, help="random seed (default 20251201)")
    s.add_argument("--out", required=True, help="output file: .csv, .parquet, .xlsx or .dta")
    s.set_defaults(func=_synth)

    c = dsub.add_parser("check", help="validate a panel; list every problem with row/column; exit 1 if any error",
                        description="Validate a raw panel: every problem on its own line (errors, then "
                        "warnings); exit 1 if any error, else print a short summary.")
    c.add_argument("panel", metavar="PANEL", help="panel file: .csv, .tsv, .xlsx, .dta or .parquet")
    c.add_argument("--mapping", metavar="FILE", help="column mapping (TOML, YAML or CSV): your name -> ctfp name")
    c.add_argument("--allow-other-cities", action="store_true",
                   help="accept city codes outside the 78 Yellow River Basin cities (other regions)")
    c.add_argument("--years", metavar="FIRST-LAST", default="2006-2021",
                   help="allowed year range (default 2006-2021); 'any' to skip the check")
    c.set_defaults(func=_check)

    v = dsub.add_parser("vars", help="list the variable dictionary")
    v.add_argument("--kind", choices=("raw", "derived"), help="only raw or only derived variables")
    v.add_argument("--markdown", action="store_true", help="print the Markdown table of docs/data.md")
    v.set_defaults(func=_vars)


def _parse_years(text: str) -> tuple[int, int] | None:
    if text.strip().lower() == "any":
        return None
    try:
        first, last = (int(x) for x in text.split("-"))
    except ValueError:
        raise InputError(f"--years {text!r}: write FIRST-LAST, e.g. 2006-2021, or 'any'") from None
    if first > last:
        raise InputError(f"--years {text!r}: the first year is after the last")
    return first, last


def _check(args: argparse.Namespace) -> int:
    from ctfp.data.readers import read_panel
    from ctfp.data.validate import check_panel, summarize_panel

    years = _parse_years(args.years)
    df = read_panel(args.panel, mapping=args.mapping)
    problems = check_panel(df, args.panel, allow_unknown_cities=args.allow_other_cities, years=years)
    for p in problems:  # plain print: one problem per line, never wrapped
        print(p.line())
    n_err = sum(p.severity == "error" for p in problems)
    if n_err:
        n_warn = len(problems) - n_err
        print(f"{args.panel}: {n_err} error(s), {n_warn} warning(s); fix the errors and rerun", file=sys.stderr)
        return 1
    summary = summarize_panel(df)
    summary["read_as"] = _read_as(df.attrs)
    _print_summary(args.panel, summary, len(problems))
    return 0


def _read_as(attrs: dict) -> str:
    """How the file was read (encoding and delimiter detected, or the sheet), for the summary."""
    names = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
    parts = []
    if "encoding" in attrs:
        parts.append(str(attrs["encoding"]).upper())
    if "delimiter" in attrs:
        parts.append(f"{names.get(attrs['delimiter'], repr(attrs['delimiter']))}-separated")
    if "sheet" in attrs:
        parts.append(f"sheet {attrs['sheet']!r} of {len(attrs.get('sheets', [])) or 1}")
    return ", ".join(parts)


def _print_summary(path: str, s: dict, n_warn: int) -> None:
    from rich.console import Console
    from rich.table import Table

    print(f"{path}: no errors" + (f", {n_warn} warning(s)" if n_warn else ""))  # plain: never wrapped
    t = Table(show_header=False)
    years = s["years"]
    if s.get("read_as"):
        t.add_row("read as", str(s["read_as"]))
    t.add_row("rows", str(s["rows"]))
    t.add_row("cities", str(s["cities"]))
    t.add_row("years", f"{years[0]}-{years[1]} ({s['n_years']})" if years else "-")
    t.add_row("balanced", "yes" if s["balanced"] else "no")
    t.add_row("optional present", ", ".join(s["optional_present"]) or "none")
    t.add_row("optional absent", ", ".join(s["optional_absent"]) or "none")
    cells = s["missing_cells"]
    t.add_row("missing cells", ", ".join(f"{k} {v}" for k, v in cells.items()) or "none")
    Console().print(t)


FORMATS = (".csv", ".parquet", ".xlsx", ".dta")


def write_panel(path: str | Path, seed: int = 20251201) -> Path:
    """Write the SYNTHETIC paper-world panel of `seed` (format by extension) and `<path>.truth.json`, both
    atomically (the world itself, `ctfp.models.worlds.paper`, is pure)."""
    import pandas as pd

    from ctfp.core.atomic import atomic_path, write_json
    from ctfp.models.worlds.paper import synthesize_panel

    target = Path(path)
    ext = target.suffix.lower()
    if ext not in FORMATS:
        raise InputError(f"{target}: unknown panel format {ext or '(none)'}; use one of {', '.join(FORMATS)}")
    raw, truth = synthesize_panel(seed)
    frame = pd.DataFrame(raw)
    frame.attrs = {}
    with atomic_path(target) as tmp:
        if ext == ".csv":
            frame.to_csv(tmp, index=False)
        elif ext == ".parquet":
            frame.to_parquet(tmp, index=False)
        elif ext == ".xlsx":
            frame.to_excel(tmp, index=False, sheet_name="SYNTHETIC panel", engine="openpyxl")
        else:
            frame.to_stata(tmp, write_index=False, version=118, data_label="SYNTHETIC paper-world panel")
    write_json(f"{target}.truth.json", truth)
    return target


def _synth(args: argparse.Namespace) -> int:
    from ctfp.core.atomic import check_output_path

    ext = Path(args.out).suffix.lower()
    if ext not in FORMATS:  # before the panel is synthesised
        raise InputError(f"--out {args.out}: unknown panel format {ext or '(none)'}; use one of {', '.join(FORMATS)}")
    check_output_path(args.out, "file")
    check_output_path(f"{args.out}.truth.json", "file")
    write_panel(args.out, args.seed)
    print(f"wrote {args.out} (SYNTHETIC paper-world panel, seed {args.seed}) and {args.out}.truth.json")
    return 0


def _vars(args: argparse.Namespace) -> int:
    from ctfp.data.dictionary import ROLES, VARIABLES, markdown_table

    if args.markdown:
        print(markdown_table(args.kind), end="")
        return 0
    for v in VARIABLES.values():
        if args.kind and v.kind != args.kind:
            continue
        req = " required" if v.required else ""
        print(f"{v.name:<20} {v.kind:<8} {ROLES[v.role]:<36} {v.unit:<26} {v.description}{req}")
    return 0
