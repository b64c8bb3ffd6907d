"""SBM scores of DMUs against a fixed reference set they are not part of: the engine's group scorer over a
reference of K columns and the evaluated columns beside it.

`sbm_against(reference, evaluated)` is what an inverse problem needs (data/generators that place a DMU so that
its score against a known frontier equals a target, `ctfp.models.worlds.paper_frontier`): the score, the
unscaled slacks (from which X·lambda, Y·lambda follow: x - s-, y + s+, b - sb) and a status. A DMU outside the
reference technology (no lambda reproduces its fixed inputs: the linearised LP is infeasible) scores +inf,
status "outside". Variables are scaled by the reference's means (scores are unit-free).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ctfp.models.dea.data import DeaData
from ctfp.models.dea.run import blas_single_thread
from ctfp.models.dea.sbm import SbmProblem
from ctfp.models.dea.score import score_sbm_group


@dataclass(frozen=True)
class ReferenceScores:
    rho: np.ndarray  # (n,) SBM score; +inf outside the reference technology
    slacks: np.ndarray  # (m + s1 + s2, n) unscaled: input, good, bad slacks stacked; NaN where not optimal
    status: np.ndarray  # (n,) "optimal" | "outside" | the solver's status


def sbm_against(ref: tuple[np.ndarray, np.ndarray, np.ndarray], evaluated: tuple[np.ndarray, np.ndarray, np.ndarray],
                *, rts: str = "crs", weights: tuple[float, float] = (1.0, 1.0), engine: str = "batch",
                ) -> ReferenceScores:
    """Non-oriented SBM with undesirable outputs of each evaluated column against the reference columns.

    `ref` and `evaluated` are (inputs (m, K), good (s1, K), bad (s2, K)) and the same with n columns; values
    must be positive (no zero rule is needed by the callers; a zero would be scored by the engine's rule).
    """
    rx, ryg, ryb = (np.asarray(a, dtype=float) for a in ref)
    ex, eyg, eyb = (np.asarray(a, dtype=float) for a in evaluated)
    k, n = rx.shape[1], ex.shape[1]
    x, yg, yb = np.hstack([rx, ex]), np.hstack([ryg, eyg]), np.hstack([ryb, eyb])
    data = DeaData([f"x{i}" for i in range(len(x))], [f"g{i}" for i in range(len(yg))],
                   [f"b{i}" for i in range(len(yb))], x, yg, yb, rx.mean(axis=1), ryg.mean(axis=1),
                   ryb.mean(axis=1) if len(ryb) else np.empty(0), [""] * (k + n))
    prob = SbmProblem(data, rts, "none", (float(weights[0]), float(weights[1])))
    with blas_single_thread():
        res = score_sbm_group(prob, "sbm", np.arange(k), k + np.arange(n), np.arange(k + n), engine=engine)
    status = np.asarray(res.status, dtype=object)
    ok = status == "optimal"
    rho = np.where(ok, res.rho, np.inf)
    status = np.where(ok, status, np.where(np.isin(status, ("infeasible", "check_failed")), "outside", status))
    slacks = np.where(ok[None, :], res.slacks, np.nan)
    return ReferenceScores(rho, slacks, status)
