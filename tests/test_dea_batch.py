"""The batch engine (compiled simplex over a candidate pool, certified by pricing) against HiGHS.

Scores must equal the plain LP's (HiGHS over all reference columns per DMU) to 1e-9 on panels built to be
hard for a home-made simplex: ties and duplicated DMUs (degenerate bases), zeros (the zero rule), wide
size spreads, every SBM orientation and frontier.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import ctfp.models.dea.score as dea_score
from ctfp.models.dea import run_dea
from ctfp.models.dea.batch import solve_standard
from ctfp.models.dea.data import build_data
from ctfp.models.dea.sbm import SbmProblem
from ctfp.models.dea.solver import PricedLP

IDENTICAL = 1e-9


def _panel(units: int = 70, periods: int = 3, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    size = rng.lognormal(0, 1.2, (units, 1))
    cols = {c: np.round(size * rng.lognormal(0, 0.4, (units, periods)), 1).ravel() for c in ("x1", "x2", "yg", "yb")}
    df = pd.DataFrame(cols)
    df["id"] = np.repeat(np.arange(units), periods)
    df["t"] = np.tile(np.arange(periods), units)
    # degeneracy: exact copies of a few DMUs (as other ids) and rows with a zero input / zero good output
    copies = df.iloc[[0, 7, 7, 20]].copy()
    copies["id"] = [1000, 1001, 1002, 1003]
    df = pd.concat([df, copies], ignore_index=True)
    df.loc[3, "x2"] = 0.0
    df.loc[11, "yg"] = 0.0
    return df


def _run(df: pd.DataFrame, **kw) -> pd.DataFrame:
    return run_dea(df, ["x1", "x2"], ["yg"], ["yb"], id_col="id", period_col="t", **kw)


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return _panel()


@pytest.mark.parametrize("frontier", ["global", "contemporaneous", "sequential", "window:3"])
@pytest.mark.parametrize(("orientation", "rts"), [("none", "crs"), ("none", "vrs"), ("input", "crs"),
                                                   ("input", "vrs"), ("output", "crs"), ("output", "vrs")])
def test_batch_equals_plain_and_highs(panel, frontier, orientation, rts) -> None:
    kw = dict(orientation=orientation, rts=rts, frontier=frontier)
    batch, highs, plain = _run(panel, **kw), _run(panel, engine="highs", **kw), _run(panel, engine="plain", **kw)
    np.testing.assert_allclose(batch["efficiency"], plain["efficiency"], atol=IDENTICAL, rtol=0)
    np.testing.assert_allclose(highs["efficiency"], plain["efficiency"], atol=IDENTICAL, rtol=0)
    assert (batch["status"] == plain["status"]).all()
    # row 11 produces no good output: under CRS (lambda = 0) every input is slack, SBM = 0 exactly, never
    # reported as "optimal"; under VRS (sum lambda = 1) it stays positive
    if rts == "crs" and orientation != "output":
        assert batch["status"].iloc[11] == "zero_efficiency" and batch["efficiency"].iloc[11] == 0.0
        assert (batch["status"].drop(index=11) == "optimal").all()
    else:
        assert (batch["status"] == "optimal").all()
    assert ((batch["efficiency"] > 0) | (batch["status"] != "optimal")).all()
    assert (batch["efficiency"] <= 1).all()
    assert (batch["residual"] < 1e-6).all()
    assert batch.attrs["engine"] == "batch" and batch.attrs["highs_fallback"] == 0


@pytest.mark.parametrize("rts", ["crs", "vrs"])
def test_batch_super_sbm_equals_plain(panel, rts) -> None:
    a, b = _run(panel, model="super-sbm", rts=rts), _run(panel, model="super-sbm", rts=rts, engine="plain")
    np.testing.assert_allclose(a["efficiency"], b["efficiency"], atol=IDENTICAL, rtol=0)
    assert (a["status"] == b["status"]).all()


def test_vectorised_blocks_and_checks_equal_the_per_dmu_ones(panel) -> None:
    data = build_data(panel, ["x1", "x2"], ["yg"], ["yb"], source="t", id_col="id", period_col="t")
    for orientation in ("none", "input", "output"):
        for rts in ("crs", "vrs"):
            prob = SbmProblem(data, rts, orientation)
            rows = np.arange(0, data.n, 7)
            a, c, rhs = prob.sbm_blocks(rows)
            eng = PricedLP(prob.ref, pricing=False)
            for q, o in enumerate(rows):
                blk = prob.sbm_block(int(o))
                np.testing.assert_array_equal(a[q], blk.a)
                np.testing.assert_array_equal(c[q], blk.cost)
                np.testing.assert_array_equal(rhs[q], blk.row_lower)
                sol = eng.solve(blk)
                score = prob.sbm_score(sol)
                ref_idx = np.full((1, a.shape[1]), -1)
                lam = np.zeros((1, a.shape[1]))
                ref_idx[0, : len(sol.ref_idx)] = sol.ref_idx
                lam[0, : len(sol.lam)] = sol.lam
                sl, _, res = prob.check_many(np.array([o]), sol.own[None, :], ref_idx, lam, np.array([score]))
                np.testing.assert_allclose(sl[0], prob.slacks(sol)[0], atol=1e-12)
                assert res[0] == pytest.approx(prob.check(int(o), sol, score, is_super=False), abs=1e-12)


def test_uncertified_lps_go_to_highs_and_scores_stay_identical(panel, monkeypatch) -> None:
    # one pricing round with one added column: most DMUs stay uncertified and must be decided by HiGHS
    def starved(*args, **kw):
        kw.update(max_rounds=1, max_add=1, sample=8)
        return solve_standard(*args, **kw)

    monkeypatch.setattr(dea_score, "solve_standard", starved)
    a = _run(panel, rts="vrs")
    monkeypatch.undo()
    b = _run(panel, rts="vrs", engine="plain")
    assert a.attrs["highs_fallback"] > 0
    np.testing.assert_allclose(a["efficiency"], b["efficiency"], atol=IDENTICAL, rtol=0)


def test_solve_standard_certifies_only_full_lp_optima(panel) -> None:
    data = build_data(panel, ["x1", "x2"], ["yg"], ["yb"], source="t", id_col="id", period_col="t")
    prob = SbmProblem(data, "crs", "none")
    rows = np.arange(data.n)
    out = solve_standard(prob.ref, prob.sbm_blocks_for(rows), rows, [], max_rounds=2, max_add=1, sample=4)
    plain = PricedLP(prob.ref, pricing=False)
    cert = np.flatnonzero(out.certified)
    assert 0 < len(cert) < data.n  # starved on purpose: some certified, some left to HiGHS
    for i in cert[::5]:
        assert out.objective[i] == pytest.approx(plain.solve(prob.sbm_block(int(i))).objective, abs=IDENTICAL)


def test_pruned_pricing_finds_exactly_the_violators_full_pricing_finds(panel) -> None:
    from ctfp.models.dea import simplex
    from ctfp.models.dea.pricing import build_index

    data = build_data(panel, ["x1", "x2"], ["yg"], ["yb"], source="t", id_col="id", period_col="t")
    prob = SbmProblem(data, "vrs", "none")
    idx = build_index(prob.ref, leaf=8, group=4)
    assert len(idx.ssmax) > 1
    rng = np.random.default_rng(0)
    # duals near optimal ones (mostly no violator) and random ones (many): both must agree exactly
    pi = np.vstack([np.abs(rng.normal(0, 1, (40, prob.n_core))), rng.normal(0, 1, (40, prob.n_core))])
    pi[:, -1] = rng.normal(0, 1, len(pi))
    m1, i1 = np.empty(len(pi)), np.empty((len(pi), 4), dtype=np.int64)
    m2, i2 = np.empty(len(pi)), np.empty((len(pi), 4), dtype=np.int64)
    simplex.price(pi, prob.ref, 1e-9, m1, i1)
    priced = simplex.price_blocked(pi, *idx.args(), 1e-9, m2, i2, idx.slo, idx.shi, idx.ssmax, idx.sstarts)
    i2 = np.where(i2 >= 0, idx.order[np.maximum(i2, 0)], -1)
    viol = m1 < -1e-9
    assert viol.any() and (~viol).any()
    np.testing.assert_array_equal(m2 < -1e-9, viol)
    np.testing.assert_allclose(m2[viol], m1[viol], rtol=0, atol=1e-15)
    # the same K most negative reduced costs (indices may differ only between exact copies of a DMU)
    np.testing.assert_array_equal(i2 >= 0, i1 >= 0)
    d = -(pi @ prob.ref)
    rows = np.arange(len(pi))[:, None]
    np.testing.assert_allclose(np.where(i2 >= 0, d[rows, np.maximum(i2, 0)], 0),
                               np.where(i1 >= 0, d[rows, np.maximum(i1, 0)], 0), rtol=0, atol=1e-12)
    assert priced < len(pi) * data.n  # something was pruned


def test_batch_with_a_pricing_index_gives_identical_scores(panel) -> None:
    from ctfp.models.dea.pricing import build_index

    data = build_data(panel, ["x1", "x2"], ["yg"], ["yb"], source="t", id_col="id", period_col="t")
    for rts in ("crs", "vrs"):
        prob = SbmProblem(data, rts, "none")
        rows = np.arange(data.n)
        a = solve_standard(prob.ref, prob.sbm_blocks_for(rows), rows, [])
        b = solve_standard(prob.ref, prob.sbm_blocks_for(rows), rows, [], index=build_index(prob.ref, leaf=8, group=4))
        assert a.certified.all() and b.certified.all()
        np.testing.assert_allclose(b.objective, a.objective, atol=IDENTICAL, rtol=0)
        assert b.priced < a.priced


def test_peer_text_of_the_batch_equals_the_per_dmu_text() -> None:
    from ctfp.models.dea.score import peers_many, peers_text

    rng = np.random.default_rng(1)
    ids = np.array([f"c{i}" for i in range(50)])
    idx = np.where(rng.random((30, 5)) < 0.6, rng.integers(0, 50, (30, 5)), -1)
    lam = np.round(rng.random((30, 5)), 2)  # ties on purpose: the order must stay stable
    want = [peers_text(ids, idx[q][idx[q] >= 0], lam[q][idx[q] >= 0]) for q in range(30)]
    assert peers_many(ids, idx, lam) == want


def test_blas_runs_on_one_thread_while_solving(monkeypatch) -> None:
    from threadpoolctl import threadpool_info

    import ctfp.models.dea as dea
    from ctfp.models.dea.run import blas_single_thread

    seen: list[list[int]] = []
    real = dea.score_sbm_group

    def spy(*args, **kw):
        seen.append([i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"])
        return real(*args, **kw)

    monkeypatch.setattr(dea, "score_sbm_group", spy)
    _run(_panel(12, 3))
    assert seen and all(n == 1 for threads in seen for n in threads)
    with blas_single_thread():
        assert all(i["num_threads"] == 1 for i in threadpool_info() if i["user_api"] == "blas")
