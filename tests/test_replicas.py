"""The replica specifications match the published tables' description, and run_replicas writes every cell."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ctfp.data.published import published_cells, published_specs
from ctfp.inference import replicate
from ctfp.inference.cli import main
from ctfp.models.panel.estimators import fit_ols
from ctfp.models.panel.replicas import GROUP_DIFFS, REPLICAS, add_lag, replica
from ctfp.models.panel.sim import simulate_analysis_panel


def _split(s: str) -> tuple[str, ...]:
    return tuple(x for x in s.split(";") if x)


def test_every_published_spec_has_a_matching_replica() -> None:
    specs = published_specs()
    for rec in specs.to_dict("records"):
        if rec["estimator"] == "group_diff":
            assert any(g.split == rec["split"] and g.published_column == rec["column"] for g in GROUP_DIFFS)
            continue
        r = replica(rec["spec"])
        assert (r.table, r.column, r.outcome, r.estimator) == (rec["table"], rec["column"], rec["outcome"],
                                                              rec["estimator"])
        treat = r.treatment if r.estimator != "fe2sls_first" else r.instruments[0]
        assert treat == rec["treatment"]
        assert r.controls == _split(rec["controls"]) and r.absorb == _split(rec["absorb"])
        assert r.cluster == _split(rec["cluster"]) and r.instruments == _split(rec["instruments"])
        assert r.split == rec["split"] and (str(r.level) if r.level is not None else "") == rec["level"]
    assert len(REPLICAS) == (specs["estimator"] != "group_diff").sum()


def test_lag_needs_consecutive_years() -> None:
    df = simulate_analysis_panel(5, 4, seed=0)
    df = df[~((df["city"] == 100) & (df["year"] == 2007))]  # a gap: 2008's lag must be missing
    lagged = add_lag(df, "ai")
    row = lagged[(lagged["city"] == 100) & (lagged["year"] == 2008)]
    assert row["L.ai"].isna().all()
    ok = lagged[(lagged["city"] == 101) & (lagged["year"] == 2009)]["L.ai"].item()
    assert ok == df[(df["city"] == 101) & (df["year"] == 2008)]["ai"].item()


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path, pd.DataFrame]:
    panel = simulate_analysis_panel(seed=21, beta_diff=0.03)
    out = tmp_path_factory.mktemp("rep") / "replicas"
    return replicate.run_replicas(panel, out, permutations=40, seed=5, progress=False), out, panel


def test_run_replicas_writes_every_published_cell(run: tuple[dict, Path, pd.DataFrame]) -> None:
    res, out, _ = run
    cells = json.loads((out / "cells.json").read_text())
    keys = {(c["table"], c["column"], c["row"]) for c in cells}
    pub = published_cells()
    assert set(zip(pub["table"], pub["column"], pub["row"], strict=True)) <= keys
    for t in "23456":
        tab = pd.read_csv(out / f"table{t}.csv")
        assert {"published", "replica", "agreement"} <= set(tab.columns)
        assert (out / f"table{t}.md").read_text().count("| published") == 0  # header is per column
    assert all(c["replica_coef"] is not None for c in cells)
    lag = next(c for c in cells if c["spec"] == "T3c4" and c["row"] == "N")
    assert lag["replica_coef"] == 1170 and lag["published_coef"] == 1170
    diffs = json.loads((out / "group_diffs.json").read_text())
    assert [d["split"] for d in diffs] == [g.split for g in GROUP_DIFFS]
    ua = diffs[0]
    assert ua["published_p"] == pytest.approx(0.001) and diffs[1]["published_p"] is None
    assert ua["diff"] == pytest.approx(ua["coef_1"] - ua["coef_0"], rel=1e-12)
    assert 0 <= ua["perm_p_one_sided"] <= 1 and ua["perm_p_one_sided_plus1"] >= 1 / 41


def test_cells_agree_with_direct_fits(run: tuple[dict, Path, pd.DataFrame]) -> None:
    res, _, panel = run
    cell = next(c for c in res["cells"] if c["spec"] == "T3c5" and c["row"] == "AI")
    r = fit_ols(panel, "ctfp", ["ai", "pop", "hum", "lninf", "isu", "trade", "er", "tec"], absorb="city,year",
                cluster="provyear")
    assert cell["replica_coef"] == pytest.approx(r.coef[0], rel=1e-12)
    assert cell["replica_se"] == pytest.approx(r.se[0], rel=1e-12)
    kp = next(c for c in res["cells"] if c["spec"] == "T4c1" and c["row"] == "KP_F")
    first = next(c for c in res["cells"] if c["spec"] == "T4c1" and c["row"] == "tel")
    assert kp["replica_coef"] == pytest.approx(first["replica_t"] ** 2, rel=1e-10)


def test_agreement_logic_on_a_constructed_published_frame(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    panel = simulate_analysis_panel(30, 8, seed=22)
    r = fit_ols(panel, "ctfp", ["ai"], absorb="city,year", cluster="city")
    coef, se = float(r.coef[0]), float(r.se[0])
    fake = pd.DataFrame([
        {"table": "2", "column": "(1)", "row": "AI", "variable": "ai", "outcome": "ctfp", "coef": -coef,
         "t": -1.0, "stars": 0, "note": ""},
        {"table": "2", "column": "(1)", "row": "N", "variable": "", "outcome": "ctfp", "coef": 999.0,
         "t": np.nan, "stars": 0, "note": ""},
        {"table": "2", "column": "(3)", "row": "AI", "variable": "scale", "outcome": "ctfp", "coef": 0.0,
         "t": 0.0, "stars": 0, "note": ""},
    ])
    monkeypatch.setattr(replicate, "_published", lambda: fake)
    res = replicate.run_replicas(panel, tmp_path, permutations=5, seed=1, progress=False)
    ai = next(c for c in res["cells"] if c["spec"] == "T2c1" and c["row"] == "AI")
    assert ai["replica_coef"] == pytest.approx(coef, rel=1e-12) and ai["replica_se"] == pytest.approx(se)
    assert ai["same_sign"] is False and ai["published_in_ci"] is (abs(2 * coef) <= 1.99 * se)
    assert ai["same_stars"] is (ai["replica_stars"] == 0)
    n = next(c for c in res["cells"] if c["spec"] == "T2c1" and c["row"] == "N")
    assert n["published_nobs"] == 999 and n["replica_coef"] == len(panel)
    tab = pd.read_csv(tmp_path / "table2.csv", keep_default_na=False)
    assert tab.loc[(tab["spec"] == "T2c1") & (tab["row"] == "N"), "agreement"].item() == "N differs"
    assert "sign differs" in tab.loc[(tab["spec"] == "T2c1") & (tab["row"] == "AI"), "agreement"].item()
    unpublished = tab.loc[(tab["spec"] == "T2c2") & (tab["row"] == "AI"), "agreement"].item()
    assert unpublished == "not published"


def test_missing_column_is_flagged_not_dropped(tmp_path: Path) -> None:
    panel = simulate_analysis_panel(30, 8, seed=23).drop(columns=["dig1"])
    res = replicate.run_replicas(panel, tmp_path, permutations=5, seed=1, progress=False)
    t5 = [c for c in res["cells"] if c["spec"] == "T5c1"]
    assert t5 and all(c["replica_coef"] is None and "dig1" in c["note"] for c in t5)


def test_split_labels_missing_are_flagged_and_bad_labels_rejected() -> None:
    panel = simulate_analysis_panel(20, 6, seed=25)
    panel["g_hum"] = panel["g_hum"].astype(float)
    panel.loc[panel.index[:4], "g_hum"] = np.nan
    res = replicate.fit_replica(panel, replica("T6c9"))
    assert any("4 row(s) with a missing g_hum" in n for n in res.notes)
    panel.loc[panel.index[5], "g_hum"] = 2.0
    with pytest.raises(replicate.InputError, match="'g_hum' must be 0/1"):
        replicate.fit_replica(panel, replica("T6c9"))


def test_cli_replicate(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "analysis.csv"
    simulate_analysis_panel(30, 8, seed=24).to_csv(path, index=False)
    rc = main(["replicate", str(path), "--out", str(tmp_path / "run"), "--permutations", "10", "--quiet"])
    assert rc == 0
    assert (tmp_path / "run" / "replicas" / "table6.md").is_file()
    assert "published coefficients replicated" in capsys.readouterr().out
