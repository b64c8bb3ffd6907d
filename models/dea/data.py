"""DEA input checks, the zero rule and internal scaling.

Scaling: every variable is divided by its mean before solving. DEA scores (SBM and radial) are invariant to
the units of each variable, and mean-scaling keeps LP coefficients near 1 (CO2 in kg next to labour in 10k
persons otherwise makes HiGHS report success with wrong scores).

Zero rule (one rule, logged per DMU in the `zero_adjusted` column):
- a zero input x_io drops its slack term from the SBM objective (m -> m - 1 for that DMU); the constraint stays;
- a zero output y_ro (good or bad) keeps its value in the constraints, but the slack ratio s_r / y_ro uses
  min(positive values of that column) / 100 as the denominator (Tone's DEA-Solver convention).
Negative values are rejected: SBM is not translation invariant, so a shift must be the user's decision.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ctfp.core.errors import InputError

ZERO_OUTPUT_DIVISOR = 100.0
# A positive value this far below its column's mean is, in the mean-scaled LP, within a few orders of the
# solver's feasibility tolerance (1e-9): the DMU's own LP cannot resolve it (e.g. CO2 = 1e-9 next to a mean of
# 2,000 gave efficiency 0 with slack inf). Such DMUs are not solved and get status "ill_scaled".
ILL_SCALED_RATIO = 1e-6


@dataclass
class DeaData:
    """Variables as (k, n) arrays: unscaled, mean-scaled, and SBM ratio denominators."""

    inputs: list[str]
    good: list[str]
    bad: list[str]
    x: np.ndarray
    yg: np.ndarray
    yb: np.ndarray
    mu_x: np.ndarray
    mu_g: np.ndarray
    mu_b: np.ndarray
    zero_log: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return self.x.shape[1]

    @property
    def xs(self) -> np.ndarray:
        return self.x / self.mu_x[:, None]

    @property
    def ygs(self) -> np.ndarray:
        return self.yg / self.mu_g[:, None]

    @property
    def ybs(self) -> np.ndarray:
        return self.yb / self.mu_b[:, None]

    def ill_scaled(self, *, include_bad: bool = True) -> tuple[np.ndarray, list[str]]:
        """DMUs with a positive value below ILL_SCALED_RATIO x its column's mean, and why (one text per DMU).

        include_bad=False: bad outputs are negatively normalised before solving (radial models), which maps
        them into [c, 1 + c]; only the raw inputs and good outputs enter the LP as they are."""
        bad = self.bad if include_bad else []
        names = [*self.inputs, *self.good, *bad]
        vals = np.vstack([self.x, self.yg, self.yb if include_bad else np.empty((0, self.n))])
        mu = np.concatenate([self.mu_x, self.mu_g, self.mu_b if include_bad else []])
        rel = vals / mu[:, None]
        hit = (vals > 0) & (rel < ILL_SCALED_RATIO)
        why = [""] * self.n
        for j in np.flatnonzero(hit.any(axis=0)):
            k = int(np.flatnonzero(hit[:, j])[0])
            why[j] = (f"{names[k]} = {vals[k, j]:.3g} is {rel[k, j]:.1e} x the column mean {mu[k]:.4g}, below the "
                      f"{ILL_SCALED_RATIO:g} an LP can resolve; re-measure it, set it to 0 (the zero rule applies) "
                      "or drop the row")
        return hit.any(axis=0), why

    def denominators(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Scaled denominators of the slack ratios: x (0 where the term is dropped), y good, y bad."""
        return self.xs, _zero_floor(self.ygs), _zero_floor(self.ybs)


def _zero_floor(y: np.ndarray) -> np.ndarray:
    out = y.copy()
    for r in range(out.shape[0]):
        row = out[r]
        if (row == 0).any():
            row[row == 0] = row[row > 0].min() / ZERO_OUTPUT_DIVISOR
    return out


def check_columns(frame: pd.DataFrame, cols: Sequence[str], source: str) -> None:
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise InputError(
            f"{source}: column {missing[0]!r} not found; available columns: {', '.join(map(str, frame.columns))}"
        )


def _row_label(frame: pd.DataFrame, pos: int, id_col: str | None, period_col: str | None) -> str:
    parts = [f"row {pos + int(frame.attrs.get('row_offset', 1))}"]
    if id_col is not None:
        parts.append(f"{id_col}={frame[id_col].iloc[pos]}")
    if period_col is not None:
        parts.append(f"{period_col}={frame[period_col].iloc[pos]}")
    return " ".join(parts[:1]) + (f" ({', '.join(parts[1:])})" if len(parts) > 1 else "")


def numeric_matrix(
    frame: pd.DataFrame,
    cols: Sequence[str],
    source: str,
    id_col: str | None,
    period_col: str | None,
    *,
    allow_negative: bool = False,
) -> np.ndarray:
    """(k, n) float array of `cols`; raises InputError naming the first bad cell."""
    out = np.empty((len(cols), len(frame)))
    for k, c in enumerate(cols):
        raw = frame[c]
        vals = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        bad = np.flatnonzero(np.isnan(vals) & raw.notna().to_numpy())
        if bad.size:
            lab = _row_label(frame, int(bad[0]), id_col, period_col)
            raise InputError(f"{source}: column {c!r}, {lab}: value {raw.iloc[bad[0]]!r} is not a number; fix it")
        nan = np.flatnonzero(~np.isfinite(vals))
        if nan.size:
            lab = _row_label(frame, int(nan[0]), id_col, period_col)
            what = "missing value" if np.isnan(vals[nan[0]]) else f"infinite value {vals[nan[0]]:g}"
            raise InputError(f"{source}: column {c!r}, {lab}: {what}; DEA needs every cell finite, fix or drop the row")
        if not allow_negative:
            neg = np.flatnonzero(vals < 0)
            if neg.size:
                lab = _row_label(frame, int(neg[0]), id_col, period_col)
                raise InputError(
                    f"{source}: column {c!r}, {lab}: negative value {vals[neg[0]]:g}; DEA needs values >= 0 "
                    "(translate or re-measure the variable)"
                )
            if not (vals > 0).any():
                raise InputError(f"{source}: column {c!r} has no positive value; drop it from the model")
        out[k] = vals
    return out


def build_data(
    frame: pd.DataFrame,
    inputs: Sequence[str],
    good: Sequence[str],
    bad: Sequence[str],
    *,
    source: str,
    id_col: str | None,
    period_col: str | None,
) -> DeaData:
    x = numeric_matrix(frame, inputs, source, id_col, period_col)
    yg = numeric_matrix(frame, good, source, id_col, period_col)
    yb = numeric_matrix(frame, bad, source, id_col, period_col)
    data = DeaData(
        list(inputs), list(good), list(bad), x, yg, yb, x.mean(axis=1), yg.mean(axis=1), yb.mean(axis=1)
    )
    none = np.flatnonzero(~(x > 0).any(axis=0))
    if none.size:
        lab = _row_label(frame, int(none[0]), id_col, period_col)
        raise InputError(f"{source}: {lab}: every input is zero; a DMU that uses nothing makes every other DMU's "
                         "efficiency 0 under DEA; fix or drop the row")
    names = [*inputs, *good, *bad]
    allv = np.vstack([x, yg, yb])
    zero = allv == 0
    log = [""] * data.n  # only the DMUs with a zero need text (a per-DMU loop cost 1 s at 100,000 DMUs)
    for j in np.flatnonzero(zero.any(axis=0)):
        log[j] = ";".join(names[k] for k in np.flatnonzero(zero[:, j]))
    data.zero_log = log
    return data
