"""Demean once, fit many: the within transformation shared by every regression on the same sample and FEs.

A table has many columns on one estimation sample with the same fixed effects (Table 2's four columns, the
mechanisms of Table 5, both stages of an IV). `WithinCache` is the `demean` hook of `fit_ols` / `fit_iv`: the
first fit on a (sample, fixed effects) pair demeans its own columns together with every other variable the
caller announced (`companions`) that is complete on that sample, and later fits on the same pair read the
cached columns. Columns are demeaned by the same code as a lone fit (`fwl.demean`) and handed back in the memory layout a lone
fit would have, so on a balanced grid or with one FE the numbers are bit-for-bit those of a lone fit; with
alternating projections the stopping rule sees every column demeaned together, so when companions join a fit
its results may move below the projection tolerance (1e-14 of the column scale).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from ctfp.models.panel import fwl
from ctfp.models.panel.estimators import Design, pow2_scales


class WithinCache:
    """Demeaned columns per (estimation rows, FE codes); pass the instance as `demean=` to the estimators."""

    def __init__(self, frame: pd.DataFrame, companions: Iterable[str] = ()) -> None:
        self.frame = frame  # the frame whose index labels the designs' `rows` refer to
        self.companions = tuple(dict.fromkeys(companions))  # may be reset between fits
        self._store: dict[bytes, dict[str, np.ndarray]] = {}
        self.demeaned = 0  # number of demean calls (for tests and progress lines)
        self.hits = 0

    @staticmethod
    def _key(d: Design) -> bytes:
        parts = [np.asarray(d.rows).tobytes()] + [np.asarray(c, dtype=np.int64).tobytes() for c in d.fe_codes]
        return b"|".join(parts)

    def __call__(self, raw: np.ndarray, d: Design, names: list[str]) -> np.ndarray:
        store = self._store.setdefault(self._key(d), {})
        missing = [j for j, n in enumerate(names) if n not in store]
        if missing:
            cols = [raw[:, j] for j in missing]
            labels = [names[j] for j in missing]
            for c in self.companions:
                if c in store or c in labels or c not in self.frame.columns:
                    continue
                values = pd.to_numeric(self.frame.loc[d.rows, c], errors="coerce").to_numpy(dtype=float)
                if np.isfinite(values).all():  # only variables complete on this sample share its demeaning
                    # the estimators hand their columns over divided by pow2_scales (exact; 1 in ordinary
                    # units): a companion is stored as the fit that reads it will hand it over
                    cols.append(values / pow2_scales(values[:, None])[0])
                    labels.append(c)
            w = fwl.demean(np.column_stack(cols), d.fe_codes, d.fe_sizes)
            self.demeaned += 1
            for j, n in enumerate(labels):
                store[n] = w[:, j]
        else:
            self.hits += 1
        # The memory layout fwl.demean would give this input (its own layout for one FE or the closed form,
        # C order from alternating projections): BLAS products and pairwise sums round by layout, and the
        # shared fit must equal a lone fit bit for bit.
        projected = len(d.fe_codes) > 1 and not fwl.is_balanced_grid(d.fe_codes, d.fe_sizes)
        out = np.empty(raw.shape, order="C") if projected else np.empty_like(raw, dtype=float)
        for j, n in enumerate(names):
            out[:, j] = store[n]
        return out
