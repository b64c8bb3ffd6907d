"""Bad designs give one clear line and a non-zero exit; collinear controls are dropped with a note, as Stata does."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ctfp.core.errors import InputError
from ctfp.inference.cli import main
from ctfp.models.panel.estimators import fit_iv, fit_ols
from ctfp.models.panel.sim import simulate_analysis_panel


@pytest.fixture(scope="module")
def df() -> pd.DataFrame:
    return simulate_analysis_panel(20, 6, seed=11)


def test_collinear_control_dropped_with_note(df: pd.DataFrame) -> None:
    d = df.assign(pop2=2.0 * df["pop"] - df["hum"], const_city=df["city"] * 0.5)
    r = fit_ols(d, "ctfp", ["ai", "pop", "hum", "pop2", "const_city"], absorb="city,year", cluster="city")
    ref = fit_ols(d, "ctfp", ["ai", "pop", "hum"], absorb="city,year", cluster="city")
    assert r.names == ["ai", "pop", "hum"]
    assert any("pop2 omitted" in n and "collinear" in n for n in r.notes)
    assert any("const_city omitted" in n and "fixed effects" in n for n in r.notes)
    np.testing.assert_allclose(r.coef, ref.coef, rtol=1e-10)
    np.testing.assert_allclose(r.se, ref.se, rtol=1e-10)


def test_treatment_absorbed_is_an_error(df: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="'g_ua' is absorbed by the fixed effects"):
        fit_ols(df, "ctfp", ["g_ua", "pop"], absorb="city,year", cluster="city")


def test_instrument_without_variation(df: pd.DataFrame) -> None:
    d = df.assign(z_city=df["city"] * 1.0)
    with pytest.raises(InputError, match="instrument 'z_city' has no variation"):
        fit_iv(d, "ctfp", "ai", "z_city", absorb="city,year", cluster="city")


@pytest.mark.parametrize("cluster", ["one", "city,one"])
def test_cluster_with_one_level(df: pd.DataFrame, cluster: str) -> None:
    with pytest.raises(InputError, match="'one' has 1 level.*at least two clusters"):
        fit_ols(df.assign(one=1), "ctfp", ["ai"], absorb="city,year", cluster=cluster)


def test_no_residual_df_and_missing_column(df: pd.DataFrame) -> None:
    small = df[df["city"].isin(df["city"].unique()[:2]) & df["year"].isin([2006, 2007])]
    with pytest.raises(InputError, match="no residual degrees of freedom"):
        fit_ols(small, "ctfp", ["ai", "pop", "hum"], absorb="city,year")
    with pytest.raises(InputError, match="column\\(s\\) nope not found"):
        fit_ols(df, "ctfp", ["nope"])


def test_missing_values_and_singletons_are_counted(df: pd.DataFrame) -> None:
    d = df.copy()
    d.loc[d.index[:3], "pop"] = np.nan
    extra = d.iloc[[10]].assign(city=999)  # a city seen once: reghdfe drops the singleton
    r = fit_ols(pd.concat([d, extra]), "ctfp", ["ai", "pop"], absorb="city,year", cluster="city")
    assert r.nobs == len(df) - 3
    assert any("3 row(s) with a missing value" in n for n in r.notes)
    assert any("1 singleton" in n for n in r.notes)


def test_cli_one_line_error_and_exit_code(df: pd.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "p.csv"
    df.assign(one=1).to_csv(path, index=False)
    rc = main(["fe", str(path), "--y", "ctfp", "--x", "ai", "--absorb", "city,year", "--cluster", "one"])
    err = capsys.readouterr().err.strip()
    assert rc == 1 and err.count("\n") == 0 and err.startswith("ctfp: error:") and str(path) in err
    rc = main(["iv", str(path), "--y", "ctfp", "--endog", "ai", "--instruments", "one", "--absorb", "city"])
    assert rc == 1 and "instrument 'one' has no variation" in capsys.readouterr().err


def test_cli_json(df: pd.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "p.parquet"
    df.to_parquet(path, index=False)
    assert main(["iv", str(path), "--y", "ctfp", "--endog", "ai", "--instruments", "iv_tel,iv_res", "--exog",
                 "pop,hum", "--absorb", "city,year", "--cluster", "city", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("nobs", "n_clusters", "coef", "se", "t", "p", "first_stage", "kp_rk_lm", "kp_rk_lm_p",
                "kp_rk_wald_f", "hansen_j"):
        assert key in out
    assert set(out["first_stage"]["t"]) == {"iv_tel", "iv_res"} and out["n_clusters"] == 20
    r = fit_iv(df, "ctfp", "ai", "iv_tel,iv_res", exog="pop,hum", absorb="city,year", cluster="city")
    assert out["coef"]["ai"] == pytest.approx(float(r.coef[0]), rel=1e-12)
    assert main(["fe", str(path), "--y", "ctfp", "--x", "ai,pop", "--absorb", "city,year", "--cluster",
                 "city"]) == 0
    assert "Number of obs = 120" in capsys.readouterr().out


@pytest.mark.parametrize("ext", [".dta", ".xlsx"])
def test_cli_reads_stata_and_excel(df: pd.DataFrame, tmp_path: Path, ext: str,
                                   capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / f"p{ext}"
    sub = df[["city", "year", "ctfp", "ai", "pop"]]
    sub.to_stata(path, write_index=False) if ext == ".dta" else sub.to_excel(path, index=False)
    assert main(["fe", str(path), "--y", "ctfp", "--x", "ai,pop", "--absorb", "city,year", "--cluster", "city",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    ref = fit_ols(df, "ctfp", ["ai", "pop"], absorb="city,year", cluster="city")
    assert out["se"]["ai"] == pytest.approx(float(ref.se[0]), rel=1e-10)
