"""Validate a raw panel against the dictionary: every problem, one line each, with row and column.

Rows are file rows: frame row i is row i + 2 (the header is row 1), as readers keep the file's order.
Errors block derivation; warnings (unbalanced panel, cells that will be interpolated or extrapolated, unknown
or incomplete optional columns) do not.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ctfp.data.dictionary import (
    FAI_LAST_YEAR,
    OPTIONAL_GROUPS,
    PAPER_YEARS,
    RAW,
    REQUIRED,
    VARIABLES,
)

_DECIMAL_COMMA = re.compile(r"^\s*-?\d+,\d+\s*$")
SBM_COLUMNS = ("emp", "fai", "energy", "gdp", "green", "co2")
_SEVERITY_ORDER = {"error": 0, "warning": 1}


@dataclass(frozen=True)
class Problem:
    """One finding: severity "error" | "warning", file row (1-based, header = 1) and column when known."""

    severity: str
    message: str
    row: int | None = None
    column: str | None = None
    source: str = ""

    def line(self) -> str:
        where = [self.source] if self.source else []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column}")
        return f"{self.severity}: {', '.join(where)}: {self.message}" if where else f"{self.severity}: {self.message}"

    def __str__(self) -> str:
        return self.line()


def known_city_codes() -> set[int]:
    """The 78 cities of data/cities.py."""
    from ctfp.data.cities import city_codes

    return {int(c) for c in city_codes()}


class _Collector:
    """Gathers problems; caps repeated cell problems per (check, column) with one count line."""

    def __init__(self, source: str, labels: dict[str, str], cap: int) -> None:
        self.source, self.labels, self.cap = source, labels, cap
        self.items: list[tuple[str, Problem]] = []
        self._counts: dict[tuple[str, str | None], int] = {}

    def add(self, severity: str, message: str, row: int | None = None, column: str | None = None,
            check: str = "") -> None:
        key = (check or message, column)
        n = self._counts.get(key, 0) + 1
        self._counts[key] = n
        if check and n > self.cap:
            return
        label = self.labels.get(column, column) if column is not None else None
        self.items.append((check, Problem(severity, message, row, label, self.source)))

    def finish(self) -> list[Problem]:
        """Errors then warnings, each by file row; a cap's count line follows the last line it summarises."""
        keyed = [(_SEVERITY_ORDER[p.severity], p.row if p.row is not None else 0, p) for _, p in self.items]
        for (check, column), n in self._counts.items():
            if n > self.cap and check:
                label = self.labels.get(column, column) if column is not None else None
                last = [p for c, p in self.items if c == check and p.column == label][-1]
                keyed.append((_SEVERITY_ORDER[last.severity], (last.row or 0) + 0.5,
                              Problem(last.severity, f"... and {n - self.cap} more rows with the same problem",
                                      None, label, self.source)))
        return [p for _, _, p in sorted(keyed, key=lambda k: (k[0], k[1]))]


def check_panel(df: pd.DataFrame, source: str | None = None, *, allow_unknown_cities: bool = False,
                years: tuple[int, int] | None = PAPER_YEARS, max_per_check: int = 10) -> list[Problem]:
    """Every problem of a raw panel, errors first then warnings (see docs/data.md, "Validation rules")."""
    source = source if source is not None else str(df.attrs.get("source", "panel"))
    attrs = dict(df.attrs)
    df = df.reset_index(drop=True)  # frame position i is file row i + 2, whatever index the caller had
    df.attrs = attrs
    mapping = dict(df.attrs.get("mapping", {}) or {})
    labels = {name: f"{user} ({name})" for name, user in mapping.items()}
    out = _Collector(source, labels, max_per_check)
    if len(df) == 0:
        out.add("error", "the panel has no data rows; add one row per city-year")
        return out.finish()
    _check_columns(df, out)
    num, unparsed = _numeric(df, out)
    ids_ok = _check_ids(num, df, out, allow_unknown_cities, years)
    _check_domains(num, out)
    if ids_ok.any():
        _check_structure(num, ids_ok, out)
        _check_missing(num, ids_ok, unparsed, out)
        _check_constant(num, ids_ok, out)
    return out.finish()


