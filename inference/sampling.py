"""Run NUTS on a built model and return one DataTree with everything the reports and LOO need.

Groups: posterior, posterior_predictive (`y`), log_likelihood (`y`), observed_data (`y`), sample_stats.
nutpie ignores `idata_kwargs`, so the log-likelihood is always computed after sampling. Wall time includes
compilation (it dominates at this data size) and is stored in the tree's attrs and returned.
"""

from __future__ import annotations

import importlib.util
import os
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import xarray as xr

from ctfp.core.errors import InputError

SAMPLERS: tuple[str, ...] = ("pymc", "nutpie", "numpyro")
# PyTensor compute backends: "c" (C + VM), "numba" (PyMC 6's default), "jax". The backend compiles the model's
# log-density for PyMC's NUTS and the log-likelihood / posterior-predictive functions for every sampler.
BACKENDS: tuple[str, ...] = ("c", "numba", "jax")


@dataclass(frozen=True)
class SamplerConfig:
    """Explicit sampler settings; every run is seeded."""

    sampler: str = "pymc"
    draws: int = 1000
    tune: int = 1000
    chains: int = 4
    seed: int = 20251201
    target_accept: float = 0.9
    cores: int | None = None
    backend: str = "numba"

    def __post_init__(self) -> None:
        if self.sampler not in SAMPLERS:
            raise InputError(f"sampler '{self.sampler}' unknown: use one of {', '.join(SAMPLERS)}")
        for name in ("draws", "tune", "chains"):
            if int(getattr(self, name)) < 1:
                raise InputError(f"--{name} must be at least 1")
        if not 0.5 <= self.target_accept < 1:
            raise InputError("target_accept must be in [0.5, 1)")
        if self.backend not in BACKENDS:
            raise InputError(f"backend '{self.backend}' unknown: use one of {', '.join(BACKENDS)}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_sampler_available(sampler: str) -> None:
    """numpyro/jax are an optional extra: say how to install them rather than fail deep inside PyMC."""
    if sampler == "numpyro" and (
        importlib.util.find_spec("numpyro") is None or importlib.util.find_spec("jax") is None
    ):
        raise InputError("sampler 'numpyro' needs the optional extra: pip install 'ctfp[numpyro]' (or use pymc/nutpie)")
    if sampler == "nutpie" and importlib.util.find_spec("nutpie") is None:
        raise InputError("sampler 'nutpie' is not installed: pip install nutpie (or use --sampler pymc)")


def sampler_backend_kwargs(cfg: SamplerConfig) -> dict[str, Any]:
    """pm.sample's backend argument for `cfg`: PyMC's NUTS and nutpie compile with it; numpyro needs JAX."""
    if cfg.sampler == "numpyro":
        return {}
    if cfg.sampler == "nutpie":
        # nutpie compiles with numba or jax only
        return {"backend": cfg.backend if cfg.backend in ("numba", "jax") else "numba"}
    return {"backend": cfg.backend}


def predictive_backend(cfg: SamplerConfig) -> str:
    """Backend of the posterior-predictive draws: the ordered beta's random draws are Python, which JAX cannot run."""
    return "c" if cfg.backend == "jax" else cfg.backend


def sample_model(model: Any, cfg: SamplerConfig, *, progress: bool = True, predictive: bool = True) -> xr.DataTree:
    """Sample `model` with `cfg`; add log-likelihood and posterior predictive of `y`; record wall time."""
    import pymc as pm

    check_sampler_available(cfg.sampler)
    cores = cfg.cores or min(cfg.chains, os.cpu_count() or 1)
    t0 = time.perf_counter()
    dt = pm.sample(
        draws=cfg.draws,
        tune=cfg.tune,
        chains=cfg.chains,
        cores=cores,
        random_seed=cfg.seed,
        nuts_sampler=cfg.sampler,
        nuts={"target_accept": cfg.target_accept},
        progressbar=progress,
        compute_convergence_checks=False,
        model=model,
        **sampler_backend_kwargs(cfg),
    )
    t_sampled = time.perf_counter() - t0
    observed = [v.name for v in model.observed_RVs]
    pm.compute_log_likelihood(dt, var_names=["y"], model=model, progressbar=False, backend=cfg.backend)
    if predictive:
        pm.sample_posterior_predictive(
            dt, model=model, var_names=["y"], random_seed=cfg.seed + 1, extend_inferencedata=True, progressbar=False,
            backend=predictive_backend(cfg),
        )
    if "observed_data" not in dt.children:
        # nutpie's tree lacks it on some versions: rebuild from the model's observed data.
        dt["observed_data"] = xr.Dataset(
            {name: (("obs",), model.rvs_to_values[model[name]].eval()) for name in observed}
        )
    wall = time.perf_counter() - t0
    # The samplers stamp the time of the draws alone on the posterior; the rest of pm.sample is compilation,
    # initialisation and process start-up.
    draws_s = float(dt["posterior"].attrs.get("sampling_time", np.nan))
    dt.attrs["wall_s"] = round(wall, 3)
    dt.attrs["sampling_incl_compile_s"] = round(t_sampled, 3)
    dt.attrs["draws_s"] = round(draws_s, 3)
    dt.attrs["compile_s"] = round(t_sampled - draws_s, 3)
    dt.attrs["postprocess_s"] = round(wall - t_sampled, 3)
    dt.attrs["sampler"] = cfg.sampler
    dt.attrs["backend"] = cfg.backend
    dt.attrs["seed"] = cfg.seed
    return dt


def sbc_ranks(
    model: Any,
    var_names: list[str],
    *,
    n_reps: int = 20,
    draws: int = 200,
    tune: int = 300,
    seed: int = 0,
    data_name: str = "y_obs",
    thin_to: int = 99,
) -> dict[str, np.ndarray]:
    """Simulation-based calibration (Talts et al. 2018): ranks of prior draws among posterior draws.

    Draws (parameters, y) jointly from the prior predictive, then refits the SAME compiled nutpie model with
    `y` swapped through `pm.Data` (`with_data`), so only the first fit pays compilation. Returns, per variable,
    the ranks in 0..thin_to; a calibrated sampler gives uniform ranks.
    """
    import nutpie
    import pymc as pm

    prior = pm.sample_prior_predictive(draws=n_reps, model=model, random_seed=seed)
    compiled = nutpie.compile_pymc_model(model, backend="numba")
    ranks: dict[str, list[int]] = {v: [] for v in var_names}
    for i in range(n_reps):
        y = np.asarray(prior["prior_predictive"]["y"].isel(chain=0, draw=i).values)
        post = nutpie.sample(
            compiled.with_data(**{data_name: y}), draws=draws, tune=tune, chains=1, seed=seed + 1 + i,
            progress_bar=False,
        )
        for v in var_names:
            truth = float(prior["prior"][v].isel(chain=0, draw=i).values)
            samples = np.asarray(post["posterior"][v].values).ravel()
            # Thin to thin_to draws so ranks are comparable and less autocorrelated.
            samples = samples[np.linspace(0, samples.size - 1, thin_to).astype(int)]
            ranks[v].append(int(np.sum(samples < truth)))
    return {v: np.asarray(r) for v, r in ranks.items()}
