"""pyfixest and linearmodels agree with the core: coefficients to 1e-8, SEs after their documented factors.

Factors (stack.md): pyfixest's OLS = reghdfe exactly; its IV SEs use reghdfe's df, one more than ivreghdfe's
when an FE is nested in the cluster, so SE_pf = SE_ctfp · √((N−K−sdofminus)/(N−K−sdofminus−1)).
linearmodels PanelOLS(debiased, group_debias) counts every entity effect (no nesting rule): its df is N−K−(G1+T−1).
linearmodels IV2SLS on FE-demeaned data, non-debiased: SE_ctfp = SE_lm · √((N−1)/(N−K−sdofminus) · G/(G−1)), and
its first-stage `f.stat` (clustered, chi2 form) is the KP rk Wald χ².
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ctfp.models.panel.estimators import fit_iv, fit_ols
from ctfp.models.panel.fwl import demean, factorize


@pytest.fixture(scope="module")
def cigar(fixtures_dir: Path) -> pd.DataFrame:
    return pd.read_csv(fixtures_dir / "econometrics" / "Cigar.csv")


def test_pyfixest_ols_and_iv(cigar: pd.DataFrame) -> None:
    import pyfixest as pf

    m = pf.feols("Sales ~ Price + NDI | State + Year", cigar, vcov={"CRV1": "State"})
    r = fit_ols(cigar, "Sales", "Price,NDI", absorb="State,Year", cluster="State")
    np.testing.assert_allclose(m.coef()[r.names].to_numpy(), r.coef, rtol=0, atol=1e-8)
    np.testing.assert_allclose(m.se()[r.names].to_numpy(), r.se, rtol=1e-10)

    m = pf.feols("Sales ~ NDI | State + Year | Price ~ Pimin", cigar, vcov={"CRV1": "State"})
    r = fit_iv(cigar, "Sales", "Price", "Pimin", exog="NDI", absorb="State,Year", cluster="State")
    np.testing.assert_allclose(m.coef()[r.names].to_numpy(), r.coef, rtol=0, atol=1e-8)
    n, k, sdof = r.nobs, len(r.names), r.df_absorbed
    assert sdof == 29  # 30 years − 1; the State FE is nested in the State clusters
    np.testing.assert_allclose(m.se()[r.names].to_numpy(), r.se * np.sqrt((n - k - sdof) / (n - k - sdof - 1)),
                               rtol=1e-10)


def test_linearmodels_panelols(cigar: pd.DataFrame) -> None:
    import linearmodels.panel as lm

    p = cigar.set_index(["State", "Year"])
    m = lm.PanelOLS(p["Sales"], p[["Price", "NDI"]], entity_effects=True, time_effects=True).fit(
        cov_type="clustered", cluster_entity=True, debiased=True, group_debias=True)
    r = fit_ols(cigar, "Sales", "Price,NDI", absorb="State,Year", cluster="State")
    np.testing.assert_allclose(m.params.to_numpy(), r.coef, rtol=0, atol=1e-8)
    n, k = r.nobs, 2
    df_ctfp = r.df_absorbed  # 30 (29 year levels + the constant: State nested)
    df_lm = 46 + 30 - 1
    assert df_ctfp == 30 and m.df_resid == n - k - df_lm
    np.testing.assert_allclose(m.std_errors.to_numpy(), r.se * np.sqrt((n - k - df_ctfp) / (n - k - df_lm)),
                               rtol=1e-10)


def test_linearmodels_iv2sls_on_demeaned(cigar: pd.DataFrame) -> None:
    import linearmodels.iv as lmiv

    codes = [factorize(cigar["State"].to_numpy())[0], factorize(cigar["Year"].to_numpy())[0]]
    cols = ["Sales", "NDI", "Price", "Pimin"]
    w = pd.DataFrame(demean(cigar[cols].to_numpy(float), codes), columns=cols)
    m = lmiv.IV2SLS(w["Sales"], w[["NDI"]], w["Price"], w[["Pimin"]]).fit(
        cov_type="clustered", clusters=cigar["State"], debiased=False)
    r = fit_iv(cigar, "Sales", "Price", "Pimin", exog="NDI", absorb="State,Year", cluster="State")
    np.testing.assert_allclose(m.params[r.names].to_numpy(), r.coef, rtol=0, atol=1e-8)
    n, k, g, sdof = r.nobs, 2, 46, r.df_absorbed
    np.testing.assert_allclose(m.std_errors[r.names].to_numpy() * np.sqrt((n - 1) / (n - k - sdof) * g / (g - 1)),
                               r.se, rtol=1e-10)
    np.testing.assert_allclose(m.first_stage.diagnostics.loc["Price", "f.stat"], r.diagnostics["kp_rk_wald"],
                               rtol=1e-8)


def test_linearmodels_two_endogenous() -> None:
    import linearmodels.iv as lmiv

    from ctfp.models.panel.sim import simulate_analysis_panel

    df = simulate_analysis_panel(30, 8, seed=12)
    df["x2"] = df["newinf"] + 0.8 * df["gfin"]  # a second endogenous regressor, strongly instrumented by gfin
    codes = [factorize(df["city"].to_numpy())[0], factorize(df["year"].to_numpy())[0]]
    cols = ["ctfp", "pop", "ai", "x2", "iv_tel", "iv_res", "gfin"]
    w = pd.DataFrame(demean(df[cols].to_numpy(float), codes), columns=cols)
    m = lmiv.IV2SLS(w["ctfp"], w[["pop"]], w[["ai", "x2"]], w[["iv_tel", "iv_res", "gfin"]]).fit(
        cov_type="clustered", clusters=df["city"].to_numpy(), debiased=False)
    r = fit_iv(df, "ctfp", "ai,x2", "iv_tel,iv_res,gfin", exog="pop", absorb="city,year", cluster="city")
    np.testing.assert_allclose(m.params[r.names].to_numpy(), r.coef, rtol=1e-8)
    n, k, g, sdof = r.nobs, 3, 30, r.df_absorbed
    np.testing.assert_allclose(m.std_errors[r.names].to_numpy() * np.sqrt((n - 1) / (n - k - sdof) * g / (g - 1)),
                               r.se, rtol=1e-8)
    assert r.first_stage is None and any("one endogenous" in n for n in r.notes)
