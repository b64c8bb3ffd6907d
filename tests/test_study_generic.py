"""End to end on panels with nothing of the paper, made here: string state ids, 1971-1990, own column names,
no undesirable output, derive expressions, an `expr` and a `median` group, a DEA measure (checked against an
independent LP), a Bayesian model with group slopes; an analysis-ready panel with no measure; Stata files
with float ids; and run-folder integrity across reruns."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog

from ctfp.inference.cli import main

pytestmark = pytest.mark.slow

STATES = [f"S{i:02d}" for i in range(1, 25)]
YEARS = list(range(1971, 1991))
GAP = ("S03", 1980)  # one absent state-year: an unbalanced panel

STUDY = """\
[study]
name = "US states: public capital and output (simulated)"

[data]
panel = "states.csv"
unit = "state"
time = "year"
years = [1971, 1990]

[data.mapping]
GSP = "gsp"
PrivCap = "pc"
Emp = "emp"
PubCap = "pcap"
Hwy = "hwy"

[data.derive]
lgsp = "log(gsp)"
lpcap = "log(pcap)"
lpc = "log(pc)"
lemp = "log(emp)"
lhwy = "log(hwy)"
dlgsp = "lgsp - lag(lgsp)"

[groups]
south = { expr = "region >= 5" }
big = { median = "emp" }

[[measure]]
name = "eff"
inputs = ["pc", "emp", "pcap"]
good = ["gsp"]
bad = []
model = "sbm"
rts = "vrs"
frontier = "contemporaneous"

[[tables]]
id = "T1"
title = "Production function"
columns = [
  { id = "(1)", formula = "lgsp ~ lpcap + lpc + lemp | state + year", cluster = ["state"] },
  { id = "(2)", formula = "lgsp ~ lpcap + lpc + lemp | state + year", cluster = ["state"],
    sample = "south == 1" },
  { id = "(3)", formula = "lgsp ~ lpcap + lpc + lemp | state + year", cluster = ["state"],
    sample = "south == 0" },
  { id = "(4)", formula = "lgsp ~ lpc + lemp | state + year | lpcap ~ lhwy", cluster = ["state"] },
]
tests = [
  { columns = ["(2)", "(3)"], term = "lpcap", method = "permutation", permutations = 100, seed = 1 },
]

[bayes]
draws = 80
tune = 80
chains = 2
seed = 3

