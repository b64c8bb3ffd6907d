"""The tables engine on a panel with nothing of the paper: US-states-like (string ids, 1970-1986).

Checks that every column equals `ctfp fe` / `ctfp iv` on the same file (1e-10) and pyfixest (1e-8), that a
published CSV with one deliberately wrong sign is judged as disagreeing, and that study-file mistakes are one
line naming the file and line.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ctfp.core.errors import InputError
from ctfp.core.study_load import load_study
from ctfp.inference.cli import main
from ctfp.inference.tables import run_tables

STATES = ["AL", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "ID", "IL", "IN", "IA", "KS", "KY", "LA", "ME",
          "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK",
          "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY"]
TRUE_LPCAP = 0.15

STUDY = """\
[study]
name = "US states: public capital and output"

[data]
panel = "produc.csv"
unit = "state"
time = "year"

[[tables]]
id = "T1"
title = "Production function"
columns = [
  { id = "(1)", formula = "lgsp ~ lpcap + lpc + lemp + unemp | state + year", cluster = ["state"] },
  { id = "(2)", formula = "lgsp ~ lpcap + lpc | state", cluster = ["state"] },
  { id = "(3)", formula = "lgsp ~ lpcap + lpc + lemp + unemp | state + year", cluster = ["state"], sample = "south == 1" },
  { id = "(4)", formula = "lgsp ~ lpcap + lpc + lemp + unemp | state + year", cluster = ["state"], sample = "south == 0" },
  { id = "(5)", formula = "lgsp ~ lpc + lemp | state + year | lpcap ~ lhwy", cluster = ["state"] },
  { id = "(6)", formula = "lgsp ~ lpc + lemp | state + year | lpcap ~ lhwy", cluster = ["state"], stage = "first" },
  { id = "(7)", formula = "lgsp ~ lpcap + lpc" },
  { id = "(8)", formula = "lgsp ~ lpcap + lpc | state + region^year", cluster = ["state"] },
  { id = "(9)", formula = "lgsp ~ lpcap + lpc | state + year", cluster = ["state", "year"] },
  { id = "(10)", formula = "lgsp ~ lpcap + lpc | state", sample = "south == 1" },
  { id = "(11)", formula = "lgsp ~ lpcap + lpc | state", sample = "south == 0" },
]
tests = [
  { columns = ["(3)", "(4)"], term = "lpcap", method = "permutation", permutations = 200, level = "unit", seed = 7 },
  { columns = ["(3)", "(4)"], term = "lpcap", method = "chow" },
  { columns = ["(3)", "(4)"], term = "lpcap", method = "suest" },
  { columns = ["(3)", "(4)"], term = "lpcap", method = "permutation", permutations = 100, level = "obs", seed = 7 },
  { columns = ["(10)", "(11)"], term = "lpcap", method = "chow" },
  { columns = ["(10)", "(11)"], term = "lpcap", method = "suest" },
]

