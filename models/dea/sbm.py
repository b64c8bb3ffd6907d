"""Tone's SBM with undesirable outputs and the slack-form super-SBM, as LP blocks for the priced engine.

Linearised SBM (Charnes-Cooper; t > 0, Lambda = t*lambda, S = t*s), core rows in this order:
    inputs   t x_o - X Lambda - S-      = 0
    good     Yg Lambda - t yg_o - Sg    = 0
    bad      t yb_o - Yb Lambda - Sb    = 0
    VRS      sum Lambda - t             = 0      (not = 1)
    norm     t + 1/(s1+s2) (sum wg Sg/yg_o + sum wb Sb/yb_o) = 1
    min      t - 1/m sum S-/x_o
Input orientation fixes t = 1 and drops output slacks from the objective; output orientation minimises
-1/(s1+s2) sum w s/y and reports rho = 1/(1 + that sum).

Super-SBM (Tone 2002, undesirable outputs, DMU o removed from the reference set), linearised:
    inputs   tau x_o - X Lambda + T-   >= 0
    good     Yg Lambda - tau yg_o + Tg >= 0,   Tg - tau yg_o <= 0
    bad      tau yb_o - Yb Lambda + Tb >= 0
    VRS      sum Lambda - tau = 0
    norm     tau - 1/(s1+s2) (sum wg Tg/yg_o + sum wb Tb/yb_o) = 1
    min      tau + 1/m sum T-/x_o
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ctfp.models.dea.data import DeaData
from ctfp.models.dea.solver import LPSolution, OwnBlock


def normalised_weights(s1: int, s2: int, weights: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Good:bad weight ratio a:b -> per-output weights with sum = s1 + s2 (Tone 2003)."""
    a, b = float(weights[0]), float(weights[1])
    if s2 == 0:
        b = 0.0
    if a <= 0 or (s2 and b <= 0):
        raise ValueError("weights must be positive")
    scale = (s1 + s2) / (s1 * a + s2 * b)
    return np.full(s1, a * scale), np.full(s2, b * scale)