def file_row(i: int) -> int:
    """File row of frame position i (header is row 1)."""
    return int(i) + 2


def _check_columns(df: pd.DataFrame, out: _Collector) -> None:
    cols = list(df.columns)
    lacking = [name for name in REQUIRED if name not in cols]
    for name in lacking:
        out.add("error", f"required column is missing; add it or map your column onto {name!r} with --mapping",
                column=name)
    sheets = list(df.attrs.get("sheets", []) or [])
    if lacking and len(sheets) > 1:
        chosen = df.attrs.get("sheet", sheets[0])
        others = ", ".join(repr(s) for s in sheets if s != chosen)
        out.add("error", f"read sheet {chosen!r}; the workbook also has {others}: if the panel is on another "
                f"sheet, name it as FILE.xlsx#SHEET")
    dup = sorted({c for c in cols if cols.count(c) > 1})
    for c in dup:
        out.add("error", "appears more than once; keep one", column=c)
    for group, members in OPTIONAL_GROUPS.items():
        have = [m for m in members if m in cols]
        if have and len(have) < len(members):
            lacking = ", ".join(m for m in members if m not in cols)
            out.add("warning", f"optional group {group!r} is incomplete (missing {lacking}); "
                    f"{group} will not be derived")
    for c in cols:
        if c not in VARIABLES and not str(c).endswith("_imputed"):
            out.add("warning", "not a ctfp variable; ignored (map it with --mapping if it is one)", column=str(c))


