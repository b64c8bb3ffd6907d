"""Design analysis machinery (inference/simulate.py): metrics from known truths, resumable world-by-world runs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import ctfp.inference.simulate as sim
from ctfp.inference.simulate import DesignSetup, RefitConfig, SimWorlds, design_metrics, run_design
from ctfp.models.bayes.spec import BayesSpec


def test_design_metrics_by_hand() -> None:
    truth = 0.1
    rows = [  # estimate, se, lower, upper
        (0.12, 0.02, 0.08, 0.16),  # covers, significant, right sign
        (0.30, 0.05, 0.20, 0.40),  # misses, significant, right sign (exaggerated)
        (-0.05, 0.04, -0.09, -0.01),  # misses, significant, WRONG sign
        (0.02, 0.05, -0.08, 0.12),  # covers, not significant
    ]
    recs = [{"method": "m", "world": i, "truth": truth, "estimate": e, "se": s, "lower": lo, "upper": hi}
            for i, (e, s, lo, hi) in enumerate(rows)]
    (m,) = design_metrics(recs)
    assert m["worlds"] == 4 and m["coverage"] == 0.5 and m["power"] == 0.75
    assert math.isclose(m["type_s"], 1 / 3)
    assert math.isclose(m["type_m"], (0.12 + 0.30 + 0.05) / 3 / truth)
    assert math.isclose(m["mean_width"], np.mean([0.08, 0.2, 0.08, 0.2]))
    assert math.isclose(m["sd_over_se"], np.std([0.12, 0.30, -0.05, 0.02], ddof=1) / np.mean([0.02, 0.05, 0.04, 0.05]))


@pytest.mark.slow
def test_run_design_resumes_and_reports_from_its_csv(tmp_path, monkeypatch) -> None:
    setup = DesignSetup(
        worlds=SimWorlds(n_units=10, n_years=6, controls=("pop",), seed=3),
        bayes=(("iid", BayesSpec("ctfp", "ai", controls=("pop",), serial="none", error_scale="common")),),
        cfg=RefitConfig(draws=200, tune=200, chains=2, backend="jax"),  # the resume machinery: JAX compiles in
    )                                                                   # seconds where numba takes a minute cold
    first = run_design(setup, 3, tmp_path)
    assert {m["method"] for m in first} == {"fe_cluster", "iid"} and all(m["worlds"] == 3 for m in first)
    before = pd.read_csv(tmp_path / "worlds.csv")
    calls = []
    real = sim.world_task
    monkeypatch.setattr(sim, "world_task", lambda s, w: calls.append(w) or real(s, w))
    metrics = run_design(setup, 5, tmp_path)
    assert calls == [3, 4]  # the finished worlds were read back, not refitted
    table = pd.read_csv(tmp_path / "worlds.csv")
    pd.testing.assert_frame_equal(table[table["world"] < 3].reset_index(drop=True), before)
    assert (table["truth"] == 0.05).all() and len(table) == 10
    on_disk = pd.read_csv(tmp_path / "metrics.csv").set_index("method")
    for m in metrics:
        rows = table[table["method"] == m["method"]]
        covered = ((rows["lower"] <= 0.05) & (0.05 <= rows["upper"])).mean()
        assert m["coverage"] == covered == on_disk.loc[m["method"], "coverage"]
        assert m["worlds"] == 5
