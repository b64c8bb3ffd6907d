"""The generic data path of a study: read the panel, name its unit and period, validate what the study needs,
derive (`[data.derive]`) and split (`[groups]`).

Nothing here knows a paper: a preset (`ctfp.data.presets`) adds its own validation and derivations before
the study's derive step. Rows keep the file's order (frame row i is file row i + 2 for files with a header).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ctfp.core.errors import InputError
from ctfp.core.expr import parse

if TYPE_CHECKING:
    from ctfp.core.study import Measure, Study


@dataclass
class RawPanel:
    frame: pd.DataFrame
    source: str  # the file, or the preset's synthetic label
    data_source: str  # "user" | "synthetic"
    truth: dict[str, Any] | None = None
    row_offset: int = 2  # file row of frame row 0 (header = row 1); 1 for an embedded panel


@dataclass
class PanelReport:
    """The generic checks' findings, written to provenance/panel.json."""

    n_rows: int
    n_units: int
    n_periods: int
    balanced: bool
    missing_unit_periods: int
    warnings: list[str] = field(default_factory=list)
    cast: dict[str, str] = field(default_factory=dict)


def preset_of(study: Study) -> Any:
    if not study.meta.preset:
        return None
    from ctfp.core.study_load import get_preset

    return get_preset(study.meta.preset)


def read_study_panel(study: Study) -> RawPanel:
    """The panel a study names ([data] panel, relative to the study file), or its preset's SYNTHETIC panel."""
    from ctfp.data.readers import read_panel

    preset = preset_of(study)
    if not study.data.panel:
        raw, truth = preset.synthetic_panel()
        raw.attrs["data_source"] = "synthetic"
        return RawPanel(raw, str(raw.attrs.get("source", preset.synthetic_label)), "synthetic", truth, row_offset=1)
    path = study.resolve(study.data.panel)
    if not path.is_file():
        raise InputError(f"{study.where('data', 'panel')}: panel file {path} not found; fix [data] panel "
                         "(relative to the study file) or pass --panel")
    if study.data.sheet is not None and path.suffix.lower() in (".xlsx", ".xlsm"):
        frame = _read_sheet(path, study.data.sheet)
    else:
        frame = read_panel(path, mapping=study.data.mapping or None) if preset is not None else read_panel(path)
    if preset is None or study.data.sheet is not None:
        frame = apply_mapping(frame, study, str(path))
    # the synthetic panel written to a file stays synthetic: the report must say so
    synthetic = "synthetic" in frame.columns and bool(frame["synthetic"].astype(bool).all())
    frame.attrs["data_source"] = "synthetic" if synthetic else "user"
    return RawPanel(frame, str(path), "synthetic" if synthetic else "user")


def _read_sheet(path: Path, sheet: str | int) -> pd.DataFrame:
    try:
        frame = pd.read_excel(path, sheet_name=sheet, engine="openpyxl")
    except (ValueError, KeyError) as err:
        raise InputError(f"{path}: sheet {sheet!r} cannot be read ({err}); fix [data] sheet") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    frame.attrs["source"] = str(path)
    return frame


def apply_mapping(frame: pd.DataFrame, study: Study, source: str) -> pd.DataFrame:
    """Rename the file's columns by [data.mapping] ("column in the file" = "name in the study")."""
    mapping = study.data.mapping
    for user, name in mapping.items():
        where = study.where("data", "mapping", user)
        if user not in frame.columns:
            raise InputError(f"{where}: [data.mapping] names column '{user}', which {source} does not have; "
                             "fix the mapping or the file's header")
        if name in frame.columns and name not in mapping:
            raise InputError(f"{where}: [data.mapping] maps '{user}' to '{name}', but {source} already has a "
                             f"column '{name}'; rename or drop one")
    out = frame.rename(columns=dict(mapping))
    out.attrs = dict(frame.attrs)
    out.attrs["mapping"] = {name: user for user, name in mapping.items()}
    return out


