"""Absorbing fixed effects exactly (Frisch–Waugh–Lovell) and counting the degrees of freedom they use.

One FE: subtract group means (exact). Two FEs on a balanced grid: the closed form x − x̄_i − x̄_t + x̄.
Anything else (unbalanced, three or more FEs): alternating projections (method of alternating projections,
Guimarães–Portugal / reghdfe's MAP) until the largest change is below `tol` times the column scale.

Degrees of freedom follow reghdfe: an FE nested in a cluster variable uses no df; the second FE loses one df
per connected component (mobility group) of its bipartite graph with the first; later FEs lose one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ctfp.core.errors import NumericalError

MAP_TOL = 1e-14
MAP_MAXITER = 10_000


def factorize(values: np.ndarray) -> tuple[np.ndarray, int]:
    """Integer codes 0..G−1 for any 1-d array of labels (NaN not allowed here; callers drop them first)."""
    _, codes = np.unique(np.asarray(values), return_inverse=True)
    codes = codes.astype(np.int64).ravel()
    return codes, int(codes.max()) + 1 if codes.size else 0


def _group_demean(a: np.ndarray, codes: np.ndarray, n_levels: int, counts: np.ndarray) -> np.ndarray:
    out = np.empty_like(a)
    for j in range(a.shape[1]):
        means = np.bincount(codes, weights=a[:, j], minlength=n_levels) / counts
        out[:, j] = a[:, j] - means[codes]
    return out


def is_balanced_grid(codes: Sequence[np.ndarray], sizes: Sequence[int]) -> bool:
    """True when two FEs form a full grid with exactly one observation per cell."""
    if len(codes) != 2:
        return False
    n = codes[0].size
    if n != sizes[0] * sizes[1]:
        return False
    cell = codes[0] * sizes[1] + codes[1]
    return bool(np.bincount(cell, minlength=n).max() == 1)


def demean(a: np.ndarray, codes: Sequence[np.ndarray], sizes: Sequence[int] | None = None,
           *, tol: float = MAP_TOL, maxiter: int = MAP_MAXITER) -> np.ndarray:
    """Residuals of every column of `a` (n×p) after projecting out all FEs given as integer code arrays."""
    a = np.asarray(a, dtype=float)
    squeeze = a.ndim == 1
    if squeeze:
        a = a[:, None]
    if not codes:
        out = a - a.mean(axis=0) if a.shape[0] else a.copy()
        return out[:, 0] if squeeze else out
    if sizes is None:
        sizes = [int(c.max()) + 1 for c in codes]
    counts = [np.bincount(c, minlength=s).astype(float) for c, s in zip(codes, sizes, strict=True)]
    if len(codes) == 1:
        out = _group_demean(a, codes[0], sizes[0], counts[0])
    elif is_balanced_grid(codes, sizes):
        # x − x̄_i − x̄_t + x̄ (exact on a full grid)
        out = _group_demean(a, codes[0], sizes[0], counts[0])
        out = out - _group_means(out, codes[1], sizes[1], counts[1])
    else:
        out = _map(a, codes, sizes, counts, tol, maxiter)
    return out[:, 0] if squeeze else out


def _group_means(a: np.ndarray, codes: np.ndarray, n_levels: int, counts: np.ndarray) -> np.ndarray:
    out = np.empty_like(a)
    for j in range(a.shape[1]):
        out[:, j] = (np.bincount(codes, weights=a[:, j], minlength=n_levels) / counts)[codes]
    return out


def _map(a: np.ndarray, codes: Sequence[np.ndarray], sizes: Sequence[int], counts: Sequence[np.ndarray],
         tol: float, maxiter: int) -> np.ndarray:
    out = a.copy()
    scale = np.maximum(np.abs(a).max(axis=0), 1e-300)
    for _ in range(maxiter):
        prev = out.copy()
        for c, s, n in zip(codes, sizes, counts, strict=True):
            out = _group_demean(out, c, s, n)
        if np.all(np.abs(out - prev).max(axis=0) <= tol * scale):
            return out
    raise NumericalError(f"fixed-effect absorption did not converge in {maxiter} alternating projections; "
                         "check for FEs that are nearly collinear or loosen the tolerance")


def _components(c1: np.ndarray, n1: int, c2: np.ndarray, n2: int) -> int:
    """Connected components of the bipartite graph FE1 level — FE2 level (mobility groups)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = c1.size
    rows = np.concatenate([c1, n1 + c2])
    cols = np.concatenate([n1 + c2, c1])
    graph = coo_matrix((np.ones(2 * n), (rows, cols)), shape=(n1 + n2, n1 + n2))
    k, _ = connected_components(graph, directed=False)
    return int(k)


