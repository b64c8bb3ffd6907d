"""A compiled dense simplex for many tiny standard-form LPs (numba), used by the batch DEA engine.

Each LP is   min c'x  s.t.  A x = b,  x >= 0   with a handful of rows (inputs + outputs + 1 or 2) and a few
dozen columns (the DMU's own block, its own reference column and the candidate pool). At that size a dense
tableau with a two-phase primal simplex costs microseconds, against ~0.5 ms of call overhead per LP through
HiGHS' Python interface. Nothing here is trusted blindly: after the last pivot the basis is refactorised from
the original data (x_B = B^-1 b, pi = B^-T c_B), and the caller keeps a solution only if it is primal
feasible, dual feasible on every LP column and, after pricing, on every reference column; anything doubtful
goes to HiGHS. Pivoting is Dantzig's rule, switching to Bland's rule (which cannot cycle) after a number of
iterations, since DEA LPs are highly degenerate.

Status codes: 0 optimal, 1 infeasible, 2 unbounded, 3 iteration limit, 4 numerically doubtful (a refactorised
basis infeasible, a reduced cost negative, or a dual too large to certify anything: `pricing.DUAL_LIMIT`).
"""

from __future__ import annotations

import numba as nb
import numpy as np

from ctfp.models.dea.pricing import DUAL_LIMIT

OPTIMAL, INFEASIBLE, UNBOUNDED, ITERATION_LIMIT, DOUBTFUL = 0, 1, 2, 3, 4
PIVOT_TOL = 1e-9  # smallest |pivot| accepted
RC_TOL = 1e-11  # reduced-cost threshold inside the tableau
CHECK_TOL = 1e-9  # feasibility and dual feasibility accepted after refactorisation (scaled units)


@nb.njit(cache=True, inline="always")
def _keep_most_negative(v, j, vals, idx, cnt, kk):  # noqa: ANN001, ANN202
    """Insert reduced cost v of column j into the K most negative seen so far (vals/idx sorted ascending);
    return the new count. Shared by the full and the box-pruned pricing loops."""
    if cnt < kk:
        pos = cnt
        cnt += 1
    elif v < vals[kk - 1]:
        pos = kk - 1
    else:
        return cnt
    while pos > 0 and vals[pos - 1] > v:
        vals[pos] = vals[pos - 1]
        idx[pos] = idx[pos - 1]
        pos -= 1
    vals[pos] = v
    idx[pos] = j
    return cnt


@nb.njit(cache=True)
def _pivot(t: np.ndarray, basis: np.ndarray, row: int, col: int) -> None:
    nr, nw = t.shape
    p = t[row, col]
    for j in range(nw):
        t[row, j] /= p
    for i in range(nr):
        if i == row:
            continue
        f = t[i, col]
        if f != 0.0:
            for j in range(nw):
                t[i, j] -= f * t[row, j]
    basis[row] = col


@nb.njit(cache=True)
def _iterate(t: np.ndarray, basis: np.ndarray, n_enter: int, max_iter: int, bland_after: int) -> int:
    """Primal simplex on tableau t (last row = reduced costs, last column = rhs); columns >= n_enter never
    enter. Returns 0 optimal, 2 unbounded, 3 iteration limit."""
    r = t.shape[0] - 1
    rhs = t.shape[1] - 1
    for it in range(max_iter):
        bland = it >= bland_after
        col = -1
        best = -RC_TOL
        for j in range(n_enter):
            d = t[r, j]
            if d < best:
                col = j
                if bland:
                    break
                best = d
        if col < 0:
            return 0
        row = -1
        ratio = np.inf
        for i in range(r):
            a = t[i, col]
            if a > PIVOT_TOL:
                q = t[i, rhs] / a
                if q < ratio - 1e-12 or (q <= ratio + 1e-12 and row >= 0 and basis[i] < basis[row]):
                    if q < ratio:
                        ratio = q
                    row = i
        if row < 0:
            return 2
        _pivot(t, basis, row, col)
    return 3