def check_ids(raw: RawPanel, study: Study) -> tuple[pd.DataFrame, PanelReport]:
    """Unit and period columns: present, never missing, periods whole numbers (integral floats from Stata
    files are cast exactly), ids integral or text; within [data] years; one row per (unit, period)."""
    df = raw.frame.copy()
    df.attrs = dict(raw.frame.attrs)
    unit, time = study.data.unit, study.data.time
    cast: dict[str, str] = {}
    for col, key in ((unit, "unit"), (time, "time")):
        if col not in df.columns:
            raise InputError(f"{study.where('data', key)}: [data] {key} = '{col}', but {raw.source} has no column "
                             f"'{col}' (its columns: {', '.join(map(str, df.columns[:12]))}"
                             f"{', ...' if len(df.columns) > 12 else ''}); fix [data] {key} or map a column onto it")
        miss = df[col].isna()
        if miss.any():
            i = int(np.flatnonzero(miss.to_numpy())[0])
            raise InputError(f"{raw.source}, row {i + raw.row_offset}, column {col}: the {key} is missing; every "
                             f"row needs a {key}")
    df[time], cast[time] = _integral(df[time], raw, time, "period", text_ok=False)
    if not pd.api.types.is_string_dtype(df[unit]) and not pd.api.types.is_object_dtype(df[unit]):
        df[unit], cast[unit] = _integral(df[unit], raw, unit, "unit id", text_ok=True)
    else:
        df[unit] = df[unit].astype(str)
        cast[unit] = "text"
    if study.data.years is not None:
        lo, hi = study.data.years
        out = (df[time] < lo) | (df[time] > hi)
        if out.any():
            i = int(np.flatnonzero(out.to_numpy())[0])
            raise InputError(f"{raw.source}, row {i + raw.row_offset}, column {time}: period {df[time].iloc[i]} is "
                             f"outside [data] years = [{lo}, {hi}] ({study.where('data', 'years')}); widen years, "
                             "set years = \"any\", or drop those rows from the file")
    dup = df.duplicated([unit, time], keep=False)
    if dup.any():
        rows = np.flatnonzero(dup.to_numpy())
        first = df.iloc[rows[0]]
        twin = next(r for r in rows[1:] if df[unit].iloc[r] == first[unit] and df[time].iloc[r] == first[time])
        raise InputError(f"{raw.source}, rows {rows[0] + raw.row_offset} and {twin + raw.row_offset}: duplicate "
                         f"({unit}, {time}) = ({first[unit]}, {first[time]}); keep one row per unit and period "
                         f"({int(dup.sum())} rows are duplicates)")
    n_units, n_periods = int(df[unit].nunique()), int(df[time].nunique())
    missing = n_units * n_periods - len(df)
    warnings = []
    if missing:
        counts = df.groupby(unit, sort=True)[time].count()
        short = counts[counts < n_periods]
        warnings.append(f"{raw.source}: unbalanced panel: {n_units} units x {n_periods} periods, {missing} "
                        f"unit-period(s) absent ({len(short)} unit(s), e.g. {short.index[0]} with "
                        f"{int(short.iloc[0])} of {n_periods}); lag() is NaN across a gap")
    report = PanelReport(n_rows=len(df), n_units=n_units, n_periods=n_periods, balanced=not missing,
                         missing_unit_periods=int(missing), warnings=warnings, cast=cast)
    return df, report


def _integral(s: pd.Series, raw: RawPanel, col: str, what: str, *, text_ok: bool) -> tuple[pd.Series, str]:
    num = pd.to_numeric(s, errors="coerce")
    bad = num.isna() & s.notna()
    if bad.any():
        if text_ok:
            return s.astype(str), "text"
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"{raw.source}, row {i + raw.row_offset}, column {col}: {s.iloc[i]!r} is not a whole "
                         f"number; the {what} must be an integer (e.g. 1970)")
    x = num.to_numpy(dtype=float)
    frac = x != np.round(x)
    if frac.any():
        i = int(np.flatnonzero(frac)[0])
        raise InputError(f"{raw.source}, row {i + raw.row_offset}, column {col}: {float(x[i])!r} is not a whole number; "
                         f"the {what} must be an integer (non-integral values are not rounded)")
    if np.abs(x).max(initial=0) >= 2**53:
        raise InputError(f"{raw.source}, column {col}: {what}s beyond 2^53 cannot be read exactly from floats; "
                         "store them as text")
    kind = "int" if pd.api.types.is_integer_dtype(s) else "float -> int (exact)"
    return pd.Series(x.astype(np.int64), index=s.index, name=s.name), kind