[[bayes.models]]
name = "headline"
outcome = "lgsp"
treatment = "lpcap"
controls = ["lpc", "lemp"]
by = ["south", "big"]
likelihood = "normal"
mundlak = true
serial = "none"         # iid errors: a user's panel through the pipeline is the point (the report tests fit the
error_scale = "common"  # AR(1) default end to end)
"""


def _states_panel(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n, t = len(STATES), len(YEARS)
    a = rng.normal(0, 0.3, n)
    b = np.linspace(0, 0.4, t)
    region = rng.integers(1, 10, n)
    lpc = rng.normal(3, 0.5, (n, t)) + a[:, None]
    lemp = rng.normal(2, 0.4, (n, t)) + 0.5 * a[:, None]
    lhwy = rng.normal(1, 0.3, (n, t))
    lpcap = 0.8 * lhwy + rng.normal(2, 0.3, (n, t))
    lgsp = a[:, None] + b[None, :] + 0.3 * lpcap + 0.5 * lpc + 0.2 * lemp + rng.normal(0, 0.02, (n, t))
    df = pd.DataFrame({
        "state": np.repeat(STATES, t), "year": np.tile(YEARS, n), "region": np.repeat(region, t),
        "GSP": np.exp(lgsp).ravel(), "PrivCap": np.exp(lpc).ravel(), "Emp": np.exp(lemp).ravel(),
        "PubCap": np.exp(lpcap).ravel(), "Hwy": np.exp(lhwy).ravel(),
    })
    return df[~((df["state"] == GAP[0]) & (df["year"] == GAP[1]))].reset_index(drop=True)


@pytest.fixture(scope="module")
def states_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, pd.DataFrame]:
    root = tmp_path_factory.mktemp("states")
    raw = _states_panel()
    raw.to_csv(root / "states.csv", index=False)
    (root / "study.toml").write_text(STUDY)
    assert main(["run", str(root / "study.toml"), "--out", str(root / "run"), "--no-progress"]) == 0
    return root, root / "run", raw


def test_run_record_and_ids(states_run: tuple[Path, Path, pd.DataFrame]) -> None:
    _, run, raw = states_run
    rec = json.loads((run / "run.json").read_text())
    assert rec["data_source"] == "user" and rec["unit"] == "state" and rec["time"] == "year"
    a = pd.read_parquet(run / "panel" / "analysis.parquet")
    assert len(a) == len(raw) == 24 * 20 - 1
    assert list(a["state"]) == list(raw["state"])  # the file's order: nothing sorted, nothing dropped
    assert a["year"].dtype == np.int64
    panel = json.loads((run / "provenance" / "panel.json").read_text())
    assert panel["balanced"] is False and panel["missing_unit_periods"] == 1 and panel["cast"]["state"] == "text"
    html = (run / "report.html").read_text()
    assert "SYNTHETIC DATA" not in html


def test_derive_expressions_by_hand(states_run: tuple[Path, Path, pd.DataFrame]) -> None:
    _, run, raw = states_run
    a = pd.read_parquet(run / "panel" / "analysis.parquet")
    np.testing.assert_array_equal(a["lgsp"], np.log(raw["GSP"]))
    np.testing.assert_array_equal(a["lhwy"], np.log(raw["Hwy"]))
    lag = a.set_index(["state", "year"])["lgsp"]
    want = [lag.get((s, y - 1), np.nan) for s, y in zip(a["state"], a["year"], strict=True)]
    np.testing.assert_array_equal(a["dlgsp"], a["lgsp"] - np.array(want))
    assert np.isnan(a.loc[(a.state == "S03") & (a.year == 1981), "dlgsp"]).all()  # after the gap: no lag
    assert int(a["dlgsp"].isna().sum()) == 24 + 1


def test_groups_expr_and_median(states_run: tuple[Path, Path, pd.DataFrame]) -> None:
    _, run, raw = states_run
    a = pd.read_parquet(run / "panel" / "analysis.parquet")
    np.testing.assert_array_equal(a["south"], (raw["region"] >= 5).astype(int))
    means = raw.groupby("state")["Emp"].mean()
    med = float(np.median(means))  # 24 units: the mean of the middle two, no unit at the median
    np.testing.assert_array_equal(a["big"], raw["state"].map((means > med).astype(int)))
    assert a.groupby("state")["big"].first().sum() == 12
    groups = json.loads((run / "provenance" / "groups.json").read_text())
    assert groups["big"]["units_1"] == 12 and groups["big"]["median_of_unit_means"] == pytest.approx(med)


def _sbm_vrs(x: np.ndarray, y: np.ndarray, o: int) -> float:
    """Tone's (2001) non-oriented SBM, VRS, one DMU, by the Charnes-Cooper linearisation (scipy HiGHS)."""
    n, m = x.shape
    s = y.shape[1]
    # variables: t, lambda (n), s_minus (m), s_plus (s)
    c = np.concatenate([[1.0], np.zeros(n), -1.0 / (m * x[o]), np.zeros(s)])
    a_eq = [np.concatenate([[1.0], np.zeros(n), np.zeros(m), 1.0 / (s * y[o])])]
    b_eq = [1.0]
    for i in range(m):  # X lambda + s- = t x_o
        a_eq.append(np.concatenate([[-x[o, i]], x[:, i], np.eye(m)[i], np.zeros(s)]))
        b_eq.append(0.0)
    for r in range(s):  # Y lambda - s+ = t y_o
        a_eq.append(np.concatenate([[-y[o, r]], y[:, r], np.zeros(m), -np.eye(s)[r]]))
        b_eq.append(0.0)
    a_eq.append(np.concatenate([[-1.0], np.ones(n), np.zeros(m + s)]))  # sum lambda = t (VRS)
    b_eq.append(0.0)
    res = linprog(c, A_eq=np.array(a_eq), b_eq=b_eq, bounds=[(0, None)] * len(c), method="highs")
    assert res.status == 0
    return float(res.fun)


