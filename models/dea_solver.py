"""Batched LP engine for DEA: one small LP per DMU over a candidate reference set, priced against all columns.

Every DEA envelopment LP here has the same shape: a DMU-specific block (score variable, slacks, extra rows)
plus one column per reference DMU whose coefficients on the "core" rows (inputs, outputs, VRS row) do not
depend on the DMU being evaluated. Solving each LP over all n reference columns is O(n^2) work in total;
instead each DMU is solved over a shared candidate pool, and the full problem's optimality is checked by
pricing every reference column with the duals (reduced cost d_j = -a_j'pi, zero cost). Violators join the
pool and the LP is resolved. At termination the pool solution is optimal for the full LP, so scores equal the
plain LP's (LP duality, not a heuristic).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import highspy
import numpy as np

_STATUS = {
    highspy.HighsModelStatus.kOptimal: "optimal",
    highspy.HighsModelStatus.kInfeasible: "infeasible",
    highspy.HighsModelStatus.kUnbounded: "unbounded",
    highspy.HighsModelStatus.kUnboundedOrInfeasible: "infeasible",
}


@dataclass(frozen=True)
class OwnBlock:
    """The DMU-specific part of one LP: its own columns on all rows, and the row bounds."""

    a: np.ndarray  # (n_rows, k): coefficients of the own columns; rows = core rows then extra rows
    cost: np.ndarray  # (k,)
    lower: np.ndarray  # (k,)
    upper: np.ndarray  # (k,)
    row_lower: np.ndarray  # (n_rows,)
    row_upper: np.ndarray  # (n_rows,)


@dataclass(frozen=True)
class LPSolution:
    status: str
    objective: float
    own: np.ndarray  # values of the own columns
    ref_idx: np.ndarray  # positions (in the engine's reference matrix) with lambda > 0
    lam: np.ndarray  # their lambda values
    rounds: int  # LP solves used (1 = the pool was already enough)


class PricedLP:
    """Solve many envelopment LPs sharing one reference matrix `ref` (n_core x n, signed coefficients).

    `pricing=False` solves every LP over all columns (the plain method; used to check the engine).
    """

    def __init__(
        self,
        ref: np.ndarray,
        *,
        init_pool: Sequence[int] = (),
        pricing: bool = True,
        tol: float = 1e-9,
        max_add: int = 40,
    ) -> None:
        self.ref = np.ascontiguousarray(ref, dtype=float)
        self.n_core, self.n = self.ref.shape
        self.pricing = pricing
        self.tol = tol
        self.max_add = max_add
        self.in_pool = np.zeros(self.n, dtype=bool)
        self.in_pool[list(init_pool)] = True
        self._pool = list(np.flatnonzero(self.in_pool))
        self._h = highspy.Highs()
        for key, val in (
            ("output_flag", False),
            ("presolve", "off"),  # tiny LPs: presolve costs more than it saves
            ("primal_feasibility_tolerance", 1e-9),
            ("dual_feasibility_tolerance", 1e-9),
            ("random_seed", 0),
        ):
            self._h.setOptionValue(key, val)

    @property
    def pool_size(self) -> int:
        return len(self._pool)

    def solve(self, block: OwnBlock, *, extra: Sequence[int] = (), exclude: int | None = None) -> LPSolution:
        """Solve one DMU's LP; `extra` columns are added for this solve only, `exclude` is never used."""
        if not self.pricing:
            cols = np.arange(self.n)
            if exclude is not None:
                cols = cols[cols != exclude]
            return self._finish(block, cols, 1)
        rounds = 0
        while True:
            cols = np.array(sorted(set(self._pool) | set(extra)), dtype=np.int64)
            if exclude is not None:
                cols = cols[cols != exclude]
            rounds += 1
            status, obj, x, pi = self._run(block, cols)
            if status == "infeasible":
                # Infeasible over a subset says nothing about the full LP: decide on all columns.
                full = np.arange(self.n)
                if exclude is not None:
                    full = full[full != exclude]
                if len(full) == len(cols):
                    return self._pack(status, obj, x, cols, block, rounds)
                return self._finish(block, full, rounds + 1)
            if status != "optimal":
                return self._pack(status, obj, x, cols, block, rounds)
            d = -(pi[: self.n_core] @ self.ref)
            d[cols] = 0.0
            if exclude is not None:
                d[exclude] = 0.0
            viol = np.flatnonzero(d < -self.tol)
            if viol.size == 0:
                return self._pack(status, obj, x, cols, block, rounds)
            if viol.size > self.max_add:
                viol = viol[np.argsort(d[viol], kind="stable")[: self.max_add]]
            for j in viol:
                if not self.in_pool[j]:
                    self.in_pool[j] = True
                    self._pool.append(int(j))
            if rounds > 10_000:  # pragma: no cover - would mean a cycling bug
                return self._pack("pricing_limit", obj, x, cols, block, rounds)

    def _finish(self, block: OwnBlock, cols: np.ndarray, rounds: int) -> LPSolution:
        status, obj, x, _ = self._run(block, cols)
        return self._pack(status, obj, x, cols, block, rounds)

    def _pack(
        self, status: str, obj: float, x: np.ndarray, cols: np.ndarray, block: OwnBlock, rounds: int
    ) -> LPSolution:
        k = block.a.shape[1]
        if status != "optimal":
            return LPSolution(status, float("nan"), np.full(k, np.nan), np.empty(0, np.int64), np.empty(0), rounds)
        lam = x[k:]
        keep = lam > 1e-12
        return LPSolution(status, obj, x[:k].copy(), cols[keep], lam[keep].copy(), rounds)

    def _run(self, block: OwnBlock, cols: np.ndarray) -> tuple[str, float, np.ndarray, np.ndarray]:
        n_rows, k = block.a.shape
        dense = np.zeros((n_rows, k + len(cols)))
        dense[:, :k] = block.a
        dense[: self.n_core, k:] = self.ref[:, cols]
        ci, ri = np.nonzero(dense.T)  # column-major order
        start = np.searchsorted(ci, np.arange(dense.shape[1] + 1)).astype(np.int32)
        lp = highspy.HighsLp()
        lp.num_col_ = dense.shape[1]
        lp.num_row_ = n_rows
        lp.col_cost_ = np.concatenate([block.cost, np.zeros(len(cols))])
        lp.col_lower_ = np.concatenate([block.lower, np.zeros(len(cols))])
        lp.col_upper_ = np.concatenate([block.upper, np.full(len(cols), np.inf)])
        lp.row_lower_ = block.row_lower
        lp.row_upper_ = block.row_upper
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = start
        lp.a_matrix_.index_ = ri.astype(np.int32)
        lp.a_matrix_.value_ = dense.T[ci, ri]
        h = self._h
        h.passModel(lp)
        h.run()
        status = _STATUS.get(h.getModelStatus(), h.modelStatusToString(h.getModelStatus()).lower())
        if status != "optimal":
            return status, float("nan"), np.empty(0), np.empty(0)
        sol = h.getSolution()
        return status, h.getInfo().objective_function_value, np.asarray(sol.col_value), np.asarray(sol.row_dual)
