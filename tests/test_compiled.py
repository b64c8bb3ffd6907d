"""Compiled models reused across fits of the same structure (`inference.sampling.structure_key`).

A refit with other data swaps the data into the compiled nutpie model: it must give exactly the draws a fresh
build and compilation give, without compiling again; a different structure must compile anew.
"""

from __future__ import annotations

import numpy as np
import pytest

from ctfp.inference.sampling import COMPILE_STATS, SamplerConfig, clear_compiled, sample_model, structure_key
from ctfp.models.bayes.builder import build_model
from ctfp.models.bayes.sim import simulate_panel
from ctfp.models.bayes.spec import BayesSpec, PriorScales

SPEC = BayesSpec("ctfp", "ai", controls=("pop",), splits=("g_ua",))


@pytest.mark.parametrize("kwargs, likelihood, extra", [
    ({}, "normal", {"splits": ("g_ua",)}),
    ({"censor": True}, "censored", {}),
    ({"ordbeta": True}, "ordbeta", {}),
    ({"instrument": True}, "normal", {"instrument": "iv_tel"}),
    ({}, "normal", {"serial": "ar1"}),
])
def test_key_ignores_data_values_but_not_structure(kwargs, likelihood, extra) -> None:
    p1, _ = simulate_panel(10, 5, seed=2, **kwargs)
    p2, _ = simulate_panel(10, 5, seed=3, **kwargs)
    spec = BayesSpec("ctfp", "ai", controls=("pop",), likelihood=likelihood, **extra)
    k1 = structure_key(build_model(p1, spec), "jax")
    # every data-dependent value (standardisation, bases, weights) is pm.Data: another world, the same key
    assert structure_key(build_model(p2, spec), "jax") == k1
    assert structure_key(build_model(p1, spec), "numba") != k1
    other_prior = BayesSpec("ctfp", "ai", controls=("pop",), likelihood=likelihood,
                            priors=PriorScales(beta=2.0), **extra)
    assert structure_key(build_model(p1, other_prior), "jax") != k1
    more_controls = BayesSpec("ctfp", "ai", controls=("pop", "hum"), likelihood=likelihood, **extra)
    assert structure_key(build_model(p1, more_controls), "jax") != k1
    fewer_cities, _ = simulate_panel(9, 5, seed=2, **kwargs)
    assert structure_key(build_model(fewer_cities, spec), "jax") != k1


@pytest.mark.slow
def test_refit_reuses_the_compiled_model_and_matches_a_fresh_build() -> None:
    cfg = SamplerConfig(draws=150, tune=150, chains=2, seed=3)
    p1, t1 = simulate_panel(12, 6, seed=2, beta=0.02)
    p2, t2 = simulate_panel(12, 6, seed=7, beta=0.12)
    clear_compiled()
    first = sample_model(build_model(p1, SPEC), cfg, progress=False, predictive=False)  # its draws are all it needs
    import jax

    assert jax.config.values["jax_cpu_enable_async_dispatch"] is False  # JAX runs the log density in the chain's thread
    reused = sample_model(build_model(p2, SPEC), cfg, progress=False)
    assert COMPILE_STATS == {"compiled": 1, "reused": 1}
    clear_compiled()
    fresh = sample_model(build_model(p2, SPEC), cfg, progress=False)
    assert COMPILE_STATS == {"compiled": 1, "reused": 0}
    for group, var in [("posterior", "beta"), ("posterior", "sigma"), ("posterior", "slope_group"),
                       ("posterior", "city_effect"), ("log_likelihood", "y"), ("posterior_predictive", "y"),
                       ("observed_data", "y")]:
        np.testing.assert_array_equal(reused[group][var].values, fresh[group][var].values, err_msg=var)
    # the refit answers for world 2, not world 1 (true slopes 0.02 vs 0.12)
    b1, b2 = float(first["posterior"]["beta"].mean()), float(reused["posterior"]["beta"].mean())
    assert abs(b1 - t1["beta"]) < abs(b1 - t2["beta"]) and abs(b2 - t2["beta"]) < abs(b2 - t1["beta"])
    # a different structure compiles again
    other = BayesSpec("ctfp", "ai", controls=("pop",), serial="none", error_scale="common")  # cheap to compile
    sample_model(build_model(p1, other), cfg, progress=False, predictive=False)
    assert COMPILE_STATS == {"compiled": 2, "reused": 0}
