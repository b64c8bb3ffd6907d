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


def build_index(ref: np.ndarray, leaf: int = LEAF, group: int = GROUP) -> PricingIndex:
    ref = np.asarray(ref, dtype=float)
    nc, n = ref.shape
    s = np.abs(ref).sum(axis=0)
    s = np.where(s > 0, s, 1.0)
    norm = (ref / s).T  # (n, nc)
    order = np.arange(n)
    segments = [(0, n)]
    done: list[tuple[int, int]] = []
    while segments:
        a, b = segments.pop()
        if b - a <= leaf:
            done.append((a, b))
            continue
        idx = order[a:b]
        pts = norm[idx]
        q = int(np.argmax(pts.max(axis=0) - pts.min(axis=0)))
        half = (b - a) // 2
        part = np.argpartition(pts[:, q], half)
        order[a:b] = idx[part]
        segments.append((a, a + half))
        segments.append((a + half, b))
    done.sort()
    starts = np.array([a for a, _ in done] + [n], dtype=np.int64)
    pts = norm[order]
    # per-block boxes in one pass each (reduceat over the block starts), not a Python loop over blocks
    lo = np.minimum.reduceat(pts, starts[:-1], axis=0).reshape(len(done), nc)
    hi = np.maximum.reduceat(pts, starts[:-1], axis=0).reshape(len(done), nc)
    smax = np.maximum.reduceat(s[order], starts[:-1])
    nb = len(done)
    sstarts = np.append(np.arange(0, nb, group), nb).astype(np.int64)
    slo = np.minimum.reduceat(lo, sstarts[:-1], axis=0).reshape(-1, nc)
    shi = np.maximum.reduceat(hi, sstarts[:-1], axis=0).reshape(-1, nc)
    ssmax = np.maximum.reduceat(smax, sstarts[:-1])
    return PricingIndex(order, np.ascontiguousarray(ref[:, order]), lo, hi, smax, starts, slo, shi, ssmax, sstarts)
