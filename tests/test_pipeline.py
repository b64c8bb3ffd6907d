"""End to end: the paper study on the synthetic panel recovers the DGP, a user's raw panel runs through a copy of
the study file with a column mapping, a missing variable is named with its study line, and an interrupted run
resumes."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ctfp.core.study_load import load_study, without_bayes
from ctfp.inference.cli import main
from ctfp.inference.pipeline import Pipeline
from ctfp.studies import study_path

pytestmark = pytest.mark.slow
PAPER = study_path().read_text()


@pytest.fixture(scope="module")
def synthetic_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    Pipeline(without_bayes(load_study(study_path())), out, progress=False).run()
    return out


def _cells(run: Path) -> dict[str, dict]:
    """The treatment and instrument cells of tables/replicas.csv keyed "T2c2" (table T2, column (2))."""
    df = pd.read_csv(run / "tables" / "replicas.csv")
    df = df[df["term"].isin(["ai", "scale", "l_ai", "iv_tel", "iv_res"])]
    return {f"{r.table}c{r.column.strip('()')}": {"replica_coef": r.estimate, "replica_ci_low": r.ci_low,
                                                  "replica_ci_high": r.ci_high} for r in df.itertuples()}


def test_synthetic_run_is_labelled_and_complete(synthetic_run: Path) -> None:
    rec = json.loads((synthetic_run / "run.json").read_text())
    assert rec["data_source"] == "synthetic" and rec["synthetic"] is True
    assert rec["versions"]["pymc"] != "not installed"
    html = (synthetic_run / "report.html").read_text()
    assert "SYNTHETIC" in html
    for f in ("dea/ctfp.csv", "dea/ctfp_bcc.csv", "panel/analysis.csv", "tables/replicas.csv",
              "tables/T6.md", "validation.json", "tables/table1.csv", "provenance/derive.json"):
        assert (synthetic_run / f).exists(), f


def test_pipeline_recovers_the_dgp(synthetic_run: Path) -> None:
    truth = json.loads((synthetic_run / "panel" / "truth.json").read_text())
    assert truth["SYNTHETIC"] is True
    # CTFP: the SBM on the raw synthetic inputs returns the score the DGP built in, city-year by city-year
    t = pd.DataFrame({k: truth["ctfp"][k] for k in ("city", "year", "value")})
    scores = pd.read_csv(synthetic_run / "dea" / "ctfp.csv").merge(t, on=["city", "year"], validate="1:1")
    assert len(scores) == 1248
    np.testing.assert_allclose(scores["ctfp"], scores["value"], atol=1e-6)
    cells = _cells(synthetic_run)
    # the two-way FE slope (Table 2 col 2 replica) covers the DGP's population FE slope
    c = cells["T2c2"]
    assert c["replica_ci_low"] <= truth["ctfp_beta_ai"] <= c["replica_ci_high"]
    # mechanisms: every true delta inside the replica's 95% CI
    for spec, var in (("T5c1", "dig1"), ("T5c2", "dig2"), ("T5c3", "green1")):
        assert cells[spec]["replica_ci_low"] <= truth["mechanism_delta"][var] <= cells[spec]["replica_ci_high"], var
    # first stage of the telephone instrument: within 10% of the true pi
    assert cells["T4c1"]["replica_coef"] == pytest.approx(truth["first_stage_pi_iv_tel"], rel=0.10)
    # split estimands: UA cities and non-resource cities
    for spec, split, level in (("T6c1", "g_ua", "1"), ("T6c4", "g_resource", "0")):
        est = truth["ctfp_beta_split_estimand"][split][level]
        assert cells[spec]["replica_ci_low"] <= est <= cells[spec]["replica_ci_high"], spec


def test_story_verdicts(synthetic_run: Path) -> None:
    rows = {r["claim_id"]: r for r in json.loads((synthetic_run / "validation.json").read_text())}
    assert rows["main"]["replica_verdict"] == "supported"
    assert rows["robust_iv"]["replica_verdict"] == "supported"
    assert rows["main"]["posterior_verdict"] == "not run"  # Bayesian fits were switched off


def _user_panel(tmp: Path, drop: tuple[str, ...] = ()) -> tuple[Path, Path]:
    """The synthetic raw panel dressed as a user's file: own column names, no synthetic marker."""
    from ctfp.models.worlds.paper import synthesize_panel

    raw, _ = synthesize_panel()
    raw = raw.drop(columns=["synthetic", *drop])
    renames = {"gdp": "GDP_nominal_100m", "emp": "Employment_10k", "road_km": "Highway km", "co2": "CO2_10kt"}
    raw = raw.rename(columns={k: v for k, v in renames.items() if k in raw.columns})
    panel = tmp / "my_panel.csv"
    raw.to_csv(panel, index=False)
    spec = tmp / "study.toml"
    mapping = "".join(f'"{v}" = "{k}"\n' for k, v in renames.items() if k not in drop)
    text = PAPER.replace('panel = ""', f'panel = "{panel.name}"', 1)
    text = text.replace("[data.mapping]", "[data.mapping]\n" + mapping.rstrip("\n"), 1)
    spec.write_text(text.replace("[bayes]\nrun = true", "[bayes]\nrun = false", 1))
    shutil.copy(study_path().parent / "published.csv", tmp)  # [published] file, beside the study file
    return panel, spec


