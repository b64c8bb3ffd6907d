"""Inverse SBM for the SYNTHETIC paper world: place each city-year's inputs so its SBM score equals a target.

The paper-world panel must have CTFP (SBM with undesirable CO2, non-oriented, CRS, global frontier) equal to a
known target score per city-year, so that the whole pipeline (derive -> DEA -> FE) can be checked against the
truth. Construction:

1. A few *anchor* city-years carry the frontier: their inputs are at a frontier mix, and they are checked to
   be mutually SBM-efficient (dominated candidates are dropped and become ordinary units).
2. Every other city-year keeps its outputs (real GDP, green coverage) and capital, and its labour, energy and
   CO2 are one common multiple `s` of a frontier mix. Its SBM score against the anchors is a continuous,
   decreasing function of `s`; `s` is solved so the score equals the target.
3. A unit with score < 1 against the anchors lies inside the anchors' technology, so adding it to the
   reference set changes nobody's score: the global-frontier SBM over all 1248 rows equals the targets.

Green coverage is a percentage, so under CRS a small city buys green cheaply and large cities' scores are very
sensitive to their inputs (docs/synthetic.md). The inverse solves for that exactly instead of ignoring it.

Every SBM score here is the package's own DEA engine (`ctfp.models.dea.reference.sbm_against`: the batch
engine's group scorer against a fixed reference set); the Newton steps of all city-years run side by side, one
batched solve per step.
"""

from __future__ import annotations

import numpy as np

from ctfp.models.dea.reference import sbm_against

EFFICIENT_TOL = 1e-7
MAX_MULTIPLE = 8.0  # labour/energy at most 8x the frontier mix (plausible magnitudes): lower targets stay unmet

Columns = tuple[np.ndarray, np.ndarray, np.ndarray]  # inputs (m, K), good (s1, K), bad (s2, K)


def efficient_subset(x: np.ndarray, y: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Boolean mask of the columns that are SBM-efficient among themselves.

    Each column is scored against all columns (itself included): under CRS its score is below 1 exactly when
    the others dominate it. Dropping a dominated column never makes another column dominated, so one pass
    suffices.
    """
    rho = sbm_against((x, y, b), (x, y, b)).rho
    return ~(rho < 1.0 - EFFICIENT_TOL)


def min_capital(k: np.ndarray, y: np.ndarray, yo: np.ndarray) -> np.ndarray:
    """Least capital the anchors need to produce each column of `yo` (2 goods), other inputs unbounded.

    min Σ λ_j k_j s.t. Σ λ_j y_j ≥ yo, λ ≥ 0 has an optimal vertex with at most two anchors, so every single
    anchor and every pair is tried (vectorised); `k` (K,), `y` (2, K), `yo` (2, n) -> (n,).
    """
    lam1 = np.max(yo[:, None, :] / y[:, :, None], axis=0)  # (K, n): one anchor scaled to cover both goods
    best = np.min(lam1 * k[:, None], axis=0)
    kk = len(k)
    for j in range(kk):
        for q in range(j + 1, kk):
            det = y[0, j] * y[1, q] - y[0, q] * y[1, j]
            if abs(det) < 1e-12:
                continue
            lj = (yo[0] * y[1, q] - yo[1] * y[0, q]) / det
            lq = (y[0, j] * yo[1] - y[1, j] * yo[0]) / det
            ok = (lj >= 0) & (lq >= 0)
            best = np.where(ok, np.minimum(best, lj * k[j] + lq * k[q]), best)
    return best


def solve_scales(ref: Columns, x0: np.ndarray, scaled: np.ndarray, y: np.ndarray, b0: np.ndarray,
                 target: np.ndarray, *, tol: float = 1e-10, max_iter: int = 80) -> tuple[np.ndarray, np.ndarray]:
    """Per column, the multiple s of the scaled inputs (row mask `scaled`) and of the bad outputs giving SBM
    score `target` against the reference columns `ref`; x0 (m, n), y (s1, n), b0 (s2, n), target (n,).

    rho(s) is continuous and decreasing (infinite below the s where the DMU leaves the reference technology).
    For a fixed optimal lambda it is the ratio (a + k s) / (c0 s − c1), so a Newton-like step solves that ratio
    exactly and the LP is re-solved until the score is on target; steps that leave the bracket fall back to
    bisection. X·lambda, Y·lambda and B·lambda come from the optimal slacks (x − s⁻, y + s⁺, b − s^b). Returns
    (s, achieved score) per column; (nan, inf) where no multiple puts the DMU inside (a fixed input binds).
    """
    m, q = x0.shape[0], y.shape[0] + b0.shape[0]
    n = x0.shape[1]
    target = np.asarray(target, dtype=float)
    lo, hi = np.zeros(n), np.full(n, np.inf)  # rho(lo) > target or infeasible; rho(hi) < target
    best_s, best_r = np.full(n, np.nan), np.full(n, np.inf)
    s = np.minimum(1.0 / np.maximum(target, 1e-3), MAX_MULTIPLE)
    active = np.ones(n, dtype=bool)
    sc = scaled[:, None]
    for _ in range(max_iter):
        idx = np.flatnonzero(active)
        if not idx.size:
            break
        sa, ta = s[idx], target[idx]
        xe = np.where(sc, x0[:, idx] * sa, x0[:, idx])
        be = b0[:, idx] * sa
        out = sbm_against(ref, (xe, y[:, idx], be))
        r = out.rho
        fin = np.isfinite(r)
        better = fin & (np.abs(r - ta) < np.abs(best_r[idx] - ta))
        best_s[idx[better]], best_r[idx[better]] = sa[better], r[better]
        done = fin & (np.abs(r - ta) <= tol)
        up = ~fin | (r > ta)
        lo[idx[up & ~done]] = sa[up & ~done]
        hi[idx[~up & ~done]] = sa[~up & ~done]
        # the Newton step from the optimal lambda (only where the LP was solved)
        sl = np.nan_to_num(out.slacks)
        xr = xe - sl[:m]
        yr = y[:, idx] + sl[m:m + y.shape[0]]
        br = be - sl[m + y.shape[0]:]
        ratio_x = xr / x0[:, idx]
        a_ = np.sum(np.where(sc, ratio_x, 0.0), axis=0) / m
        k_ = np.sum(np.where(sc, 0.0, ratio_x), axis=0) / m
        c0 = 1.0 + (np.sum(yr / y[:, idx] - 1.0, axis=0) + b0.shape[0]) / q
        c1 = np.sum(br / b0[:, idx], axis=0) / q
        den = ta * c0 - k_
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.where(fin & (den > 0), (a_ + ta * c1) / den, np.nan)
        lo_a, hi_a = lo[idx], hi[idx]
        newton = np.isfinite(step) & (lo_a < step) & (step < np.minimum(hi_a, MAX_MULTIPLE)) & (step != sa)
        bisect = ~newton & np.isfinite(hi_a)
        double = ~newton & ~bisect & (sa < MAX_MULTIPLE)
        stuck = ~newton & ~bisect & ~double  # even the largest allowed multiple scores above target: unmet
        new = np.where(newton, step, np.where(bisect, 0.5 * (lo_a + hi_a), np.minimum(2.0 * sa, MAX_MULTIPLE)))
        keep = ~done & ~stuck
        s[idx[keep]] = new[keep]
        active[idx[~keep]] = False
    return best_s, best_r
