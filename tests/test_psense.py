"""Power-scaling prior sensitivity (inference/psense.py): a prior that decides the answer is flagged, a weak one not."""

from __future__ import annotations

import json

import pytest

from ctfp.inference.fit import fit_spec
from ctfp.inference.psense import is_group_level, reported_quantities
from ctfp.inference.sampling import SamplerConfig
from ctfp.models.bayes.sim import simulate_panel
from ctfp.models.bayes.spec import BayesSpec, PriorScales


def test_group_level_effects_are_not_power_scaled() -> None:
    assert is_group_level("u_city") and is_group_level("year_effect") and is_group_level("z_city_first")
    assert not is_group_level("sigma_city") and not is_group_level("beta_std") and not is_group_level("alpha")


@pytest.mark.slow
def test_tight_prior_is_flagged_default_is_not(tmp_path) -> None:
    # True slope 0.05 per unit of ai; sd(ai within) ~ 0.5 and sd(y) ~ 0.1, so the standardised slope is ~0.25.
    # A Normal(0, 0.01) prior on it pulls the posterior far from the likelihood: prior-data conflict.
    panel, _ = simulate_panel(20, 8, seed=3)
    cfg = SamplerConfig(draws=500, tune=500, chains=2, seed=4)
    out = {}
    for name, priors in (("default", PriorScales()), ("tight", PriorScales(beta=0.01))):
        # iid errors, one sd: the power-scaling machinery is what is checked, and the AR(1) default costs minutes
        spec = BayesSpec("ctfp", "ai", controls=("pop", "hum"), priors=priors, serial="none", error_scale="common")
        summary = fit_spec(panel, spec, cfg, tmp_path / name, progress=False)
        stored = json.loads((tmp_path / name / "summary.json").read_text())["prior_sensitivity"]
        assert stored == json.loads(json.dumps(summary["prior_sensitivity"]))
        out[name] = stored
    default, tight = out["default"]["quantities"], out["tight"]["quantities"]
    assert set(default) == {"ame", "beta"} and out["default"]["threshold"] == 0.05
    assert "u_city" not in out["default"]["scaled_priors"] and "beta_std" in out["default"]["scaled_priors"]
    assert not default["ame"]["flagged"] and default["ame"]["prior"] < 0.05 < default["ame"]["likelihood"]
    assert tight["ame"]["flagged"] and tight["ame"]["prior"] > 0.05, tight
    assert "ame" in out["tight"]["flagged"]


def test_reported_quantities_follow_the_spec() -> None:
    import xarray as xr

    post = xr.Dataset({k: ((), 0.0) for k in ("ame", "beta", "slope_group", "slope_diff", "pi")})
    assert reported_quantities(BayesSpec("y", "x"), post) == ["ame", "beta"]
    assert reported_quantities(BayesSpec("y", "x", splits=("g",)), post) == ["ame", "beta", "slope_group", "slope_diff"]
    assert reported_quantities(BayesSpec("y", "x", instrument="z"), post) == ["ame", "beta", "pi"]