@nb.njit(cache=True)
def _lu(m: np.ndarray, perm: np.ndarray) -> bool:
    """In-place LU with partial pivoting, P m = L U (L unit lower, both in m; row i of P m is row perm[i] of m).
    False for an exactly zero pivot. Written out, not np.linalg.solve: the bases have a handful of rows, and
    numba's LAPACK binding took about 4 s of a 8.5 s first compile of this module on a fresh machine."""
    r = m.shape[0]
    for i in range(r):
        perm[i] = i
    for k in range(r):
        p, best = k, abs(m[k, k])
        for i in range(k + 1, r):
            if abs(m[i, k]) > best:
                p, best = i, abs(m[i, k])
        if best == 0.0:
            return False
        if p != k:
            for j in range(r):
                m[k, j], m[p, j] = m[p, j], m[k, j]
            perm[k], perm[p] = perm[p], perm[k]
        for i in range(k + 1, r):
            f = m[i, k] / m[k, k]
            m[i, k] = f
            if f != 0.0:
                for j in range(k + 1, r):
                    m[i, j] -= f * m[k, j]
    return True


@nb.njit(cache=True)
def _lu_solve(lu: np.ndarray, perm: np.ndarray, b: np.ndarray, x: np.ndarray) -> None:
    """x = A^-1 b from `_lu`'s factors of A."""
    r = lu.shape[0]
    for i in range(r):
        v = b[perm[i]]
        for k in range(i):
            v -= lu[i, k] * x[k]
        x[i] = v
    for i in range(r - 1, -1, -1):
        v = x[i]
        for k in range(i + 1, r):
            v -= lu[i, k] * x[k]
        x[i] = v / lu[i, i]


@nb.njit(cache=True)
def _lu_solve_t(lu: np.ndarray, perm: np.ndarray, c: np.ndarray, y: np.ndarray) -> None:
    """y = A^-T c from `_lu`'s factors of A (A^T = U^T L^T P)."""
    r = lu.shape[0]
    w = np.empty(r)
    for i in range(r):  # U^T z = c
        v = c[i]
        for k in range(i):
            v -= lu[k, i] * w[k]
        w[i] = v / lu[i, i]
    for i in range(r - 1, -1, -1):  # L^T w = z
        v = w[i]
        for k in range(i + 1, r):
            v -= lu[k, i] * w[k]
        w[i] = v
    for i in range(r):
        y[perm[i]] = w[i]


