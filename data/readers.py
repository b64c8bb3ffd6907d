"""Read a user's panel (CSV, Excel, Stata, Parquet) and map its column names onto the dictionary.

The format is chosen by extension. A mapping file (TOML, YAML or CSV) maps user names to dictionary names;
the frame keeps what was renamed in `df.attrs["mapping"]` (dictionary name -> user name) so validation can
name the column the user knows, and its path in `df.attrs["source"]`. Row i of the frame is file row i + 2
(the header is row 1), so readers never sort or drop rows.
"""

from __future__ import annotations

import csv
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from ctfp.core.errors import InputError
from ctfp.data.dictionary import VARIABLES

PANEL_FORMATS = {".csv": "csv", ".tsv": "tsv", ".txt": "csv", ".xlsx": "excel", ".xlsm": "excel",
                 ".dta": "stata", ".parquet": "parquet", ".pq": "parquet"}
MAPPING_FORMATS = (".toml", ".yaml", ".yml", ".csv")


def read_panel(path: str | os.PathLike[str], mapping: str | os.PathLike[str] | Mapping[str, str] | None = None,
               ) -> pd.DataFrame:
    """Read a raw panel by extension; rename columns by `mapping` (a file path or a dict user -> dictionary)."""
    p = Path(path)
    fmt = PANEL_FORMATS.get(p.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(PANEL_FORMATS))
        raise InputError(f"{p}: unknown panel format {p.suffix or '(no extension)'!r}; use one of {known}")
    if not p.is_file():
        raise InputError(f"{p}: file not found; check the path")
    try:
        df = _read(p, fmt)
    except InputError:
        raise
    except Exception as err:  # any parser failure is the user's file, told in one line
        msg = " ".join(str(err).split())[:200]
        raise InputError(f"{p}: cannot read as {fmt} ({type(err).__name__}: {msg}); check the file") from err
    df.columns = [str(c).strip() for c in df.columns]
    df = df.reset_index(drop=True)
    renamed: dict[str, str] = {}
    if mapping is not None:
        table = mapping if isinstance(mapping, Mapping) else read_mapping(mapping)
        where = "mapping" if isinstance(mapping, Mapping) else str(mapping)
        renamed = _apply_mapping(df, dict(table), where, str(p))
        df = df.rename(columns={user: name for name, user in renamed.items()})
    df.attrs["source"] = str(p)
    df.attrs["mapping"] = renamed
    return df


def _read(p: Path, fmt: str) -> pd.DataFrame:
    if fmt == "csv":
        return pd.read_csv(p, encoding="utf-8-sig")  # utf-8-sig: Excel-saved CSVs start with a BOM
    if fmt == "tsv":
        return pd.read_csv(p, sep="\t", encoding="utf-8-sig")
    if fmt == "excel":
        return pd.read_excel(p, sheet_name=0, engine="openpyxl")
    if fmt == "stata":
        return pd.read_stata(p, convert_categoricals=False)
    return pd.read_parquet(p)


def read_mapping(path: str | os.PathLike[str]) -> dict[str, str]:
    """Read a mapping file: user column name -> dictionary name.

    TOML / YAML: a flat table `user_name = "dictionary_name"`, or the same under a `columns` table.
    CSV: a header row, then two columns (user name, dictionary name).
    """
    p = Path(path)
    ext = p.suffix.lower()
    if ext not in MAPPING_FORMATS:
        raise InputError(f"{p}: unknown mapping format {ext or '(no extension)'!r}; use .toml, .yaml or .csv")
    if not p.is_file():
        raise InputError(f"{p}: mapping file not found; check the path")
    try:
        if ext == ".toml":
            data: object = tomllib.loads(p.read_text(encoding="utf-8"))
        elif ext in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        else:
            data = _read_mapping_csv(p)
    except InputError:
        raise
    except Exception as err:
        msg = " ".join(str(err).split())[:200]
        raise InputError(f"{p}: cannot parse the mapping ({msg}); see docs/data.md for the format") from err
    if isinstance(data, dict) and isinstance(data.get("columns"), dict):
        data = data["columns"]
    if not isinstance(data, dict):
        raise InputError(f"{p}: the mapping must be a table of user_name = dictionary_name pairs")
    out: dict[str, str] = {}
    for user, name in data.items():
        if not isinstance(name, str):
            raise InputError(f"{p}: entry {user!r} must map to a dictionary name (a string), not {name!r}")
        out[str(user).strip()] = name.strip()
    return out


def _read_mapping_csv(p: Path) -> dict[str, str]:
    with p.open(newline="", encoding="utf-8-sig") as fh:
        rows = [r for r in csv.reader(fh) if any(c.strip() for c in r)]
    out: dict[str, str] = {}
    for i, row in enumerate(rows[1:], start=2):
        if len(row) < 2 or not row[0].strip() or not row[1].strip():
            raise InputError(f"{p}: row {i}: need two columns (user name, dictionary name)")
        out[row[0].strip()] = row[1].strip()
    return out


def _apply_mapping(df: pd.DataFrame, table: dict[str, str], where: str, source: str) -> dict[str, str]:
    """Check the mapping against the frame; return dictionary name -> user name."""
    renamed: dict[str, str] = {}
    for user, name in table.items():
        if name not in VARIABLES:
            raise InputError(f"{where}: {user!r} maps to {name!r}, which is not a ctfp variable; "
                             "see docs/data.md for the names")
        if user not in df.columns:
            raise InputError(f"{where}: names column {user!r}, which is not in {source}; "
                             "fix the mapping or the file's header")
        if name in renamed:
            raise InputError(f"{where}: both {renamed[name]!r} and {user!r} map to {name!r}; keep one")
        if name in df.columns and name != user and name not in table:
            raise InputError(f"{where}: {user!r} maps to {name!r}, but {source} already has a column {name!r}; "
                             "rename or drop one")
        if user != name:
            renamed[name] = user
    return renamed