def nested_in(fe_codes: np.ndarray, cluster_codes: np.ndarray) -> bool:
    """True when every level of the FE lies inside one cluster (reghdfe then counts none of its df)."""
    n_fe = int(fe_codes.max()) + 1
    first = np.full(n_fe, -1, dtype=np.int64)
    first[fe_codes[::-1]] = cluster_codes[::-1]
    return bool(np.all(first[fe_codes] == cluster_codes))


@dataclass(frozen=True)
class FEDof:
    """Degrees of freedom absorbed by the fixed effects (reghdfe's table: levels, redundant, counted).

    Counting is by rank: df_ols = rank of [constant, dummies of the FEs not nested in a cluster]. The first
    non-nested FE shares one level with the constant, the second loses one level per mobility group with the
    first, later ones lose one (reghdfe's default; exact for up to two non-nested FEs).
    """

    levels: tuple[int, ...]
    redundant: tuple[int, ...]  # nested FEs: all levels; the first free FE: 1 (the constant)
    nested: tuple[bool, ...]
    df_a: int  # Σ (levels − redundant): absorbed df besides the constant

    @property
    def df_ols(self) -> int:
        """Columns reghdfe subtracts besides the slopes: the constant plus df_a."""
        return self.df_a + 1 if self.levels else 0  # no absorption: the constant is an ordinary regressor

    @property
    def sdofminus(self) -> int:
        """ivreghdfe's sdofminus: as reghdfe, less the constant when an FE is nested in a cluster, at least 1."""
        if not self.levels:
            return 0
        return max(self.df_ols - (1 if any(self.nested) else 0), 1)


def fe_dof(codes: Sequence[np.ndarray], sizes: Sequence[int],
           clusters: Sequence[np.ndarray] = ()) -> FEDof:
    """reghdfe's count of absorbed df for the given FE codes and cluster codes."""
    nested = tuple(any(nested_in(c, g) for g in clusters) for c in codes)
    redundant: list[int] = []
    first_free: int | None = None
    n_free = 0
    for k, (c, s) in enumerate(zip(codes, sizes, strict=True)):
        if nested[k]:
            redundant.append(s)
            continue
        n_free += 1
        if first_free is None:
            first_free = k
            redundant.append(1)  # collinear with the constant
        elif n_free == 2:
            redundant.append(_components(codes[first_free], sizes[first_free], c, s))
        else:
            redundant.append(1)
    df_a = int(sum(s - r for s, r in zip(sizes, redundant, strict=True)))
    return FEDof(tuple(int(s) for s in sizes), tuple(redundant), nested, df_a)


def drop_singletons(codes: Sequence[np.ndarray]) -> np.ndarray:
    """Boolean keep-mask after iteratively removing observations alone in an FE level (reghdfe's default)."""
    n = codes[0].size if codes else 0
    keep = np.ones(n, dtype=bool)
    if not codes:
        return keep
    while True:
        changed = False
        for c in codes:
            counts = np.bincount(c[keep], minlength=int(c.max()) + 1)
            single = keep & (counts[c] == 1)
            if single.any():
                keep &= ~single
                changed = True
        if not changed:
            return keep
