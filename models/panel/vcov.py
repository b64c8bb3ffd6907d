"""Cluster-robust "meat" matrices and Stata's small-sample factors.

One-way: M = Σ_g s_g s_g' with s_g the summed scores of cluster g. Multi-way (Cameron–Gelbach–Miller 2011):
inclusion–exclusion over the intersections, M = Σ_{S ≠ ∅} (−1)^{|S|+1} M_{∩S}; two-way: M_1 + M_2 − M_12.
The number of clusters used in G/(G−1) and in the t df is the smallest G (reghdfe, ivreg2).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

import numpy as np


def cluster_sums(scores: np.ndarray, codes: np.ndarray, n_levels: int | None = None) -> np.ndarray:
    """Per-cluster sums of the rows of `scores` (n×k) → (G×k)."""
    if n_levels is None:
        n_levels = int(codes.max()) + 1
    out = np.empty((n_levels, scores.shape[1]))
    for j in range(scores.shape[1]):
        out[:, j] = np.bincount(codes, weights=scores[:, j], minlength=n_levels)
    return out


def intersect_codes(codes: Sequence[np.ndarray]) -> np.ndarray:
    """Codes of the intersection cells of several cluster variables (e.g. province × year)."""
    stacked = np.column_stack(codes)
    _, inv = np.unique(stacked, axis=0, return_inverse=True)
    return inv.astype(np.int64).ravel()


def meat(scores: np.ndarray, clusters: Sequence[np.ndarray]) -> np.ndarray:
    """Σ over clusters of outer products of summed scores; multi-way by inclusion–exclusion."""
    k = scores.shape[1]
    total = np.zeros((k, k))
    for r in range(1, len(clusters) + 1):
        sign = 1.0 if r % 2 == 1 else -1.0
        for subset in combinations(clusters, r):
            codes = subset[0] if r == 1 else intersect_codes(subset)
            s = cluster_sums(scores, codes)
            total += sign * (s.T @ s)
    return total


def n_clusters(clusters: Sequence[np.ndarray]) -> int:
    """G used by Stata: the smallest number of clusters across the cluster variables."""
    return int(min(int(c.max()) + 1 for c in clusters))


def sandwich(bread: np.ndarray, m: np.ndarray) -> np.ndarray:
    """bread · meat · bread, symmetrised."""
    v = bread @ m @ bread
    return (v + v.T) / 2.0


def cluster_factor(n: int, k: int, df_absorbed: int, g: int) -> float:
    """Stata's small-sample factor (N−1)/(N−K−df) · G/(G−1)."""
    return (n - 1) / (n - k - df_absorbed) * g / (g - 1)