@dataclass
class SbmProblem:
    data: DeaData
    rts: str  # "crs" | "vrs"
    orientation: str  # "none" | "input" | "output"
    weights: tuple[float, float] = (1.0, 1.0)

    def __post_init__(self) -> None:
        d = self.data
        self.m, self.s1, self.s2 = d.x.shape[0], d.yg.shape[0], d.yb.shape[0]
        self.s = self.s1 + self.s2
        self.wg, self.wb = normalised_weights(self.s1, self.s2, self.weights)
        self.xs, self.ygs, self.ybs = d.xs, d.ygs, d.ybs
        self.xden, self.ygden, self.ybden = d.denominators()
        rows = [-self.xs, self.ygs, -self.ybs]
        if self.rts == "vrs":
            rows.append(np.ones((1, d.n)))
        self.ref = np.vstack(rows)
        self.n_core = self.ref.shape[0]
        # unscaled stacks used by check(): data, means, constraint direction, objective ratio weights
        self._all = np.vstack([d.x, d.yg, d.yb])
        self._mu = np.concatenate([d.mu_x, d.mu_g, d.mu_b])
        self._sign = np.concatenate([np.ones(self.m), -np.ones(self.s1), np.ones(self.s2)])
        m_eff = np.maximum((self.xden > 0).sum(axis=0), 1)
        with np.errstate(divide="ignore"):
            rin = np.where(self.xden > 0, 1.0 / (m_eff * self.xden), 0.0) / d.mu_x[:, None]
        wout = np.concatenate([self.wg, self.wb])[:, None]
        yden = np.vstack([self.ygden, self.ybden]) * np.concatenate([d.mu_g, d.mu_b])[:, None]
        self._ratio = np.vstack([rin, wout / (self.s * yden)]) if self.s else rin
        self._cost_in = rin * d.mu_x[:, None]  # scaled-unit input cost 1/(m_eff x_s), 0 for zero inputs

    def __reduce__(self) -> tuple[type, tuple[DeaData, str, str, tuple[float, float]]]:
        # a cluster broadcast carries the data and options only; the derived stacks (about 6x the data) are
        # rebuilt on arrival by the same code, so they are bit-identical
        return type(self), (self.data, self.rts, self.orientation, self.weights)

    # -- blocks ---------------------------------------------------------------------------------------------
    def _base(self, o: int, n_extra: int, sign: float) -> np.ndarray:
        m, s1, s2, nc = self.m, self.s1, self.s2, self.n_core
        a = np.zeros((nc + n_extra, 1 + m + s1 + s2))
        a[:m, 0] = self.xs[:, o]
        a[m : m + s1, 0] = -self.ygs[:, o]
        a[m + s1 : m + s1 + s2, 0] = self.ybs[:, o]
        if self.rts == "vrs":
            a[nc - 1, 0] = -1.0
        a[nc, 0] = 1.0
        idx = np.arange(m + s1 + s2)
        a[idx, 1 + idx] = sign
        return a

    def _input_cost(self, o: int) -> np.ndarray:
        return self._cost_in[:, o]

    def _output_coef(self, o: int) -> tuple[np.ndarray, np.ndarray]:
        return self.wg / (self.s * self.ygden[:, o]), self.wb / (self.s * self.ybden[:, o])

    def sbm_block(self, o: int) -> OwnBlock:
        m, s1, nc = self.m, self.s1, self.n_core
        a = self._base(o, 1, -1.0)
        cg, cb = self._output_coef(o)
        k = a.shape[1]
        cost = np.zeros(k)
        if self.orientation == "none":
            a[nc, 1 + m : 1 + m + s1] = cg
            a[nc, 1 + m + s1 :] = cb
        if self.orientation in ("none", "input"):
            cost[0] = 1.0
            cost[1 : 1 + m] = -self._input_cost(o)
        else:
            cost[1 + m : 1 + m + s1] = -cg
            cost[1 + m + s1 :] = -cb
        rl = np.zeros(nc + 1)
        rl[nc] = 1.0
        return OwnBlock(a, cost, np.zeros(k), np.full(k, np.inf), rl, rl.copy())

    def sbm_blocks(self, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """`sbm_block` for many DMUs at once, in the batch engine's standard form: a (B, r, k), cost (B, k),
        rhs (B, r) (equality rows, every column in [0, inf))."""
        m, s1, s2, nc = self.m, self.s1, self.s2, self.n_core
        nb, k = len(cols), 1 + m + s1 + s2
        a = np.zeros((nb, nc + 1, k))
        a[:, :m, 0] = self.xs[:, cols].T
        a[:, m : m + s1, 0] = -self.ygs[:, cols].T
        a[:, m + s1 : m + s1 + s2, 0] = self.ybs[:, cols].T
        if self.rts == "vrs":
            a[:, nc - 1, 0] = -1.0
        a[:, nc, 0] = 1.0
        idx = np.arange(m + s1 + s2)
        a[:, idx, 1 + idx] = -1.0
        cg = (self.wg[:, None] / (self.s * self.ygden[:, cols])).T
        cb = (self.wb[:, None] / (self.s * self.ybden[:, cols])).T
        cost = np.zeros((nb, k))
        if self.orientation == "none":
            a[:, nc, 1 + m : 1 + m + s1] = cg
            a[:, nc, 1 + m + s1 :] = cb
        if self.orientation in ("none", "input"):
            cost[:, 0] = 1.0
            cost[:, 1 : 1 + m] = -self._cost_in[:, cols].T
        else:
            cost[:, 1 + m : 1 + m + s1] = -cg
            cost[:, 1 + m + s1 :] = -cb
        rhs = np.zeros((nb, nc + 1))
        rhs[:, nc] = 1.0
        return a, cost, rhs

    def sbm_blocks_for(self, rows: np.ndarray):  # noqa: ANN201 - a local callable for the batch engine
        return lambda sel: self.sbm_blocks(rows[sel])

    def super_block(self, o: int) -> OwnBlock:
        m, s1, nc = self.m, self.s1, self.n_core
        a = self._base(o, 1 + s1, 1.0)
        cg, cb = self._output_coef(o)
        k = a.shape[1]
        for r in range(s1):  # Tg_r <= tau yg_o: the projected good output stays >= 0
            a[nc + 1 + r, 0] = -self.ygs[r, o]
            a[nc + 1 + r, 1 + m + r] = 1.0
        cost = np.zeros(k)
        upper = np.full(k, np.inf)
        if self.orientation == "none":
            a[nc, 1 + m : 1 + m + s1] = -cg
            a[nc, 1 + m + s1 :] = -cb
        if self.orientation in ("none", "input"):
            cost[0] = 1.0
            cost[1 : 1 + m] = self._input_cost(o)
        if self.orientation == "input":
            upper[1 + m :] = 0.0
        if self.orientation == "output":
            cost[1 + m : 1 + m + s1] = cg
            cost[1 + m + s1 :] = cb
            upper[1 : 1 + m] = 0.0
        rl = np.zeros(nc + 1 + s1)
        ru = np.full(nc + 1 + s1, np.inf)
        if self.rts == "vrs":
            ru[nc - 1] = 0.0
        rl[nc] = ru[nc] = 1.0
        rl[nc + 1 :] = -np.inf
        ru[nc + 1 :] = 0.0
        return OwnBlock(a, cost, np.zeros(k), upper, rl, ru)

    # -- results --------------------------------------------------------------------------------------------
    def sbm_score(self, sol: LPSolution) -> float:
        if sol.status != "optimal":
            return float("nan")
        if self.orientation == "output":
            return 1.0 / (1.0 - sol.objective)
        return sol.objective

    def super_score(self, sol: LPSolution) -> tuple[float, str]:
        if sol.status != "optimal":
            return float("nan"), f"super_{sol.status}"
        if self.orientation == "output":
            if sol.objective >= 1.0 - 1e-9:
                return float("nan"), "super_unbounded"
            return 1.0 / (1.0 - sol.objective), "optimal"
        return sol.objective, "optimal"

    def slacks(self, sol: LPSolution) -> tuple[np.ndarray, np.ndarray]:
        """Unscaled slacks (inputs, good, bad stacked) and lambda (= Lambda / t)."""
        t = sol.own[0]
        sl = sol.own[1:] / t
        sl[np.abs(sl) < 1e-12] = 0.0  # solver noise such as -1e-17
        return sl * self._mu, sol.lam / t

    def scores_many(self, objective: np.ndarray) -> np.ndarray:
        """`sbm_score` for many optimal objectives."""
        if self.orientation == "output":
            return 1.0 / (1.0 - objective)
        return objective.copy()

    def check_many(
        self, rows: np.ndarray, own: np.ndarray, peer_idx: np.ndarray, peer_lam: np.ndarray, score: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """`slacks` and `check` (non-super) for many DMUs: slacks (B, nv) unscaled, lambda (B, r), residual (B,)."""
        t = own[:, 0]
        sl = own[:, 1:] / t[:, None]
        sl[np.abs(sl) < 1e-12] = 0.0
        slack = sl * self._mu
        lam = peer_lam / t[:, None]
        lam = np.where(peer_idx >= 0, lam, 0.0)
        cols = np.maximum(peer_idx, 0)
        ref = np.einsum("vbr,br->vb", self._all[:, cols], lam)
        obs = self._all[:, rows]
        viol = np.abs(self._sign[:, None] * (obs - ref) - slack.T)
        resid = np.max(viol / self._mu[:, None], axis=0)
        m = self.m
        w = self._ratio[:, rows]
        a_in = np.einsum("vb,bv->b", w[:m], slack[:, :m])
        a_out = np.einsum("vb,bv->b", w[m:], slack[:, m:])
        if self.orientation == "none":
            ratio = (1 - a_in) / (1 + a_out)
        elif self.orientation == "input":
            ratio = 1 - a_in
        else:
            ratio = 1.0 / (1 + a_out)
        return slack, lam, np.maximum(resid, np.abs(ratio - score))

    def check(self, o: int, sol: LPSolution, score: float, *, is_super: bool) -> float:
        """Largest relative residual of the solution against the unscaled data (constraints and score)."""
        slack, lam = self.slacks(sol)
        obs = self._all[:, o]
        ref = self._all[:, sol.ref_idx] @ lam
        if is_super:
            # ref - slack <= obs (inputs, bad); ref + slack >= obs (good): violations only
            viol = np.maximum(self._sign * (ref - obs) - slack, 0.0)
        else:
            viol = np.abs(self._sign * (obs - ref) - slack)
        resid = float(np.max(viol / self._mu))
        m = self.m
        w = self._ratio[:, o]  # 1/(m_eff x) for inputs, w/((s1+s2) y) for outputs, unscaled units
        a_in, a_out = w[:m] @ slack[:m], w[m:] @ slack[m:]
        if self.orientation == "none":
            num, den = (1 + a_in, 1 - a_out) if is_super else (1 - a_in, 1 + a_out)
        elif self.orientation == "input":
            num, den = (1 + a_in, 1.0) if is_super else (1 - a_in, 1.0)
        else:
            num, den = (1.0, 1 - a_out) if is_super else (1.0, 1 + a_out)
        return max(resid, abs(num / den - score))
