"""DEA scores against published tables and independent computations (vendored: tests/fixtures/dea)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ctfp.models.dea import run_dea
from ctfp.models.dea.malmquist import run_malmquist

PUBLISHED = 5e-4  # published tables are rounded to 3 decimals
EXACT = 1e-6
SIX_DECIMALS = 5e-7 + 1e-9  # expected values printed with 6 decimals


def _read(fixtures_dir, name: str) -> pd.DataFrame:
    return pd.read_csv(fixtures_dir / "dea" / name)


def test_tone2001_sbm_and_ccr(fixtures_dir) -> None:
    d, e = _read(fixtures_dir, "tone2001_data.csv"), _read(fixtures_dir, "tone2001_expected.csv")
    r = run_dea(d, ["x1", "x2"], ["y1", "y2"], id_col="DMU")
    np.testing.assert_allclose(r["efficiency"], e["sbm_no_crs_exact"], atol=EXACT, rtol=0)
    np.testing.assert_allclose(r["efficiency"], e["sbm_no_crs_published"], atol=PUBLISHED, rtol=0)
    # slacks are unique in this example (Tone 2001, Table 2)
    for ours, theirs in [("x1", "s1_minus"), ("x2", "s2_minus"), ("y1", "s1_plus"), ("y2", "s2_plus")]:
        np.testing.assert_allclose(r[f"slack_{ours}"], e[theirs], atol=PUBLISHED, rtol=0)
    assert r["efficient"].tolist() == [False, False, True, False, True]
    ccr = run_dea(d, ["x1", "x2"], ["y1", "y2"], id_col="DMU", model="ccr", orientation="input")
    np.testing.assert_allclose(ccr["efficiency"], e["ccr_io_published"], atol=PUBLISHED, rtol=0)


@pytest.mark.parametrize(
    ("weights", "column", "tol"),
    [
        ((1.0, 0.3), "rho_vrs_w1to0.3_published", PUBLISHED),
        ((1.0, 1.0), "rho_vrs_w1to1_published", PUBLISHED),
        ((1.0, 3.0), "rho_vrs_w1to3_published", PUBLISHED),
        ((1.0, 1.0), "rho_vrs_w1to1_exact", EXACT),
    ],
)
def test_tone2004_undesirable_vrs_weights(fixtures_dir, weights, column, tol) -> None:
    d, e = _read(fixtures_dir, "tone2004_data.csv"), _read(fixtures_dir, "tone2004_expected.csv")
    r = run_dea(d, ["x"], ["y_good"], ["y_bad"], id_col="DMU", rts="vrs", weights=weights)
    np.testing.assert_allclose(r["efficiency"], e[column], atol=tol, rtol=0)
    a, b = weights
    assert r.attrs["weights"]["good"][0] == pytest.approx(2 * a / (a + b))
    assert r.attrs["weights"]["bad"][0] == pytest.approx(2 * b / (a + b))


def test_tone2004_published_projections(fixtures_dir) -> None:
    # projections are not unique in general; Tone's Table 2 lists them for the inefficient DMUs
    d, e = _read(fixtures_dir, "tone2004_data.csv"), _read(fixtures_dir, "tone2004_expected.csv")
    r = run_dea(d, ["x"], ["y_good"], ["y_bad"], id_col="DMU", rts="vrs")
    listed = e["proj_good_vrs_w1to1"].notna()
    assert listed.sum() >= 4
    np.testing.assert_allclose(r.loc[listed, "target_y_good"], e.loc[listed, "proj_good_vrs_w1to1"], atol=1e-6)
    np.testing.assert_allclose(r.loc[listed, "target_y_bad"], e.loc[listed, "proj_bad_vrs_w1to1"], atol=1e-6)


def test_tone2004_crs_and_two_stage_super(fixtures_dir) -> None:
    d, e = _read(fixtures_dir, "tone2004_data.csv"), _read(fixtures_dir, "tone2004_expected.csv")
    r = run_dea(d, ["x"], ["y_good"], ["y_bad"], id_col="DMU", rts="crs")
    np.testing.assert_allclose(r["efficiency"], e["rho_crs_w1to1_computed"], atol=EXACT, rtol=0)
    for rts in ("vrs", "crs"):
        s = run_dea(d, ["x"], ["y_good"], ["y_bad"], id_col="DMU", rts=rts, model="super-sbm")
        np.testing.assert_allclose(s["efficiency"], e[f"super_sbm_undes_{rts}_computed"], atol=EXACT, rtol=0)
        assert (s["status"] == "optimal").all()


@pytest.mark.parametrize(
    ("model", "orientation", "column"),
    [("ccr", "input", "ccr_io"), ("bcc", "input", "bcc_io"), ("bcc", "output", "bcc_oo_phi"),
     ("ccr", "output", "ccr_oo_phi")],
)
def test_fls_radial(fixtures_dir, model, orientation, column) -> None:
    d, e = _read(fixtures_dir, "fls_data.csv"), _read(fixtures_dir, "fls_expected.csv")
    r = run_dea(d, ["x1", "x2"], ["y"], id_col="DMU", model=model, orientation=orientation)
    expected = e[column] if orientation == "input" else 1.0 / e[column]
    np.testing.assert_allclose(r["efficiency"], expected, atol=EXACT, rtol=0)
    raw = r["theta"] if orientation == "input" else r["phi"]
    np.testing.assert_allclose(raw, e[column], atol=EXACT, rtol=0)


@pytest.fixture(scope="module")
def gtfpch(fixtures_dir) -> pd.DataFrame:
    d = _read(fixtures_dir, "gtfpch_example_data.csv")  # raw, unscaled: CO2 in kg
    e = _read(fixtures_dir, "gtfpch_sbm_undesirable_expected.csv")
    return d.merge(e, on=["Province", "year"], how="left", validate="one_to_one")


@pytest.mark.parametrize(
    ("frontier", "rts", "column"),
    [("global", "crs", "glob_crs"), ("global", "vrs", "glob_vrs"),
     ("contemporaneous", "crs", "cont_crs"), ("contemporaneous", "vrs", "cont_vrs")],
)
def test_gtfpch_sbm_undesirable(gtfpch, frontier, rts, column) -> None:
    r = run_dea(gtfpch, ["K", "L", "E"], ["Y"], ["CO2"], id_col="Province", period_col="year",
                rts=rts, frontier=frontier)
    assert len(r) == 90
    np.testing.assert_allclose(r["efficiency"], gtfpch[column], atol=SIX_DECIMALS, rtol=0)
    assert (r["residual"] < 1e-6).all()


@pytest.mark.parametrize("rts", ["crs", "vrs"])
def test_gtfpch_two_stage_super(gtfpch, rts) -> None:
    r = run_dea(gtfpch, ["K", "L", "E"], ["Y"], ["CO2"], id_col="Province", period_col="year",
                rts=rts, model="super-sbm")
    np.testing.assert_allclose(r["efficiency"], gtfpch[f"glob_{rts}_super"], atol=SIX_DECIMALS, rtol=0)
    np.testing.assert_allclose(r["rho"], gtfpch[f"glob_{rts}"], atol=SIX_DECIMALS, rtol=0)


def test_gtfpch_global_malmquist_luenberger(fixtures_dir) -> None:
    d = _read(fixtures_dir, "gtfpch_example_data.csv")
    e = _read(fixtures_dir, "gtfpch_gml_expected.csv")
    r = run_malmquist(d, ["K", "L"], ["Y"], ["CO2"], id_col="Province", period_col="year", form="ddf")
    m = r.merge(e, on=["Province", "from", "to"], how="inner", validate="one_to_one")
    assert len(m) == len(e) == 60
    four = 5e-5 + 1e-9  # Stata log: 4 decimals
    np.testing.assert_allclose(m["gml"], m["TFPCH"], atol=four, rtol=0)
    np.testing.assert_allclose(m["ec"], m["TECH"], atol=four, rtol=0)
    np.testing.assert_allclose(m["tc"], m["TECCH"], atol=four, rtol=0)
