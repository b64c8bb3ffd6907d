"""Between-group differences of a two-way FE slope: Fisher permutation, fully interacted Chow, SUEST.

The permutation test (Cleary 1999; Stata `bdiff`) re-estimates both groups R times. Each refit is a two-way FE
OLS on a subsample, done here for all permutations at once: on a city × year grid, with v = [y, X, year dummies]
and m the 0/1 membership of a subsample,

    A = Σ_it m_it v_it v_it' − Σ_i S_i S_i' / n_i,     S_i = Σ_t m_it v_it,  n_i = Σ_t m_it

is the city-demeaned cross-product matrix (city FE absorbed exactly, balanced or not); the year FE are then
partialled out of A by a Schur complement with a pseudo-inverse (the year dummies are collinear with the city
FE). One matrix product gives A for every permutation. Labels that vary within a city (city-year groups such
as "high environmental attention") are permuted as whole city paths at the city level, or cell by cell at the
observation level.

Exact alternatives: the fully interacted pooled regression (city and year FE and every regressor interacted with
the group), whose coefficient on x·D equals the difference of the split estimates, and SUEST (joint cluster-robust
covariance of the two split estimates; Var = V₁ + V₀ when the groups partition the clusters).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import special  # F and normal tails without importing scipy.stats

from ctfp.core.errors import InputError
from ctfp.models.panel import fwl
from ctfp.models.panel.estimators import PanelResult, fit_ols

CHUNK = 256  # permutations per batched solve (bounds memory at R × p² floats)


@dataclass
class GridDesign:
    """y, X and year dummies on a city × year grid (zeros where a cell is absent), standardised."""

    v: np.ndarray  # (C, T, p) with p = 1 + k + T
    present: np.ndarray  # (C, T) bool
    k: int
    scale: np.ndarray  # (1 + k,) standard deviations used to standardise y and X
    units: np.ndarray  # city labels, row order of the grid
    times: np.ndarray  # year labels, column order of the grid
    vv: np.ndarray = field(repr=False, default_factory=lambda: np.empty(0))  # (C·T, p²) outer products


def build_grid(frame: pd.DataFrame, y: str, x: Sequence[str], unit: str = "city", time: str = "year",
               source: str = "panel") -> GridDesign:
    """Lay out complete rows of [y, x] on the unit × time grid (one row per cell required)."""
    cols = [y, *x]
    missing = [c for c in [*cols, unit, time] if c not in frame.columns]
    if missing:
        raise InputError(f"{source}: column(s) {', '.join(missing)} not found")
    sub = frame[[unit, time, *cols]].dropna()
    if sub.duplicated([unit, time]).any():
        raise InputError(f"{source}: duplicate ({unit}, {time}) rows; one row per city-year is required")
    uc, n_u = fwl.factorize(sub[unit].to_numpy())
    tc, n_t = fwl.factorize(sub[time].to_numpy())
    data = sub[cols].to_numpy(dtype=float)
    scale = data.std(axis=0)
    scale[scale == 0] = 1.0
    p = 1 + len(x) + n_t
    v = np.zeros((n_u, n_t, p))
    v[uc, tc, : 1 + len(x)] = data / scale
    v[uc, tc, 1 + len(x) + tc] = 1.0
    present = np.zeros((n_u, n_t), dtype=bool)
    present[uc, tc] = True
    flat = v.reshape(n_u * n_t, p)
    vv = (flat[:, :, None] * flat[:, None, :]).reshape(n_u * n_t, p * p)
    return GridDesign(v, present, len(x), scale, np.unique(sub[unit].to_numpy()),
                      np.unique(sub[time].to_numpy()), vv)


def grid_labels(frame: pd.DataFrame, group: str, grid: GridDesign, unit: str = "city",
                time: str = "year") -> np.ndarray:
    """Group label per grid cell: 1, 0, or −1 where the cell is absent or the label missing."""
    lab = np.full(grid.present.shape, -1, dtype=np.int8)
    sub = frame[[unit, time, group]].dropna()
    ui = np.searchsorted(grid.units, sub[unit].to_numpy())
    ti = np.searchsorted(grid.times, sub[time].to_numpy())
    ok = (ui < grid.units.size) & (ti < grid.times.size)
    ok[ok] &= (grid.units[ui[ok]] == sub[unit].to_numpy()[ok]) & (grid.times[ti[ok]] == sub[time].to_numpy()[ok])
    vals = sub[group].to_numpy()
    bad = ~np.isin(vals, [0, 1])
    if bad.any():
        raise InputError(f"panel: group column '{group}' must be 0/1; found {vals[bad][0]!r}")
    lab[ui[ok], ti[ok]] = vals[ok].astype(np.int8)
    lab[~grid.present] = -1
    return lab


def split_coefs(grid: GridDesign, masks: np.ndarray) -> np.ndarray:
    """Two-way FE OLS slopes (R × k, original units) for R membership masks (R × C × T) at once.

    A subsample with fewer observations than parameters, or a singular design, gives NaN for that mask.
    """
    r_all = masks.shape[0]
    c, t, p = grid.v.shape
    k = grid.k
    out = np.full((r_all, k), np.nan)
    for lo in range(0, r_all, CHUNK):
        m = masks[lo: lo + CHUNK].astype(float)
        r = m.shape[0]
        a = (m.reshape(r, c * t) @ grid.vv).reshape(r, p, p)
        s = np.einsum("rct,ctp->rcp", m, grid.v)
        n_i = m.sum(axis=2)
        inv_n = np.divide(1.0, n_i, out=np.zeros_like(n_i), where=n_i > 0)
        a -= np.einsum("rcp,rcq->rpq", s * inv_n[:, :, None], s)
        xy = slice(0, 1 + k)
        d = slice(1 + k, p)
        add_pinv = np.linalg.pinv(a[:, d, d], rcond=1e-10, hermitian=True)
        cross = a[:, xy, d]
        reduced = a[:, xy, xy] - cross @ add_pinv @ np.swapaxes(cross, 1, 2)
        axx = reduced[:, 1:, 1:]
        axy = reduced[:, 1:, 0]
        n_obs = m.sum(axis=(1, 2))
        n_units = (n_i > 0).sum(axis=1)
        n_times = (m.sum(axis=1) > 0).sum(axis=1)
        dof = n_obs - k - n_units - n_times + 1
        diag = np.einsum("rii->ri", axx)
        # only the slopes' own identification matters: collinear controls get a minimum-norm split, which
        # leaves the other slopes exactly as if the control were dropped (Stata's "omitted")
        ok = (dof > 0) & np.all(diag[:, :1] > 1e-10 * np.maximum(n_obs, 1)[:, None], axis=1)
        beta = np.full((r, k), np.nan)
        if ok.any():
            beta[ok] = (np.linalg.pinv(axx[ok], rcond=1e-10, hermitian=True) @ axy[ok][:, :, None])[:, :, 0]
        out[lo: lo + r] = beta * grid.scale[0] / grid.scale[1:]
    return out


@dataclass
class PermutationTest:
    """Fisher permutation test of coef(group 1) − coef(group 0)."""

    diff: float
    coef_1: float
    coef_0: float
    perm_diffs: np.ndarray
    level: str  # "city" | "observation"
    seed: int
    n_invalid: int  # permutations whose subsample could not be estimated (excluded, reported)

    @property
    def reps(self) -> int:
        return int(np.isfinite(self.perm_diffs).sum())

    def _count(self, two_sided: bool) -> int:
        d = self.perm_diffs[np.isfinite(self.perm_diffs)]
        if two_sided:
            return int((np.abs(d) >= abs(self.diff)).sum())
        return int((d >= self.diff).sum() if self.diff >= 0 else (d <= self.diff).sum())

    @property
    def p_one_sided(self) -> float:
        """Share of permuted differences at least as extreme, in the direction of the observed one (bdiff)."""
        return self._count(False) / self.reps if self.reps else float("nan")

    @property
    def p_two_sided(self) -> float:
        return self._count(True) / self.reps if self.reps else float("nan")

    @property
    def p_one_sided_plus1(self) -> float:
        """(1 + #)/(R + 1): never zero, valid for any R."""
        return (1 + self._count(False)) / (self.reps + 1)

    @property
    def p_two_sided_plus1(self) -> float:
        return (1 + self._count(True)) / (self.reps + 1)


def permutation_masks(labels: np.ndarray, reps: int, rng: np.random.Generator, level: str) -> np.ndarray:
    """(reps, 2, C, T) membership masks of groups 1 and 0 under random relabelling."""
    c, t = labels.shape
    present = labels >= 0
    out = np.zeros((reps, 2, c, t), dtype=bool)
    if level == "city":
        for r in range(reps):
            lab = labels[rng.permutation(c)]
            out[r, 0] = (lab == 1) & present
            out[r, 1] = (lab == 0) & present
    elif level == "observation":
        flat = labels[present]
        idx = np.flatnonzero(present.ravel())
        for r in range(reps):
            lab = np.full(c * t, -1, dtype=np.int8)
            lab[idx] = rng.permutation(flat)
            lab = lab.reshape(c, t)
            out[r, 0] = lab == 1
            out[r, 1] = lab == 0
    else:
        raise InputError(f"permutation level must be 'city' or 'observation', not {level!r}")
    return out


def permutation_test(grid: GridDesign, labels: np.ndarray, *, reps: int = 1000, seed: int = 0,
                     level: str = "city", coef: int = 0,
                     progress: Callable[[int, int], None] | None = None, executor: Any = None) -> PermutationTest:
    """Permute group labels `reps` times and re-estimate both groups' slope of regressor `coef`.

    `executor` (an object with `map(fn, shared, items, label=)`, ctfp.inference.compute) runs the batches of
    CHUNK permutations as tasks: the masks are drawn here in the same order, each batch is the same solve, so the
    differences are those of the in-process loop."""
    obs = split_coefs(grid, np.stack([labels == 1, labels == 0]))[:, coef]
    if not np.all(np.isfinite(obs)):
        raise InputError("a group of the split has too few observations to estimate the two-way FE model")
    rng = np.random.default_rng(seed)
    diffs = np.empty(reps)
    if executor is not None:
        batches = [permutation_masks(labels, min(CHUNK, reps - lo), rng, level) for lo in range(0, reps, CHUNK)]
        parts = executor.map(permutation_batch, (grid, coef), batches, label=f"permutations: {reps} in batches")
        diffs = np.concatenate(parts)
    else:
        for lo in range(0, reps, CHUNK):
            n = min(CHUNK, reps - lo)
            diffs[lo: lo + n] = permutation_batch((grid, coef), permutation_masks(labels, n, rng, level))
            if progress is not None:
                progress(lo + n, reps)
    return PermutationTest(float(obs[0] - obs[1]), float(obs[0]), float(obs[1]), diffs, level, seed,
                           int((~np.isfinite(diffs)).sum()))


def permutation_batch(shared: tuple[GridDesign, int], masks: np.ndarray) -> np.ndarray:
    """Slope differences (group 1 - group 0) of regressor `coef` for a batch of (n, 2, C, T) masks."""
    grid, coef = shared
    n = masks.shape[0]
    b = split_coefs(grid, masks.reshape(2 * n, *masks.shape[2:]))[:, coef].reshape(n, 2)
    return b[:, 0] - b[:, 1]


def chow_interacted(frame: pd.DataFrame, y: str, x: Sequence[str], group: str, *, unit: str = "city",
                    time: str = "year", cluster: str = "city",
                    absorb: Sequence[str] | None = None) -> tuple[PanelResult, str]:
    """Fully interacted pooled regression: FEs and every regressor interacted with the 0/1 group.

    The FEs are `absorb` (default: `unit` and `time`); `cluster` "" gives robust SEs. Returns the fit and the
    name of the x[0]×group coefficient, which equals coef(1) − coef(0) exactly.
    """
    fes = list(absorb) if absorb is not None else [unit, time]
    if not fes:
        raise InputError("the interacted Chow test needs at least one fixed effect to interact with the group")
    cols = list(dict.fromkeys([*fes, y, *x, group]))
    if cluster and cluster not in cols:
        cols.append(cluster)
    sub = frame[cols].dropna().copy()
    g = sub[group].astype(int)
    names = []
    for c in x:
        sub[f"{c}__x__{group}"] = sub[c] * g
    for c in x:
        names += [c, f"{c}__x__{group}"]
    interacted = [f"__fe{k}_g" for k in range(len(fes))]
    for name, fe in zip(interacted, fes, strict=True):
        sub[name] = sub[fe].astype(str) + "|" + g.astype(str)
    res = fit_ols(sub, y, names, absorb=interacted, cluster=cluster or (), robust=not cluster, source="panel")
    return res, f"{x[0]}__x__{group}"


def chow_wald(res: PanelResult, x: Sequence[str], group: str) -> tuple[float, float]:
    """Clustered Wald F of all slope interactions (the full Chow test); returns (F, p) with F(q, G−1)."""
    idx = [res.index(f"{c}__x__{group}") for c in x if f"{c}__x__{group}" in res.names]
    b = res.coef[idx]
    v = res.vcov[np.ix_(idx, idx)]
    q = len(idx)
    f = float(b @ np.linalg.solve(v, b)) / q
    return f, float(special.fdtrc(q, res.df_t, f))


def suest(fit_1: PanelResult, fit_0: PanelResult, cluster_1: np.ndarray, cluster_0: np.ndarray,
          coef: str) -> dict[str, Any]:
    """SUEST-style test of coef(1) = coef(0): joint cluster-robust covariance of the two split fits.

    Scores of both fits are summed by cluster over the union of clusters; V = B M B with B = blockdiag of the
    inverse cross-products, times G/(G−1) as Stata's suest does; z-test with a normal p-value.
    """
    for f in (fit_1, fit_0):
        if f.xw is None or f.resid is None:
            raise ValueError("fit with keep_resid=True to run suest")
    labels, inv = np.unique(np.concatenate([cluster_1, cluster_0]), return_inverse=True)
    n1 = cluster_1.size
    c1, c0 = inv[:n1], inv[n1:]
    g = labels.size
    k1, k0 = fit_1.xw.shape[1], fit_0.xw.shape[1]
    s = np.zeros((g, k1 + k0))
    s1 = fit_1.xw * fit_1.resid[:, None]
    s0 = fit_0.xw * fit_0.resid[:, None]
    for j in range(k1):
        s[:, j] = np.bincount(c1, weights=s1[:, j], minlength=g)
    for j in range(k0):
        s[:, k1 + j] = np.bincount(c0, weights=s0[:, j], minlength=g)
    b = np.zeros((k1 + k0, k1 + k0))
    b[:k1, :k1] = np.linalg.inv(fit_1.xw.T @ fit_1.xw)
    b[k1:, k1:] = np.linalg.inv(fit_0.xw.T @ fit_0.xw)
    v = b @ (s.T @ s) @ b * g / (g - 1)
    i, j = fit_1.index(coef), k1 + fit_0.index(coef)
    diff = float(fit_1.coef[fit_1.index(coef)] - fit_0.coef[fit_0.index(coef)])
    var = float(v[i, i] + v[j, j] - 2 * v[i, j])
    z = diff / np.sqrt(var)
    return {"diff": diff, "se": float(np.sqrt(var)), "z": float(z), "p": float(2 * special.ndtr(-abs(z))),
            "cov": float(v[i, j]), "n_clusters": int(g)}
