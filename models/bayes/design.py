"""Arrays a Bayesian panel model reads: indices, standardised regressors, Mundlak means, split indicators.

Everything here is plain numpy so it is cheap to test; the PyMC builders put these arrays into `pm.Data`.
Standardising (centre, divide by the sample sd) lets priors be stated once on a unit scale for any units;
the builders multiply back to report coefficients in the data's units.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ctfp.core.errors import InputError
from ctfp.models.bayes.spec import BayesSpec


@dataclass
class PanelDesign:
    """Model-ready arrays for one panel and spec (row order = `frame` order)."""

    frame: pd.DataFrame  # rows used, sorted by unit then time
    y: np.ndarray
    y_mean: float
    y_sd: float
    x: np.ndarray  # standardised treatment
    x_mean: float
    x_sd: float
    controls: np.ndarray  # (n, k) standardised
    control_names: list[str]
    control_sd: np.ndarray
    mundlak: np.ndarray  # (n, m) standardised city/year means
    mundlak_names: list[str]
    splits: np.ndarray  # (n, s) 0/1
    split_names: list[str]
    unit_idx: np.ndarray
    time_idx: np.ndarray
    units: list[str]
    times: list[str]
    prev_idx: np.ndarray  # row of the same unit in the previous period, -1 if none
    split_centre: np.ndarray | None = None  # (s,) where each indicator is centred (x^2-weighted mean)
    interactions: np.ndarray | None = None  # (n, s) (g - mean g) * treatment, year-demeaned, in x_sd units
    fe_weight: np.ndarray | None = None  # (n,) squared two-way within treatment: the weight an FE regression gives
    z: np.ndarray | None = None  # standardised instrument
    z_sd: float = 1.0
    dropped_rows: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.y)

    def coords(self) -> dict[str, list[str]]:
        """Named coordinates of the PyMC model (docs/contract.md)."""
        return {
            "city": self.units,
            "year": self.times,
            "obs": [str(i) for i in range(self.n)],
            "control": self.control_names,
            "mundlak": self.mundlak_names,
            "split": self.split_names,
            "level": ["1", "0"],
        }


def _standardise(a: np.ndarray, name: str) -> tuple[np.ndarray, float, float]:
    mean, sd = float(np.mean(a)), float(np.std(a))
    if not sd > 1e-12:
        raise InputError(f"column '{name}' is constant in the rows used; drop it from the model")
    return (a - mean) / sd, mean, sd


def make_design(panel: pd.DataFrame, spec: BayesSpec, source: str = "panel") -> PanelDesign:
    """Check columns and values, drop incomplete rows (counted), standardise, build Mundlak means."""
    spec.check_columns(panel, source)
    cols = spec.columns()
    frame = panel[cols].copy()
    numeric = [c for c in cols if c not in (spec.unit, spec.time)]
    for c in numeric:
        frame[c] = pd.to_numeric(frame[c], errors="coerce")
    complete = frame.notna().all(axis=1)
    dropped = int((~complete).sum())
    frame = frame.loc[complete].sort_values([spec.unit, spec.time]).reset_index(drop=True)
    if len(frame) < 10:
        raise InputError(f"{source}: only {len(frame)} complete rows for columns {', '.join(cols)}")
    if frame.duplicated([spec.unit, spec.time]).any():
        raise InputError(f"{source}: duplicate ({spec.unit}, {spec.time}) rows; keep one row per unit and period")

    notes: list[str] = []
    if dropped:
        notes.append(f"{dropped} rows with missing values in the model's columns were dropped")
    y = frame[spec.outcome].to_numpy(float)
    _check_outcome(y, spec, source)
    y_std_mean, y_sd = float(np.mean(y)), float(np.std(y))
    if not y_sd > 0:
        raise InputError(f"{source}: outcome '{spec.outcome}' is constant")

    units_codes, units = pd.factorize(frame[spec.unit], sort=True)
    time_codes, times = pd.factorize(frame[spec.time], sort=True)

    splits = np.zeros((len(frame), 0))
    if spec.splits:
        splits = frame[list(spec.splits)].to_numpy(float)
        for j, s in enumerate(spec.splits):
            vals = set(np.unique(splits[:, j]).tolist())
            if not vals <= {0.0, 1.0} or len(vals) < 2:
                raise InputError(f"{source}: split column '{s}' must hold both 0 and 1 and nothing else")

    # With Mundlak terms regressors are demeaned by year (orthogonal to the year effects, so a national trend in a
    # regressor, e.g. a shift-share instrument, does not trade off against them along a ridge) and split into
    # within-city deviations (the regressors) and city means (the Mundlak columns): the within-between form of
    # the Mundlak model (Bell & Jones 2015). Orthogonal columns: a control that barely moves within cities no
    # longer mirrors its own city mean. Without Mundlak terms the regressors are used as they are (plain
    # two-way random effects, the model bambi fits).
    def transformed(v: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        if not spec.mundlak:
            return v, None
        v = v - _group_mean(v, time_codes)
        means = _group_mean(v, units_codes)
        return v - means, means

    raw: dict[str, np.ndarray] = {spec.treatment: frame[spec.treatment].to_numpy(float)}
    raw.update({c: frame[c].to_numpy(float) for c in spec.controls})
    raw_x = raw[spec.treatment]
    # Split interactions are regressors of their own, (g - mean g) * treatment, transformed like the others, so the
    # group slopes are within estimates too (as in a fully interacted two-way FE regression).
    # Centre each indicator at its x^2-weighted mean (x as transformed), not its row mean: then the interaction is
    # orthogonal to the treatment itself, so beta and delta are not correlated even when one group holds most of
    # the treatment's variation (UA cities hold most AI patents); a strong correlation there forces tiny steps.
    inter_names = [f"{spec.treatment}_x_{sn}" for sn in spec.splits]
    x_t, _ = transformed(raw_x)
    weights = (x_t - x_t.mean()) ** 2
    split_centre = (weights @ splits) / weights.sum() if spec.splits else np.zeros(0)
    for j, name in enumerate(inter_names):
        raw[name] = (splits[:, j] - split_centre[j]) * raw_x
    if spec.instrument is not None:
        raw[spec.instrument] = frame[spec.instrument].to_numpy(float)

    within: dict[str, np.ndarray] = {}
    city_means: dict[str, np.ndarray] = {}
    for name, v in raw.items():
        w, m = transformed(v)
        within[name] = w
        if m is not None and name != (spec.treatment if spec.instrument else None):
            city_means[name] = m  # the endogenous treatment's means would reintroduce endogeneity

    for name in [spec.treatment, *spec.controls, *([spec.instrument] if spec.instrument else [])]:
        if spec.mundlak and np.std(within[name]) < 1e-12 and np.std(raw[name]) > 0:
            raise InputError(
                f"{source}: column '{name}' does not vary within cities; the city effects absorb it: drop it "
                "or use --no-mundlak"
            )
    x, x_mean, x_sd = _standardise(within[spec.treatment], spec.treatment)
    ctrl_cols, ctrl_sd = [], []
    for c in spec.controls:
        v, _, sd = _standardise(within[c], c)
        ctrl_cols.append(v)
        ctrl_sd.append(sd)
    controls = np.column_stack(ctrl_cols) if ctrl_cols else np.zeros((len(frame), 0))
    inter_cols = [(within[n] - within[n].mean()) / x_sd for n in inter_names]  # delta in the treatment's units
    interactions = np.column_stack(inter_cols) if inter_cols else np.zeros((len(frame), 0))

    z, z_sd = None, 1.0
    if spec.instrument is not None:
        z, _, z_sd = _standardise(within[spec.instrument], spec.instrument)

    mundlak, mundlak_names = np.zeros((len(frame), 0)), []
    if spec.mundlak:
        mundlak, mundlak_names = _mundlak(city_means, units_codes)

    return PanelDesign(
        frame=frame,
        y=y,
        y_mean=y_std_mean,
        y_sd=y_sd,
        x=x,
        x_mean=x_mean,
        x_sd=x_sd,
        controls=controls,
        control_names=list(spec.controls),
        control_sd=np.asarray(ctrl_sd, float),
        mundlak=mundlak,
        mundlak_names=mundlak_names,
        splits=splits,
        split_centre=np.asarray(split_centre, float),
        interactions=interactions,
        fe_weight=two_way_within(raw_x, units_codes, time_codes) ** 2,
        split_names=list(spec.splits),
        unit_idx=units_codes.astype(np.int64),
        time_idx=time_codes.astype(np.int64),
        units=[str(u) for u in units],
        times=[str(t) for t in times],
        prev_idx=_previous_rows(frame[spec.unit].to_numpy(), frame[spec.time].to_numpy()),
        z=z,
        z_sd=z_sd,
        dropped_rows=dropped,
        notes=notes,
    )


def _check_outcome(y: np.ndarray, spec: BayesSpec, source: str) -> None:
    if spec.likelihood == "censored" and np.any(y > spec.censor_at + 1e-12):
        raise InputError(
            f"{source}: outcome '{spec.outcome}' has values above the censoring point {spec.censor_at}"
        )
    if spec.likelihood == "ordbeta":
        if np.any(y < 0) or np.any(y > 1):
            raise InputError(f"{source}: likelihood 'ordbeta' needs '{spec.outcome}' in [0, 1]")
        if not np.any((y > 0) & (y < 1)):
            raise InputError(f"{source}: likelihood 'ordbeta' needs some '{spec.outcome}' strictly inside (0, 1)")


def two_way_within(v: np.ndarray, unit_idx: np.ndarray, time_idx: np.ndarray, tol: float = 1e-12) -> np.ndarray:
    """v with unit and time means swept out (alternating projections; exact in one pass when balanced)."""
    out = v - v.mean()
    for _ in range(500):
        prev = out
        out = out - _group_mean(out, unit_idx)
        out = out - _group_mean(out, time_idx)
        if np.max(np.abs(out - prev)) <= tol * (1.0 + np.max(np.abs(out))):
            break
    return out


def _group_mean(v: np.ndarray, idx: np.ndarray) -> np.ndarray:
    return (np.bincount(idx, weights=v) / np.bincount(idx))[idx]


def _mundlak(city_means: dict[str, np.ndarray], unit_idx: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """City-mean columns, standardised; constant ones (nothing to explain) are left out."""
    cols: list[np.ndarray] = []
    names: list[str] = []
    for name, means in city_means.items():
        sd = float(np.std(means))
        if sd < 1e-8:
            continue
        cols.append((means - means.mean()) / sd)
        names.append(f"city_mean_{name}")
    return (np.column_stack(cols) if cols else np.zeros((len(unit_idx), 0))), names


def _previous_rows(units: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Row index of the same unit one period earlier (rows sorted by unit, time); -1 at starts and gaps."""
    prev = np.full(len(units), -1, dtype=np.int64)
    same_unit = units[1:] == units[:-1]
    try:
        consecutive = (times[1:].astype(float) - times[:-1].astype(float)) == 1
    except (TypeError, ValueError):  # non-numeric periods: adjacency within unit is all we know
        consecutive = np.ones(len(units) - 1, dtype=bool)
    ok = np.flatnonzero(same_unit & consecutive) + 1
    prev[ok] = ok - 1
    return prev
