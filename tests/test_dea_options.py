"""DEA options, zero rule, input errors, frontier definitions, Malmquist identities."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ctfp.core.errors import InputError
from ctfp.models.dea import run_dea
from ctfp.models.dea.frontier import groups
from ctfp.models.dea.malmquist import run_malmquist
from ctfp.models.dea.radial import negative_normalise


def test_output_sbm_single_output_equals_radial_output(fixtures_dir) -> None:
    # one output, no bad outputs: output-oriented SBM expansion = radial phi (FLS reference values)
    d = pd.read_csv(fixtures_dir / "dea" / "fls_data.csv")
    e = pd.read_csv(fixtures_dir / "dea" / "fls_expected.csv")
    for rts, col in (("crs", "ccr_oo_phi"), ("vrs", "bcc_oo_phi")):
        r = run_dea(d, ["x1", "x2"], ["y"], id_col="DMU", orientation="output", rts=rts)
        np.testing.assert_allclose(r["efficiency"], 1 / e[col], atol=1e-6, rtol=0)


def test_zero_rule() -> None:
    df = pd.DataFrame({"x": [1.0, 1, 2, 1], "yg": [1.0, 1, 1, 0], "yb": [0.0, 1, 1, 1], "id": list("ABCD")})
    r = run_dea(df, ["x"], ["yg"], ["yb"], id_col="id", rts="vrs")
    # D: zero good output; its slack ratio uses min positive / 100 = 0.01: rho = 1 / (1 + (100 + 1) / 2)
    assert r["efficiency"].iloc[3] == pytest.approx(1 / 51.5, abs=1e-9)
    assert r["zero_adjusted"].tolist() == ["yb", "", "", "yg"]
    assert r["efficiency"].iloc[0] == pytest.approx(1.0)
    # zero input: its slack term is dropped (m -> m-1), the constraint stays (only DMUs using no x2 can be
    # its peers). Row 3: peer row 0, slack 1 on x1 only: rho = 1 - 1/3 (m = 1), not 1 - (1/3)/2 (m = 2).
    z = pd.DataFrame({"x1": [2.0, 1, 4, 3], "x2": [0.0, 1, 2, 0], "y": [1.0, 1, 1, 1]})
    rz = run_dea(z, ["x1", "x2"], ["y"])
    assert rz["efficiency"].iloc[0] == pytest.approx(1.0)
    assert rz["efficiency"].iloc[3] == pytest.approx(2 / 3, abs=1e-9)
    assert rz["efficiency"].iloc[2] == pytest.approx(1 - (2 / 4 + 2 / 2) / 2, abs=1e-9)  # peer row 0
    assert rz["zero_adjusted"].tolist() == ["x2", "", "", "x2"]


def test_negative_normalisation_recorded() -> None:
    b = np.array([2.0, 4.0, 10.0])
    np.testing.assert_allclose(negative_normalise(b, 0.01), [1.01, 0.76, 0.01])
    df = pd.DataFrame({"x": [1.0, 2, 3], "y": [1.0, 3, 2], "co2": b})
    r = run_dea(df, ["x"], ["y"], ["co2"], model="bcc")
    nn = r.attrs["negative_normalisation"]
    assert nn["translation"] == 0.01 and nn["bounds"]["co2"] == {"min": 2.0, "max": 10.0}
    assert r.attrs["orientation"] == "input" and r.attrs["rts"] == "vrs"
    # targets of the bad output are back in its own units and never above the observed value
    assert (r["target_co2"] <= df["co2"] + 1e-9).all()


def test_window_groups_are_centred_and_truncated() -> None:
    per = np.repeat([2001, 2002, 2003, 2004], 2)
    g = groups(len(per), per, "window:3")
    assert [list(np.unique(per[x.reference])) for x in g] == [
        [2001, 2002], [2001, 2002, 2003], [2002, 2003, 2004], [2003, 2004]]
    seq = groups(len(per), per, "sequential")
    assert list(np.unique(per[seq[2].reference])) == [2001, 2002, 2003]


BASE = pd.DataFrame({"id": [1, 2, 3, 1, 2, 3], "t": [1, 1, 1, 2, 2, 2], "x": [1.0, 2, 3, 2, 1, 3],
                     "y": [1.0, 2, 1, 2, 2, 1], "b": [1.0, 1, 2, 1, 2, 2]})


@pytest.mark.parametrize(
    ("change", "kwargs", "needle"),
    [
        (None, {"model": "dea"}, "model 'dea' unknown"),
        (None, {"model": "ccr", "orientation": "none"}, "radial"),
        (None, {"model": "bcc", "rts": "crs"}, "rts=vrs"),
        (None, {"frontier": "window:2"}, "odd"),
        (None, {"frontier": "yearly"}, "unknown"),
        (None, {"frontier": "contemporaneous", "period_col": None}, "--period"),
        (None, {"weights": (1.0, 0.0)}, "weights"),
        (("x", 1, np.nan), {}, "column 'x', row 2 (id=2, t=1): missing value"),
        (("y", 0, -1.0), {}, "column 'y', row 1 (id=1, t=1): negative"),
        (("id", 4, 1), {}, "row 5 repeats (id=1, t=2)"),
    ],
)
def test_input_errors_one_line(change, kwargs, needle) -> None:
    df = BASE.copy()
    if change is not None:
        col, row, val = change
        df.loc[row, col] = val
    kw = {"id_col": "id", "period_col": "t", **kwargs}
    with pytest.raises(InputError) as err:
        run_dea(df, ["x"], ["y"], ["b"], **kw)
    msg = str(err.value)
    assert needle in msg and "\n" not in msg


def test_one_dmu_is_an_error() -> None:
    with pytest.raises(InputError, match="at least 2 DMUs"):
        run_dea(BASE.iloc[:1], ["x"], ["y"], ["b"])


def test_period_with_one_dmu_is_an_error() -> None:
    df = pd.concat([BASE, pd.DataFrame({"id": [1], "t": [3], "x": [1.0], "y": [1.0], "b": [1.0]})])
    with pytest.raises(InputError, match="t=3 has only 1 DMU"):
        run_dea(df, ["x"], ["y"], ["b"], id_col="id", period_col="t", frontier="contemporaneous")


def test_oriented_super_infeasible_is_nan_with_status() -> None:
    # DMU 0 uses the least input: input-oriented super-SBM under VRS has no feasible reference point... only
    # output orientation; input orientation fails for the DMU with the largest output
    df = pd.DataFrame({"x": [1.0, 2, 4], "y": [1.0, 3, 4]})
    r = run_dea(df, ["x"], ["y"], model="super-sbm", orientation="input", rts="vrs")
    assert r["status"].iloc[2] == "super_infeasible" and np.isnan(r["efficiency"].iloc[2])
    o = run_dea(df, ["x"], ["y"], model="super-sbm", orientation="output", rts="vrs")
    assert o["status"].iloc[0] == "super_infeasible" and np.isnan(o["efficiency"].iloc[0])
    # the middle DMU is interior to neither problem's infeasibility: both super scores exist and are >= 1
    assert r["efficiency"].iloc[1] >= 1 and o["efficiency"].iloc[1] >= 1


def test_sbm_malmquist_identities(fixtures_dir) -> None:
    d = pd.read_csv(fixtures_dir / "dea" / "gtfpch_example_data.csv")
    r = run_malmquist(d, ["K", "L", "E"], ["Y"], ["CO2"], id_col="Province", period_col="year", form="sbm")
    np.testing.assert_allclose(r["tc"], r["gml"] / r["ec"])
    g = run_dea(d, ["K", "L", "E"], ["Y"], ["CO2"], id_col="Province", period_col="year")
    rho = g.set_index(["Province", "year"])["efficiency"]
    chain = r.groupby("Province")["gml"].prod()
    direct = rho.xs(2015, level="year") / rho.xs(2013, level="year")
    np.testing.assert_allclose(chain.sort_index(), direct.sort_index(), rtol=1e-9)  # circular


def test_malmquist_needs_balanced_panel() -> None:
    with pytest.raises(InputError, match="balanced"):
        run_malmquist(BASE.iloc[:5], ["x"], ["y"], ["b"], id_col="id", period_col="t")


def test_progress_bar_goes_to_stderr_only_when_asked(capsys) -> None:
    run_dea(BASE, ["x"], ["y"], ["b"], progress=True)
    cap = capsys.readouterr()
    assert cap.out == ""
    run_dea(BASE, ["x"], ["y"], ["b"], progress=None)  # stderr is not a terminal under pytest: no bar
    assert capsys.readouterr().err == ""


def test_efficient_scores_are_exactly_one(fixtures_dir) -> None:
    # gtfpch (CO2 in kg): scaled LPs return 1 +- 1e-14 for frontier DMUs; the engine reports exactly 1,
    # so downstream "mass at 1" (y == 1) counts every efficient DMU, and nothing inefficient is moved.
    d = pd.read_csv(fixtures_dir / "dea" / "gtfpch_example_data.csv")
    r = run_dea(d, ["K", "L", "E"], ["Y"], ["CO2"], id_col=d.columns[0], period_col=d.columns[1])
    eff = r["efficiency"].to_numpy()
    on_frontier = r["efficient"].to_numpy()
    assert on_frontier.sum() >= 1
    assert np.all(eff[on_frontier] == 1.0)
    assert np.all(eff[~on_frontier] < 1 - 1e-6)
    assert r.attrs["roundoff_snapped_to_1"] == int(on_frontier.sum())
