"""The SYNTHETIC paper-world panel tells the paper's story through the real chain (slow, ~10 s).

synthesize (default seed) -> derive -> SBM CTFP and the BCC robustness score by `run_dea` -> the paper study's
Tables 2–6 by `run_tables` (its study file; 50 permutations for the Table 6 difference tests). The assertions are the issue's:
Table 1 CTFP moments within 15% (max exactly 1), every published AI coefficient of Tables 2, 3 and 5 inside
its replica's 95% CI with the same sign (Table 3 column (3) included: the outcome there is the input-oriented
BCC score, not the SBM the panel is built on), Table 4's instruments strong (KP Wald F > 10), and the Table 6
split coefficients with the published signs.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from conftest import synthetic

from ctfp.core.study_load import load_study
from ctfp.data.derive import derive_analysis_panel
from ctfp.data.published import published_cells
from ctfp.inference.tables import run_tables
from ctfp.models.dea import run_dea
from ctfp.models.worlds.paper import DEFAULT_SEED

pytestmark = pytest.mark.slow

INPUTS, GOODS, BADS = ["labor", "capital", "energy"], ["rgdp", "green"], ["co2"]
TABLE1_CTFP = {"mean": 0.4327, "sd": 0.1892}
STUDY = Path(__file__).resolve().parents[1] / "studies" / "shen_chao_2025" / "study.toml"


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, dict, dict]:
    raw, truth = synthetic(DEFAULT_SEED)  # built once per session (conftest)
    panel = derive_analysis_panel(raw.drop(columns=["synthetic"]))
    key = ["city", "year"]
    sbm = run_dea(panel, INPUTS, GOODS, BADS, id_col="city", period_col="year", model="sbm",
                  orientation="none", rts="crs", frontier="global")
    panel = panel.merge(sbm[[*key, "efficiency"]].rename(columns={"efficiency": "ctfp"}), on=key,
                        how="left", validate="one_to_one")
    bcc = run_dea(panel, INPUTS, GOODS, BADS, id_col="city", period_col="year", model="bcc",
                  orientation="input")
    panel = panel.merge(bcc[[*key, "efficiency"]].rename(columns={"efficiency": "ctfp_bcc"}), on=key,
                        how="left", validate="one_to_one")
    prev = panel[["city", "year", "ai"]].assign(year=panel["year"] + 1).rename(columns={"ai": "l_ai"})
    panel = panel.merge(prev, on=key, how="left", validate="one_to_one")  # the study's l_ai = lag(ai)
    study = load_study(STUDY)
    study = replace(study, tables=tuple(replace(t, tests=tuple(replace(d, permutations=50) for d in t.tests))
                                        for t in study.tables))
    res = run_tables(study, panel, tmp_path_factory.mktemp("run"), progress=False)
    index = {(r["table"], r["column"], r["term"]): r for r in res.replicas.to_dict("records")}
    return panel, truth, index


def _key(rec: dict) -> tuple[str, str, str]:
    """A published cell of data.published (table "2", row "AI") as a replicas.csv key (T2, term)."""
    term = rec["row"] if rec["variable"] == "" else ("l_ai" if rec["variable"] == "L.ai" else rec["variable"])
    return "T" + str(rec["table"]), str(rec["column"]), term


def _published_ai() -> pd.DataFrame:
    pub = published_cells()
    return pub[pub["table"].astype(str).isin(["2", "3", "5"]) & (pub["row"] == "AI")]


def test_sbm_scores_are_the_construction_target(story: tuple[pd.DataFrame, dict, dict]) -> None:
    panel, truth, _ = story
    target = pd.DataFrame(truth["ctfp"])[["city", "year", "value"]]
    both = panel[["city", "year", "ctfp"]].merge(target, on=["city", "year"], validate="one_to_one")
    assert len(both) == 1248
    assert (both["ctfp"] - both["value"]).abs().max() < 1e-6


def test_ctfp_moments_match_table1(story: tuple[pd.DataFrame, dict, dict]) -> None:
    ctfp = story[0]["ctfp"]
    assert abs(ctfp.mean() / TABLE1_CTFP["mean"] - 1.0) < 0.15
    assert abs(ctfp.std() / TABLE1_CTFP["sd"] - 1.0) < 0.15
    assert ctfp.max() == 1.0
    assert ctfp.min() > 0.0


def test_published_ai_coefficients_inside_replica_ci(story: tuple[pd.DataFrame, dict, dict]) -> None:
    index = story[2]
    pub = _published_ai()
    assert len(pub) == 14  # T2 (1)-(4), T3 (1)-(6), T5 (1)-(4)
    checked = 0
    for rec in pub.to_dict("records"):
        key = _key(rec)
        cell = index[key]
        label = f"Table {key[0]} {key[1]}: published {rec['coef']}, replica {cell['estimate']}"
        assert cell["ci_low"] <= rec["coef"] <= cell["ci_high"], label
        assert (cell["estimate"] > 0) == (rec["coef"] > 0), label
        assert cell["published_estimate"] == rec["coef"] and bool(cell["sign_agrees"]) and cell["published_in_ci"]
        checked += 1
    assert checked == 14


def test_table4_instruments_are_strong(story: tuple[pd.DataFrame, dict, dict]) -> None:
    index = story[2]
    kp = {k[1]: c["estimate"] for k, c in index.items() if k[0] == "T4" and k[2] == "KP_F" and k[1] in ("(1)", "(3)")}
    assert len(kp) == 2, kp  # iv_tel and iv_res (first-stage columns)
    for col, f in kp.items():
        assert f is not None and f > 10.0, (col, f)


def test_table6_split_signs_as_published(story: tuple[pd.DataFrame, dict, dict]) -> None:
    index = story[2]
    pub = published_cells()
    pub = pub[(pub["table"].astype(str) == "6") & (pub["row"] == "AI")
              & pub["column"].isin(["(1)", "(2)", "(3)", "(4)"])]
    assert len(pub) == 4
    for rec in pub.to_dict("records"):
        cell = index[_key(rec)]
        assert pd.notna(cell["estimate"])
        assert (cell["estimate"] > 0) == (rec["coef"] > 0), (rec["column"], rec["coef"], cell["estimate"])
