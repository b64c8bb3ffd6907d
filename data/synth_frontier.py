"""Inverse SBM for the SYNTHETIC panel: place each city-year's inputs so its SBM score equals a target.

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

This is a small dedicated LP (Charnes–Cooper form, HiGHS), not the package's DEA engine (`ctfp.models.dea`,
which the data layer must not import); the end-to-end test checks the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np

EFFICIENT_TOL = 1e-7
MAX_MULTIPLE = 8.0  # labour/energy at most 8x the frontier mix (plausible magnitudes): lower targets stay unmet


@dataclass(frozen=True)
class Frontier:
    """Reference columns of the anchors, already divided by the per-variable scale `unit`."""

    x: np.ndarray  # (m, K) inputs
    y: np.ndarray  # (s1, K) good outputs
    b: np.ndarray  # (s2, K) bad outputs
    unit_x: np.ndarray
    unit_y: np.ndarray
    unit_b: np.ndarray


def make_frontier(x: np.ndarray, y: np.ndarray, b: np.ndarray) -> Frontier:
    """Columns are DMUs. Variables are divided by their mean so the LP is well scaled (scores are unit-free)."""
    ux, uy, ub = x.mean(axis=1), y.mean(axis=1), b.mean(axis=1)
    return Frontier(x / ux[:, None], y / uy[:, None], b / ub[:, None], ux, uy, ub)


class SbmLP:
    """Non-oriented CRS SBM with undesirable outputs (equal weights) of one DMU against fixed columns."""

    def __init__(self) -> None:
        self._h = highspy.Highs()
        for key, val in (("output_flag", False), ("presolve", "off"), ("random_seed", 0),
                         ("primal_feasibility_tolerance", 1e-10), ("dual_feasibility_tolerance", 1e-10)):
            self._h.setOptionValue(key, val)

    def score(self, f: Frontier, xo: np.ndarray, yo: np.ndarray, bo: np.ndarray,
              cols: np.ndarray | None = None) -> tuple[float, np.ndarray]:
        """(rho, lambda over the used columns); rho = inf when the DMU lies outside the columns' technology."""
        xo, yo, bo = xo / f.unit_x, yo / f.unit_y, bo / f.unit_b
        X, Y, B = (f.x, f.y, f.b) if cols is None else (f.x[:, cols], f.y[:, cols], f.b[:, cols])
        m, s1, s2, k = X.shape[0], Y.shape[0], B.shape[0], X.shape[1]
        # columns: t | Lambda (k) | S- (m) | Sg (s1) | Sb (s2)
        n_col = 1 + k + m + s1 + s2
        n_row = 1 + m + s1 + s2
        a = np.zeros((n_row, n_col))
        a[0, 0] = 1.0
        a[0, 1 + k + m: 1 + k + m + s1] = 1.0 / ((s1 + s2) * yo)
        a[0, 1 + k + m + s1:] = 1.0 / ((s1 + s2) * bo)
        a[1:1 + m, 0] = -xo
        a[1:1 + m, 1:1 + k] = X
        a[1:1 + m, 1 + k: 1 + k + m] = np.eye(m)
        r = 1 + m
        a[r:r + s1, 0] = -yo
        a[r:r + s1, 1:1 + k] = Y
        a[r:r + s1, 1 + k + m: 1 + k + m + s1] = -np.eye(s1)
        r += s1
        a[r:, 0] = -bo
        a[r:, 1:1 + k] = B
        a[r:, 1 + k + m + s1:] = np.eye(s2)
        cost = np.zeros(n_col)
        cost[0] = 1.0
        cost[1 + k: 1 + k + m] = -1.0 / (m * xo)
        rhs = np.zeros(n_row)
        rhs[0] = 1.0
        ci, ri = np.nonzero(a.T)
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = n_col, n_row
        lp.col_cost_ = cost
        lp.col_lower_ = np.zeros(n_col)
        lp.col_upper_ = np.full(n_col, np.inf)
        lp.row_lower_ = rhs
        lp.row_upper_ = rhs
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = np.searchsorted(ci, np.arange(n_col + 1)).astype(np.int32)
        lp.a_matrix_.index_ = ri.astype(np.int32)
        lp.a_matrix_.value_ = a.T[ci, ri]
        h = self._h
        h.passModel(lp)
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return float("inf"), np.zeros(k)
        sol = np.asarray(h.getSolution().col_value)
        t = sol[0]
        if t <= 1e-12:
            return float("inf"), np.zeros(k)
        return float(h.getInfo().objective_function_value), sol[1:1 + k] / t


