"""A parametric bootstrap world of a user's study: its fitted two-way FE column with the focal coefficient set.

Fit the study's focal table column y = b x + g'c + unit + time + e (two-way FE, as the replica). A world with
true effect X and seed s is

    y*_it = yhat_it + (X - b) x_it + e_{v(i), t}

on the column's estimation rows: the fitted values (fixed effects included), the focal coefficient moved to X,
and the residual vector of a whole unit v(i) drawn with replacement for every unit i (among the units observed
in exactly the same periods, so every row gets a residual of its own period). Resampling whole units keeps
each unit's serial dependence and its error scale (a unit-level error model is what makes within-unit
dependence matter for the intervals); the regressors, fixed effects and groups stay as observed, so the
design is the study's own. The true slope of x is X on every row: every estimand's truth is X.

Rows outside the column's estimation sample keep their observed outcome. Pure numpy: the fit itself is done by
the caller (`ctfp.inference.simulate_study`) with the replica's estimator.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ctfp.models.worlds.draws import WorldDraw


@dataclass(frozen=True)
class UnitBootstrap:
    frame: pd.DataFrame  # the study's analysis panel
    outcome: str
    treatment: str
    unit: str
    time: str
    rows: np.ndarray  # positions (in `frame`) of the focal column's estimation sample
    fitted: np.ndarray  # yhat on those rows (y - the two-way FE residual)
    resid: np.ndarray  # the residuals on those rows
    coef: float  # the fitted focal coefficient b
    label: str = "parametric bootstrap of the fitted two-way FE column"
    stage: str = "analysis"
    donors: dict[Any, np.ndarray] = field(default_factory=dict, repr=False)  # filled in __post_init__

    def __post_init__(self) -> None:
        sub = self.frame.iloc[self.rows]
        units = sub[self.unit].to_numpy()
        times = sub[self.time].to_numpy()
        order = np.lexsort((times, units))
        by_unit: dict[Any, np.ndarray] = {}
        for u in pd.unique(units[order]):
            by_unit[u] = order[units[order] == u]  # positions within `rows`, in time order
        # units observed in the same periods can lend each other their residual vectors
        pattern = {u: tuple(times[p]) for u, p in by_unit.items()}
        pools: dict[tuple[Any, ...], list[Any]] = {}
        for u, pat in pattern.items():
            pools.setdefault(pat, []).append(u)
        object.__setattr__(self, "donors", {"by_unit": by_unit, "pattern": pattern, "pools": pools})

    @property
    def default_effect(self) -> float:
        return float(self.coef)

    def outcome_draw(self, seed: int, effect: float) -> np.ndarray:
        """y* on the estimation rows (aligned with `rows`)."""
        rng = np.random.default_rng(seed)
        by_unit, pattern, pools = self.donors["by_unit"], self.donors["pattern"], self.donors["pools"]
        e = np.empty_like(self.resid)
        for u, pos in by_unit.items():  # units in a fixed (sorted) order: the same seed draws the same world
            pool = pools[pattern[u]]
            v = pool[int(rng.integers(len(pool)))]
            e[pos] = self.resid[by_unit[v]]
        x = self.frame[self.treatment].to_numpy(dtype=float)[self.rows]
        return self.fitted + (float(effect) - self.coef) * x + e

    def draw(self, seed: int, effect: float) -> WorldDraw:
        frame = self.frame.copy()
        y = frame[self.outcome].to_numpy(dtype=float).copy()
        y[self.rows] = self.outcome_draw(seed, effect)
        frame[self.outcome] = y
        slope = np.full(len(frame), float(effect))
        truth = {"effect": float(effect), "seed": int(seed), "world": self.label, "fitted_coef": float(self.coef)}
        return WorldDraw(frame, truth, slope, self.outcome, self.treatment, self.stage, f"{self.label} (seed {seed})")

    def structure(self) -> dict[str, Any]:
        """What makes this world this world: the panel (hashed), the column's fit and its rows."""
        import hashlib

        h = hashlib.sha256(pd.util.hash_pandas_object(self.frame, index=False).to_numpy().tobytes())
        h.update(np.asarray(self.rows).tobytes())
        h.update(np.asarray(self.resid).tobytes())
        return {"name": "bootstrap", "outcome": self.outcome, "treatment": self.treatment, "coef": self.coef,
                "data": h.hexdigest()}