@nb.njit(cache=True)
def solve_one(a: np.ndarray, b: np.ndarray, c: np.ndarray, x: np.ndarray, pi: np.ndarray) -> tuple[int, float]:
    """Solve min c'x, a x = b, x >= 0. Writes x (n,) and the row duals pi (r,); returns (status, objective)."""
    r, n = a.shape
    sign = np.ones(r)
    for i in range(r):
        if b[i] < 0:
            sign[i] = -1.0
    nw = n + r + 1
    t = np.zeros((r + 1, nw))
    for i in range(r):
        for j in range(n):
            t[i, j] = sign[i] * a[i, j]
        t[i, n + i] = 1.0
        t[i, nw - 1] = sign[i] * b[i]
    basis = np.empty(r, dtype=np.int64)
    for i in range(r):
        basis[i] = n + i
    # phase I: minimise the sum of artificials; reduced costs = -(sum of rows) on the original columns
    for j in range(n):
        s = 0.0
        for i in range(r):
            s += t[i, j]
        t[r, j] = -s
    s = 0.0
    for i in range(r):
        s += t[i, nw - 1]
    t[r, nw - 1] = -s
    max_iter = 50 * (n + r)
    st = _iterate(t, basis, n, max_iter, 10 * (n + r))
    if st == 3:
        return 3, np.nan
    if -t[r, nw - 1] > CHECK_TOL * max(1.0, s):
        return 1, np.nan
    # drive artificials at zero level out of the basis where the row allows it (else the row is redundant)
    for i in range(r):
        if basis[i] >= n:
            best, col = PIVOT_TOL, -1
            for j in range(n):
                if abs(t[i, j]) > best:
                    best, col = abs(t[i, j]), j
            if col >= 0:
                _pivot(t, basis, i, col)
    # phase II objective row: c_j - c_B' T_j
    for j in range(nw):
        v = c[j] if j < n else 0.0
        for i in range(r):
            bi = basis[i]
            cb = c[bi] if bi < n else 0.0
            v -= cb * t[i, j]
        t[r, j] = v
    st = _iterate(t, basis, n, max_iter, 10 * (n + r))
    if st != 0:
        return st, np.nan
    # refactorise from the original data: x_B = B^-1 b, pi = B^-T c_B (flipped rows undone)
    bm = np.zeros((r, r))
    cb = np.zeros(r)
    for i in range(r):
        k = basis[i]
        if k < n:
            for q in range(r):
                bm[q, i] = sign[q] * a[q, k]
            cb[i] = c[k]
        else:
            bm[k - n, i] = 1.0
    sb = np.empty(r)
    for q in range(r):
        sb[q] = sign[q] * b[q]
    perm = np.empty(r, dtype=np.int64)
    if not _lu(bm, perm):
        return 4, np.nan  # an exactly singular basis: nothing to certify
    xb = np.empty(r)
    y = np.empty(r)
    _lu_solve(bm, perm, sb, xb)
    _lu_solve_t(bm, perm, cb, y)
    for j in range(n):
        x[j] = 0.0
    obj = 0.0
    status = 0
    for i in range(r):
        k = basis[i]
        v = xb[i]
        if v < -CHECK_TOL:
            status = 4
        if k < n:
            x[k] = max(v, 0.0)
            obj += c[k] * x[k]
        elif abs(v) > CHECK_TOL:
            status = 4  # an artificial left at a non-zero level
    cmax = 1.0
    for j in range(n):
        cmax = max(cmax, abs(c[j]))
    for q in range(r):
        pi[q] = sign[q] * y[q]
        if abs(pi[q]) > DUAL_LIMIT * cmax:
            status = 4  # a dual this large makes the pricing certificate noise (pricing.DUAL_LIMIT)
    for j in range(n):  # dual feasibility on every LP column
        d = c[j]
        for q in range(r):
            d -= pi[q] * a[q, j]
        if d < -CHECK_TOL:
            status = 4
    return status, obj


@nb.njit(cache=True)
def solve_batch(
    a_own: np.ndarray,  # (B, r, k) the DMU-specific columns
    c_own: np.ndarray,  # (B, k)
    b: np.ndarray,  # (B, r)
    slot: np.ndarray,  # (B, nc) each DMU's own reference column (zeros when it has none)
    pool: np.ndarray,  # (nc, P) the candidate reference columns shared by the batch
    status: np.ndarray,  # (B,) int64 out
    obj: np.ndarray,  # (B,) out
    x: np.ndarray,  # (B, k + 1 + P) out: own, slot, pool
    pi: np.ndarray,  # (B, r) out
) -> None:
    nb_, r, k = a_own.shape
    nc, p = pool.shape
    n = k + 1 + p
    a = np.zeros((r, n))
    c = np.zeros(n)
    for q in range(nc):
        for j in range(p):
            a[q, k + 1 + j] = pool[q, j]
    for i in range(nb_):
        for q in range(r):
            for j in range(k):
                a[q, j] = a_own[i, q, j]
        for q in range(nc):
            a[q, k] = slot[i, q]
        for j in range(k):
            c[j] = c_own[i, j]
        st, v = solve_one(a, b[i], c, x[i], pi[i])
        status[i] = st
        obj[i] = v


