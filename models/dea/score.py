"""Score the DMUs of one frontier group (or a chunk of them): the unit of work in-process and on a cluster.

`score_sbm_group` takes the problem (all data), the group's reference rows and the rows to evaluate, and
returns plain arrays for those rows. It is pure and picklable end to end, so a Dask worker runs exactly the
code the in-process path runs; results of chunks are merged by row position.

Engines: "batch" (default: compiled simplex over a candidate pool, every solution certified by pricing all
reference columns; doubtful ones re-solved by HiGHS), "highs" (one warm HiGHS model per group, priced pool),
"plain" (HiGHS over all reference columns per DMU, the textbook method used to check the others).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ctfp.models.dea.batch import solve_standard
from ctfp.models.dea.run import initial_pool, to_global
from ctfp.models.dea.sbm import SbmProblem
from ctfp.models.dea.solver import PricedLP

EFFICIENT_TOL = 1e-6  # efficient iff score >= 1 - EFFICIENT_TOL (never test == 1)
CHECK_TOL = 1e-6  # largest relative residual accepted when a solution is checked on the unscaled data
ROUNDOFF_TOL = 1e-9  # |score - 1| below this is solver round-off of an optimum of exactly 1


def sbm_status(score: np.ndarray, resid: np.ndarray) -> np.ndarray:
    """Status of SBM (non-super) solutions: the score must lie in (0, 1] (1 + round-off), residuals small.

    An SBM score of 0 is exact for a DMU with no good output (every input is then slack): reported as
    "zero_efficiency", never as "optimal". Anything else outside (0, 1] means the LP was not resolved."""
    bad = (resid > CHECK_TOL) | (score < -CHECK_TOL) | (score > 1 + ROUNDOFF_TOL) | ~np.isfinite(score)
    zero = ~bad & (score <= ROUNDOFF_TOL)
    return np.where(bad, "check_failed", np.where(zero, "zero_efficiency", "optimal"))
ENGINES = ("batch", "highs", "plain")


@dataclass
class GroupScores:
    rows: np.ndarray  # row positions (in the whole table) these results belong to
    rho: np.ndarray
    sup: np.ndarray
    status: np.ndarray  # object
    slacks: np.ndarray  # (nv, len(rows)) unscaled
    peers: np.ndarray  # object: "id:lambda;..."
    resid: np.ndarray
    solves: int
    pool: list[int] = field(default_factory=list)  # final candidate pool, as row positions
    fallback: int = 0  # DMUs the batch engine handed to HiGHS


def peers_text(ids: np.ndarray, idx: np.ndarray, lam: np.ndarray) -> str:
    order = np.argsort(-lam, kind="stable")
    return ";".join(f"{ids[idx[k]]}:{lam[k]:.6g}" for k in order)


def group_pool(prob: SbmProblem, reference: np.ndarray, carried: Sequence[int] = ()) -> list[int]:
    """Starting pool of a group (positions within `reference`): extreme ratios plus rows carried over."""
    pos = {int(r): p for p, r in enumerate(reference)}
    seed = set(initial_pool(prob.ref[:, reference], prob.m, prob.s1)) | {pos[r] for r in carried if r in pos}
    return sorted(seed)


def score_sbm_group(
    prob: SbmProblem,
    model: str,
    reference: np.ndarray,
    evaluate: np.ndarray,
    ids: np.ndarray,
    *,
    init_pool: Sequence[int] = (),
    engine: str = "batch",
    advance: Callable[[int], None] | None = None,
) -> GroupScores:
    """SBM (and super-SBM for the efficient) scores of rows `evaluate` against reference rows `reference`.

    `init_pool`: starting candidate columns, as positions within `reference`.
    """
    reference = np.asarray(reference, dtype=np.int64)
    evaluate = np.asarray(evaluate, dtype=np.int64)
    ne, nv = len(evaluate), prob.m + prob.s
    rho = np.full(ne, np.nan)
    sup = np.full(ne, np.nan)
    status = np.full(ne, "", dtype=object)
    slacks = np.full((nv, ne), np.nan)
    peers = np.full(ne, "", dtype=object)
    resid = np.full(ne, np.nan)
    solves = 0
    fallback = 0
    order = np.argsort(reference, kind="stable")
    loc = np.searchsorted(reference, evaluate, sorter=order)
    loc = np.minimum(loc, len(reference) - 1)
    slot_pos = np.where(reference[order[loc]] == evaluate, order[loc], -1)
    sub = prob.ref[:, reference]
    todo = np.arange(ne)
    pool = list(init_pool) or group_pool(prob, reference)
    eng: PricedLP | None = None

    def highs() -> PricedLP:
        nonlocal eng
        if eng is None:
            eng = PricedLP(sub, init_pool=sorted(pool), pricing=engine != "plain")
        return eng

    if engine == "batch":
        out = solve_standard(sub, prob.sbm_blocks_for(evaluate), slot_pos, pool, advance=advance)
        solves += int(out.solves.sum())
        pool = out.pool
        ok = np.flatnonzero(out.certified)
        if ok.size:
            score = prob.scores_many(out.objective[ok])
            gidx = np.where(out.peer_idx[ok] >= 0, reference[np.maximum(out.peer_idx[ok], 0)], -1)
            sl, lam, res = prob.check_many(evaluate[ok], out.own[ok], gidx, out.peer_lam[ok], score)
            rho[ok] = np.where(score <= ROUNDOFF_TOL, 0.0, score)
            resid[ok] = res
            slacks[:, ok] = sl.T
            status[ok] = sbm_status(score, res)
            for q, i in enumerate(ok):
                keep = gidx[q] >= 0
                peers[i] = peers_text(ids, gidx[q][keep], lam[q][keep])
        todo = np.flatnonzero(~out.certified)
        fallback = len(todo)
    elif engine not in ENGINES:
        raise ValueError(f"engine {engine!r} unknown; use one of {', '.join(ENGINES)}")
    for i in todo:
        o, p = int(evaluate[i]), int(slot_pos[i])
        sol = to_global(highs().solve(prob.sbm_block(o), extra=() if p < 0 else (p,)), reference)
        solves += sol.rounds
        score = prob.sbm_score(sol)
        rho[i] = 0.0 if score <= ROUNDOFF_TOL else score
        st = sol.status
        if st == "optimal":
            sl, lam = prob.slacks(sol)
            resid[i] = prob.check(o, sol, score, is_super=False)
            st = str(sbm_status(np.array([score]), np.array([resid[i]]))[0])
            slacks[:, i] = sl
            peers[i] = peers_text(ids, sol.ref_idx, lam)
        status[i] = st
        if advance is not None and engine != "batch":
            advance(1)
    if engine == "batch" and advance is not None and fallback:
        advance(fallback)
    if model == "super-sbm":
        for i in np.flatnonzero((status == "optimal") & (rho >= 1 - EFFICIENT_TOL)):
            o, p = int(evaluate[i]), int(slot_pos[i])
            ssol = to_global(highs().solve(prob.super_block(o), exclude=None if p < 0 else p), reference)
            solves += ssol.rounds
            sup[i], st = prob.super_score(ssol)
            if st == "optimal":
                r2 = prob.check(o, ssol, sup[i], is_super=True)
                resid[i] = max(resid[i], r2)
                if r2 > CHECK_TOL or sup[i] < 1 - CHECK_TOL:
                    st = "check_failed"
            status[i] = st
    if eng is not None:
        pool = sorted(set(pool) | set(np.flatnonzero(eng.in_pool).tolist()))
    return GroupScores(evaluate, rho, sup, status, slacks, peers, resid, solves,
                       [int(reference[j]) for j in pool], fallback)
