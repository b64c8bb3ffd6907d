"""Batch engine: many tiny envelopment LPs over a shared candidate pool, solved in compiled code and certified.

Under a global (or any large) frontier only a few dozen reference DMUs are ever in an optimal basis. The engine
therefore (1) grows a candidate pool on a strided sample of the DMUs, (2) solves every DMU's LP over
own block + own reference column + pool with the compiled dense simplex (`simplex.solve_batch`), and
(3) certifies each solution by pricing *every* reference column with its duals (reduced cost d_j = -pi'a_j,
zero cost): a solution with no d_j < -tol is optimal for the full LP (LP duality), so its score is the
plain LP's score. DMUs with violators get the most negative columns added to the pool and are re-solved;
anything the simplex could not certify (status not optimal, refactorised basis infeasible, a pool column
still priced negative) is returned uncertified for HiGHS to decide. The blocks must be in standard form
(equality rows, all columns in [0, inf)).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ctfp.models.dea.pricing import PricingIndex, build_index

Blocks = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]
TOP_K = 4  # most negative columns remembered per violating LP
INDEX_FROM = 4000  # reference sets at least this large are priced through a PricingIndex (pruned, exact)


@dataclass
class BatchOutcome:
    certified: np.ndarray  # (B,) bool: optimal for the full LP
    objective: np.ndarray  # (B,)
    own: np.ndarray  # (B, k) values of the own columns
    peer_idx: np.ndarray  # (B, r) positions in `ref` with lambda > 0, -1 padded
    peer_lam: np.ndarray  # (B, r)
    solves: np.ndarray  # (B,) LP solves used
    pool: list[int]  # final candidate pool (positions in `ref`)
    priced: int = 0  # reduced costs computed (pricing work; all columns of every LP without an index)


def standard_form(a: np.ndarray, lower: np.ndarray, upper: np.ndarray, rl: np.ndarray, ru: np.ndarray) -> bool:
    """True if a block family is in the form the compiled simplex takes (equality rows, x in [0, inf))."""
    return bool(np.all(rl == ru) and np.all(lower == 0) and np.all(np.isinf(upper)) and np.all(np.isfinite(rl)))


def solve_standard(
    ref: np.ndarray,
    blocks: Blocks,
    slot_pos: np.ndarray,
    init_pool: list[int],
    *,
    tol: float = 1e-9,
    chunk: int = 1024,
    sample: int = 256,
    max_add: int = 24,
    max_rounds: int = 60,
    advance: Callable[[int], None] | None = None,
    index: PricingIndex | None = None,
) -> BatchOutcome:
    """Solve LP i = blocks([i]) over own block + ref[:, slot_pos[i]] (if >= 0) + pool, for i in 0..B-1.

    `ref` (n_core, n) is the signed reference matrix; the block rows are the n_core core rows then extra rows.
    """
    from ctfp.models.dea import simplex  # numba: imported when the first LP is solved, not with the package

    ref = np.ascontiguousarray(ref, dtype=float)
    nc, n = ref.shape
    if index is None and n >= INDEX_FROM:
        index = build_index(ref)
    priced = [0]
    b_count = len(slot_pos)
    in_pool = np.zeros(n, dtype=bool)
    in_pool[list(init_pool)] = True
    pool = [int(j) for j in np.flatnonzero(in_pool)]
    a0, _, r0 = blocks(np.arange(min(1, b_count)))
    r, k = a0.shape[1], a0.shape[2]
    certified = np.zeros(b_count, dtype=bool)
    doubtful = np.zeros(b_count, dtype=bool)
    objective = np.full(b_count, np.nan)
    own = np.full((b_count, k), np.nan)
    peer_idx = np.full((b_count, r), -1, dtype=np.int64)
    peer_lam = np.zeros((b_count, r))
    solves = np.zeros(b_count, dtype=np.int64)
    del a0, r0

    def solve_set(sel: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """Solve `sel` over the current pool; store certified results; return the violating ones."""
        pend: list[np.ndarray] = []
        cand: list[np.ndarray] = []
        pool_arr = np.asarray(pool, dtype=np.int64)
        pmat = np.ascontiguousarray(ref[:, pool_arr])
        for s in range(0, len(sel), chunk):
            part = sel[s : s + chunk]
            a, c, rhs = blocks(part)
            sp = slot_pos[part]
            slot = np.zeros((len(part), nc))
            has = sp >= 0
            slot[has] = ref[:, sp[has]].T
            st = np.empty(len(part), dtype=np.int64)
            obj = np.empty(len(part))
            x = np.empty((len(part), k + 1 + len(pool_arr)))
            pi = np.empty((len(part), r))
            simplex.solve_batch(np.ascontiguousarray(a), np.ascontiguousarray(c), np.ascontiguousarray(rhs),
                                slot, pmat, st, obj, x, pi)
            solves[part] += 1
            mins = np.full(len(part), np.inf)
            idx = np.full((len(part), TOP_K), -1, dtype=np.int64)
            good = st == simplex.OPTIMAL
            if good.any():
                gi = np.flatnonzero(good)
                m_g = np.empty(len(gi))
                i_g = np.empty((len(gi), TOP_K), dtype=np.int64)
                pig = np.ascontiguousarray(pi[gi, :nc])
                if index is None:
                    simplex.price(pig, ref, tol, m_g, i_g)
                    priced[0] += len(gi) * n
                else:
                    priced[0] += simplex.price_blocked(pig, *index.args(), tol, m_g, i_g, index.slo, index.shi,
                                                       index.ssmax, index.sstarts)
                    i_g = np.where(i_g >= 0, index.order[np.maximum(i_g, 0)], -1)
                mins[gi], idx[gi] = m_g, i_g
            ok = good & (mins >= -tol)
            doubtful[part[~good]] = True
            viol = good & ~ok
            if viol.any():
                vi = np.flatnonzero(viol)
                fresh = idx[vi]
                # a violator already in the LP means the simplex and the pricing disagree: let HiGHS decide
                stuck = ~np.any((fresh >= 0) & ~in_pool[np.maximum(fresh, 0)], axis=1)
                doubtful[part[vi[stuck]]] = True
                pend.append(part[vi[~stuck]])
                cand.append(fresh[~stuck])
            if ok.any():
                oi = np.flatnonzero(ok)
                rows = part[oi]
                certified[rows] = True
                objective[rows] = obj[oi]
                own[rows] = x[oi, :k]
                lam = x[oi, k:]
                cols = np.concatenate([[-1], pool_arr])
                rr, cc = np.nonzero(lam > 1e-12)
                gidx = np.where(cc == 0, sp[oi][rr], cols[cc])
                # pack each row's nonzeros (at most r basic variables) left-aligned
                slot_of = np.arange(len(rr)) - np.searchsorted(rr, rr)
                keep = slot_of < r
                peer_idx[rows[rr[keep]], slot_of[keep]] = gidx[keep]
                peer_lam[rows[rr[keep]], slot_of[keep]] = lam[rr[keep], cc[keep]]
                if advance is not None:
                    advance(len(oi))
        return (np.concatenate(pend) if pend else np.empty(0, np.int64)), cand

    def grow(cand: list[np.ndarray]) -> bool:
        c = np.concatenate(cand).ravel()
        c = c[c >= 0]
        c = c[~in_pool[c]]
        if c.size == 0:
            return False
        vals, counts = np.unique(c, return_counts=True)
        order = np.argsort(-counts, kind="stable")[:max_add]
        for j in vals[order]:
            in_pool[j] = True
            pool.append(int(j))
        return True

    order = np.arange(b_count)
    first = order[:: max(1, b_count // sample)] if b_count > sample else order
    for todo_all in (first, None):
        todo = np.flatnonzero(~certified & ~doubtful) if todo_all is None else todo_all
        for _ in range(max_rounds):
            if todo.size == 0:
                break
            pend, cand = solve_set(todo)
            if pend.size == 0 or not grow(cand):
                doubtful[pend] = True
                break
            todo = pend
        else:
            doubtful[todo] = True
    return BatchOutcome(certified, objective, own, peer_idx, peer_lam, solves, pool, priced[0])
