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

from ctfp.models.dea.pricing import DUAL_LIMIT

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


def _new_highs() -> highspy.Highs:
    h = highspy.Highs()
    for key, val in (
        ("output_flag", False),
        ("presolve", "off"),  # tiny LPs: presolve costs more than it saves, and it would drop the warm basis
        ("primal_feasibility_tolerance", 1e-9),
        ("dual_feasibility_tolerance", 1e-9),
        ("random_seed", 0),
    ):
        h.setOptionValue(key, val)
    return h


def _csc(dense: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ci, ri = np.nonzero(dense.T)  # column-major order
    start = np.searchsorted(ci, np.arange(dense.shape[1] + 1)).astype(np.int32)
    return start, ri.astype(np.int32), dense.T[ci, ri]


class _Model:
    """One persistent HiGHS model: own block (k columns), one slot column for the DMU's own reference column,
    then the pool columns in pool order. Between DMUs only the differences are pushed (coefficients, costs,
    bounds), so HiGHS warm-starts from the previous basis."""

    def __init__(self, ref: np.ndarray, block: OwnBlock) -> None:
        self.ref = ref
        self.n_core = ref.shape[0]
        self.k = block.a.shape[1]
        self.h = _new_highs()
        dense = np.zeros((block.a.shape[0], self.k + 1))
        dense[:, : self.k] = block.a
        start, index, value = _csc(dense)
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = self.k + 1, block.a.shape[0]
        lp.col_cost_ = np.append(block.cost, 0.0)
        lp.col_lower_ = np.append(block.lower, 0.0)
        lp.col_upper_ = np.append(block.upper, 0.0)  # slot closed until a column is put there
        lp.row_lower_, lp.row_upper_ = block.row_lower, block.row_upper
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = start, index, value
        self.h.passModel(lp)
        self.block = block
        self.slot: int | None = None
        self.slot_col = np.zeros(self.n_core)
        self.cols: list[int] = []

    def sync(self, pool: list[int]) -> None:
        new = pool[len(self.cols) :]
        if not new:
            return
        start, index, value = _csc(self.ref[:, new])
        z = np.zeros(len(new))
        self.h.addCols(len(new), z, z, np.full(len(new), np.inf), len(value), start, index, value)
        self.cols.extend(new)

    def set_block(self, b: OwnBlock) -> None:
        old, h = self.block, self.h
        if b is old:
            return
        for r, c in zip(*np.nonzero(b.a != old.a), strict=True):
            h.changeCoeff(int(r), int(c), float(b.a[r, c]))
        idx = np.flatnonzero(b.cost != old.cost)
        if idx.size:
            h.changeColsCost(idx.size, idx.astype(np.int32), b.cost[idx])
        idx = np.flatnonzero((b.lower != old.lower) | (b.upper != old.upper))
        if idx.size:
            h.changeColsBounds(idx.size, idx.astype(np.int32), b.lower[idx], b.upper[idx])
        idx = np.flatnonzero((b.row_lower != old.row_lower) | (b.row_upper != old.row_upper))
        if idx.size:
            h.changeRowsBounds(idx.size, idx.astype(np.int32), b.row_lower[idx], b.row_upper[idx])
        self.block = b

    def set_slot(self, j: int | None) -> None:
        if j == self.slot:
            return
        col = np.zeros(self.n_core) if j is None else self.ref[:, j]
        for r in np.flatnonzero(col != self.slot_col):
            self.h.changeCoeff(int(r), self.k, float(col[r]))
        self.h.changeColBounds(self.k, 0.0, 0.0 if j is None else np.inf)
        self.slot, self.slot_col = j, col.copy()

    def close(self, j: int | None, closed: bool) -> None:
        """Fix pool column j to zero (super-efficiency: the DMU leaves its own reference set) or reopen it."""
        if j is None:
            return
        try:
            pos = self.cols.index(j)
        except ValueError:
            return
        self.h.changeColBounds(self.k + 1 + pos, 0.0, 0.0 if closed else np.inf)


class PricedLP:
    """Solve many envelopment LPs sharing one reference matrix `ref` (n_core x n, signed coefficients).

    `pricing=False` solves every LP from scratch over all columns (the plain method; used to check the engine).
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
        self._pool = [int(j) for j in np.flatnonzero(self.in_pool)]
        self._h = _new_highs()
        self._relaxed_h: highspy.Highs | None = None
        self.relaxed = 0  # LPs solved again at HiGHS' default tolerances (1e-7) after an undecided status
        self._models: dict[tuple[int, int], _Model] = {}

    @property
    def pool_size(self) -> int:
        return len(self._pool)

    def solve(self, block: OwnBlock, *, extra: Sequence[int] = (), exclude: int | None = None) -> LPSolution:
        """Solve one DMU's LP; `extra` (at most one column) is added for this solve only, `exclude` never used."""
        if len(extra) > 1:
            raise ValueError("at most one extra column")
        full = np.arange(self.n)
        if exclude is not None:
            full = full[full != exclude]
        if not self.pricing:
            return self._finish(block, full, 1)
        slot = int(extra[0]) if extra and extra[0] != exclude else None
        key = block.a.shape
        model = self._models.get(key)
        if model is None:
            model = self._models[key] = _Model(self.ref, block)
        model.sync(self._pool)  # before close(): the excluded DMU may have joined the pool since
        model.set_block(block)
        model.set_slot(slot)
        model.close(exclude, True)
        try:
            return self._priced(model, block, slot, exclude, full)
        finally:
            model.close(exclude, False)

    def _priced(
        self, model: _Model, block: OwnBlock, slot: int | None, exclude: int | None, full: np.ndarray
    ) -> LPSolution:
        h, k = model.h, model.k
        rounds = 0
        while True:
            model.sync(self._pool)
            rounds += 1
            h.run()
            status = _STATUS.get(h.getModelStatus(), h.modelStatusToString(h.getModelStatus()).lower())
            if status == "infeasible":
                # Infeasible over a subset says nothing about the full LP: decide on all columns.
                return self._finish(block, full, rounds + 1)
            if status != "optimal":
                # A warm start can leave HiGHS undecided ("unknown") on an ill-conditioned basis: solve the
                # same LP again cold, then over all columns; a status that is still not optimal is reported.
                h.clearSolver()
                h.run()
                status = _STATUS.get(h.getModelStatus(), h.modelStatusToString(h.getModelStatus()).lower())
                if status != "optimal":
                    return self._finish(block, full, rounds + 1)
            sol = h.getSolution()
            pi = np.asarray(sol.row_dual)[: self.n_core]
            if np.abs(pi).max(initial=0.0) > DUAL_LIMIT * max(1.0, float(np.abs(block.cost).max(initial=0.0))):
                return self._finish(block, full, rounds + 1)  # a certificate from this dual is noise
            d = -(pi @ self.ref)
            d[self.in_pool] = 0.0
            if slot is not None:
                d[slot] = 0.0
            if exclude is not None:
                d[exclude] = 0.0
            viol = np.flatnonzero(d < -self.tol)
            if viol.size == 0:
                x = np.asarray(sol.col_value)
                cols = np.array([-1 if slot is None else slot, *model.cols], dtype=np.int64)
                if slot is None:
                    x = x.copy()
                    x[k] = 0.0
                dup = slot is not None and bool(self.in_pool[slot])
                return self._pack(status, h.getInfo().objective_function_value, x, cols, block, rounds, dup)
            if viol.size > self.max_add:
                viol = viol[np.argsort(d[viol], kind="stable")[: self.max_add]]
            for j in viol:
                self.in_pool[j] = True
                self._pool.append(int(j))
            if rounds > 10_000:  # pragma: no cover - would mean a cycling bug
                return self._pack("pricing_limit", float("nan"), np.empty(0), np.empty(0, np.int64), block, rounds)

    def _finish(self, block: OwnBlock, cols: np.ndarray, rounds: int) -> LPSolution:
        status, obj, x, _ = self._run(block, cols)
        return self._pack(status, obj, x, cols, block, rounds)

    def _pack(
        self, status: str, obj: float, x: np.ndarray, cols: np.ndarray, block: OwnBlock, rounds: int,
        dup: bool = False,
    ) -> LPSolution:
        k = block.a.shape[1]
        if status != "optimal":
            return LPSolution(status, float("nan"), np.full(k, np.nan), np.empty(0, np.int64), np.empty(0), rounds)
        lam = x[k:]
        keep = lam > 1e-12
        idx, val = cols[keep], lam[keep]
        if dup:  # the slot column duplicates a pool column: merge their lambdas
            uniq, inv = np.unique(idx, return_inverse=True)
            idx, val = uniq, np.bincount(inv, weights=val)
        return LPSolution(status, obj, x[:k].copy(), idx, val.copy(), rounds)

    def _run(self, block: OwnBlock, cols: np.ndarray) -> tuple[str, float, np.ndarray, np.ndarray]:
        """Build and solve the LP from scratch over `cols` (the plain method, and infeasibility checks)."""
        n_rows, k = block.a.shape
        dense = np.zeros((n_rows, k + len(cols)))
        dense[:, :k] = block.a
        dense[: self.n_core, k:] = self.ref[:, cols]
        start, index, value = _csc(dense)
        lp = highspy.HighsLp()
        lp.num_col_ = dense.shape[1]
        lp.num_row_ = n_rows
        lp.col_cost_ = np.concatenate([block.cost, np.zeros(len(cols))])
        lp.col_lower_ = np.concatenate([block.lower, np.zeros(len(cols))])
        lp.col_upper_ = np.concatenate([block.upper, np.full(len(cols), np.inf)])
        lp.row_lower_ = block.row_lower
        lp.row_upper_ = block.row_upper
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = start, index, value
        h = self._h
        h.passModel(lp)
        h.run()
        status = _STATUS.get(h.getModelStatus(), h.modelStatusToString(h.getModelStatus()).lower())
        if status not in ("optimal", "infeasible", "unbounded"):
            # At 1e-9 tolerances HiGHS can end undecided ("unknown") on a degenerate LP it solves at its
            # default 1e-7 (seen: SBM VRS, paper synthetic panel, row 44). Solve again at the defaults; the
            # caller still re-checks the solution on the unscaled data (1e-6), and the solve is counted.
            if self._relaxed_h is None:
                self._relaxed_h = highspy.Highs()
                for key, val in (("output_flag", False), ("presolve", "off"), ("random_seed", 0)):
                    self._relaxed_h.setOptionValue(key, val)
            h = self._relaxed_h
            h.passModel(lp)
            h.run()
            status = _STATUS.get(h.getModelStatus(), h.modelStatusToString(h.getModelStatus()).lower())
            self.relaxed += 1
        if status != "optimal":
            return status, float("nan"), np.empty(0), np.empty(0)
        sol = h.getSolution()
        return status, h.getInfo().objective_function_value, np.asarray(sol.col_value), np.asarray(sol.row_dual)