[published]
file = "published.csv"
"""


def states_panel(seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    years = np.arange(1970, 1987)
    rows = []
    region = {s: 1 + i % 9 for i, s in enumerate(STATES)}
    a = {s: rng.normal(0, 0.5) for s in STATES}
    g = {y: 0.01 * (y - 1970) + rng.normal(0, 0.02) for y in years}
    for s in STATES:
        hwy_level = rng.normal(0, 0.4)
        for y in years:
            lhwy = hwy_level + 0.02 * (y - 1970) + rng.normal(0, 0.1)
            v = rng.normal(0, 0.05)
            lpcap = 0.8 * lhwy + 0.5 * a[s] + v
            lpc = 0.3 * a[s] + rng.normal(0, 0.3)
            lemp = rng.normal(0, 0.3) + 0.2 * a[s]
            unemp = rng.uniform(3, 10)
            e = rng.normal(0, 0.05) + 0.5 * v
            lgsp = a[s] + g[y] + TRUE_LPCAP * lpcap + 0.3 * lpc + 0.6 * lemp - 0.005 * unemp + e
            rows.append((s, int(y), region[s], lgsp, lpcap, lpc, lemp, unemp, lhwy))
    df = pd.DataFrame(rows, columns=["state", "year", "region", "lgsp", "lpcap", "lpc", "lemp", "unemp", "lhwy"])
    df["south"] = (df["region"] >= 5).astype(int)
    return df


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("states")
    panel = states_panel()
    panel.to_csv(root / "produc.csv", index=False)
    (root / "study.toml").write_text(STUDY)
    (root / "published.csv").write_text(
        "table,column,term,estimate,t,stars,note\n"
        "T1,(1),lpcap,-0.20,-2.5,2,deliberately wrong sign\n"
        "T1,(1),N,816,,,\n"
        f"T1,(2),lpcap,{TRUE_LPCAP},3.1,3,\n"
        "T1,(3)-(4),diff_p,0.5,,,\n")
    study = load_study(root / "study.toml")
    res = run_tables(study, pd.read_csv(root / "produc.csv"), root / "run", progress=False)
    return res, root


def _cell(res, column: str, term: str) -> pd.Series:
    return res.replicas.set_index(["table", "column", "term"]).loc[("T1", column, term)]


def _cli(root: Path, args: list[str], capsys: pytest.CaptureFixture) -> dict:
    capsys.readouterr()
    assert main([*args[:1], str(root / "produc.csv"), *args[1:], "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(("column", "args"), [
    ("(1)", ["fe", "--y", "lgsp", "--x", "lpcap,lpc,lemp,unemp", "--absorb", "state,year", "--cluster", "state"]),
    ("(2)", ["fe", "--y", "lgsp", "--x", "lpcap,lpc", "--absorb", "state", "--cluster", "state"]),
    ("(7)", ["fe", "--y", "lgsp", "--x", "lpcap,lpc", "--robust"]),
    ("(9)", ["fe", "--y", "lgsp", "--x", "lpcap,lpc", "--absorb", "state,year", "--cluster", "state,year"]),
    ("(5)", ["iv", "--y", "lgsp", "--endog", "lpcap", "--instruments", "lhwy", "--exog", "lpc,lemp",
             "--absorb", "state,year", "--cluster", "state"]),
])
def test_columns_equal_ctfp_fe_and_iv(run, column: str, args: list[str], capsys: pytest.CaptureFixture) -> None:
    res, root = run
    out = _cli(root, args, capsys)
    for term, coef in out["coef"].items():
        if term == "_cons":
            continue
        cell = _cell(res, column, term)
        assert cell["estimate"] == pytest.approx(coef, rel=1e-10, abs=1e-12)
        assert cell["se"] == pytest.approx(out["se"][term], rel=1e-10)
        assert cell["p"] == pytest.approx(out["p"][term], rel=1e-10, abs=1e-14)
    assert _cell(res, column, "N")["estimate"] == out["nobs"]
    assert _cell(res, column, "R2")["estimate"] == pytest.approx(out["r2_overall"], rel=1e-10)
    if args[0] == "iv":
        fs = _cell(res, "(6)", "lhwy")
        assert fs["estimate"] == pytest.approx(out["first_stage"]["coef"]["lhwy"], rel=1e-10)
        assert fs["se"] == pytest.approx(out["first_stage"]["se"]["lhwy"], rel=1e-10)
        assert _cell(res, "(6)", "KP_F")["estimate"] == pytest.approx(out["kp_rk_wald_f"], rel=1e-10)
        assert _cell(res, "(6)", "KP_LM")["estimate"] == pytest.approx(out["kp_rk_lm"], rel=1e-10)


def test_split_columns_equal_ctfp_fe_on_the_subsample(run, capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    res, root = run
    panel = pd.read_csv(root / "produc.csv")
    panel[panel["south"] == 1].to_csv(tmp_path / "south.csv", index=False)
    capsys.readouterr()
    assert main(["fe", str(tmp_path / "south.csv"), "--y", "lgsp", "--x", "lpcap,lpc,lemp,unemp",
                 "--absorb", "state,year", "--cluster", "state", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    cell = _cell(res, "(3)", "lpcap")
    assert cell["estimate"] == pytest.approx(out["coef"]["lpcap"], rel=1e-10)
    assert cell["se"] == pytest.approx(out["se"]["lpcap"], rel=1e-10)
    assert cell["nobs"] == out["nobs"] == (panel["south"] == 1).sum()


@pytest.mark.parametrize(("column", "fml", "vcov"), [
    ("(1)", "lgsp ~ lpcap + lpc + lemp + unemp | state + year", {"CRV1": "state"}),
    ("(2)", "lgsp ~ lpcap + lpc | state", {"CRV1": "state"}),
    ("(8)", "lgsp ~ lpcap + lpc | state + region^year", {"CRV1": "state"}),
    ("(5)", "lgsp ~ lpc + lemp | state + year | lpcap ~ lhwy", {"CRV1": "state"}),
])
def test_columns_equal_pyfixest(run, column: str, fml: str, vcov: dict) -> None:
    pf = pytest.importorskip("pyfixest")
    res, root = run
    fit = pf.feols(fml, data=pd.read_csv(root / "produc.csv"), vcov=vcov)
    coef, se = fit.coef(), fit.se()
    for term in coef.index:
        cell = _cell(res, column, term)
        assert cell["estimate"] == pytest.approx(coef[term], rel=1e-8, abs=1e-12)
        if fml.count("~") == 2:
            continue  # pyfixest's IV SEs use another df count (docs/stack.md); ctfp's equal ivreghdfe
        assert cell["se"] == pytest.approx(se[term], rel=1e-8)


def test_interacted_fixed_effect_is_one_level_per_cell(run) -> None:
    res, _ = run
    cols = res.columns.set_index("column")
    assert cols.loc["(8)", "fe"] == "state+region^year"
    a, b = _cell(res, "(8)", "lpcap")["estimate"], _cell(res, "(1)", "lpcap")["estimate"]
    assert np.isfinite(a) and a != b


def test_difference_tests(run) -> None:
    res, _ = run
    obs = res.tests.iloc[3]
    assert (obs["method"], obs["level"], obs["permutations"]) == ("permutation", "obs", 100)
    assert 0 <= obs["p"] <= obs["p_two_sided"] <= 1 and obs["p"] * 100 == pytest.approx(round(obs["p"] * 100))
    tests = res.tests.iloc[:3].set_index("method")
    a, b = _cell(res, "(3)", "lpcap")["estimate"], _cell(res, "(4)", "lpcap")["estimate"]
    for m in ("permutation", "chow", "suest"):
        assert tests.loc[m, "estimate_a"] == a and tests.loc[m, "estimate_b"] == b
        assert tests.loc[m, "diff"] == pytest.approx(a - b)
        assert 0 <= tests.loc[m, "p"] <= 1
    perm = tests.loc["permutation"]
    assert perm["permutations"] == 200 and perm["seed"] == 7 and perm["level"] == "unit"
    # the permutation p is a share of 200 draws; one-sided is at most the two-sided one
    assert perm["p"] * 200 == pytest.approx(round(perm["p"] * 200)) and perm["p"] <= perm["p_two_sided"]
    diff_p = _cell(res, "(3)-(4)", "diff_p")
    assert diff_p["estimate"] == perm["p"] and diff_p["published_estimate"] == 0.5


def test_chow_and_suest_with_one_fe_and_robust_errors(run) -> None:
    """One-way FE, heteroskedasticity-robust splits: the interacted regression's x*D coefficient is exactly the
    difference of the split fits (its robust t-test gives the Chow p); SUEST treats each row as a cluster."""
    from scipy import stats

    from ctfp.models.panel import groupdiff as gd

    res, root = run
    a, b = _cell(res, "(10)", "lpcap")["estimate"], _cell(res, "(11)", "lpcap")["estimate"]
    tests = res.tests[res.tests["column_a"] == "(10)"].set_index("method")
    panel = pd.read_csv(root / "produc.csv")
    fit, name = gd.chow_interacted(panel, "lgsp", ["lpcap", "lpc"], "south", absorb=["state"], cluster="")
    assert fit.vce == "robust" and fit.coef[fit.index(name)] == pytest.approx(a - b, rel=1e-10)
    assert tests.loc["chow", "p"] == pytest.approx(float(fit.p[fit.index(name)]), rel=1e-12)
    se = np.sqrt(_cell(res, "(10)", "lpcap")["se"] ** 2 + _cell(res, "(11)", "lpcap")["se"] ** 2)
    z = (a - b) / se  # disjoint samples: Var = V1 + V0 up to the small-sample factors
    assert 0 < tests.loc["suest", "p"] < 1
    assert abs(tests.loc["suest", "p"] - 2 * stats.norm.sf(abs(z))) < 0.05


def test_published_verdicts(run) -> None:
    res, root = run
    wrong = _cell(res, "(1)", "lpcap")
    assert wrong["published_estimate"] == -0.20 and wrong["estimate"] > 0
    assert wrong["sign_agrees"] is np.False_ or wrong["sign_agrees"] is False
    assert not wrong["published_in_ci"]
    right = _cell(res, "(2)", "lpcap")
    assert bool(right["sign_agrees"]) and right["published_note"] == ""
    assert pd.isna(_cell(res, "(1)", "lpc")["sign_agrees"])  # nothing published: no verdict
    assert _cell(res, "(1)", "N")["published_estimate"] == 816 == _cell(res, "(1)", "N")["estimate"]
    on_disk = pd.read_csv(root / "run" / "tables" / "replicas.csv", keep_default_na=False)
    row = on_disk[(on_disk["column"] == "(1)") & (on_disk["term"] == "lpcap")].iloc[0]
    assert row["sign_agrees"] == "False" and row["published_note"] == "deliberately wrong sign"
    assert "T1: Production function" in res.markdown["T1"] and "sign differs" in res.markdown["T1"]


def test_iv_recovers_the_true_slope_that_ols_misses(run) -> None:
    """lpcap shares a shock with the error (e = ... + 0.5 v): OLS is biased up, 2SLS on lhwy is not."""
    res, _ = run
    ols, iv = _cell(res, "(1)", "lpcap"), _cell(res, "(5)", "lpcap")
    assert ols["ci_low"] > TRUE_LPCAP
    assert iv["ci_low"] < TRUE_LPCAP < iv["ci_high"]


# ----------------------------------------------------------------------------------------------- errors


def _study(tmp_path: Path, text: str, published: str = "table,column,term,estimate\n"):
    (tmp_path / "study.toml").write_text(text)
    (tmp_path / "published.csv").write_text(published)
    return load_study(tmp_path / "study.toml")


def _line_of(text: str, needle: str) -> int:
    return next(i + 1 for i, line in enumerate(text.splitlines()) if needle in line)


def _one_line_error(tmp_path: Path, text: str, panel: pd.DataFrame | None = None) -> str:
    """The one-line error of a study file, whether loading it or running its tables finds the mistake."""
    with pytest.raises(InputError) as err:
        study = _study(tmp_path, text)
        run_tables(study, states_panel() if panel is None else panel, tmp_path / "run", progress=False)
    msg = str(err.value)
    assert "\n" not in msg
    return msg


def test_formula_naming_a_missing_column(tmp_path: Path) -> None:
    text = STUDY.replace('"(2)", formula = "lgsp ~ lpcap + lpc | state"', '"(2)", formula = "lgsp ~ lpcap + lwage | state"')
    msg = _one_line_error(tmp_path, text)
    assert f"study.toml, line {_line_of(text, 'lwage')}" in msg and "'lwage'" in msg and "column (2)" in msg


def test_sample_that_selects_nothing(tmp_path: Path) -> None:
    text = STUDY.replace('sample = "south == 0"', 'sample = "south == 2"')
    msg = _one_line_error(tmp_path, text)
    assert f"study.toml, line {_line_of(text, 'south == 2')}" in msg and "selects no row" in msg


def test_difference_test_between_missing_columns(tmp_path: Path) -> None:
    text = STUDY.replace('columns = ["(3)", "(4)"], term = "lpcap", method = "chow"',
                         'columns = ["(3)", "(12)"], term = "lpcap", method = "chow"')
    msg = _one_line_error(tmp_path, text)
    assert f"study.toml, line {_line_of(text, '(12)')}" in msg and "(12)" in msg and "not a column of table" in msg


def test_text_column_in_a_formula(tmp_path: Path) -> None:
    text = STUDY.replace('"(2)", formula = "lgsp ~ lpcap + lpc | state"', '"(2)", formula = "lgsp ~ lpcap + state_name | state"')
    panel = states_panel().assign(state_name=lambda d: d["state"] + " state")
    msg = _one_line_error(tmp_path, text, panel)
    assert f"line {_line_of(text, 'state_name')}" in msg and "'state_name'" in msg and "not numeric" in msg


def test_bad_formula_is_one_line(tmp_path: Path) -> None:
    text = STUDY.replace('"(2)", formula = "lgsp ~ lpcap + lpc | state"', '"(2)", formula = "lgsp ~ log(lpcap) + lpc | state"')
    msg = _one_line_error(tmp_path, text)
    assert f"line {_line_of(text, 'log(lpcap)')}" in msg and "[data.derive]" in msg


def test_published_rows_the_study_does_not_have(tmp_path: Path) -> None:
    study = _study(tmp_path, STUDY, "table,column,term,estimate\nT1,(1),lpcap,0.1\nT1,(1),lwage,0.2\n"
                                    "T1,(12),N,3\nT9,(1),N,3\nT1,(1)-(2),diff_p,0.2\n")
    with pytest.raises(InputError) as err:
        run_tables(study, states_panel(), tmp_path / "run", progress=False)
    lines = str(err.value).splitlines()
    assert len(lines) == 4
    assert "published.csv, line 3" in lines[0] and "no term 'lwage'" in lines[0]
    assert "line 4" in lines[1] and "no column '(12)'" in lines[1]
    assert "line 5" in lines[2] and "table 'T9'" in lines[2]
    assert "line 6" in lines[3] and "no difference test between (1) and (2)" in lines[3]


def test_a_column_that_is_not_identified_is_kept_with_a_note(tmp_path: Path) -> None:
    panel = states_panel()
    panel["const_state"] = panel.groupby("state")["lpc"].transform("mean")  # absorbed by the state FE
    text = STUDY.replace('"(2)", formula = "lgsp ~ lpcap + lpc | state"', '"(2)", formula = "lgsp ~ const_state + lpc | state"')
    study = _study(tmp_path, text)
    res = run_tables(study, panel, tmp_path / "run", progress=False)
    cell = _cell(res, "(2)", "const_state")
    assert pd.isna(cell["estimate"]) and "not estimated" in cell["note"] and "absorbed" in cell["note"]
    assert _cell(res, "(1)", "lpcap")["estimate"] > 0


def test_shared_demeaning_in_extreme_units(tmp_path: Path) -> None:
    """Columns beyond 2^64 are exactly rescaled by the estimators; a variable first demeaned as another
    column's companion must come back in the same scale (two columns share a sample and FEs)."""
    from ctfp.core.study import DataSpec, Study, StudyMeta, Table, TableColumn
    from ctfp.models.panel.estimators import fit_ols

    panel = states_panel().assign(big=lambda d: d["lpc"] * 1e30)
    cols = (TableColumn("(1)", "lgsp ~ lpcap | state + year", ("state",)),
            TableColumn("(2)", "lgsp ~ lpcap + big | state + year", ("state",)))
    study = Study(meta=StudyMeta(), data=DataSpec(unit="state", time="year"), tables=(Table("T1", columns=cols),))
    res = run_tables(study, panel, tmp_path, progress=False)
    alone = fit_ols(panel, "lgsp", ["lpcap", "big"], absorb=["state", "year"], cluster="state")
    cell = _cell(res, "(2)", "big")
    assert abs(alone.coef[1]) < 1e-25  # the coefficient is in units of 1e-30: compare relatively, no abs slack
    assert cell["estimate"] == pytest.approx(float(alone.coef[1]), rel=1e-12, abs=0)
    assert cell["se"] == pytest.approx(float(alone.se[1]), rel=1e-12, abs=0)


def test_few_clusters_are_said_in_the_cells(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from ctfp.core.study import DataSpec, Study, StudyMeta, Table, TableColumn

    cols = (TableColumn("(1)", "lgsp ~ lpcap + lpc | state + year", ("region",)),)
    study = Study(meta=StudyMeta(), data=DataSpec(unit="state", time="year"), tables=(Table("T1", columns=cols),))
    res = run_tables(study, states_panel(), tmp_path, progress=False)
    cell = _cell(res, "(1)", "lpcap")
    assert "9 clusters" in cell["note"] and np.isfinite(cell["p"])
    assert "warning: T1 (1): " in capsys.readouterr().err