def test_dea_measure_matches_an_independent_lp(states_run: tuple[Path, Path, pd.DataFrame]) -> None:
    _, run, raw = states_run
    a = pd.read_parquet(run / "panel" / "analysis.parquet")
    year = a[a["year"] == 1985].reset_index(drop=True)  # contemporaneous: each year its own frontier
    x = year[["pc", "emp", "pcap"]].to_numpy()
    y = year[["gsp"]].to_numpy()
    for o in (0, 5, 11, 17, 23):
        assert year.loc[o, "eff"] == pytest.approx(_sbm_vrs(x, y, o), abs=1e-7)
    scores = pd.read_csv(run / "dea" / "eff.csv")
    assert len(scores) == len(raw) and (scores["status"] == "optimal").all()
    prov = json.loads((run / "provenance" / "dea_eff.json").read_text())
    assert prov["solver_status"] == {"optimal": len(raw)} and prov["rts"] == "vrs"


def test_bayesian_group_slopes(states_run: tuple[Path, Path, pd.DataFrame]) -> None:
    _, run, _ = states_run
    s = json.loads((run / "bayes" / "headline" / "summary.json").read_text())
    assert set(s["by"]) == {"south", "big"}
    assert s["n_obs"] == 24 * 20 - 1 and s["n_units"] == 24
    assert s["treatment"]["mean"] == pytest.approx(0.3, abs=0.1)  # the simulated elasticity


def test_rerun_reuses_then_another_panel_without_bayes_removes_old_posteriors(
        states_run: tuple[Path, Path, pd.DataFrame], capsys: pytest.CaptureFixture) -> None:
    root, run, raw = states_run
    capsys.readouterr()
    assert main(["run", str(root / "study.toml"), "--out", str(run), "--no-progress", "--no-bayes"]) == 0
    err = capsys.readouterr().err
    for step in ("data", "dea-eff", "analysis"):
        assert f"{step}: finished earlier with the same inputs, reused" in err
    assert (run / "bayes" / "headline" / "posterior.nc").is_file()  # same data: its fit still holds
    other = _states_panel(seed=1)
    other.to_csv(root / "other.csv", index=False)
    assert main(["run", str(root / "study.toml"), "--out", str(run), "--no-progress", "--no-bayes",
                 "--panel", str(root / "other.csv")]) == 0
    assert not (run / "bayes" / "headline").exists()
    assert not (run / "steps" / "bayes-headline.json").exists()
    a = pd.read_parquet(run / "panel" / "analysis.parquet")
    np.testing.assert_array_equal(a["lgsp"], np.log(other["GSP"]))


