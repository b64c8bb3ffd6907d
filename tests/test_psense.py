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


def test_log_likelihood_and_log_prior_from_one_function_are_pymcs() -> None:
    """`add_log_densities` compiles the pointwise log-likelihood and the log prior as one function: each equals
    what PyMC's own `compute_log_likelihood` / `compute_log_prior` give, and the closed-form densities at the
    draws (the prior on the constrained scale, no Jacobian: sigma's half-normal, not its log-transform's)."""
    import numpy as np
    import pymc as pm
    import xarray as xr

    from ctfp.inference.sampling import add_log_densities, drop_log_prior

    y = np.linspace(-1.0, 3.0, 12)
    with pm.Model() as model:
        mu = pm.Normal("mu", 0.0, 10.0)
        sigma = pm.HalfNormal("sigma", 2.0)
        pm.Normal("y", mu, sigma, observed=y)
    rng = np.random.default_rng(5)
    post = xr.Dataset({"mu": (("chain", "draw"), rng.normal(1.0, 0.3, (2, 7))),
                       "sigma": (("chain", "draw"), rng.uniform(0.5, 2.0, (2, 7)))})
    dt = xr.DataTree.from_dict({"posterior": post})
    add_log_densities(dt, model, "jax")

    ref_ll = pm.compute_log_likelihood(dt, model=model, extend_inferencedata=False, progressbar=False, backend="jax")
    ref_lp = pm.stats.compute_log_prior(dt, model=model, extend_inferencedata=False, progressbar=False, backend="jax")
    ll, lp = dt["log_likelihood"].to_dataset(), dt["log_prior"].to_dataset()
    np.testing.assert_array_equal(ll["y"].values, ref_ll["y"].values)
    assert sorted(lp.data_vars) == ["mu", "sigma"]
    for v in ("mu", "sigma"):
        np.testing.assert_array_equal(lp[v].values, ref_lp[v].values)

    # PyMC's normal density carries its constant log(2 pi)/2 to about 3e-8; a Jacobian term would be log(sigma)
    m, s = post["mu"].values, post["sigma"].values
    half = 0.5 * np.log(2 * np.pi)
    np.testing.assert_allclose(lp["mu"].values, -half - np.log(10.0) - 0.5 * (m / 10.0) ** 2, atol=1e-7)
    np.testing.assert_allclose(lp["sigma"].values, np.log(2.0) - half - np.log(2.0) - 0.5 * (s / 2.0) ** 2, atol=1e-7)
    z = (y[None, None, :] - m[..., None]) / s[..., None]
    np.testing.assert_allclose(ll["y"].values, -half - np.log(s[..., None]) - 0.5 * z**2, atol=1e-7)
    assert ll["y"].dims[:2] == ("chain", "draw") and ll["y"].shape == (2, 7, 12)

    drop_log_prior(dt)
    assert "log_prior" not in dt.children and "log_likelihood" in dt.children
