"""`ctfp multiverse`: the main universe reproduces the main run, cluster == in-process, reuse on rerun."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ctfp.core.errors import InputError
from ctfp.core.study_load import load_study
from ctfp.inference.cli import main
from ctfp.inference.multiverse import measure_for, universes

pytestmark = pytest.mark.slow

STUDY = """\
[study]
name = "multiverse test"

[data]
panel = "states.csv"
unit = "state"
time = "year"
years = [1981, 1990]

[data.derive]
lpcap = "log(pcap)"
lpc = "log(pc)"

[[measure]]
name = "eff"
inputs = ["pc", "emp", "pcap"]
good = ["gsp"]
model = "sbm"
rts = "vrs"
frontier = "contemporaneous"

[[tables]]
id = "T1"
title = "Efficiency and public capital"
columns = [
  { id = "(1)", formula = "eff ~ lpcap + lpc | state + year", cluster = ["state"] },
  { id = "(2)", formula = "eff ~ lpcap | state + year", cluster = ["state"] },
]

[[tables]]
id = "T2"
title = "Not followed by the multiverse"
columns = [ { id = "(1)", formula = "eff ~ lpc | state + year", cluster = ["state"] } ]

[published]
file = "published.csv"

[multiverse]
measure = "eff"
axes = { rts = ["crs", "vrs"], frontier = ["global", "contemporaneous"] }
estimands = [ { table = "T1", column = "(1)", term = "lpcap" }, { table = "T1", column = "(2)", term = "lpcap" } ]
"""


def _panel() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    states, years = [f"S{i:02d}" for i in range(1, 13)], list(range(1981, 1991))
    n, t = len(states), len(years)
    a = rng.normal(0, 0.3, n)
    lpc = rng.normal(3, 0.5, (n, t)) + a[:, None]
    lemp = rng.normal(2, 0.4, (n, t)) + 0.5 * a[:, None]
    lpcap = rng.normal(2, 0.3, (n, t))
    lgsp = a[:, None] + 0.3 * lpcap + 0.5 * lpc + 0.2 * lemp + rng.normal(0, 0.05, (n, t))
    return pd.DataFrame({"state": np.repeat(states, t), "year": np.tile(years, n), "gsp": np.exp(lgsp).ravel(),
                         "pc": np.exp(lpc).ravel(), "emp": np.exp(lemp).ravel(), "pcap": np.exp(lpcap).ravel()})


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("mv")
    _panel().to_csv(root / "states.csv", index=False)
    (root / "study.toml").write_text(STUDY)
    # published values (made up for the test): one for a followed estimand, one for a table it does not follow
    (root / "published.csv").write_text("table,column,term,estimate\nT1,(1),lpcap,0.25\nT2,(1),lpc,0.1\n")
    return root


@pytest.fixture(scope="module")
def in_process(study_dir: Path) -> Path:
    out = study_dir / "mv_here"
    assert main(["multiverse", str(study_dir / "study.toml"), "--out", str(out), "--no-progress"]) == 0
    return out


def test_results_layout_summary_and_figure(in_process: Path) -> None:
    r = pd.read_csv(in_process / "multiverse" / "results.csv")
    assert list(r.columns[:2]) == ["rts", "frontier"]
    assert {"estimate", "ci_low", "ci_high", "p", "universe", "is_main"} <= set(r.columns)
    assert len(r) == 4 * 2 and r["is_main"].sum() == 2  # 4 universes x 2 estimands
    assert set(map(tuple, r[["rts", "frontier"]].drop_duplicates().to_numpy())) == {
        ("crs", "global"), ("crs", "contemporaneous"), ("vrs", "global"), ("vrs", "contemporaneous")}
    assert (r["ci_low"] < r["estimate"]).all() and (r["estimate"] < r["ci_high"]).all()
    s = json.loads((in_process / "multiverse" / "summary.json").read_text())
    e = s["estimands"][0]
    est = r[(r["column"] == "(1)")]["estimate"]
    assert e["median_estimate"] == pytest.approx(float(est.median()))
    main_est = float(r[(r["column"] == "(1)") & r["is_main"]]["estimate"].iloc[0])
    assert e["share_main_sign"] == pytest.approx(float((np.sign(est) == np.sign(main_est)).mean()))
    assert e["published_estimate"] == 0.25
    assert e["share_published_sign"] == pytest.approx(float((est > 0).mean()))
    assert "published_estimate" not in s["estimands"][1]
    assert (in_process / "figures" / "specification_curve.png").stat().st_size > 10_000


def test_main_universe_reproduces_the_main_run_exactly(study_dir: Path, in_process: Path) -> None:
    run = study_dir / "run"
    assert main(["run", str(study_dir / "study.toml"), "--out", str(run), "--no-bayes", "--no-progress"]) == 0
    rep = pd.read_csv(run / "tables" / "replicas.csv")
    r = pd.read_csv(in_process / "multiverse" / "results.csv")
    for col in ("(1)", "(2)"):
        want = rep[(rep["table"] == "T1") & (rep["column"] == col) & (rep["term"] == "lpcap")].iloc[0]
        got = r[(r["column"] == col) & r["is_main"]].iloc[0]
        assert got["estimate"] == want["estimate"] and got["p"] == want["p"]  # exactly: same code, same data
        assert got["ci_low"] == want["ci_low"] and got["ci_high"] == want["ci_high"]


def test_cluster_equals_in_process_and_rerun_reuses(study_dir: Path, in_process: Path, capsys) -> None:
    out = study_dir / "mv_cluster"
    assert main(["multiverse", str(study_dir / "study.toml"), "--out", str(out), "--scheduler", "local:2",
                 "--no-progress"]) == 0
    a = pd.read_csv(in_process / "multiverse" / "results.csv")
    b = pd.read_csv(out / "multiverse" / "results.csv")
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    capsys.readouterr()
    assert main(["multiverse", str(study_dir / "study.toml"), "--out", str(in_process), "--no-progress"]) == 0
    assert "(0 computed, 4 reused, in-process)" in capsys.readouterr().err


def test_universes_and_refusals(study_dir: Path, tmp_path: Path) -> None:
    study = load_study(study_dir / "study.toml")
    us = universes(study)
    assert len(us) == 4 and sum(u.is_main for u in us) == 1
    base = study.measure("eff")
    bcc = measure_for(base, {"model": "bcc"})  # a new model takes its own defaults
    assert (bcc.model, bcc.orientation, bcc.rts) == ("bcc", "input", "vrs") and bcc.frontier == base.frontier
    f = tmp_path / "s.toml"
    f.write_text(STUDY.split("[published]")[0])
    (tmp_path / "states.csv").write_text((study_dir / "states.csv").read_text())
    with pytest.raises(InputError, match="no \\[multiverse\\] section"):
        universes(load_study(f))


BAYES_PART = """
[bayes]
draws = 60
tune = 60
chains = 2
seed = 4