def _numeric(df: pd.DataFrame, out: _Collector) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Known raw columns as float, and where a cell was there but not a number (reported as an error)."""
    num = pd.DataFrame(index=df.index)
    unparsed = pd.DataFrame(index=df.index)
    for name in RAW:
        if name not in df.columns or isinstance(df[name], pd.DataFrame):
            continue
        col = df[name]
        vals = pd.to_numeric(col, errors="coerce").astype(float)
        bad = col.notna().to_numpy() & vals.isna().to_numpy()
        for i in np.flatnonzero(bad):
            cell = str(col.iloc[i])
            hint = " (a decimal comma? write the number with a point)" if _DECIMAL_COMMA.match(cell) else ""
            out.add("error", f"{cell!r} is not a number{hint}; fix the cell", file_row(i), name,
                    check="nonnumeric")
        num[name] = vals.to_numpy()
        unparsed[name] = bad
    return num, unparsed


def _check_ids(num: pd.DataFrame, df: pd.DataFrame, out: _Collector, allow_unknown: bool,
               years: tuple[int, int] | None) -> pd.Series:
    """Rows whose city and year are usable; report every bad id."""
    ok = pd.Series(True, index=num.index)
    if "city" not in num or "year" not in num:
        return ok & False
    known = known_city_codes()
    city, year = num["city"].to_numpy(), num["year"].to_numpy()
    for i in range(len(num)):
        c, y = city[i], year[i]
        r = file_row(i)
        if np.isnan(c):
            if pd.notna(df["city"].iloc[i]):
                ok.iloc[i] = False  # already reported as non-numeric
            else:
                out.add("error", "city code is missing; fill it", r, "city", check="city_missing")
                ok.iloc[i] = False
        elif c != round(c):
            out.add("error", f"city code {c:g} is not an integer; use the 6-digit GB/T 2260 code", r, "city",
                    check="city_int")
            ok.iloc[i] = False
        elif not allow_unknown and int(c) not in known:
            out.add("error", f"city code {int(c)} is not one of the 78 Yellow River Basin cities; fix the code "
                    "or pass --allow-other-cities to study another region", r, "city", check="city_unknown")
            ok.iloc[i] = False
        elif allow_unknown and not 110000 <= int(c) <= 829999:
            out.add("error", f"city code {int(c)} is not a 6-digit GB/T 2260 code; fix it", r, "city",
                    check="city_unknown")
            ok.iloc[i] = False
        if np.isnan(y):
            if pd.isna(df["year"].iloc[i]):
                out.add("error", "year is missing; fill it", r, "year", check="year_missing")
            ok.iloc[i] = False
        elif y != round(y):
            out.add("error", f"year {y:g} is not an integer; fix it", r, "year", check="year_int")
            ok.iloc[i] = False
        elif years is not None and not years[0] <= y <= years[1]:
            out.add("error", f"year {int(y)} is outside {years[0]}..{years[1]}; fix it or pass --years",
                    r, "year", check="year_range")
            ok.iloc[i] = False
    keys = num.loc[ok, ["city", "year"]]
    dup = keys.duplicated(keep=False)
    first: dict[tuple[int, int], int] = {}
    for i, (c, y) in zip(keys.index, keys.itertuples(index=False, name=None), strict=True):
        if not dup.loc[i]:
            continue
        key = (int(c), int(y))
        if key not in first:
            first[key] = file_row(i)
            continue
        out.add("error", f"city {key[0]}, year {key[1]} duplicates row {first[key]}; keep one",
                file_row(i), "year", check="duplicate")
        ok.loc[i] = False
    return ok


def _check_domains(num: pd.DataFrame, out: _Collector) -> None:
    for name in num.columns:
        var = VARIABLES[name]
        v = num[name].to_numpy()
        finite = np.isfinite(v)  # an infinite cell is reported once, as infinite, not also as out of range
        for i in np.flatnonzero(np.isinf(v)):
            out.add("error", f"value {v[i]:g} is infinite; fix the cell", file_row(i), name, check="inf")
        if var.positive:
            why = "SBM inputs and outputs must be > 0" if name in SBM_COLUMNS else "it must be > 0"
            for i in np.flatnonzero((v <= 0) & finite):
                out.add("error", f"value {v[i]:g} is not positive ({why}); correct the value", file_row(i), name,
                        check="positive")
        elif var.nonnegative:
            for i in np.flatnonzero((v < 0) & finite):
                out.add("error", f"value {v[i]:g} is negative (it must be >= 0); correct the value", file_row(i),
                        name, check="nonnegative")
        if var.domain == "percent" or name == "green":
            for i in np.flatnonzero((v > 100) & finite):
                out.add("error", f"value {v[i]:g} exceeds 100 (a percentage); correct the value", file_row(i),
                        name, check="percent")


def _check_structure(num: pd.DataFrame, ok: pd.Series, out: _Collector) -> None:
    """Consecutive years within each city, a common base year; unbalanced panels warn."""
    keys = num.loc[ok, ["city", "year"]].astype(int)
    base, last = int(keys["year"].min()), int(keys["year"].max())
    span = last - base + 1
    for code, g in keys.groupby("city", sort=True):
        ys = sorted(g["year"])
        first_row = file_row(g.index[g["year"].to_numpy().argmin()])
        gaps = sorted(set(range(ys[0], ys[-1] + 1)) - set(ys))
        if gaps:
            out.add("error", f"city {code} has no row for year(s) {_years(gaps)}; deflation and capital "
                    "accumulation need consecutive years: add the row(s) (values may be left empty to be "
                    "interpolated)", first_row, "year")
        if ys[0] > base:
            out.add("error", f"city {code} starts in {ys[0]} but the panel starts in {base}; prices are chained "
                    f"from the base year {base}: add its rows from {base}", first_row, "year")
        if len(ys) < span:
            lacking = sorted(set(range(base, last + 1)) - set(ys))
            out.add("warning", f"the panel is unbalanced: city {code} has {len(ys)} of {span} years "
                    f"(missing {_years(lacking)})")


def _years(ys: Iterable[int]) -> str:
    ys = sorted(ys)
    runs: list[str] = []
    start = prev = ys[0]
    for y in ys[1:] + [None]:  # type: ignore[list-item]
        if y is not None and y == prev + 1:
            prev = y
            continue
        runs.append(str(start) if start == prev else f"{start}-{prev}")
        if y is not None:
            start = prev = y
    return ", ".join(runs)


def _check_missing(num: pd.DataFrame, ok: pd.Series, unparsed: pd.DataFrame, out: _Collector) -> None:
    """NaN where not allowed; interior gaps (interpolated) and FAI after 2017 (extrapolated) warn."""
    sub = num.loc[ok]
    order = sub.sort_values(["city", "year"], kind="stable")
    for name in num.columns:
        if name in ("city", "year"):
            continue
        var = VARIABLES[name]
        miss = order[name].isna()
        if not miss.any():
            continue
        interior: list[int] = []
        extrap: list[int] = []
        for _code, g in order.groupby("city", sort=False):
            vals = g[name].to_numpy()
            seen = np.flatnonzero(~np.isnan(vals))
            lo, hi = (seen[0], seen[-1]) if len(seen) else (len(vals), -1)
            for j in np.flatnonzero(np.isnan(vals)):
                idx = g.index[j]
                if unparsed.at[idx, name]:
                    continue  # reported as not a number
                year = int(g["year"].iloc[j])
                r = file_row(idx)
                if var.nan == "never":
                    out.add("error", "value is missing; this variable is never interpolated: fill the cell", r,
                            name, check="nan_never")
                elif lo < j < hi:
                    interior.append(r)
                elif j > hi and var.nan == "extrapolate" and year > FAI_LAST_YEAR and len(seen):
                    extrap.append(r)
                elif var.nan == "extrapolate" and j > hi and len(seen):
                    out.add("error", f"value is missing in {year}; FAI may be missing only after "
                            f"{FAI_LAST_YEAR} (extrapolated by growth): fill the cell", r, name, check="nan_edge")
                else:
                    where = "no observed value for this city" if not len(seen) else (
                        "before the city's first observed value" if j < lo else "after the city's last observed value")
                    out.add("error", f"value is missing {where} in {year}, where interpolation cannot reach; "
                            "fill the cell", r, name, check="nan_edge")
        if interior:
            out.add("warning", f"{len(interior)} interior missing value(s) ({_rows(interior)}) will be "
                    f"linearly interpolated and flagged {name}_imputed", column=name)
        if extrap:
            out.add("warning", f"{len(extrap)} missing value(s) after {FAI_LAST_YEAR} ({_rows(extrap)}) "
                    f"will be extrapolated by growth and flagged {name}_imputed", column=name)


def _rows(rows: list[int], cap: int = 10) -> str:
    rows = sorted(rows)
    s = ", ".join(str(r) for r in rows[:cap])
    return ("row " if len(rows) == 1 else "rows ") + s + (f", ... {len(rows) - cap} more" if len(rows) > cap else "")


def _check_constant(num: pd.DataFrame, ok: pd.Series, out: _Collector) -> None:
    """1984 bases are one number per city; the national series one number per year."""
    sub = num.loc[ok]
    for name in num.columns:
        var = VARIABLES[name]
        if not (var.time_invariant or var.national):
            continue
        by = "city" if var.time_invariant else "year"
        for key, g in sub.groupby(by, sort=True):
            vals = g[name].dropna()
            if vals.nunique() > 1:
                i0 = vals.index[0]
                bad = vals.index[vals != vals.iloc[0]][0]
                what = f"city {int(key)}" if by == "city" else f"year {int(key)}"
                unit = "one number per city" if by == "city" else "one number per year, the same for every city"
                out.add("error", f"value {vals.loc[bad]:g} differs from {vals.loc[i0]:g} in row {file_row(i0)} "
                        f"within {what}; this series is {unit}", file_row(bad), name, check="constant")


def summarize_panel(df: pd.DataFrame) -> dict[str, object]:
    """Cities, years, rows, balance and which optional groups are present (for `ctfp data check`)."""
    city = pd.to_numeric(df["city"], errors="coerce")
    year = pd.to_numeric(df["year"], errors="coerce")
    n_c, n_y = int(city.nunique()), int(year.nunique())
    present = sorted(g for g, m in OPTIONAL_GROUPS.items() if all(c in df.columns for c in m))
    absent = sorted(g for g in OPTIONAL_GROUPS if g not in present)
    return {
        "rows": len(df),
        "cities": n_c,
        "years": (int(year.min()), int(year.max())) if n_y else None,
        "n_years": n_y,
        "balanced": len(df) == n_c * n_y,
        "optional_present": present,
        "optional_absent": absent,
        "missing_cells": {c: int(df[c].isna().sum()) for c in df.columns if c in VARIABLES and df[c].isna().any()},
    }