def test_analysis_ready_panel_needs_no_derivation(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    firms, years = np.arange(101, 131), np.arange(2001, 2011)
    df = pd.DataFrame({"firm": np.repeat(firms, len(years)), "t": np.tile(years, len(firms))})
    df["x"] = rng.normal(size=len(df))
    df["ctrl"] = rng.normal(size=len(df))
    df["y"] = 0.5 * df["x"] + rng.normal(size=len(df))
    df.to_parquet(tmp_path / "ready.parquet", index=False)
    (tmp_path / "s.toml").write_text(
        '[data]\npanel = "ready.parquet"\nunit = "firm"\ntime = "t"\n\n[groups]\nhigh = { expr = "ctrl > 0" }\n'
        '\n[bayes]\ndraws = 100\ntune = 100\nchains = 2\nseed = 4\n\n'
        '[[bayes.models]]\nname = "bmb"\nformula = "y ~ x + ctrl + (1|firm)"\n')
    assert main(["run", str(tmp_path / "s.toml"), "--out", str(tmp_path / "run"), "--no-progress"]) == 0
    a = pd.read_parquet(tmp_path / "run" / "panel" / "analysis.parquet")
    pd.testing.assert_frame_equal(a.drop(columns=["high"]), df)
    np.testing.assert_array_equal(a["high"], (df["ctrl"] > 0).astype(int))
    t1 = pd.read_csv(tmp_path / "run" / "tables" / "table1.csv").set_index("variable")
    assert list(t1.index) == ["ctrl", "y", "x"]  # the columns the study reads (the group's, the formula's)
    assert t1.loc["ctrl", "mean"] == pytest.approx(df["ctrl"].mean(), rel=1e-12)
    assert t1.loc["ctrl", "sd"] == pytest.approx(df["ctrl"].std(ddof=1), rel=1e-12)
    assert not (tmp_path / "run" / "dea").exists() and not (tmp_path / "run" / "validation.json").exists()
    s = json.loads((tmp_path / "run" / "bayes" / "bmb" / "summary.json").read_text())  # fitted through bambi
    assert s["treatment"]["mean"] == pytest.approx(0.5, abs=0.15)  # the simulated slope of x


def test_stata_file_with_float_ids(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    df = pd.DataFrame({"id": np.repeat([11.0, 12.0, 13.0], 4), "yr": np.tile([1990.0, 1991.0, 1992.0, 1993.0], 3),
                       "v": np.arange(12, dtype=float) + 1.0})
    df.to_stata(tmp_path / "p.dta", write_index=False)
    study = '[data]\npanel = "p.dta"\nunit = "id"\ntime = "yr"\n\n[data.derive]\nlv = "log(v)"\n'
    (tmp_path / "s.toml").write_text(study)
    assert main(["run", str(tmp_path / "s.toml"), "--out", str(tmp_path / "run"), "--no-progress"]) == 0
    a = pd.read_parquet(tmp_path / "run" / "panel" / "analysis.parquet")
    assert a["id"].dtype == np.int64 and list(a["id"].unique()) == [11, 12, 13]
    assert a["yr"].dtype == np.int64 and list(a["yr"][:4]) == [1990, 1991, 1992, 1993]
    cast = json.loads((tmp_path / "run" / "provenance" / "panel.json").read_text())["cast"]
    assert cast == {"id": "float -> int (exact)", "yr": "float -> int (exact)"}
    df.loc[5, "id"] = 12.5
    df.to_stata(tmp_path / "bad.dta", write_index=False)
    capsys.readouterr()
    assert main(["run", str(tmp_path / "s.toml"), "--panel", str(tmp_path / "bad.dta"),
                 "--out", str(tmp_path / "run2"), "--no-progress"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == (f"ctfp: error: {tmp_path / 'bad.dta'}, row 7, column id: 12.5 is not a whole number; the "
                       "unit id must be an integer (non-integral values are not rounded)")


def _one_error(capsys: pytest.CaptureFixture) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    errors = [e for e in err if e.startswith("ctfp: error: ")]
    assert len(errors) == 1 and err[-1] == errors[0], err
    assert "Traceback" not in "\n".join(err)
    return errors[0]


@pytest.mark.parametrize(("change", "line", "fragment"), [
    (('"lgsp ~ lpcap + lpc + lemp | state + year", cluster = ["state"] },',
      '"lgsp ~ lpcap + lpc + lemp + unemp | state + year", cluster = ["state"] },'), 42,
     "names column 'unemp', which"),
    (('"lgsp ~ lpc + lemp | state + year | lpcap ~ lhwy"', '"lgsp ~ lpc + lemp | state + year | lpcap ~ dlhwy"'),
     47, "formula 'lgsp ~ lpc + lemp | state + year | lpcap ~ dlhwy' names column 'dlhwy'"),
    (('sample = "south == 0"', 'sample = "south == 2"'), 46, "sample 'south == 2' selects no row"),
    (('sample = "south == 0"', 'sample = "sout == 0"'), 46, "names column 'sout', which the panel does not have"),
    (('lhwy = "log(hwy)"', 'lhwy = "log(hwys)"'), 22, "names column 'hwys'"),
    (('inputs = ["pc", "emp", "pcap"]', 'inputs = ["pc", "emp", "pcap", "land"]'), 31,
     "[[measure]] 'eff' inputs names column 'land'"),
    (('controls = ["lpc", "lemp"]', 'controls = ["lpc", "lemp", "lland"]'), 63,
     "[[bayes.models]] 'headline' controls names column 'lland'"),
    (('unit = "state"', 'unit = "State"'), 6, "[data] unit = 'State', but"),
])
def test_study_mistakes_found_with_the_panel_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                           change: tuple[str, str], line: int, fragment: str) -> None:
    _states_panel().to_csv(tmp_path / "states.csv", index=False)
    assert change[0] in STUDY
    f = tmp_path / "study.toml"
    f.write_text(STUDY.replace(change[0], change[1]))
    code = main(["run", str(f), "--out", str(tmp_path / "run"), "--no-progress", "--no-bayes"])
    msg = _one_error(capsys)
    assert code == 1
    assert msg.startswith(f"ctfp: error: {f}, line {line}: "), msg
    assert fragment in msg, msg
    assert not (tmp_path / "run" / "dea").exists()  # found before any estimation


def test_out_must_be_a_run_folder_or_empty(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "states.csv").write_text("x\n")
    (tmp_path / "study.toml").write_text(STUDY)
    (tmp_path / "afile").write_text("keep me")
    assert main(["run", str(tmp_path / "study.toml"), "--out", str(tmp_path / "afile")]) == 1
    assert _one_error(capsys) == (f"ctfp: error: {tmp_path / 'afile'}: --out names an existing file, not a folder; "
                                  "choose a folder for the run")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("keep me")
    assert main(["run", str(tmp_path / "study.toml"), "--out", str(tmp_path / "mine")]) == 1
    assert "is not empty and not a ctfp run folder" in _one_error(capsys)
    assert (tmp_path / "afile").read_text() == "keep me" and sorted(p.name for p in (tmp_path / "mine").iterdir()) == [
        "thesis.tex"]


def _zero_emp(d: pd.DataFrame) -> pd.DataFrame:
    return d.assign(Emp=d["Emp"].where(d.index != 30, 0.0))


@pytest.mark.parametrize(("edit", "study", "fragment"), [
    (lambda d: pd.concat([d, d.iloc[[7]]], ignore_index=True), STUDY,
     "rows 9 and {n}: duplicate (state, year) = (S01, 1978); keep one row per unit and period (2 rows are duplicates)"),
    (_zero_emp, STUDY, "line 21: [data.derive] 'lemp': 'log(emp)' is not a finite number at state S02, year 1981"),
    (_zero_emp, STUDY.replace('lemp = "log(emp)"', 'lemp = "log(emp + 1)"'),
     "states.csv: state S02, year 1981, column emp: 0 (1 such rows); [[measure]] 'eff'"),
    (lambda d: d.assign(year=d["year"].where(d.index != 3, 1969)), STUDY,
     "row 5, column year: period 1969 is outside [data] years = [1971, 1990]"),
    (lambda d: d.assign(state=d["state"].where(d.index != 4, None)), STUDY,
     "row 6, column state: the unit is missing; every row needs a unit"),
])
def test_panel_mistakes_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture, edit: object, study: str,
                                     fragment: str) -> None:
    bad = edit(_states_panel())  # type: ignore[operator]
    bad.to_csv(tmp_path / "states.csv", index=False)
    (tmp_path / "study.toml").write_text(study)
    assert main(["run", str(tmp_path / "study.toml"), "--out", str(tmp_path / "run"), "--no-progress",
                 "--no-bayes"]) == 1
    msg = _one_error(capsys)
    assert fragment.format(n=len(bad) + 1) in msg, msg
    assert not (tmp_path / "run" / "bayes").exists() and not (tmp_path / "run" / "tables").exists()


def test_relative_out_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`make demo` passes a relative --out: outputs are recorded against the run folder, not doubled."""
    rng = np.random.default_rng(6)
    df = pd.DataFrame({"firm": np.repeat(np.arange(20), 5), "t": np.tile(np.arange(2001, 2006), 20)})
    df["x"] = rng.normal(size=len(df))
    df["y"] = 0.5 * df["x"] + rng.normal(size=len(df))
    df.to_csv(tmp_path / "ready.csv", index=False)
    (tmp_path / "s.toml").write_text(
        '[data]\npanel = "ready.csv"\nunit = "firm"\ntime = "t"\n\n[[tables]]\nid = "T1"\n'
        'columns = [ { id = "(1)", formula = "y ~ x | firm + t", cluster = ["firm"] } ]\n')
    monkeypatch.chdir(tmp_path)
    for _ in range(2):  # the rerun reuses the finished steps through the same relative path
        assert main(["run", "s.toml", "--out", "rel/run", "--no-progress", "--no-bayes"]) == 0
    rep = pd.read_csv(tmp_path / "rel" / "run" / "tables" / "replicas.csv")
    assert rep.loc[rep["term"] == "x", "estimate"].iloc[0] == pytest.approx(0.5, abs=0.3)
    assert not (tmp_path / "rel" / "run" / "rel").exists()
