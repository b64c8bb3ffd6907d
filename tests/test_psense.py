"""Power-scaling prior sensitivity (inference/psense.py): which priors are scaled and which quantities reported.

That a prior deciding the answer is flagged and a weak one is not, stored in summary.json and shown on the page,
is tested on a run folder written by `ctfp run`: tests/test_bayes_report_sensitivity.py."""

from __future__ import annotations

from ctfp.inference.psense import is_group_level, reported_quantities
from ctfp.models.bayes.spec import BayesSpec


def test_group_level_effects_are_not_power_scaled() -> None:
    assert is_group_level("u_city") and is_group_level("year_effect") and is_group_level("z_city_first")
    assert not is_group_level("sigma_city") and not is_group_level("beta_std") and not is_group_level("alpha")


def test_reported_quantities_follow_the_spec() -> None:
    import xarray as xr

    post = xr.Dataset({k: ((), 0.0) for k in ("ame", "beta", "slope_group", "slope_diff", "pi")})
    assert reported_quantities(BayesSpec("y", "x"), post) == ["ame", "beta"]
    assert reported_quantities(BayesSpec("y", "x", splits=("g",)), post) == ["ame", "beta", "slope_group", "slope_diff"]
    assert reported_quantities(BayesSpec("y", "x", instrument="z"), post) == ["ame", "beta", "pi"]