[[bayes.models]]
name = "small"
outcome = "eff"
treatment = "lpcap"
controls = ["lpc"]
serial = "none"                 # iid errors, one sd: this checks the multiverse's machinery, not the default
error_scale = "common"          # error model (AR(1) with per-unit sds, minutes at these draws)
"""


@pytest.fixture(scope="module")
def bayes_dir(study_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("mvbayes")
    (root / "states.csv").write_bytes((study_dir / "states.csv").read_bytes())
    text = STUDY.split("[published]")[0] + BAYES_PART + """
[multiverse]
measure = "eff"
axes = { rts = ["crs", "vrs"] }
estimands = [ { table = "T1", column = "(1)", term = "lpcap" }, { model = "small", term = "lpcap" } ]
"""
    (root / "study.toml").write_text(text)
    return root


def test_bayesian_estimand_main_universe_is_the_main_run_and_cluster_equals_in_process(bayes_dir: Path) -> None:
    here, there, run = bayes_dir / "mv_here", bayes_dir / "mv_there", bayes_dir / "run"
    assert main(["multiverse", str(bayes_dir / "study.toml"), "--out", str(here), "--no-progress"]) == 0
    assert main(["run", str(bayes_dir / "study.toml"), "--out", str(run), "--no-progress"]) == 0
    r = pd.read_csv(here / "multiverse" / "results.csv")
    assert len(r) == 2 * 2
    b = r[r["bayes_model"] == "small"]
    assert b["p"].isna().all() and b["p_gt0"].between(0, 1).all() and (b["ci_low"] < b["ci_high"]).all()
    assert r[r["bayes_model"].isna()]["p_gt0"].isna().all()
    summary = json.loads((run / "bayes" / "small" / "summary.json").read_text())
    got = b[b["is_main"]].iloc[0]
    # the same fit on the same panel with the same seed: the main run's numbers, exactly
    assert got["estimate"] == summary["treatment"]["mean"] and got["p_gt0"] == summary["treatment"]["p_gt0"]
    lo, hi = summary["treatment"]["eti95"]
    assert got["ci_low"] == pytest.approx(lo, rel=1e-12) and got["ci_high"] == pytest.approx(hi, rel=1e-12)
    s = json.loads((here / "multiverse" / "summary.json").read_text())
    e = next(x for x in s["estimands"] if x["bayes_model"] == "small")
    assert e["label"] == "model small: AME of lpcap" and e["universes"] == 2 and "share_significant" in e
    assert main(["multiverse", str(bayes_dir / "study.toml"), "--out", str(there), "--scheduler", "local:2",
                 "--no-progress"]) == 0
    pd.testing.assert_frame_equal(r, pd.read_csv(there / "multiverse" / "results.csv"), check_exact=True)


def test_bayesian_estimand_mistakes(bayes_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "states.csv").write_bytes((bayes_dir / "states.csv").read_bytes())
    text = (bayes_dir / "study.toml").read_text()
    for wrong, needle in [('{ model = "small", term = "lpc" }', "average effect of model 'small''s treatment"),
                          ('{ model = "smal", term = "lpcap" }', "not a \\[\\[bayes.models\\]\\] name"),
                          ('{ model = "small", table = "T1", term = "lpcap" }', "not both")]:
        f = tmp_path / "s.toml"
        f.write_text(text.replace('{ model = "small", term = "lpcap" }', wrong))
        with pytest.raises(InputError, match=needle):
            load_study(f)


def test_multiverse_into_a_run_folder_adds_the_report_section(study_dir: Path, tmp_path: Path, capsys) -> None:
    run = tmp_path / "run"
    assert main(["run", str(study_dir / "study.toml"), "--out", str(run), "--no-bayes", "--no-progress"]) == 0
    assert 'id="multiverse"' not in (run / "report.html").read_text()
    assert main(["multiverse", str(study_dir / "study.toml"), "--out", str(run), "--no-progress"]) == 0
    assert f"report {run / 'report.html'}" in capsys.readouterr().err
    html = (run / "report.html").read_text()
    assert 'id="multiverse"' in html and "Specification curve" in html and "Multiverse summary" in html
    assert (run / "figures" / "specification_curve.svg").is_file()
    summary = pd.read_csv(run / "tables" / "report_multiverse_summary.csv")
    s = json.loads((run / "multiverse" / "summary.json").read_text())
    assert list(summary["estimand"]) == ["T1 (1): lpcap", "T1 (2): lpcap"]
    assert list(summary["share_significant"]) == [f"{e['share_significant']:.0%}" for e in s["estimands"]]
    from ctfp.reports import build_report, i18n

    i18n.MISSING.clear()
    zh = build_report(run, lang="zh").read_text()
    assert 'id="multiverse"' in zh and "设定曲线" in zh
    assert not i18n.MISSING  # every text of the section has its Chinese


def test_unreachable_scheduler_is_one_line(study_dir: Path, tmp_path: Path, capsys) -> None:
    rc = main(["multiverse", str(study_dir / "study.toml"), "--out", str(tmp_path / "mv"), "--scheduler",
               "tcp://127.0.0.1:1", "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1 and len(err) == 1 and err[0].startswith("ctfp: error: --scheduler tcp://127.0.0.1:1"), err
    assert not (tmp_path / "mv" / "multiverse").exists()
