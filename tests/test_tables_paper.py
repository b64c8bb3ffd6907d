"""The paper's Tables 2-6 written as formulas in its study file give exactly the numbers of the hard-coded
replicas they replace.

`tests/data/paper_world_analysis.parquet` is the analysis panel of a `ctfp demo` run on the SYNTHETIC
paper-world panel (the columns the tables read; `l_ai` = AI of the previous year, as the study derives it).
`tests/data/paper_tables_baseline.csv` / `paper_tests_baseline.csv` are the cells and difference tests that
`ctfp.inference.replicate.run_replicas` (hard-coded Tables 2-6) wrote for that panel before the tables became
data: every coefficient, SE, t, p, N, R2, KP statistic and permutation p (1000 unit-level permutations, seed
20251201 + k for the k-th split). Everything agrees to 1e-10 (relative): on the machine that recorded the
baseline, to the last bit (the shared within transformation hands each fit the same numbers, in the same memory
layout, as a lone fit); on another CPU, OpenBLAS picks other kernels (AVX-512 rather than AVX2, say), which move
the last bits of a product, so the test allows what a different instruction set can change and nothing more.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from ctfp.core.study_load import load_study
from ctfp.data.published import published_cells
from ctfp.inference.tables import run_tables

REPO = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data"
STUDY = REPO / "studies" / "shen_chao_2025" / "study.toml"
BITS = 1e-10  # relative: the last bits another CPU's kernels move, amplified (a difference test p: 3e-12)


def same(a: float, b: float) -> bool:
    """Equal, or equal but for the last bits of a floating-point product."""
    return a == b or math.isclose(a, b, rel_tol=BITS, abs_tol=0.0)


@pytest.fixture(scope="module")
def paper(tmp_path_factory: pytest.TempPathFactory):
    study = load_study(STUDY)
    panel = pd.read_parquet(DATA / "paper_world_analysis.parquet")
    out = tmp_path_factory.mktemp("paper")
    return run_tables(study, panel, out, progress=False), out


def test_every_baseline_cell_is_reproduced(paper) -> None:
    res, _ = paper
    base = pd.read_csv(DATA / "paper_tables_baseline.csv")
    rep = res.replicas.set_index(["table", "column", "term"])
    assert len(base) == 132
    for rec in base.to_dict("records"):
        row = rep.loc[(rec["table"], rec["column"], rec["term"])]
        for k in ("estimate", "se", "t", "p"):
            if pd.isna(rec[k]):
                assert pd.isna(row[k]), (rec, k)
            else:
                assert same(float(row[k]), rec[k]), (rec, k, float(row[k]))
        assert int(row["nobs"]) == int(rec["nobs"])


def test_difference_tests_are_reproduced(paper) -> None:
    res, _ = paper
    want = pd.read_csv(DATA / "paper_tests_baseline.csv")
    got = res.tests
    assert len(got) == len(want) == 18
    for w, g in zip(want.to_dict("records"), got.to_dict("records"), strict=True):
        assert (g["column_a"], g["column_b"], g["method"]) == (w["column_a"], w["column_b"], w["method"])
        for k in ("estimate_a", "estimate_b", "diff", "p", "p_two_sided"):
            assert same(g[k], w[k]), (w, k, g[k])
        if w["method"] == "permutation":
            assert g["seed"] == w["seed"] and g["permutations"] == 1000 and g["level"] == "unit"
    diff_p = res.replicas[(res.replicas["table"] == "T6") & (res.replicas["term"] == "diff_p")]
    assert list(diff_p["column"]) == [f"({2 * k + 1})-({2 * k + 2})" for k in range(6)]
    assert diff_p["estimate"].tolist() == got[got["method"] == "permutation"]["p"].tolist()


def test_every_published_cell_is_attached(paper) -> None:
    res, _ = paper
    cells = published_cells()
    rep = res.replicas[res.replicas["published_estimate"].notna()]
    assert len(rep) == len(cells) == 107
    t2 = rep.set_index(["table", "column", "term"]).loc[("T2", "(2)", "ai")]
    assert t2["published_estimate"] == 0.0248 and t2["published_t"] == 2.08 and t2["published_stars"] == 2
    # the paper's slips stay as printed, with their notes
    slip = rep.set_index(["table", "column", "term"]).loc[("T3", "(6)", "ai")]
    assert slip["published_stars"] == 2 and str(slip["published_note"]).startswith("slip stars_t3c6")
    coef = rep[rep["kind"] == "coef"]
    assert coef["sign_agrees"].notna().all() and coef["published_in_ci"].notna().all()
    assert rep[rep["kind"] == "stat"]["sign_agrees"].isna().all()


def test_published_csv_is_the_papers_published_cells() -> None:
    """studies/shen_chao_2025/published.csv holds each printed number of data/resources/published_tables.csv."""
    pub = pd.read_csv(REPO / "studies" / "shen_chao_2025" / "published.csv", dtype=str, keep_default_na=False)
    cells = published_cells()
    assert len(pub) == len(cells)
    for p, c in zip(pub.to_dict("records"), cells.to_dict("records"), strict=True):
        assert p["table"] == "T" + c["table"] and p["column"] == c["column"]
        assert p["estimate"] == c["printed"] and p["t"] == c["printed_t"] and p["note"] == c["note"]
        if c["row"] in ("N", "R2", "KP_LM", "KP_LM_p", "KP_F", "diff_p"):
            assert p["term"] == c["row"] and p["stars"] == ""
        else:
            assert p["term"] == ("l_ai" if c["variable"] == "L.ai" else c["variable"])
            assert int(p["stars"]) == c["stars"]


def test_files_follow_the_contract(paper) -> None:
    _, out = paper
    rep = pd.read_csv(out / "tables" / "replicas.csv")
    assert list(rep.columns[:21]) == [
        "table", "column", "term", "kind", "estimate", "se", "t", "p", "ci_low", "ci_high", "stars", "nobs",
        "published_estimate", "published_se", "published_t", "published_stars", "published_note",
        "sign_agrees", "stars_agree", "published_in_ci", "note"]
    cols = pd.read_csv(out / "tables" / "columns.csv", keep_default_na=False)
    assert len(cols) == 30
    t4 = cols[cols["table"] == "T4"].set_index("column")
    assert list(t4["estimator"]) == ["iv_first", "iv", "iv_first", "iv"]
    assert t4.loc["(1)", "outcome"] == "ai" and t4.loc["(2)", "treatment"] == "ai"
    assert cols.set_index(["table", "column"]).loc[("T3", "(5)"), "cluster"] == "provyear"
    tests = pd.read_csv(out / "tests.csv" if (out / "tests.csv").exists() else out / "tables" / "tests.csv")
    assert set(tests["method"]) == {"permutation", "chow", "suest"}
    md = (out / "tables" / "T6.md").read_text()
    assert "(1)-(2)" in md and "diff_p" in md


def test_study_columns_are_the_papers_printed_specifications() -> None:
    """Each column of the study file is the regression data/resources/published_specs.csv describes."""
    from ctfp.data.published import published_specs
    from ctfp.models.panel.formula import parse_formula

    study = load_study(STUDY)
    specs = published_specs()
    regressions = specs[specs["estimator"] != "group_diff"]
    assert sum(len(t.columns) for t in study.tables) == len(regressions) == 30

    def split(v: str) -> tuple[str, ...]:
        return tuple(x for x in v.split(";") if x)

    for s in regressions.to_dict("records"):
        col = next(c for c in study.table("T" + s["table"]).columns if c.id == s["column"])
        f = parse_formula(col.formula)
        treatment = "l_ai" if s["treatment"] == "L.ai" else s["treatment"]
        assert f.fe == split(s["absorb"]) and col.cluster == split(s["cluster"]), s["spec"]
        if s["estimator"] == "twfe":
            assert (f.outcome, f.exog, f.endog) == (s["outcome"], (treatment, *split(s["controls"])), ()), s["spec"]
        else:
            assert f.endog == ("ai",) and f.instruments == split(s["instruments"]), s["spec"]
            assert f.exog == split(s["controls"]), s["spec"]
            first = s["estimator"] == "fe2sls_first"
            assert col.stage == ("first" if first else "second"), s["spec"]
            assert (f.endog[0] if first else f.outcome) == s["outcome"], s["spec"]
            assert (f.instruments[0] if first else "ai") == treatment, s["spec"]
        assert col.sample == (f"{s['split']} == {s['level']}" if s["split"] else ""), s["spec"]
    tests = study.table("T6").tests
    assert [(d.columns, d.method) for d in tests[:3]] == [(("(1)", "(2)"), m) for m in ("permutation", "chow", "suest")]
    assert {d.seed for d in tests if d.method == "permutation"} == set(range(20251201, 20251207))