def _line(text: str, start: str) -> int:
    return next(i for i, ln in enumerate(text.splitlines(), 1) if ln.startswith(start))


def test_user_panel_missing_variable_names_variable_and_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    _, spec = _user_panel(tmp_path, drop=("road_km",))
    code = main(["run", str(spec), "--out", str(tmp_path / "run"), "--no-progress", "--quick"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    errors = [e for e in err if e.startswith("ctfp: error: ")]
    assert len(errors) == 1 and err[-1] == errors[0]  # one line, the last thing said
    line = errors[0]
    assert "Traceback" not in "\n".join(err)
    n = _line(spec.read_text(), '  { id = "(2)", formula = "ctfp ~ ai + pop + hum + lninf')  # T2 (2) reads it first
    assert line.startswith(f"ctfp: error: {spec}, line {n}: [[tables]] 'T2' column '(2)' formula ")
    assert "names 'lninf', which needs column(s) 'road_km'" in line
    assert "'lninf'" in line and "'road_km'" in line
    assert not (tmp_path / "run" / "report.html").exists()


def test_user_panel_full_report_without_banner(tmp_path: Path, capsys: pytest.CaptureFixture,
                                               synthetic_run: Path) -> None:
    _, spec = _user_panel(tmp_path)
    assert main(["run", str(spec), "--out", str(tmp_path / "run"), "--no-progress", "--quick"]) == 0
    out = capsys.readouterr().out
    assert "report:" in out
    assert "Table 1 · published | this panel" in out and "0.4327" in out  # the panel summary beside Table 1
    rec = json.loads((tmp_path / "run" / "run.json").read_text())
    assert rec["data_source"] == "user"
    html = (tmp_path / "run" / "report.html").read_text()
    assert "SYNTHETIC DATA" not in html
    cells = _cells(tmp_path / "run")
    # the same numbers as the embedded panel: renaming columns must not change any estimate
    embedded = _cells(synthetic_run)
    for spec in ("T2c2", "T4c2", "T5c2", "T6c1"):
        assert cells[spec]["replica_coef"] == pytest.approx(embedded[spec]["replica_coef"], rel=1e-9)


def test_interrupted_run_leaves_no_corrupt_artefact_and_resumes(tmp_path: Path) -> None:
    spec = tmp_path / "quick.toml"
    text, n = re.subn(r"draws = \d+\ntune = \d+\nchains = \d+", "draws = 150\ntune = 150\nchains = 2", PAPER, count=1)
    assert n == 1
    cut_from, cut_to = text.index('[[bayes.models]]\nname = "censored"'), text.index("[report]")
    text = text[:cut_from] + text[cut_to:]  # only the headline model, with iid errors: resuming is the point here
    text = text.replace('likelihood = "normal"\n', 'likelihood = "normal"\nserial = "none"\nerror_scale = "common"\n', 1)
    sim_from, sim_to = text.index("[simulate]"), text.index("recorded = ", text.index("[simulate]"))
    sim_to = text.index("\n", sim_to) + 1
    spec.write_text(text[:sim_from] + text[sim_to:])  # [simulate] follows the hetero model too
    shutil.copy(study_path().parent / "published.csv", tmp_path)
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "ctfp.inference", "run", str(spec), "--out", str(out), "--no-progress", "--quick"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 300
    while not (out / "steps" / "tables.json").exists():  # wait until sampling is under way
        assert proc.poll() is None, proc.stdout.read().decode()[-2000:]
        assert time.time() < deadline
        time.sleep(0.5)
    time.sleep(3)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    # nothing half-written under a final name: every step record and JSON parses, no posterior yet
    assert not (out / "bayes" / "headline" / "posterior.nc").exists()
    for f in out.rglob("*.json"):
        json.loads(f.read_text())
    done = {p.stem for p in (out / "steps").glob("*.json")}
    assert {"data", "dea-ctfp", "dea-ctfp_bcc", "analysis", "tables"} <= done and "bayes-headline" not in done
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    for step in ("data", "dea-ctfp", "dea-ctfp_bcc", "analysis", "tables"):
        assert f"{step}: finished earlier with the same inputs, reused" in res.stderr
    assert (out / "bayes" / "headline" / "posterior.nc").exists()
    assert (out / "report.html").exists()
