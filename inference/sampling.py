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

import xarray as xr

from ctfp.data.errors import InputError

SAMPLERS: tuple[str, ...] = ("pymc", "nutpie", "numpyro")


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

    def __post_init__(self) -> None:
        if self.sampler not in SAMPLERS:
            raise InputError(f"sampler '{self.sampler}' unknown: use one of {', '.join(SAMPLERS)}")
        for name in ("draws", "tune", "chains"):
            if int(getattr(self, name)) < 1:
                raise InputError(f"--{name} must be at least 1")
        if not 0.5 <= self.target_accept < 1:
            raise InputError("target_accept must be in [0.5, 1)")

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
    )
    t_sampled = time.perf_counter() - t0
    observed = [v.name for v in model.observed_RVs]
    pm.compute_log_likelihood(dt, var_names=["y"], model=model, progressbar=False)
    if predictive:
        pm.sample_posterior_predictive(
            dt, model=model, var_names=["y"], random_seed=cfg.seed + 1, extend_inferencedata=True, progressbar=False
        )
    if "observed_data" not in dt.children:
        # nutpie's tree lacks it on some versions: rebuild from the model's observed data.
        dt["observed_data"] = xr.Dataset(
            {name: (("obs",), model.rvs_to_values[model[name]].eval()) for name in observed}
        )
    wall = time.perf_counter() - t0
    dt.attrs["wall_s"] = round(wall, 3)
    dt.attrs["sampling_incl_compile_s"] = round(t_sampled, 3)
    dt.attrs["sampler"] = cfg.sampler
    dt.attrs["seed"] = cfg.seed
    return dt
