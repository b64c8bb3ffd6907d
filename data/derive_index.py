"""Entropy-weight composite indices (ER, green finance, green consumption), methods.md §2.

For indicator j over the n rows of a normalisation group:
    v_ij = (x_ij − min_j) / (max_j − min_j)          positive indicator
    v_ij = (max_j − x_ij) / (max_j − min_j)          negative indicator
    p_ij = v_ij / Σ_i v_ij,  e_j = −(1 / ln n) Σ_i p_ij ln p_ij  with 0 · ln 0 = 0
    w_j = (1 − e_j) / Σ_k (1 − e_k),  index_i = Σ_j w_j v_ij  (in [0, 1])
A constant indicator (max = min) carries no information: v = 0, e = 1, w = 0.
`normalisation="pooled"` (default) uses all city-years at once, so index values compare across years;
`"per_year"` runs the whole method within each year (weights differ by year).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ctfp.core.errors import InputError

NORMALISATIONS = ("pooled", "per_year")


def entropy_weights(x: np.ndarray, negative: Sequence[bool]) -> tuple[np.ndarray, np.ndarray]:
    """(weights w_j, normalised matrix v) of an n × k matrix x; `negative[j]` reverses indicator j."""
    x = np.asarray(x, dtype=float)
    n, k = x.shape
    if n < 2:
        raise InputError("entropy index: needs at least two rows per normalisation group")
    if np.isnan(x).any():
        raise InputError("entropy index: an indicator has missing values after interpolation; fill them")
    lo, hi = x.min(axis=0), x.max(axis=0)
    rng = hi - lo
    safe = np.where(rng > 0, rng, 1.0)
    v = np.where(np.asarray(negative, dtype=bool), (hi - x) / safe, (x - lo) / safe)
    v[:, rng <= 0] = 0.0
    total = v.sum(axis=0)
    e = np.ones(k)
    for j in range(k):
        if total[j] <= 0:
            continue  # constant indicator: e = 1, weight 0
        p = v[:, j] / total[j]
        nz = p > 0  # 0 · ln 0 = 0
        e[j] = -np.sum(p[nz] * np.log(p[nz])) / np.log(n)
    d = 1.0 - e
    if d.sum() <= 0:
        raise InputError("entropy index: every indicator is constant; the index is undefined")
    w = d / d.sum()
    return w, v


def entropy_index(frame: pd.DataFrame, positive: Sequence[str], negative: Sequence[str], *,
                  by: pd.Series | None = None, name: str = "index") -> tuple[pd.Series, pd.DataFrame]:
    """Index per row and the weights (one row per group: "pooled" or the year) of the named indicators."""
    cols = list(positive) + list(negative)
    neg = [False] * len(positive) + [True] * len(negative)
    groups = [("pooled", frame.index)] if by is None else list(frame.groupby(by, sort=True).groups.items())
    out = pd.Series(np.nan, index=frame.index, name=name)
    weights = {}
    for key, idx in groups:
        w, v = entropy_weights(frame.loc[idx, cols].to_numpy(dtype=float), neg)
        out.loc[idx] = v @ w
        weights[key] = dict(zip(cols, w, strict=True))
    return out, pd.DataFrame.from_dict(weights, orient="index")
