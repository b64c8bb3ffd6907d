"""Read a user's panel (CSV, Excel, Stata, Parquet) and map its column names onto the dictionary.

The format is chosen by extension. A mapping file (TOML, YAML or CSV) maps user names to dictionary names;
the frame keeps what was renamed in `df.attrs["mapping"]` (dictionary name -> user name) so validation can
name the column the user knows, and its path in `df.attrs["source"]`. Row i of the frame is file row i + 2
(the header is row 1), so readers never sort or drop rows.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import os
import re
import tomllib
import unicodedata
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from ctfp.core.errors import InputError
from ctfp.data.dictionary import VARIABLES

PANEL_FORMATS = {".csv": "csv", ".tsv": "tsv", ".txt": "csv", ".xlsx": "excel", ".xlsm": "excel",
                 ".dta": "stata", ".parquet": "parquet", ".pq": "parquet"}
MAPPING_FORMATS = (".toml", ".yaml", ".yml", ".csv")


def read_panel(path: str | os.PathLike[str], mapping: str | os.PathLike[str] | Mapping[str, str] | None = None,
               *, sheet: str | int | None = None) -> pd.DataFrame:
    """Read a raw panel by extension; rename columns by `mapping` (a file path or a dict user -> dictionary).

    CSV/TXT: the encoding (UTF-8 with or without BOM, UTF-16 with BOM, else GB18030, the superset of GBK) and
    the delimiter (comma, semicolon, tab, pipe) are detected and kept in `attrs["encoding"]`, `attrs["delimiter"]`.
    Excel: the first sheet, or `sheet` (a name, also written `book.xlsx#Sheet`, or a 0-based position).
    Duplicated or ambiguous header names (equal after NFKC, stripping and case-folding, or `gdp` beside `gdp.1`)
    are refused in one line (docs/data.md, "Reading a panel").
    """
    p = Path(path)
    if sheet is None and not p.is_file() and "#" in p.name:
        base, _, tab = str(p).rpartition("#")
        if Path(base).suffix.lower() in (".xlsx", ".xlsm") and tab:
            p, sheet = Path(base), tab
    fmt = PANEL_FORMATS.get(p.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(PANEL_FORMATS))
        raise InputError(f"{p}: unknown panel format {p.suffix or '(no extension)'!r}; use one of {known}")
    if not p.is_file():
        raise InputError(f"{p}: file not found; check the path")
    if sheet is not None and fmt != "excel":
        raise InputError(f"{p}: a sheet ({sheet!r}) can be chosen only in an Excel workbook (.xlsx, .xlsm)")
    attrs: dict[str, object] = {}
    try:
        df, header = _read(p, fmt, sheet, attrs)
    except InputError:
        raise
    except Exception as err:  # any parser failure is the user's file, told in one line
        msg = " ".join(str(err).split())[:200]
        raise InputError(f"{p}: cannot read as {fmt} ({type(err).__name__}: {msg}); check the file") from err
    check_header(header, str(p) + (f"#{attrs['sheet']}" if "sheet" in attrs and fmt == "excel" else ""))
    df.columns = [str(c).strip() for c in df.columns]
    df = df.reset_index(drop=True)
    renamed: dict[str, str] = {}
    if mapping is not None:
        table = mapping if isinstance(mapping, Mapping) else read_mapping(mapping)
        where = "mapping" if isinstance(mapping, Mapping) else str(mapping)
        renamed = _apply_mapping(df, dict(table), where, str(p))
        df = df.rename(columns={user: name for name, user in renamed.items()})
    df.attrs.update(attrs)
    df.attrs["source"] = str(p)
    df.attrs["mapping"] = renamed
    return df


_MANGLED = re.compile(r"^(.*)\.(\d+)$")


def _norm(name: str) -> str:
    """The form two header names are compared in: NFKC (full-width -> ASCII), stripped, case-folded."""
    return unicodedata.normalize("NFKC", name).strip().casefold()


def check_header(names: Sequence[object], source: str) -> None:
    """Refuse duplicated or ambiguous column names, naming the file and the columns (1-based positions)."""
    labels = ["" if n is None or (isinstance(n, float) and n != n) else str(n) for n in names]
    seen: dict[str, int] = {}
    for i, raw in enumerate(labels):
        key = _norm(raw)
        if not key:
            continue
        if key in seen:
            j = seen[key]
            same = labels[j] == raw
            why = "the same name" if same else "names that differ only in case, spaces or width"
            raise InputError(f"{source}: columns {j + 1} {labels[j]!r} and {i + 1} {raw!r} have {why}; "
                             "which one is meant is ambiguous: rename or drop one")
        seen[key] = i
    for i, raw in enumerate(labels):
        m = _MANGLED.match(_norm(raw))
        if m and m.group(1) in seen:
            j = seen[m.group(1)]
            raise InputError(f"{source}: columns {j + 1} {labels[j]!r} and {i + 1} {raw!r} look like one name "
                             f"written twice ({raw!r} is how pandas renames a repeated {labels[j]!r}); "
                             "rename or drop one")


ENCODINGS = ("utf-8", "gb18030")  # tried in order; GB18030 is the superset of GBK / GB2312
DELIMITERS = (",", ";", "\t", "|")
_DELIM_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


def decode_text(p: Path, raw: bytes) -> tuple[str, str]:
    """Text and encoding: a BOM decides; else UTF-8, else GB18030; else a one-line error naming both."""
    if raw.startswith(codecs.BOM_UTF8):
        return raw[len(codecs.BOM_UTF8):].decode("utf-8", errors="strict"), "utf-8-sig"
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16"), "utf-16"
    first: UnicodeDecodeError | None = None
    for enc in ENCODINGS:
        try:
            return raw.decode(enc), enc
        except UnicodeDecodeError as err:
            first = first or err
    pos = first.start if first is not None else 0
    raise InputError(f"{p}: not text in UTF-8 or GB18030/GBK (undecodable byte 0x{raw[pos]:02x} at offset "
                     f"{pos}); save the file as CSV UTF-8")


def detect_delimiter(p: Path, text: str) -> str:
    """The delimiter that splits the header into the most fields and every sampled row into as many (rows with
    fewer fields, i.e. empty trailing cells, are accepted when no delimiter gives equal widths)."""
    best: tuple[bool, int, str] | None = None  # (every row as wide as the header, header width, delimiter)
    ragged: list[str] = []
    for d in DELIMITERS:
        rows = [r for r in itertools.islice(csv.reader(io.StringIO(text), delimiter=d), 200) if r]
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        if all(len(r) <= width for r in rows[1:]):  # short rows are read with empty trailing cells
            key = (all(len(r) == width for r in rows[1:]), width, d)
            if best is None or key[:2] > best[:2]:
                best = key
        else:
            ragged.append(d)
    if best is not None:
        return best[2]
    if ragged:
        tried = ", ".join(_DELIM_NAMES[d] for d in ragged)
        raise InputError(f"{p}: rows have different numbers of fields with every delimiter tried ({tried}); "
                         "check quoting and that every row has one cell per header column")
    return ","


def _read(p: Path, fmt: str, sheet: str | int | None, attrs: dict[str, object]) -> tuple[pd.DataFrame, list[object]]:
    """The frame and the header as written in the file (before pandas renames repeated names)."""
    if fmt in ("csv", "tsv"):
        raw = p.read_bytes()
        if not raw.strip():
            raise InputError(f"{p}: the file is empty; it needs a header row and one row per city-year")
        text, enc = decode_text(p, raw)
        delim = "\t" if fmt == "tsv" else detect_delimiter(p, text)
        attrs["encoding"], attrs["delimiter"] = enc, delim
        header = next((r for r in csv.reader(io.StringIO(text), delimiter=delim) if r), [])
        return pd.read_csv(io.StringIO(text), sep=delim), list(header)
    if fmt == "excel":
        with pd.ExcelFile(p, engine="openpyxl") as book:
            names = [str(s) for s in book.sheet_names]
            listing = ", ".join(repr(s) for s in names)
            if isinstance(sheet, int) and not isinstance(sheet, bool):
                if not 0 <= sheet < len(names):
                    raise InputError(f"{p}: no sheet at position {sheet} (0-based); the workbook has {listing}")
                sheet = names[sheet]
            if sheet is not None and sheet not in names:
                raise InputError(f"{p}: no sheet {sheet!r}; the workbook has {listing}: write {p}#SHEET")
            chosen = str(sheet) if sheet is not None else names[0]
            cells = pd.read_excel(book, sheet_name=chosen, header=None)
            filled = cells.notna().any(axis=1).to_numpy()
            if not filled.any():
                others = [s for s in names if s != chosen]
                hint = (f"; the workbook has sheets {listing}: choose one as {p}#{others[0]}" if others
                        else "; put the header in row 1 and one row per city-year below")
                raise InputError(f"{p}: sheet {chosen!r} has no data{hint}")
            if not filled[0]:
                raise InputError(f"{p}: sheet {chosen!r}: row 1 is empty but the header must be in row 1 (the "
                                 f"first filled row is row {int(filled.argmax()) + 1}); delete the rows above it")
            attrs["sheet"], attrs["sheets"] = chosen, names
            return pd.read_excel(book, sheet_name=chosen), list(cells.iloc[0])
    if fmt == "stata":
        df = pd.read_stata(p, convert_categoricals=False)
    else:
        df = pd.read_parquet(p)
    return df, list(df.columns)


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
