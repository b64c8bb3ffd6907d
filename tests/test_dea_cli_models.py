"""Every DEA model of the engine from the command line: gml against Stata gtfpch, radial super-efficiency."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog

from ctfp.inference.cli import main

FOUR_DECIMALS = 5e-5 + 1e-9  # the Stata log prints 4 decimals


def _cli(args: list[str], capsys) -> tuple[int, list[str]]:
    rc = main(args)
    return rc, capsys.readouterr().err.strip().splitlines()


def test_gml_from_the_command_line_matches_gtfpch(fixtures_dir, tmp_path: Path, capsys) -> None:
    data = fixtures_dir / "dea" / "gtfpch_example_data.csv"
    out = tmp_path / "gml.csv"
    rc, err = _cli(["dea", str(data), "--model", "gml", "--inputs", "K,L", "--good", "Y", "--bad", "CO2",
                    "--id", "Province", "--period", "year", "--out", str(out)], capsys)
    assert rc == 0 and "Malmquist-Luenberger (ddf, crs), 30 DMUs x 2 period pairs" in err[-1]
    e = pd.read_csv(fixtures_dir / "dea" / "gtfpch_gml_expected.csv")
    m = pd.read_csv(out).merge(e, on=["Province", "from", "to"], how="inner", validate="one_to_one")
    assert len(m) == len(e) == 60
    np.testing.assert_allclose(m["gml"], m["TFPCH"], atol=FOUR_DECIMALS, rtol=0)
    np.testing.assert_allclose(m["ec"], m["TECH"], atol=FOUR_DECIMALS, rtol=0)
    np.testing.assert_allclose(m["tc"], m["TECCH"], atol=FOUR_DECIMALS, rtol=0)


def test_gml_sbm_form_and_refused_options(fixtures_dir, tmp_path: Path, capsys) -> None:
    data = fixtures_dir / "dea" / "gtfpch_example_data.csv"
    base = ["dea", str(data), "--model", "gml", "--inputs", "K,L,E", "--good", "Y", "--bad", "CO2", "--id",
            "Province", "--period", "year", "--out", str(tmp_path / "g.csv")]
    rc, _ = _cli([*base, "--gml-form", "sbm"], capsys)
    assert rc == 0
    g = pd.read_csv(tmp_path / "g.csv")
    # SBM form: GML = rho^G(t+1)/rho^G(t) from the global SBM scores (gtfpch's own SBM fixture)
    e = pd.read_csv(fixtures_dir / "dea" / "gtfpch_sbm_undesirable_expected.csv")
    rho = e.pivot(index="Province", columns="year", values="glob_crs")
    want = (rho[2014] / rho[2013]).rename("want").reset_index()
    m = g[g["from"] == 2013].merge(want, on="Province", validate="one_to_one")
    np.testing.assert_allclose(m["gml"], m["want"], atol=1e-5, rtol=0)
    np.testing.assert_allclose(g["ec"] * g["tc"], g["gml"], rtol=1e-12)
    for extra, needle in [(["--frontier", "sequential"], "--frontier does not apply to --model gml"),
                          (["--scheduler", "local:2"], "--scheduler does not apply"),
                          (["--weights", "1:0.5"], "--weights applies to --gml-form sbm only")]:
        rc, err = _cli([*base, *extra], capsys)
        assert rc == 1 and len(err) == 1 and needle in err[0], err
    rc, err = _cli([a for a in base if a not in ("--period", "year")], capsys)
    assert rc == 1 and "give --id COL and --period COL" in err[0]


def _ap_linprog(x: np.ndarray, y: np.ndarray, vrs: bool) -> np.ndarray:
    """Textbook Andersen-Petersen input-oriented super-efficiency: DMU o out of its own reference set."""
    n = x.shape[1]
    out = np.full(n, np.nan)
    for o in range(n):
        others = [j for j in range(n) if j != o]
        c = np.r_[1.0, np.zeros(len(others))]
        a_ub = np.vstack([np.c_[-x[:, [o]], x[:, others]], np.c_[np.zeros((y.shape[0], 1)), -y[:, others]]])
        b_ub = np.r_[np.zeros(x.shape[0]), -y[:, o]]
        a_eq = np.r_[0.0, np.ones(len(others))][None, :] if vrs else None
        res = linprog(c, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=[1.0] if vrs else None, bounds=(0, None),
                      method="highs")
        if res.status == 0:
            out[o] = res.fun
    return out


@pytest.mark.parametrize(("model", "column"), [("super-ccr", "ccr_io"), ("super-bcc", "bcc_io")])
def test_radial_super_efficiency_from_the_command_line(fixtures_dir, tmp_path: Path, capsys, model, column) -> None:
    data = fixtures_dir / "dea" / "fls_data.csv"
    out = tmp_path / "s.csv"
    rc, _ = _cli(["dea", str(data), "--inputs", "x1,x2", "--good", "y", "--id", "DMU", "--model", model,
                  "--out", str(out)], capsys)
    assert rc == 0
    r = pd.read_csv(out)
    e = pd.read_csv(fixtures_dir / "dea" / "fls_expected.csv")
    ineff = e[column] < 1 - 1e-6
    # an inefficient DMU is not in its own reference set: its super score is its standard score (FLS values)
    np.testing.assert_allclose(r.loc[ineff, "efficiency"], e.loc[ineff, column], atol=1e-6, rtol=0)
    np.testing.assert_allclose(r["theta"], e[column], atol=1e-6, rtol=0)
    d = pd.read_csv(data)
    ap = _ap_linprog(d[["x1", "x2"]].to_numpy().T, d[["y"]].to_numpy().T, vrs=model == "super-bcc")
    eff = ~ineff
    feasible = eff & np.isfinite(ap)
    np.testing.assert_allclose(r.loc[feasible, "efficiency"], ap[feasible], atol=1e-6, rtol=0)
    assert (r.loc[feasible, "efficiency"] >= 1 - 1e-9).all()
    np.testing.assert_allclose(r.loc[eff, "super_efficiency"], r.loc[eff, "efficiency"], equal_nan=True)
    if model == "super-bcc":
        # DMU 9 has the largest output: no convex combination of the others reaches it -> infeasible, NaN,
        # reported, never replaced by its standard score of 1
        assert not np.isfinite(ap[8])
        assert r.loc[8, "status"] == "super_infeasible" and np.isnan(r.loc[8, "efficiency"])
        assert (r.loc[feasible | ineff, "status"] == "optimal").all()
    else:
        assert (r["status"] == "optimal").all()


def test_super_ccr_output_orientation_is_the_reciprocal_under_crs(fixtures_dir, tmp_path: Path, capsys) -> None:
    data = fixtures_dir / "dea" / "fls_data.csv"
    got = {}
    for orient in ("input", "output"):
        out = tmp_path / f"{orient}.csv"
        rc, _ = _cli(["dea", str(data), "--inputs", "x1,x2", "--good", "y", "--id", "DMU", "--model", "super-ccr",
                      "--orientation", orient, "--out", str(out)], capsys)
        assert rc == 0
        got[orient] = pd.read_csv(out)["efficiency"].to_numpy()
    np.testing.assert_allclose(got["input"], got["output"], atol=1e-8, rtol=0)  # CRS: theta = 1/phi
