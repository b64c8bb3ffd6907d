"""Nothing silently wrong in DEA: values an LP cannot resolve, scores outside (0, 1], text period labels.

Reproductions of issue 11 items 1 and 4 on the synthetic paper-world panel (`ctfp data synth --seed 3`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ctfp.core.errors import InputError
from ctfp.inference.cli import main
from ctfp.models.dea import run_dea
from ctfp.models.dea.malmquist import run_malmquist
from ctfp.models.worlds.paper import synthesize_panel

X = dict(inputs=["emp", "energy"], good=["gdp", "green"], bad=["co2"])
CLI = ["--inputs", "emp,energy", "--good", "gdp,green", "--bad", "co2", "--id", "city", "--period", "year"]


@pytest.fixture(scope="module")
def synth() -> pd.DataFrame:
    return synthesize_panel(3)[0][["city", "year", "emp", "energy", "gdp", "green", "co2"]].copy()


def _run(df: pd.DataFrame, **kw) -> pd.DataFrame:
    return run_dea(df, X["inputs"], X["good"], X["bad"], id_col="city", period_col="year", **kw)


@pytest.mark.parametrize("value", [1e-9, 1e-6, 1e-3])
@pytest.mark.parametrize("model", ["sbm", "super-sbm"])
def test_tiny_bad_output_is_ill_scaled_not_zero(synth, value, model) -> None:
    df = synth.copy()
    df.loc[5, "co2"] = value
    r = _run(df, model=model)
    assert r["status"].iloc[5] == "ill_scaled" and np.isnan(r["efficiency"].iloc[5])
    assert not r["efficient"].iloc[5]
    assert np.isnan(r["slack_co2"].iloc[5]) and np.isnan(r["target_co2"].iloc[5])
    assert r.attrs["ill_scaled"][0].startswith(f"row 6 (city={df['city'].iloc[5]})")
    # every other DMU is scored, finite, and an SBM score lies in (0, 1]
    rest = r.drop(index=5)
    assert (rest["status"] == "optimal").all()
    rho = rest["rho"] if model == "super-sbm" else rest["efficiency"]
    assert ((rho > 0) & (rho <= 1)).all()
    assert np.isfinite(rest[[c for c in r.columns if c.startswith(("slack_", "target_"))]].to_numpy()).all()


def test_zero_bad_output_is_scored_by_the_zero_rule(synth) -> None:
    df = synth.copy()
    df.loc[5, "co2"] = 0.0
    r = _run(df)
    assert r["status"].iloc[5] == "optimal" and r["efficiency"].iloc[5] == 1.0
    assert r["zero_adjusted"].iloc[5] == "co2"


def test_radial_negative_normalisation_is_not_ill_scaled_by_a_tiny_bad_output(synth) -> None:
    # b' = (max - b)/(max - min) + c maps a tiny CO2 near 1 + c: that LP is well scaled
    df = synth.copy()
    df.loc[5, "co2"] = 1e-9
    r = _run(df, model="bcc", orientation="input")
    assert (r["status"] == "optimal").all()
    df.loc[5, "emp"] = 1e-9  # a tiny input is not
    r = _run(df, model="bcc", orientation="input")
    assert r["status"].iloc[5] == "ill_scaled" and np.isnan(r["efficiency"].iloc[5])


def test_cli_warns_once_naming_the_dmu_and_writes_nan(synth, tmp_path: Path, capsys) -> None:
    df = synth.copy()
    df.loc[5, "co2"] = 1e-9
    p = tmp_path / "p.csv"
    df.to_csv(p, index=False)
    out = tmp_path / "s.csv"
    assert main(["dea", str(p), *CLI, "--out", str(out)]) == 0
    err = capsys.readouterr().err
    warn = [ln for ln in err.splitlines() if "warning" in ln]
    assert len(warn) == 1 and "ill_scaled" in warn[0] and "row 7" in warn[0] and "co2 = 1e-09" in warn[0]
    t = pd.read_csv(out)
    assert t["status"].iloc[5] == "ill_scaled" and np.isnan(t["efficiency"].iloc[5])


def test_a_dmu_using_no_input_is_refused(synth) -> None:
    df = synth.copy()
    df.loc[3, ["emp", "energy"]] = 0.0
    with pytest.raises(InputError, match=r"row 4 .*every input is zero"):
        _run(df)


@pytest.mark.parametrize("frontier", ["sequential", "window:3"])
def test_text_periods_are_refused_where_order_matters(synth, frontier) -> None:
    df = synth.copy()
    df["year"] = "t" + (df["year"] - df["year"].min() + 1).astype(str)  # t1..t16: alphabetical puts t10 before t2
    with pytest.raises(InputError, match=r"column 'year' holds text periods .*recode the periods to integers"):
        _run(df, frontier=frontier)
    with pytest.raises(InputError, match="text periods"):
        run_malmquist(df, X["inputs"], X["good"], X["bad"], id_col="city", period_col="year")


def test_text_periods_are_fine_where_order_does_not_matter(synth) -> None:
    text = synth.copy()
    text["year"] = "t" + (text["year"] - text["year"].min() + 1).astype(str)
    for frontier in ("global", "contemporaneous"):
        a, b = _run(text, frontier=frontier), _run(synth, frontier=frontier)
        np.testing.assert_allclose(a["efficiency"], b["efficiency"], atol=1e-12, rtol=0)


def test_ordered_categorical_and_numeric_text_periods_follow_their_order(synth) -> None:
    base = _run(synth, frontier="sequential")["efficiency"].to_numpy()
    cat = synth.copy()
    labels = [f"t{i}" for i in range(1, 17)]
    cat["year"] = pd.Categorical("t" + (cat["year"] - cat["year"].min() + 1).astype(str), categories=labels,
                                 ordered=True)
    np.testing.assert_allclose(_run(cat, frontier="sequential")["efficiency"], base, atol=1e-12, rtol=0)
    txt = synth.copy()
    txt["year"] = txt["year"].astype(str)  # "2006".."2021" are numbers written as text
    np.testing.assert_allclose(_run(txt, frontier="sequential")["efficiency"], base, atol=1e-12, rtol=0)
    # and the order really matters here: an alphabetical order of t1..t16 would change scores
    alpha = synth.copy()
    rank = {y: i for i, y in enumerate(sorted(labels))}
    alpha["year"] = ("t" + (alpha["year"] - alpha["year"].min() + 1).astype(str)).map(rank)
    assert np.max(np.abs(_run(alpha, frontier="sequential")["efficiency"].to_numpy() - base)) > 0.01


def test_an_lp_highs_leaves_undecided_at_1e9_is_solved_at_its_defaults_and_counted() -> None:
    # SBM VRS global on the paper's synthetic panel: at 1e-9 tolerances HiGHS ends 'unknown' on row 44
    # (city 140300, 2006) whatever the method; at its default 1e-7 it solves it, and the solution passes the
    # unscaled re-check. The compiled simplex flags the same LP doubtful and hands it to HiGHS.
    from ctfp.core.study_load import load_study
    from ctfp.inference.prepare import prepare_panel
    from ctfp.studies import study_path

    study = load_study(study_path())
    frame = prepare_panel(study).frame
    m = study.measure("ctfp")
    kw = dict(id_col="city", period_col="year", rts="vrs", frontier="global")
    a = run_dea(frame, list(m.inputs), list(m.good), list(m.bad), **kw)
    b = run_dea(frame, list(m.inputs), list(m.good), list(m.bad), engine="plain", **kw)
    assert (a["status"] == "optimal").all() and (b["status"] == "optimal").all()
    assert a.attrs["relaxed_tolerance_solves"] >= 1 and a.attrs["highs_fallback"] >= 1
    assert a["residual"].max() < 1e-6
    np.testing.assert_allclose(a["efficiency"], b["efficiency"], atol=1e-7, rtol=0)


def test_infinite_cell_is_called_infinite_not_missing() -> None:
    frame = pd.DataFrame({"id": [1, 2, 3], "x": [1.0, 2.0, 3.0], "y": [1.0, float("inf"), 2.0]})
    with pytest.raises(InputError, match=r"column 'y', .*infinite value inf; DEA needs every cell finite"):
        run_dea(frame, ["x"], ["y"], id_col="id")
    frame.loc[1, "y"] = float("nan")
    with pytest.raises(InputError, match=r"column 'y', .*missing value"):
        run_dea(frame, ["x"], ["y"], id_col="id")
