"""A pricing index over the reference columns: exact pruning of the optimality check for large frontiers.

Certifying a pool solution means checking every reference column's reduced cost d_j = -pi'a_j >= -tol: O(n)
per DMU, O(n^2) for a whole global frontier, the dominant cost beyond ~20,000 DMUs. The sign of d_j does not
change when a_j is divided by s_j = sum_q |a_qj| > 0, so the normalised columns are grouped into blocks of
similar direction (a k-d tree split at medians of the widest coordinate) with a bounding box each. For a
dual vector pi the box gives a lower bound of d_j / s_j over the whole block; blocks whose bound proves
d_j >= -tol for every member are skipped, the rest are priced column by column. The answer is exactly that
of pricing every column (a bound, not a heuristic); only the work changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba as nb
import numpy as np

LEAF = 64  # columns per block
# A reduced-cost certificate is only as good as its dual: at a nearly singular basis the simplex (ours or
# HiGHS') can end with row duals of 1e7 in scaled units, whose reduced costs are cancellation noise at 1e-9 and
# whose "optimal" objective was 0.0015 to 0.24 above the LP's (seen: paper-world draw, rows 576, 767, 923).
# Genuine SBM duals are of the order of the costs 1/(m x_io); a dual beyond DUAL_LIMIT times the largest cost
# (at least 1) is not trusted, and the LP is decided over every column.
DUAL_LIMIT = 1e6
GROUP = 32  # blocks per super-block (consecutive leaves of the k-d tree: a subtree, so the union box is tight)


@dataclass(frozen=True)
class PricingIndex:
    order: np.ndarray  # block order -> column position in the original reference matrix
    ref: np.ndarray  # (nc, n) columns in block order
    lo: np.ndarray  # (nb, nc)
    hi: np.ndarray  # (nb, nc)
    smax: np.ndarray  # (nb,)
    starts: np.ndarray  # (nb + 1,)
    slo: np.ndarray  # (ns, nc) super-block boxes
    shi: np.ndarray
    ssmax: np.ndarray  # (ns,)
    sstarts: np.ndarray  # (ns + 1,) first block of each super-block

    def args(self) -> tuple[np.ndarray, ...]:
        """Arguments of `simplex.price_blocked` after (pi, ...) in its order, less tol and the outputs."""
        return self.ref, self.lo, self.hi, self.smax, self.starts


@nb.njit(cache=True)
def _select(order: np.ndarray, pts: np.ndarray, q: int, a: int, b: int, k: int) -> None:
    """Reorder order[a:b] and the rows pts[a:b] together so that pts[k, q] is the (k-a)-th smallest of column
    q, smaller to its left, larger to its right (quickselect, median-of-three pivot: O(b-a) on average)."""
    lo, hi = a, b - 1
    nc = pts.shape[1]
    while hi > lo:
        mid = (lo + hi) // 2
        x, y, z = pts[lo, q], pts[mid, q], pts[hi, q]
        pivot = max(min(x, y), min(max(x, y), z))
        i, j = lo, hi
        while i <= j:
            while pts[i, q] < pivot:
                i += 1
            while pts[j, q] > pivot:
                j -= 1
            if i <= j:
                order[i], order[j] = order[j], order[i]
                for c in range(nc):
                    pts[i, c], pts[j, c] = pts[j, c], pts[i, c]
                i += 1
                j -= 1
        if k <= j:
            hi = j
        elif k >= i:
            lo = i
        else:
            return


@nb.njit(cache=True)
def _split(norm: np.ndarray, leaf: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The k-d tree's leaves: a column order, `norm`'s rows in that order and the leaf starts (ascending, then
    n), each segment split at the median of its widest coordinate until at most `leaf` columns remain."""
    n, nc = norm.shape
    order = np.arange(n)
    pts = norm.copy()  # rows kept in `order`, so every scan below is sequential
    stack = np.empty((128, 2), dtype=np.int64)  # depth-first: at most one pending sibling per level
    stack[0, 0], stack[0, 1] = 0, n
    top = 1
    leaves = np.empty(n + 1, dtype=np.int64)
    nleaf = 0
    while top:
        top -= 1
        a, b = stack[top, 0], stack[top, 1]
        if b - a <= leaf:
            leaves[nleaf] = a
            nleaf += 1
            continue
        q, width = 0, -1.0
        for c in range(nc):
            mn, mx = np.inf, -np.inf
            for i in range(a, b):
                v = pts[i, c]
                mn, mx = min(mn, v), max(mx, v)
            if mx - mn > width:
                q, width = c, mx - mn
        half = (b - a) // 2
        _select(order, pts, q, a, b, a + half)
        stack[top, 0], stack[top, 1] = a + half, b
        stack[top + 1, 0], stack[top + 1, 1] = a, a + half
        top += 2
    starts = np.empty(nleaf + 1, dtype=np.int64)
    starts[:-1] = np.sort(leaves[:nleaf])
    starts[-1] = n
    return order, pts, starts


def build_index(ref: np.ndarray, leaf: int = LEAF, group: int = GROUP) -> PricingIndex:
    ref = np.asarray(ref, dtype=float)
    nc, n = ref.shape
    s = np.abs(ref).sum(axis=0)
    s = np.where(s > 0, s, 1.0)
    norm = np.ascontiguousarray((ref / s).T)  # (n, nc)
    order, pts, starts = _split(norm, leaf)
    nblocks = len(starts) - 1
    # per-block boxes in one pass each (reduceat over the block starts), not a Python loop over blocks
    lo = np.minimum.reduceat(pts, starts[:-1], axis=0).reshape(nblocks, nc)
    hi = np.maximum.reduceat(pts, starts[:-1], axis=0).reshape(nblocks, nc)
    smax = np.maximum.reduceat(s[order], starts[:-1])
    sstarts = np.append(np.arange(0, nblocks, group), nblocks).astype(np.int64)
    slo = np.minimum.reduceat(lo, sstarts[:-1], axis=0).reshape(-1, nc)
    shi = np.maximum.reduceat(hi, sstarts[:-1], axis=0).reshape(-1, nc)
    ssmax = np.maximum.reduceat(smax, sstarts[:-1])
    return PricingIndex(order, np.ascontiguousarray(ref[:, order]), lo, hi, smax, starts, slo, shi, ssmax, sstarts)
