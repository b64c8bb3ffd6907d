"""Radial CCR (CRS) and BCC (VRS) envelopment models, input- or output-oriented, with max-slack second stage.

Input orientation:  min theta  s.t.  X lambda + s- = theta x_o,  Y lambda - s+ = y_o   (BCC: sum lambda = 1)
Output orientation: max phi    s.t.  X lambda + s- = x_o,        Y lambda - s+ = phi y_o
Stage 2 fixes the score and maximises the sum of mean-scaled slacks (unit invariant). Efficiency is theta, or
1/phi for output orientation. A score of 1 can hide slacks: `efficient` also requires zero slacks.

Undesirable outputs enter radial models only after negative normalisation (the paper's robustness model):
    b' = (max(b) - b) / (max(b) - min(b)) + c      (max/min over all rows; c = translation constant, recorded)
b' is then a desirable output. Input-oriented BCC scores do not depend on c (translation invariance of VRS
in the outputs under input orientation); CCR and output-oriented scores do, hence input orientation is the
recommended robustness score.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ctfp.models.dea.data import DeaData
from ctfp.models.dea.solver import LPSolution, OwnBlock

DEFAULT_TRANSLATION = 0.01
STAGE2_RELAX = 1e-9  # relative room for the fixed score in the max-slack stage


def negative_normalise(b: np.ndarray, constant: float = DEFAULT_TRANSLATION) -> np.ndarray:
    """Map a bad output (1-d) to a good one: (max - b) / (max - min) + constant."""
    lo, hi = float(np.min(b)), float(np.max(b))
    if hi == lo:
        raise ValueError("bad output is constant; negative normalisation is undefined")
    return (hi - b) / (hi - lo) + constant


@dataclass
class RadialProblem:
    data: DeaData  # bad outputs already moved into `good` by the caller
    rts: str
    orientation: str  # "input" | "output"

    def __post_init__(self) -> None:
        d = self.data
        self.m, self.s = d.x.shape[0], d.yg.shape[0]
        self.xs, self.ys = d.xs, d.ygs
        rows = [-self.xs, self.ys]
        if self.rts == "vrs":
            rows.append(np.ones((1, d.n)))
        self.ref = np.vstack(rows)
        self.n_core = self.ref.shape[0]

    def __reduce__(self) -> tuple[type, tuple[DeaData, str, str]]:
        # a cluster broadcast carries the data and options only; derived stacks are rebuilt on arrival
        return type(self), (self.data, self.rts, self.orientation)

    def block(self, o: int, score: float | None = None) -> OwnBlock:
        """Stage 1 (score=None) or stage 2 (score fixed, maximise slacks)."""
        m, s, nc = self.m, self.s, self.n_core
        k = 1 + m + s
        a = np.zeros((nc, k))
        idx = np.arange(m + s)
        a[idx, 1 + idx] = -1.0
        rl = np.zeros(nc)
        if self.orientation == "input":
            a[:m, 0] = self.xs[:, o]
            rl[m : m + s] = self.ys[:, o]
        else:
            a[m : m + s, 0] = -self.ys[:, o]
            rl[:m] = -self.xs[:, o]
        if self.rts == "vrs":
            rl[nc - 1] = 1.0
        cost = np.zeros(k)
        lower, upper = np.zeros(k), np.full(k, np.inf)
        if score is None:
            cost[0] = 1.0 if self.orientation == "input" else -1.0
        else:
            # Fixing the score exactly can make stage 2 infeasible by rounding (seen on 1248 city-years):
            # give it a relative slack of STAGE2_RELAX on the side that keeps the DMU's own column feasible.
            relax = STAGE2_RELAX * max(1.0, abs(score))
            if self.orientation == "input":
                lower[0], upper[0] = score, score + relax
            else:
                lower[0], upper[0] = score - relax, score
            cost[1:] = -1.0
        return OwnBlock(a, cost, lower, upper, rl, rl.copy())

    def score(self, sol: LPSolution) -> float:
        """theta (input) or phi (output)."""
        if sol.status != "optimal":
            return float("nan")
        return sol.objective if self.orientation == "input" else -sol.objective

    def slacks(self, sol: LPSolution) -> np.ndarray:
        mu = np.concatenate([self.data.mu_x, self.data.mu_g])
        sl = sol.own[1:].copy()
        sl[np.abs(sl) < 1e-12] = 0.0  # solver noise such as -1e-17
        return sl * mu

    def check(self, o: int, sol: LPSolution, theta: float) -> float:
        d = self.data
        slack = self.slacks(sol)
        cols = sol.ref_idx
        xr, yr = d.x[:, cols] @ sol.lam, d.yg[:, cols] @ sol.lam
        m = self.m
        if self.orientation == "input":
            r1, r2 = theta * d.x[:, o] - xr - slack[:m], yr - slack[m:] - d.yg[:, o]
        else:
            r1, r2 = d.x[:, o] - xr - slack[:m], yr - slack[m:] - theta * d.yg[:, o]
        resid = np.concatenate([r1 / d.mu_x, r2 / d.mu_g])
        if self.rts == "vrs":
            resid = np.append(resid, sol.lam.sum() - 1.0)
        return float(np.max(np.abs(resid))) if resid.size else 0.0
