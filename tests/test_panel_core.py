"""Identities of the FWL core and the difference tests (references: LSDV by least squares, algebra)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ctfp.models.panel import fwl
from ctfp.models.panel import groupdiff as gd
from ctfp.models.panel.estimators import fit_iv, fit_ols
from ctfp.models.panel.fwl import demean, factorize, fe_dof
from ctfp.models.panel.sim import CONTROLS, simulate_analysis_panel

X = ["ai", *CONTROLS]


def _lsdv(frame: pd.DataFrame, y: str, x: list[str], fes: list[str]) -> np.ndarray:
    """Slopes by least squares with explicit dummies (the reference for the absorbed estimator)."""
    parts = [frame[x].to_numpy(float), np.ones((len(frame), 1))]
    for f in fes:
        parts.append(pd.get_dummies(frame[f], drop_first=True).to_numpy(float))
    beta, *_ = np.linalg.lstsq(np.hstack(parts), frame[y].to_numpy(float), rcond=None)
    return beta[: len(x)]


def test_unbalanced_map_equals_lsdv() -> None:
    df = simulate_analysis_panel(30, 8, seed=3)
    rng = np.random.default_rng(0)
    df = df.loc[rng.random(len(df)) > 0.25]  # unbalanced: alternating projections path
    r = fit_ols(df, "ctfp", X, absorb="city,year", cluster="city")
    np.testing.assert_allclose(r.coef, _lsdv(df, "ctfp", X, ["city", "year"]), rtol=0, atol=1e-9)


def test_three_way_fe_equals_lsdv() -> None:
    df = simulate_analysis_panel(20, 8, seed=4)
    r = fit_ols(df, "ctfp", X, absorb="city,year,provyear", cluster="city")
    np.testing.assert_allclose(r.coef, _lsdv(df, "ctfp", X, ["city", "year", "provyear"]), rtol=0, atol=1e-9)


def test_balanced_closed_form_equals_map() -> None:
    df = simulate_analysis_panel(12, 6, seed=5)
    codes = [factorize(df["city"].to_numpy())[0], factorize(df["year"].to_numpy())[0]]
    a = df[["ctfp", "ai"]].to_numpy(float)
    closed = demean(a, codes)
    counts = [np.bincount(c).astype(float) for c in codes]
    mapped = fwl._map(a, codes, [12, 6], counts, fwl.MAP_TOL, fwl.MAP_MAXITER)  # the iterative path
    np.testing.assert_allclose(closed, mapped, rtol=0, atol=1e-12)
    for c in codes:  # residuals are orthogonal to every FE
        sums = np.vstack([np.bincount(c, weights=closed[:, j]) for j in range(2)])
        assert np.abs(sums).max() < 1e-12


def test_fe_dof_reghdfe_table() -> None:
    city = np.repeat(np.arange(78), 16)
    year = np.tile(np.arange(16), 78)
    prov = city % 9
    provyear = factorize(prov * 100 + year)[0]
    nested = fe_dof([city, year], [78, 16], [city])
    assert nested.df_a == 15 and nested.df_ols == 16 and nested.sdofminus == 15  # methods.md §3 table
    free = fe_dof([city, year], [78, 16], [provyear])
    assert free.df_ols == 93 and free.sdofminus == 93
    by_year = fe_dof([city, year], [78, 16], [year])  # year nested: the city FE still carries the constant
    assert by_year.df_ols == 78 and by_year.redundant == (1, 16)
    assert fe_dof([city], [78], [city]).sdofminus == 1  # ivreghdfe's "min 1"


def test_kp_f_equals_squared_first_stage_t() -> None:
    df = simulate_analysis_panel(seed=6)
    r = fit_iv(df, "ctfp", "ai", "iv_res", exog=list(CONTROLS), absorb="city,year", cluster="city")
    assert r.first_stage is not None
    np.testing.assert_allclose(r.diagnostics["kp_rk_wald_f"], r.first_stage.t[0] ** 2, rtol=1e-12)
    # ... and the first stage equals the OLS of ai on the instrument and controls (same conventions but L)
    fs = fit_ols(df, "ai", ["iv_res", *CONTROLS], absorb="city,year", cluster="city")
    np.testing.assert_allclose(r.first_stage.coef[0], fs.coef[0], rtol=1e-10)


def test_interaction_equals_split_difference() -> None:
    df = simulate_analysis_panel(seed=7, beta_diff=0.03)
    for split in ("g_ua", "g_attention"):  # a city-level and a city-year-level split
        f1 = fit_ols(df[df[split] == 1], "ctfp", X, absorb="city,year", cluster="city")
        f0 = fit_ols(df[df[split] == 0], "ctfp", X, absorb="city,year", cluster="city")
        chow, name = gd.chow_interacted(df, "ctfp", X, split)
        np.testing.assert_allclose(chow.coef[chow.index(name)], f1.coef[0] - f0.coef[0], rtol=1e-9)
        grid = gd.build_grid(df, "ctfp", X)
        lab = gd.grid_labels(df, split, grid)
        fast = gd.split_coefs(grid, np.stack([lab == 1, lab == 0]))
        np.testing.assert_allclose(fast[0], f1.coef, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(fast[1], f0.coef, rtol=1e-9, atol=1e-12)


def test_suest_covariance_zero_when_groups_partition_clusters() -> None:
    df = simulate_analysis_panel(seed=8)
    out = {}
    for split in ("g_ua", "g_attention"):
        f1 = fit_ols(df[df[split] == 1], "ctfp", X, absorb="city,year", cluster="city", keep_resid=True)
        f0 = fit_ols(df[df[split] == 0], "ctfp", X, absorb="city,year", cluster="city", keep_resid=True)
        out[split] = gd.suest(f1, f0, df.loc[f1.rows, "city"].to_numpy(), df.loc[f0.rows, "city"].to_numpy(), "ai")
    assert out["g_ua"]["cov"] == 0.0
    assert out["g_attention"]["cov"] != 0.0


def test_permutation_p_uniform_under_null() -> None:
    ps = []
    for s in range(40):
        df = simulate_analysis_panel(16, 5, seed=100 + s)
        grid = gd.build_grid(df, "ctfp", ["ai", "pop"])
        lab = gd.grid_labels(df, "g_resource", grid)
        if min((lab == 1).any(axis=1).sum(), (lab == 0).any(axis=1).sum()) < 3:
            continue
        pt = gd.permutation_test(grid, lab, reps=99, seed=s)
        assert pt.n_invalid == 0
        ps.append(pt.p_two_sided_plus1)
    ps = np.asarray(ps)
    assert len(ps) >= 30
    assert stats.kstest(ps, "uniform").pvalue > 0.01
    assert 0.35 < ps.mean() < 0.65


def test_permutation_detects_a_real_difference_and_keeps_sizes() -> None:
    df = simulate_analysis_panel(seed=9, beta_diff=0.05)
    grid = gd.build_grid(df, "ctfp", X)
    lab = gd.grid_labels(df, "g_ua", grid)
    pt = gd.permutation_test(grid, lab, reps=200, seed=1)
    assert pt.diff > 0 and pt.p_one_sided < 0.05 and pt.p_one_sided_plus1 == (1 + pt._count(False)) / 201
    masks = gd.permutation_masks(lab, 5, np.random.default_rng(0), "observation")
    assert (masks[:, 0].sum(axis=(1, 2)) == (lab == 1).sum()).all()
    again = gd.permutation_test(grid, lab, reps=200, seed=1)
    assert np.array_equal(again.perm_diffs, pt.perm_diffs)  # deterministic given the seed


def test_batched_refits_match_on_an_unbalanced_panel() -> None:
    df = simulate_analysis_panel(seed=3)
    df = df.loc[np.random.default_rng(0).random(len(df)) > 0.2]
    grid = gd.build_grid(df, "ctfp", X)
    for split in ("g_ua", "g_attention"):
        lab = gd.grid_labels(df, split, grid)
        fast = gd.split_coefs(grid, np.stack([lab == 1, lab == 0]))
        for level, row in ((1, 0), (0, 1)):
            ref = fit_ols(df[df[split] == level], "ctfp", X, absorb="city,year", cluster="city")
            np.testing.assert_allclose(fast[row], ref.coef, rtol=1e-9, atol=1e-12)