def derive(frame: pd.DataFrame, study: Study) -> pd.DataFrame:
    """[data.derive]: new columns in order, each from the panel's columns and those derived before it."""
    out = frame.copy()
    out.attrs = dict(frame.attrs)
    for name, text in study.data.derive:
        where = f"{study.where('data', 'derive', name)}: [data.derive] '{name}'"
        if name in out.columns:
            raise InputError(f"{where} would overwrite the panel's column '{name}'; choose another name")
        out[name] = parse(text, where=where).evaluate(out, unit=study.data.unit, time=study.data.time)
    return out


def apply_groups(frame: pd.DataFrame, study: Study) -> tuple[pd.DataFrame, dict[str, Any]]:
    """[groups]: one 0/1 column per rule (NaN where the rule's inputs are missing), with what each split."""
    out = frame.copy()
    out.attrs = dict(frame.attrs)
    unit = study.data.unit
    prov: dict[str, Any] = {}
    for g in study.groups:
        at = f"{g.where}: [groups] '{g.name}'"
        info: dict[str, Any] = {"rule": g.kind, "value": g.value}
        if g.kind == "expr":
            flag = parse(g.value, where=at).evaluate(out, unit=unit, time=study.data.time)
            _check01(flag, at, out, study, f"'{g.value}' must give 0/1 (write a comparison, e.g. x > 5)")
        elif g.kind == "column":
            if g.value not in out.columns:
                raise InputError(f"{at}: column '{g.value}' is not in the panel; add it or use expr / median")
            flag = pd.to_numeric(out[g.value], errors="coerce").to_numpy(dtype=float)
            _check01(flag, at, out, study, f"column '{g.value}' must hold 0/1")
        else:
            if g.value not in out.columns:
                raise InputError(f"{at}: median names column '{g.value}', which the panel does not have")
            x = pd.to_numeric(out[g.value], errors="coerce")
            if x.isna().all():
                raise InputError(f"{at}: column '{g.value}' has no numbers to split at the median")
            means = x.groupby(out[unit].to_numpy()).mean()
            med = float(np.nanmedian(means.to_numpy(dtype=float)))
            unit_flag = (means > med).astype(float).where(means.notna())
            flag = out[unit].map(unit_flag).to_numpy(dtype=float)
            info.update(median_of_unit_means=med, units_at_median=int((means == med).sum()),
                        tie_rule="unit mean > median -> 1; a unit at the median -> 0")
        if g.name in out.columns and not (g.kind == "column" and g.value == g.name):
            raise InputError(f"{at} would overwrite the panel's column '{g.name}'; choose another name")
        col = pd.Series(flag, index=out.index)
        out[g.name] = col.astype("int64") if col.notna().all() else col
        units = out.loc[col.notna(), [unit]].assign(f=col[col.notna()])
        info.update(rows_1=int((col == 1).sum()), rows_0=int((col == 0).sum()), rows_missing=int(col.isna().sum()),
                    units_1=int(units.loc[units["f"] == 1, unit].nunique()),
                    units_0=int(units.loc[units["f"] == 0, unit].nunique()))
        if info["rows_1"] == 0 or info["rows_0"] == 0:
            raise InputError(f"{at}: the rule puts every row in one group ({info['rows_1']} rows 1, "
                             f"{info['rows_0']} rows 0); a split needs both")
        prov[g.name] = info
    return out, prov


def _check01(flag: np.ndarray, at: str, frame: pd.DataFrame, study: Study, msg: str) -> None:
    bad = ~np.isnan(flag) & (flag != 0) & (flag != 1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"{at}: {msg}; at {study.data.unit} {frame[study.data.unit].iloc[i]}, "
                         f"{study.data.time} {frame[study.data.time].iloc[i]} it is {flag[i]:g}")


def check_measure_domain(frame: pd.DataFrame, m: Measure, study: Study, source: str) -> None:
    """Every input and output of a DEA measure present, numeric and strictly positive in every row."""
    for c in m.columns:
        if c not in frame.columns:
            raise InputError(f"{m.where}: [[measure]] '{m.name}' uses column '{c}', which the panel does not "
                             "have; add it, derive it in [data.derive], or map it in [data.mapping]")
        x = pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(x) | (x <= 0)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            what = "missing" if np.isnan(x[i]) else f"{x[i]:g}"
            raise InputError(f"{source}: {study.data.unit} {frame[study.data.unit].iloc[i]}, {study.data.time} "
                             f"{frame[study.data.time].iloc[i]}, column {c}: {what} ({int(bad.sum())} such rows); "
                             f"[[measure]] '{m.name}' ({m.where}) needs positive inputs and outputs")
