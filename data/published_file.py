"""A study's published numbers as user data: the `[published] file` CSV.

Columns: `table`, `column`, `term`, `estimate` (required); `se`, `t`, `stars`, `note` (optional). One row per
printed number: `term` is a regressor name as the study's formula writes it, or a statistic (`STAT_TERMS`).
Numbers are kept as printed (the text beside the float), so a paper's slips stay visible with their notes.

Every bad row is reported, each on its own line naming the file and its line number (the header is line 1).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ctfp.core.errors import InputError

REQUIRED: tuple[str, ...] = ("table", "column", "term", "estimate")
OPTIONAL: tuple[str, ...] = ("se", "t", "stars", "note")
STAT_TERMS: tuple[str, ...] = ("N", "R2", "R2_within", "KP_LM", "KP_LM_p", "KP_F", "CD_F", "diff_p")
MAX_LINES = 20  # problems listed before "... and N more"


def _number(text: str) -> float | None:
    try:
        v = float(text)
    except ValueError:
        return None
    return v if np.isfinite(v) else None


def _stars(text: str) -> int | None:
    """0-3, written as a digit or as asterisks ("", "*", "**", "***" for 0-3 when the column is given)."""
    t = text.strip()
    if set(t) <= {"*"} and len(t) <= 3:
        return len(t)
    if t in ("0", "1", "2", "3"):
        return int(t)
    return None


def read_published(path: str | Path, *, label: str | None = None) -> pd.DataFrame:
    """Read and check a published-cells CSV. Returns one row per cell with `line` (file line number).

    Raises InputError listing every bad row (one line each, naming the file and line).
    """
    p = Path(path)
    name = label or str(p)
    if not p.is_file():
        raise InputError(f"{name}: published file not found; fix [published] file or remove it")
    try:
        raw = pd.read_csv(p, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise InputError(f"{name}: not a readable CSV ({first}); save it as UTF-8 CSV with a header row") from None
    raw.columns = [str(c).strip() for c in raw.columns]
    missing = [c for c in REQUIRED if c not in raw.columns]
    unknown = [c for c in raw.columns if c not in REQUIRED + OPTIONAL]
    if missing or unknown:
        what = []
        if missing:
            what.append(f"missing column(s) {', '.join(missing)}")
        if unknown:
            what.append(f"unknown column(s) {', '.join(unknown)}")
        raise InputError(f"{name}, line 1: {'; '.join(what)}; the columns are {', '.join(REQUIRED)} and "
                         f"optionally {', '.join(OPTIONAL)}")
    problems: list[str] = []
    records: list[dict[str, object]] = []
    seen: dict[tuple[str, str, str], int] = {}
    for i, row in enumerate(raw.to_dict("records")):
        line = i + 2
        at = f"{name}, line {line}"
        cell = {k: str(row.get(k, "")).strip() for k in REQUIRED + OPTIONAL}
        bad: list[str] = []
        for k in ("table", "column", "term"):
            if not cell[k]:
                bad.append(f"'{k}' is empty")
        est = _number(cell["estimate"])
        if est is None:
            bad.append(f"estimate '{cell['estimate']}' is not a number")
        se = _number(cell["se"]) if cell["se"] else None
        if cell["se"] and (se is None or se < 0):
            bad.append(f"se '{cell['se']}' is not a non-negative number")
        t = _number(cell["t"]) if cell["t"] else None
        if cell["t"] and t is None:
            bad.append(f"t '{cell['t']}' is not a number")
        stars = _stars(cell["stars"]) if cell["stars"] else None
        if cell["stars"] and stars is None:
            bad.append(f"stars '{cell['stars']}' must be 0-3 or one to three asterisks")
        key = (cell["table"], cell["column"], cell["term"])
        if all(key) and key in seen:
            bad.append(f"{'/'.join(key)} is given twice (first on line {seen[key]})")
        if bad:
            problems.append(f"{at}: {'; '.join(bad)}")
            continue
        seen[key] = line
        records.append({"table": key[0], "column": key[1], "term": key[2], "estimate": est, "se": se, "t": t,
                        "stars": stars, "note": cell["note"], "printed": cell["estimate"], "line": line})
    if problems:
        raise InputError(_join(problems))
    out = pd.DataFrame(records, columns=["table", "column", "term", "estimate", "se", "t", "stars", "note",
                                         "printed", "line"])
    out["stars"] = out["stars"].astype("Int64")
    for c in ("estimate", "se", "t"):
        out[c] = out[c].astype(float)
    return out


def _join(problems: list[str]) -> str:
    shown = problems[:MAX_LINES]
    if len(problems) > MAX_LINES:
        shown.append(f"... and {len(problems) - MAX_LINES} more bad rows")
    return "\n".join(shown)
