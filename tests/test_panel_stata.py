"""The FWL core reproduces Stata (reghdfe, ivreghdfe, ivreg2) to rtol 1e-6 on the vendored fixtures.

Reference numbers: tests/fixtures/econometrics/expected.yaml (Cigar from FixedEffectModels.jl's Stata-matched
tests, sim_cluster from ivreg2r's Stata output). Each case's command string maps to one call here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from ctfp.models.panel.estimators import PanelResult, fit_iv, fit_ols

RTOL = 1e-6


def _printed(want: float) -> float:
    """Half a unit in the last printed digit: a value printed as 0.0220563 cannot pin more than that."""
    text = repr(float(want)).lower()
    if "e" in text:
        mant, exp = text.split("e")
        decimals = len(mant.split(".")[1]) if "." in mant else 0
        return 0.5 * 10.0 ** (int(exp) - decimals)
    decimals = len(text.split(".")[1]) if "." in text else 0
    return 0.5 * 10.0 ** -decimals


def close(actual: float, want: float, what: str = "") -> None:
    """rtol 1e-6, or the printed precision of the reference if that is coarser."""
    np.testing.assert_allclose(actual, want, rtol=RTOL, atol=_printed(want), err_msg=what)


@pytest.fixture(scope="module")
def econ(fixtures_dir: Path) -> dict:
    d = fixtures_dir / "econometrics"
    return {
        "expected": yaml.safe_load((d / "expected.yaml").read_text()),
        "cigar": pd.read_csv(d / "Cigar.csv"),
        "sim": pd.read_csv(d / "sim_cluster_data.csv"),
    }


def _cigar_fit(cmd: str, c: pd.DataFrame) -> PanelResult:
    calls = {
        "reghdfe Sales Price, absorb(State) vce(cluster State)":
            lambda: fit_ols(c, "Sales", "Price", absorb="State", cluster="State"),
        "reghdfe Sales Price, absorb(State) vce(cluster Year)":
            lambda: fit_ols(c, "Sales", "Price", absorb="State", cluster="Year"),
        "reghdfe Sales Price, absorb(State) vce(cluster State Year)":
            lambda: fit_ols(c, "Sales", "Price", absorb="State", cluster="State,Year"),
        "ivreghdfe Sales NDI (Price = Pimin), absorb(State) cluster(State)":
            lambda: fit_iv(c, "Sales", "Price", "Pimin", exog="NDI", absorb="State", cluster="State"),
        "ivreg2 Sales CPI (Price = Pimin), robust":
            lambda: fit_iv(c, "Sales", "Price", "Pimin", exog="CPI", robust=True, small=False),
        "ivreg2 Sales CPI (Price = Pimin), cluster(State)":
            lambda: fit_iv(c, "Sales", "Price", "Pimin", exog="CPI", cluster="State", small=False),
        "ivreg2 Sales CPI (Price = Pimin), cluster(State Year)":
            lambda: fit_iv(c, "Sales", "Price", "Pimin", exog="CPI", cluster="State,Year", small=False),
        "reghdfe Sales Price NDI, absorb(State Year) vce(cluster State)":
            lambda: fit_ols(c, "Sales", "Price,NDI", absorb="State,Year", cluster="State"),
        "ivreghdfe Sales NDI (Price = Pimin), absorb(State Year) cluster(State)":
            lambda: fit_iv(c, "Sales", "Price", "Pimin", exog="NDI", absorb="State,Year", cluster="State"),
    }
    return calls[cmd]()


def _check(res: PanelResult, case: dict) -> int:
    n = 0
    for key, attr in (("coef", res.coef), ("se", res.se)):
        for name, want in case.get(key, {}).items():
            close(attr[res.index(name)], want, f"{key} {name}")
            n += 1
    if "kp_rk_wald_f" in case:
        close(res.diagnostics["kp_rk_wald_f"], case["kp_rk_wald_f"], "kp_rk_wald_f")
        n += 1
    return n


def test_cigar_cases(econ: dict) -> None:
    cases = econ["expected"]["cigar"]["cases"] + econ["expected"]["cigar"]["derived"]
    checked = 0
    for case in cases:
        cmd = case.get("stata") or case["equivalent"]
        checked += _check(_cigar_fit(cmd, econ["cigar"]), case)
    assert checked == 3 + 4 + 3 + 8  # every number in the file was compared


def test_cigar_tdf_is_clusters_minus_one(econ: dict) -> None:
    r = fit_ols(econ["cigar"], "Sales", "Price", absorb="State", cluster="State,Year")
    assert r.n_clusters == 30 and r.df_t == 29  # two-way: G = min(46, 30)


def test_sim_cluster_ivreg2(econ: dict) -> None:
    exp = econ["expected"]["sim_cluster"]
    nosmall = fit_iv(econ["sim"], "y", "endo1", "z1,z2", exog="x1", cluster="cluster_id", small=False)
    small = fit_iv(econ["sim"], "y", "endo1", "z1,z2", exog="x1", cluster="cluster_id", small=True)
    assert nosmall.nobs == exp["N"] and nosmall.n_clusters == exp["G"]
    for name in exp["coef"]:
        np.testing.assert_allclose(nosmall.coef[nosmall.index(name)], exp["coef"][name], rtol=RTOL)
        np.testing.assert_allclose(nosmall.se[nosmall.index(name)], exp["se_nosmall"][name], rtol=RTOL)
        np.testing.assert_allclose(small.se[small.index(name)], exp["se_small"][name], rtol=RTOL)
    d = nosmall.diagnostics
    np.testing.assert_allclose(d["kp_rk_lm"], exp["kp_rk_lm"]["stat"], rtol=RTOL)
    np.testing.assert_allclose(d["kp_rk_lm_p"], exp["kp_rk_lm"]["p"], rtol=RTOL)
    assert d["kp_rk_lm_df"] == exp["kp_rk_lm"]["df"]
    np.testing.assert_allclose(d["kp_rk_wald_f"], exp["kp_rk_wald_f"], rtol=RTOL)
    np.testing.assert_allclose(d["cragg_donald_f"], exp["cragg_donald_f"], rtol=RTOL)
    np.testing.assert_allclose(d["hansen_j"], exp["hansen_j"]["stat"], rtol=RTOL)
    np.testing.assert_allclose(d["hansen_j_p"], exp["hansen_j"]["p"], rtol=RTOL)
    # the small option changes SEs, not the identification statistics (ivreg2 prints the same KP numbers)
    np.testing.assert_allclose(small.diagnostics["kp_rk_lm"], d["kp_rk_lm"], rtol=1e-12)
    np.testing.assert_allclose(small.diagnostics["kp_rk_wald_f"], d["kp_rk_wald_f"], rtol=1e-12)