@nb.njit(cache=True)
def price(pi: np.ndarray, ref: np.ndarray, tol: float, out_min: np.ndarray, out_idx: np.ndarray) -> None:
    """Reduced costs d_j = -pi_i' ref_j of every reference column for every LP i (zero cost columns).

    Writes the most negative d per LP (out_min) and the up-to-K columns with d < -tol, most negative first
    (out_idx (B, K), -1 padded). This is the optimality certificate of a pool solution over the full LP."""
    nb_, nc = pi.shape
    n = ref.shape[1]
    kk = out_idx.shape[1]
    d = np.empty(n)
    vals = np.empty(kk)
    for i in range(nb_):
        for j in range(n):
            d[j] = 0.0
        for q in range(nc):
            p = pi[i, q]
            if p != 0.0:
                for j in range(n):
                    d[j] -= p * ref[q, j]
        m = np.inf
        cnt = 0
        for j in range(n):
            v = d[j]
            if v < m:
                m = v
            if v < -tol:
                cnt = _keep_most_negative(v, j, vals, out_idx[i], cnt, kk)
        for q in range(cnt, kk):
            out_idx[i, q] = -1
        out_min[i] = m


@nb.njit(cache=True)
def price_blocked(
    pi: np.ndarray,  # (B, nc)
    ref: np.ndarray,  # (nc, n) columns in block order
    lo: np.ndarray,  # (nb, nc) per block: smallest normalised coefficient a_qj / s_j
    hi: np.ndarray,  # (nb, nc) largest
    smax: np.ndarray,  # (nb,) largest normaliser s_j > 0 in the block
    starts: np.ndarray,  # (nb + 1,) block b = columns starts[b]..starts[b+1]-1
    tol: float,
    out_min: np.ndarray,
    out_idx: np.ndarray,
    slo: np.ndarray,  # (ns, nc) super-blocks: boxes over consecutive blocks
    shi: np.ndarray,
    ssmax: np.ndarray,  # (ns,)
    sstarts: np.ndarray,  # (ns + 1,) super-block k = blocks sstarts[k]..sstarts[k+1]-1
) -> int:
    """`price` with exact block pruning: d_j = -pi'a_j = s_j (-pi'a_j/s_j), and over a block's box of normalised
    columns -pi'a/s >= -sum_q max(pi_q lo_q, pi_q hi_q). A block whose bound is >= -tol/smax cannot hold a
    column with d_j < -tol and is skipped; the others are priced column by column. out_min is the most negative
    d among priced columns (0 if none was priced). Blocks are grouped in super-blocks with the union box, tested
    first, so a large reference set costs far fewer than n/64 bounds per LP. Returns the number of columns
    priced (for the record)."""
    nb_, nc = pi.shape
    kk = out_idx.shape[1]
    vals = np.empty(kk)
    priced = 0
    for i in range(nb_):
        m = 0.0
        cnt = 0
        for sb in range(ssmax.shape[0]):
            bound = 0.0
            for q in range(nc):
                p = pi[i, q]
                a = p * slo[sb, q]
                b = p * shi[sb, q]
                bound -= a if a > b else b
            if bound >= -tol / ssmax[sb]:
                continue
            for blk in range(sstarts[sb], sstarts[sb + 1]):
                bound = 0.0
                for q in range(nc):
                    p = pi[i, q]
                    a = p * lo[blk, q]
                    b = p * hi[blk, q]
                    bound -= a if a > b else b
                if bound >= -tol / smax[blk]:
                    continue
                for j in range(starts[blk], starts[blk + 1]):
                    v = 0.0
                    for q in range(nc):
                        v -= pi[i, q] * ref[q, j]
                    priced += 1
                    if v < m:
                        m = v
                    if v < -tol:
                        cnt = _keep_most_negative(v, j, vals, out_idx[i], cnt, kk)
        for q in range(cnt, kk):
            out_idx[i, q] = -1
        out_min[i] = m
    return priced
