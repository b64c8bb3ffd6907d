"""PSIS-LOO stored once by the fit step (`data/loo_group.py`): the report and `az.compare` read it back exactly."""

from __future__ import annotations

import warnings
from pathlib import Path

import arviz as az
import numpy as np
import pytest
import xarray as xr
from scipy import stats

from ctfp.data.loo_group import LOO_GROUP, elpd_of
from ctfp.inference.contrasts import add_loo, compare_likelihoods


def _tree(seed: int, sd: float) -> xr.DataTree:
    """A posterior of a normal mean (4 chains x 200 draws) and the pointwise log-likelihood of 60 observations
    under an error sd of `sd` (the models differ only in it)."""
    rng = np.random.default_rng(seed)
    y = rng.normal(0.3, 1.0, 60)
    mu = rng.normal(y.mean(), 1 / np.sqrt(60), (4, 200))
    ll = stats.norm.logpdf(y[None, None, :], mu[..., None], sd)
    return xr.DataTree.from_dict({
        "posterior": xr.Dataset({"mu": (("chain", "draw"), mu)}),
        "log_likelihood": xr.Dataset({"y": (("chain", "draw", "obs"), ll)}),
        "observed_data": xr.Dataset({"y": (("obs",), y)}),
    })


def test_the_stored_loo_group_round_trips_through_the_posterior_file(tmp_path: Path) -> None:
    dt = _tree(1, 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fresh = az.loo(dt, var_name="y", pointwise=True)
    summary = add_loo(dt)
    assert summary["elpd_loo"] == pytest.approx(float(fresh.elpd), rel=1e-12)
    assert summary["max_pareto_k"] == pytest.approx(float(np.max(fresh.pareto_k)), rel=1e-12)
    dt.to_netcdf(tmp_path / "posterior.nc", engine="h5netcdf")
    back = xr.open_datatree(tmp_path / "posterior.nc", engine="h5netcdf")
    assert LOO_GROUP in back.children
    del back["log_likelihood"]  # read, not recomputed: the log-likelihood is no longer needed
    res = elpd_of(back)
    assert (res.elpd, res.se, res.p, res.n_samples, res.n_data_points) == pytest.approx(
        (fresh.elpd, fresh.se, fresh.p, fresh.n_samples, fresh.n_data_points), rel=1e-12)
    np.testing.assert_array_equal(res.elpd_i.values, fresh.elpd_i.values)
    np.testing.assert_array_equal(res.pareto_k.values, fresh.pareto_k.values)


def test_compare_on_stored_loo_equals_compare_on_the_trees() -> None:
    a, b = _tree(2, 1.0), _tree(2, 1.6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        on_trees = az.compare({"a": a, "b": b}, var_name="y", round_to="none")
    add_loo(a), add_loo(b)
    stored = az.compare({"a": elpd_of(a), "b": elpd_of(b)}, round_to="none")  # what the report passes
    assert list(stored.index) == list(on_trees.index) == ["a", "b"]  # the right sd predicts better
    for col in ("elpd", "elpd_diff", "dse", "weight", "p"):
        np.testing.assert_allclose(stored[col].astype(float), on_trees[col].astype(float), rtol=1e-12)
    assert list(compare_likelihoods({"a": a, "b": b}, {"a": "censored", "b": "ordbeta"}).index) == ["a", "b"]
