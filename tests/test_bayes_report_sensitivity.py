"""The report's prior-sensitivity section and LOO table, on a run folder written by the real pipeline (`ctfp run`).

A tiny study (30 firms x 8 years, true slope 0.5 of a unit-sd regressor on a unit-sd noise) fits the same model
twice: with the default priors and with a Normal(0, 0.01) slope prior on the standardised scale, about 40 times
narrower than the slope the data show (~0.4). Power-scaling sensitivity of the average effect is then far above
the 0.05 threshold (measured ~0.2: prior-data conflict) while the default prior's is ~0.001. The page must flag
exactly the tight model's reported quantities, show the numbers stored in summary.json, and its glance line
must count them.

The same run has a bambi formula model and an AR(1) model (one error sd): LOO ranks the bambi model against the
built-in iid-normal models (same rows, same measure) and leaves the AR(1) model unranked (its pointwise terms
are conditional on the previous year); the ranks on the page are az.compare's on those three fits.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ctfp.inference.cli import main

STUDY = """
[data]
panel = "panel.parquet"
unit = "firm"
time = "t"

[bayes]
outcome = "y"
treatment = "x"
controls = ["ctrl"]
sampler = "nutpie"
draws = 200
tune = 200
chains = 2
seed = 4

[[bayes.models]]
name = "default"
serial = "none"
error_scale = "common"

[[bayes.models]]
name = "tight"
serial = "none"
error_scale = "common"
priors = { beta = 0.01 }

[[bayes.models]]
name = "ar1"
error_scale = "common"  # AR(1) errors (what leaves it unranked) with one sd: cheaper than the per-unit default

[[bayes.models]]
name = "bmb"
formula = "y ~ x + ctrl + (1|firm) + (1|t)"
"""


@pytest.mark.slow
def test_tight_prior_is_flagged_on_the_page_default_is_not(tmp_path: Path) -> None:
    rng = np.random.default_rng(12)
    firms, years = np.arange(101, 131), np.arange(2001, 2009)
    df = pd.DataFrame({"firm": np.repeat(firms, len(years)), "t": np.tile(years, len(firms))})
    df["x"] = rng.normal(size=len(df))
    df["ctrl"] = rng.normal(size=len(df))
    df["y"] = 0.5 * df["x"] + 0.1 * df["ctrl"] + rng.normal(0, 0.3, len(firms))[df["firm"] - 101] \
        + rng.normal(size=len(df))
    df.to_parquet(tmp_path / "panel.parquet", index=False)
    (tmp_path / "study.toml").write_text(STUDY)
    run = tmp_path / "run"
    assert main(["run", str(tmp_path / "study.toml"), "--out", str(run), "--no-progress"]) == 0

    stored = {m: json.loads((run / "bayes" / m / "summary.json").read_text())["prior_sensitivity"]
              for m in ("default", "tight")}
    assert stored["tight"]["quantities"]["ame"]["prior"] > 0.05 and stored["tight"]["flagged"]
    assert stored["default"]["quantities"]["ame"]["prior"] < 0.05 and not stored["default"]["flagged"]
    # what is power-scaled and reported (psense.py): the spec's quantities, population-level priors only; the
    # default prior's average effect is likelihood-driven, the tight one's decided by its prior
    default, tight = stored["default"], stored["tight"]
    assert set(default["quantities"]) == {"ame", "beta"} and default["threshold"] == 0.05
    assert "beta_std" in default["scaled_priors"] and not any(p.startswith("u_") for p in default["scaled_priors"])
    assert default["quantities"]["ame"]["prior"] < 0.05 < default["quantities"]["ame"]["likelihood"]
    assert not default["quantities"]["ame"]["flagged"] and "ame" in tight["flagged"]

    html = (run / "report.html").read_text(encoding="utf-8")
    assert 'data-section="sensitivity"' in html
    cells = dict(re.findall(r'data-key="(psense\.[^"]+)" data-value="([^"]*)"', html))
    for model in ("default", "tight"):
        for q, rec in stored[model]["quantities"].items():
            key = f"psense.{model}.{q}"
            assert float(cells[f"{key}.prior"]) == pytest.approx(rec["prior"], rel=1e-9)
            assert float(cells[f"{key}.likelihood"]) == pytest.approx(rec["likelihood"], rel=1e-9)
            assert (cells[f"{key}.flagged"] == "True") is rec["flagged"], (key, cells[f"{key}.flagged"])
    # the posterior mean beside the flags is the posterior's
    import xarray as xr

    tree = xr.open_datatree(run / "bayes" / "tight" / "posterior.nc", engine="h5netcdf")
    assert float(cells["psense.tight.ame.mean"]) == pytest.approx(float(tree["posterior"]["ame"].mean()), rel=1e-9)
    n_tight = len(stored["tight"]["flagged"])
    n_all = sum(len(json.loads((run / "bayes" / m / "summary.json").read_text())["prior_sensitivity"]["quantities"])
                for m in ("default", "tight", "ar1", "bmb"))
    glance = re.search(r'data-key="glance.psense">([^<]*)<', html)
    assert glance is not None and glance.group(1).startswith(f"{n_tight} of {n_all} reported quantities flagged")
    assert "tight: ame" in glance.group(1) and "default:" not in glance.group(1)

    # LOO: bambi's model ranked with the iid built-in ones, the AR(1) model shown but not ranked
    import arviz as az

    trees = {m: xr.open_datatree(run / "bayes" / m / "posterior.nc", engine="h5netcdf")
             for m in ("default", "tight", "bmb")}
    cmp = az.compare(trees, var_name="y", round_to="none")
    loo_cells = dict(re.findall(r'data-key="(loo\.[^"]+)" data-value="([^"]*)"', html))
    for m, rec in cmp.iterrows():
        assert float(loo_cells[f"loo.{m}.rank"]) == rec["rank"], (m, loo_cells)
        assert float(loo_cells[f"loo.{m}.elpd_diff"]) == pytest.approx(rec["elpd_diff"], rel=1e-9)
    assert "loo.ar1.elpd" in loo_cells and "loo.ar1.rank" not in loo_cells
    assert "Formula (bambi) models are ranked against the built-in models" in html
