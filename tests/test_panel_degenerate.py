"""Degenerate designs are statistics with a warning, never a zero SE or a traceback (issue 11, items 6 and 7).

- Few clusters: G < 2 is refused; G < FEW_CLUSTERS warns; a meat of rank < K is noted; a coefficient whose cluster-robust variance is
  numerically zero gets NaN (no SE, t, p), with the reason; t(G−1) stays the reference (Stata).
- IV: an instrument that is an exact or affine copy of the endogenous regressor (or one with 1e-9 noise)
  gives F = inf with a warning and 2SLS = OLS; an instrument that does not move the regressor is one clear
  line with KP LM ≈ 0 and F ≈ 0 ("the second stage is not identified").
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ctfp.core.errors import InputError, NumericalError
from ctfp.inference.cli import main
from ctfp.models.panel import fwl
from ctfp.models.panel.estimators import FEW_CLUSTERS, fit_iv, fit_ols
from ctfp.models.panel.sim import simulate_analysis_panel


@pytest.fixture(scope="module")
def df() -> pd.DataFrame:
    return simulate_analysis_panel(20, 8, seed=11)


def two_cities(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["city"].isin(df["city"].unique()[:2])].reset_index(drop=True)


def test_issue11_item6_two_clusters_never_a_zero_se(df: pd.DataFrame, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """Two cities, city and year FEs, cluster city: the summed scores of both clusters are exactly zero, so the
    clustered variance is 0 (printed as SE 3.2e-16, t = -1.6e14 before); now NaN with the reason."""
    two = two_cities(df)
    r = fit_ols(two, "ctfp", "ai,pop", absorb="city,year", cluster="city")
    assert r.n_clusters == 2 and r.df_t == 1.0
    assert np.isnan(r.se).all() and np.isnan(r.t).all() and np.isnan(r.p).all()
    assert np.isfinite(r.coef).all()  # the point estimates are still the FE estimates
    ref = fit_ols(two, "ctfp", "ai,pop", absorb="city,year")  # unadjusted SEs exist: the coefs are identified
    np.testing.assert_allclose(r.coef, ref.coef, rtol=1e-12)
    assert any("only 2 clusters" in w and "t(G−1) = t(1)" in w for w in r.warnings)
    assert sum("variance of" in w and "numerically zero" in w for w in r.warnings) == 2
    path = tmp_path / "two.csv"
    two.to_csv(path, index=False)
    assert main(["fe", str(path), "--y", "ctfp", "--x", "ai,pop", "--absorb", "city,year", "--cluster", "city",
                 "--json"]) == 0
    cap = capsys.readouterr()
    out = json.loads(cap.out)
    assert out["se"] == {"ai": None, "pop": None} and out["t"] == {"ai": None, "pop": None}
    assert len(out["warnings"]) == 3
    assert cap.err.count("warning:") == 3 and "numerically zero" in cap.err and "Traceback" not in cap.err
    assert main(["fe", str(path), "--y", "ctfp", "--x", "ai,pop", "--absorb", "city,year", "--cluster",
                 "city"]) == 0
    table = capsys.readouterr().out
    assert "n/a" in table and "e-16" not in table and "e+14" not in table


def test_two_clusters_with_a_constant_keep_their_ses(df: pd.DataFrame) -> None:
    """Two clusters, no FEs: the meat has rank 1 (the clusters' summed scores are opposite), so the SEs exist
    and are reported, the rank is noted and the few-clusters warning is given."""
    r = fit_ols(df, "ctfp", "g_ua,ai", cluster="g_ua")
    assert r.n_clusters == 2 and r.names == ["g_ua", "ai", "_cons"]
    assert np.isfinite(r.se).all() and (r.se > 0).all()
    assert any("has rank 1 < 3 coefficients (2 clusters)" in n for n in r.notes)
    assert len(r.warnings) == 1 and r.warnings[0].startswith("only 2 clusters (g_ua)")


def test_few_but_informative_clusters_warn_and_keep_tg1(df: pd.DataFrame) -> None:
    sub = df[df["city"].isin(df["city"].unique()[:5])]
    r = fit_ols(sub, "ctfp", "ai", absorb="city,year", cluster="city")
    assert r.n_clusters == 5 and r.df_t == 4.0
    assert np.isfinite(r.se).all() and (r.se > 0).all()
    assert r.warnings == [f"only 5 clusters (city): cluster-robust standard errors are unreliable with fewer "
                          f"than {FEW_CLUSTERS} (Cameron & Miller 2015); p-values and intervals use t(G−1) = t(4) "
                          "as Stata does; treat them with caution"]
    from scipy import stats

    assert r.p[0] == pytest.approx(2 * stats.t.sf(abs(r.t[0]), 4), rel=1e-12)


def test_enough_clusters_no_warning(df: pd.DataFrame) -> None:
    r = fit_ols(df, "ctfp", "ai,pop", absorb="city,year", cluster="city")
    assert r.n_clusters == 20 and r.warnings == [] and (r.se > 0).all()


def test_rank_deficient_meat_is_noted(df: pd.DataFrame) -> None:
    """G − 1 < K: the clustered covariance has rank ≤ G − 1; each SE is kept, the rank is said."""
    sub = df[df["city"].isin(df["city"].unique()[:3])]
    r = fit_ols(sub, "ctfp", "ai,pop,hum", absorb="city,year", cluster="city")
    assert any("has rank 2 < 3 coefficients (3 clusters)" in n for n in r.notes)


def test_exact_fit_reports_no_se(df: pd.DataFrame) -> None:
    d = df.assign(y=2.0 * df["ai"] - df["pop"])
    r = fit_ols(d, "y", "ai,pop", absorb="city,year", cluster="city")
    np.testing.assert_allclose(r.coef, [2.0, -1.0], rtol=1e-9)
    assert np.isnan(r.se).all() and any("fit the outcome exactly" in w for w in r.warnings)


def test_one_cluster_is_refused(df: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="has 1 level in the estimation sample; clustering needs at least two"):
        fit_ols(df[df["city"] == df["city"].iloc[0]], "ctfp", "ai", cluster="city")
    with pytest.raises(InputError, match="every observation is alone in a level of year"):
        fit_ols(df[df["city"] == df["city"].iloc[0]], "ctfp", "ai", absorb="year", cluster="city")


def test_infinite_cell_is_an_error_not_a_missing_value(df: pd.DataFrame, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    d = df.copy()
    d.loc[4, "pop"] = np.inf
    path = tmp_path / "p.csv"
    d.to_csv(path, index=False)
    rc = main(["fe", str(path), "--y", "ctfp", "--x", "ai,pop", "--absorb", "city,year", "--cluster", "city"])
    err = capsys.readouterr().err
    assert rc == 1 and err == (f"ctfp: error: {path}: column 'pop', row 6: value inf is infinite (1 row(s) with "
                               "an infinite value); fix or drop the cell\n")


# ------------------------------------------------------------------------------------------------- IV


def with_instrument(df: pd.DataFrame, kind: str) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    z = {"copy": df["ai"], "affine": 3.0 * df["ai"] + 2.0,
         "noise": df["ai"] + 1e-9 * rng.standard_normal(len(df))}[kind]
    return df.assign(z=z)


@pytest.mark.parametrize("kind", ["copy", "affine", "noise"])
def test_issue11_item7_instrument_copy_is_reported_as_statistics(df: pd.DataFrame, kind: str) -> None:
    d = with_instrument(df, kind)
    r = fit_iv(d, "ctfp", "ai", "z", exog="pop", absorb="city,year", cluster="city")
    ols = fit_ols(d, "ctfp", "ai,pop", absorb="city,year", cluster="city")
    np.testing.assert_allclose(r.coef, ols.coef, rtol=1e-6)  # a perfect first stage: 2SLS is OLS
    dg = r.diagnostics
    assert dg["kp_rk_wald_f"] == np.inf and dg["cragg_donald_f"] == np.inf and dg["partial_r2"] == 1.0
    assert np.isfinite(dg["kp_rk_lm"]) and dg["kp_rk_lm"] > 0
    assert np.isnan(r.first_stage.se).all()
    assert any("reproduce ai exactly" in w and "F = inf" in w for w in r.warnings)
    assert np.isfinite(r.se).all() and (r.se > 0).all()


@pytest.mark.parametrize("kind", ["copy", "affine", "noise"])
def test_issue11_item7_cli(df: pd.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str) -> None:
    path = tmp_path / "p.csv"
    with_instrument(df, kind).to_csv(path, index=False)
    args = ["iv", str(path), "--y", "ctfp", "--endog", "ai", "--instruments", "z", "--exog", "pop", "--absorb",
            "city,year", "--cluster", "city"]
    assert main(args) == 0
    cap = capsys.readouterr()
    assert "Kleibergen-Paap rk Wald F" in cap.out and re.search(r"\binf\b", cap.out)
    assert cap.err.startswith(f"warning: {path}: the excluded instrument(s) z reproduce ai exactly")
    assert main([*args, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["kp_rk_wald_f"] is None and out["first_stage"]["se"] == {"z": None}  # inf/NaN are JSON null
    assert any("F = inf" in w for w in out["warnings"])


def orthogonal_instrument(df: pd.DataFrame) -> pd.DataFrame:
    """An instrument with variation but exactly orthogonal to ai and pop after the two-way FEs."""
    codes = [fwl.factorize(df["city"].to_numpy())[0], fwl.factorize(df["year"].to_numpy())[0]]
    w = fwl.demean(df[["ai", "pop"]].to_numpy(), codes)
    z = fwl.demean(np.random.default_rng(1).standard_normal((len(df), 1)), codes)[:, 0]
    z = z - w @ np.linalg.lstsq(w, z, rcond=None)[0]
    return df.assign(z0=z)


def test_instrument_that_does_not_move_the_regressor(df: pd.DataFrame, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    d = orthogonal_instrument(df)
    with pytest.raises(NumericalError) as err:
        fit_iv(d, "ctfp", "ai", "z0", exog="pop", absorb="city,year", cluster="city")
    msg = str(err.value)
    assert "do not move ai" in msg and "the second stage is not identified" in msg
    assert "first-stage partial R² = 0" in msg and "Kleibergen-Paap rk LM = " in msg and "\n" not in msg
    path = tmp_path / "p.csv"
    d.to_csv(path, index=False)
    rc = main(["iv", str(path), "--y", "ctfp", "--endog", "ai", "--instruments", "z0", "--exog", "pop",
               "--absorb", "city,year", "--cluster", "city"])
    err_text = capsys.readouterr().err
    assert rc == 2 and err_text.startswith("ctfp: error: ") and err_text.count("\n") == 1


def test_iv_with_two_clusters_and_two_instruments(df: pd.DataFrame) -> None:
    """Fewer clusters than instruments: the KP covariances are singular; statistics, not LinAlgError."""
    rng = np.random.default_rng(2)
    d = df.assign(z1=df["ai"] + rng.standard_normal(len(df)), z2=rng.standard_normal(len(df)))
    r = fit_iv(d, "ctfp", "ai", "z1,z2", absorb="year", cluster="g_ua")
    assert r.n_clusters == 2
    assert not (np.nan_to_num(r.se, nan=1.0) == 0).any()
    assert any("singular" in w for w in r.warnings) and any("only 2 clusters" in w for w in r.warnings)
    for key in ("kp_rk_lm", "kp_rk_wald_f", "cragg_donald_f", "hansen_j"):
        assert not np.isnan(r.diagnostics[key]), key


@pytest.mark.parametrize("call,msg", [
    (lambda d: fit_ols(d, "ctfp", "ai,ctfp"), "'ctfp' is given in both --y and --x"),
    (lambda d: fit_ols(d, "ctfp", "ai,pop,ai"), "'ai' is given twice in --x"),
    (lambda d: fit_iv(d, "ctfp", "ai", "iv_tel", exog="pop,ai"), "'ai' is given in both --endog and --exog"),
    (lambda d: fit_iv(d, "ai", "ai", "iv_tel"), "'ai' is given in both --y and --endog"),
])
def test_a_variable_in_two_roles_is_an_error(df: pd.DataFrame, call, msg: str) -> None:  # noqa: ANN001
    with pytest.raises(InputError, match=msg):
        call(df)


@pytest.mark.parametrize("factor", [1e-120, 1e-60, 1e60, 1e120])
def test_units_never_change_the_fit(df: pd.DataFrame, factor: float) -> None:
    """A regressor, the outcome or an instrument in extreme units gives the same fit in those units: nothing
    overflows (x'x of 1e200 is inf) or is mistaken for a column without variation (1e-200)."""
    ref = fit_ols(df, "ctfp", "ai,pop", absorb="city,year", cluster="city")
    got = fit_ols(df.assign(pop=df["pop"] * factor), "ctfp", "ai,pop", absorb="city,year", cluster="city")
    assert got.names == ["ai", "pop"] and got.notes == ref.notes
    np.testing.assert_allclose(got.coef, ref.coef / np.array([1.0, factor]), rtol=1e-10)
    np.testing.assert_allclose(got.se, ref.se / np.array([1.0, factor]), rtol=1e-10)
    np.testing.assert_allclose(got.t, ref.t, rtol=1e-10)
    ys = fit_ols(df.assign(ctfp=df["ctfp"] * factor), "ctfp", "ai,pop", absorb="city,year", cluster="city")
    np.testing.assert_allclose(ys.coef, ref.coef * factor, rtol=1e-10)
    np.testing.assert_allclose(ys.r2_within, ref.r2_within, rtol=1e-10)
    iv = fit_iv(df, "ctfp", "ai", "iv_tel", exog="pop", absorb="city,year", cluster="city")
    ivs = fit_iv(df.assign(iv_tel=df["iv_tel"] * factor), "ctfp", "ai", "iv_tel", exog="pop",
                 absorb="city,year", cluster="city")
    np.testing.assert_allclose(ivs.coef, iv.coef, rtol=1e-10)
    np.testing.assert_allclose(ivs.first_stage.coef, iv.first_stage.coef / factor, rtol=1e-10)
    for key in ("kp_rk_lm", "kp_rk_wald_f", "cragg_donald_f"):
        assert ivs.diagnostics[key] == pytest.approx(iv.diagnostics[key], rel=1e-10), key


@pytest.mark.parametrize("factor", [1e-170, 1e170])
def test_extreme_units_keep_the_regressor_and_never_a_zero_se(df: pd.DataFrame, factor: float) -> None:
    """Units of 1e-170: x'x underflowed and the regressor was omitted as 'without variation'; now it is kept,
    its coefficient is right, and its variance (SE² ≈ 1e±340, outside float64) is reported as not defined."""
    ref = fit_ols(df, "ctfp", "ai,pop", absorb="city,year", cluster="city")
    got = fit_ols(df.assign(pop=df["pop"] * factor), "ctfp", "ai,pop", absorb="city,year", cluster="city")
    assert got.names == ["ai", "pop"]
    np.testing.assert_allclose(got.coef, ref.coef / np.array([1.0, factor]), rtol=1e-10)
    assert got.se[0] == pytest.approx(ref.se[0], rel=1e-10)
    assert np.isnan(got.se[1]) and any("not representable" in w for w in got.warnings)


def test_ordinary_units_are_untouched(df: pd.DataFrame) -> None:
    """The power-of-two scaling is exact: the same fit as the textbook formula on the raw columns."""
    r = fit_ols(df, "ctfp", "ai,pop")
    x = np.column_stack([df["ai"], df["pop"], np.ones(len(df))])
    beta = np.linalg.solve(x.T @ x, x.T @ df["ctfp"].to_numpy())
    np.testing.assert_allclose(r.coef, beta, rtol=1e-12)


def test_zero_robust_variance_is_blanked() -> None:
    """Without clusters, a robust variance that is zero while the homoskedastic one is not (the observations
    identifying a coefficient have zero residuals) is blanked with a warning; the other SE is kept."""
    from ctfp.models.panel.estimators import guard_variance

    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 2))
    u = rng.normal(size=50)
    bread = np.linalg.inv(x.T @ x)
    v = np.diag([0.0, 0.02])
    warns: list[str] = []
    out = guard_variance(v, x * u[:, None], bread, u, u + 1.0, ["a", "b"], (), None, [], warns)
    assert np.isnan(out[0, 0]) and np.isnan(out[0, 1]) and out[1, 1] == 0.02
    assert len(warns) == 1 and "robust variance of a is numerically zero" in warns[0]