def efficient_subset(x: np.ndarray, y: np.ndarray, b: np.ndarray, lp: SbmLP | None = None) -> np.ndarray:
    """Boolean mask of the columns that are SBM-efficient among themselves (each scored against the others).

    Dropping a dominated column never makes another column dominated, so one pass suffices.
    """
    lp = lp or SbmLP()
    f = make_frontier(x, y, b)
    n = x.shape[1]
    keep = np.ones(n, dtype=bool)
    for j in range(n):
        others = np.flatnonzero(np.arange(n) != j)
        rho, _ = lp.score(f, x[:, j], y[:, j], b[:, j], cols=others)
        keep[j] = not (rho < 1.0 - EFFICIENT_TOL)
    return keep


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


def solve_scale(lp: SbmLP, f: Frontier, x0: np.ndarray, scaled: np.ndarray, y: np.ndarray, b0: np.ndarray,
                target: float, *, tol: float = 1e-10, max_iter: int = 80) -> tuple[float, float]:
    """The multiple s of the scaled inputs (mask `scaled`) and of the bad outputs giving SBM score `target`.

    rho(s) is continuous and decreasing (infinite below the s where the DMU leaves the anchors' technology).
    For a fixed optimal lambda it is the ratio (a + k s) / (c0 s − c1), so a Newton-like step solves that ratio
    exactly and the LP is re-solved until the score is on target; steps that leave the bracket fall back to
    bisection. Returns (s, achieved score); (nan, nan) when no multiple puts the DMU inside (a fixed input
    binds).
    """
    m, q = len(x0), len(y) + len(b0)
    xs, ys, bs = x0 / f.unit_x, y / f.unit_y, b0 / f.unit_b

    def rho(s: float) -> tuple[float, np.ndarray]:
        return lp.score(f, np.where(scaled, x0 * s, x0), y, b0 * s)

    lo, hi = 0.0, np.inf  # rho(lo) > target or infeasible; rho(hi) < target
    best = (float("nan"), float("inf"))
    s = min(1.0 / max(target, 1e-3), MAX_MULTIPLE)
    for _ in range(max_iter):
        r, lam = rho(s)
        if np.isfinite(r) and abs(r - target) < abs(best[1] - target):
            best = (s, r)
        if np.isfinite(r) and abs(r - target) <= tol:
            break
        if not np.isfinite(r) or r > target:
            lo = s
        else:
            hi = s
        step = np.nan
        if np.isfinite(r):
            xr, yr, br = f.x @ lam, f.y @ lam, f.b @ lam
            a_ = np.sum(np.where(scaled, xr / xs, 0.0)) / m
            k_ = np.sum(np.where(scaled, 0.0, xr / xs)) / m
            c0 = 1.0 + (np.sum(yr / ys - 1.0) + len(b0)) / q
            c1 = np.sum(br / bs) / q
            if target * c0 > k_:
                step = (a_ + target * c1) / (target * c0 - k_)
        if np.isfinite(step) and lo < step < min(hi, MAX_MULTIPLE) and step != s:
            s = float(step)
        elif np.isfinite(hi):
            s = 0.5 * (lo + hi)
        elif s < MAX_MULTIPLE:
            s = min(2.0 * s, MAX_MULTIPLE)
        else:
            break  # even the largest allowed multiple scores above target: leave it unmet
    return best
