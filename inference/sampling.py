"""Run NUTS on a built model and return one DataTree with everything the reports and LOO need.

Groups: posterior, posterior_predictive (`y`), log_likelihood (`y`), log_prior (each free variable; used by the
sensitivity check, not written to posterior.nc), observed_data (`y`), sample_stats.
nutpie ignores `idata_kwargs`, so the log-likelihood is always computed after sampling. Wall time includes
compilation (it dominates at this data size) and is stored in the tree's attrs and returned.

Default: nutpie's NUTS on a JAX-compiled log-density (docs/bayes.md, "first run"). Measured on 2 cores with an
empty compile cache, XLA compiles the demo's models in seconds where numba took minutes, and the draws do not
depend on what a cache held (numba's fastmath code did). Compiled nutpie models are kept per process, keyed by
the model's structure (`structure_key`): a refit of the same structure with other data (`pm.Data`) swaps the
data into the compiled model instead of compiling again.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ctfp.core.errors import InputError

SAMPLERS: tuple[str, ...] = ("pymc", "nutpie", "numpyro")
# PyTensor compute backends: "c" (C + VM), "numba" (PyMC 6's default), "jax". The backend compiles the model's
# log-density for PyMC's NUTS and the log-likelihood / posterior-predictive functions for every sampler.
BACKENDS: tuple[str, ...] = ("c", "numba", "jax")
# Per sampler when `backend` is not given: nutpie and numpyro on JAX (fast, cache-independent compilation);
# PyMC's own NUTS on C (its JAX path calls back into Python at every step; C compiles 2x faster than numba cold).
DEFAULT_BACKEND: dict[str, str] = {"nutpie": "jax", "numpyro": "jax", "pymc": "c"}


@dataclass(frozen=True)
class SamplerConfig:
    """Explicit sampler settings; every run is seeded."""

    sampler: str = "nutpie"
    draws: int = 1000
    tune: int = 1000
    chains: int = 4
    seed: int = 20251201
    target_accept: float = 0.9
    cores: int | None = None
    backend: str | None = None  # None: DEFAULT_BACKEND of the sampler

    def __post_init__(self) -> None:
        if self.sampler not in SAMPLERS:
            raise InputError(f"sampler '{self.sampler}' unknown: use one of {', '.join(SAMPLERS)}")
        if self.backend is None:
            object.__setattr__(self, "backend", DEFAULT_BACKEND[self.sampler])
        for name in ("draws", "tune", "chains"):
            if int(getattr(self, name)) < 1:
                raise InputError(f"--{name} must be at least 1")
        if self.cores is not None and int(self.cores) < 1:
            raise InputError("--cores must be at least 1")
        if not 0.5 <= self.target_accept < 1:
            raise InputError("target_accept must be in [0.5, 1)")
        if self.backend not in BACKENDS:
            raise InputError(f"backend '{self.backend}' unknown: use one of {', '.join(BACKENDS)}")
        if self.sampler == "nutpie" and self.backend == "c":
            raise InputError("nutpie compiles with backend 'jax' or 'numba', not 'c'")
        if self.sampler == "numpyro" and self.backend != "jax":
            raise InputError("sampler 'numpyro' runs on backend 'jax' only")

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


def check_backend_available(backend: str) -> None:
    if backend == "jax" and importlib.util.find_spec("jax") is None:
        raise InputError("backend 'jax' needs jax: pip install 'jax==0.12.0.1' (or reinstall ctfp)")


def jax_runs_inline() -> None:
    """Run JAX's CPU programs in the calling thread, each on one core (no dispatch thread, no intra-op pool).

    A log density here is a few hundred small ops called about 100,000 times per fit from nutpie's chain threads.
    Two settings, both read when JAX creates its CPU client (so this runs before the first JAX computation of the
    process; a value the user exported for `PJRT_NPROC` is kept):
    - asynchronous dispatch off: handing each call to JAX's dispatch thread and waiting for it cost about a fifth
      of the draws (headline, 4 x (1000 + 1000): 51.6 s async, 42.3 s inline, on 2 cores);
    - an intra-op pool of one thread (`PJRT_NPROC=1`; XLA's default is one per core): with the default, each
      call's ops were spread over a pool that the chains' own threads compete with, which cost a third more CPU
      and wall time per gradient (headline, 4 x (300 + 1000) on 2 cores: 50.0 s with the pool, 38.3 s without;
      CPU 88 s against 63 s). The chains are the parallelism; one gradient is too small to split.
    """
    os.environ.setdefault("PJRT_NPROC", "1")
    import jax

    jax.config.update("jax_cpu_enable_async_dispatch", False)


def prepare_jax() -> None:
    """JAX set up for ctfp's fits, before the process's first JAX computation: its programs run inline and its
    compiled programs persist between runs."""
    jax_runs_inline()
    use_jax_cache()


JAX_CACHE_ENV = "CTFP_JAX_CACHE"  # a folder for JAX's compiled programs, or empty to keep none
JAX_CACHE_MAX_BYTES = 2 * 1024**3


def jax_cache_dir() -> Path | None:
    """Where XLA's compiled programs persist between runs: $CTFP_JAX_CACHE (empty: nowhere), else
    $XDG_CACHE_HOME/ctfp/jax or ~/.cache/ctfp/jax (the counterpart of PyTensor's ~/.pytensor and numba's cache)."""
    value = os.environ.get(JAX_CACHE_ENV)
    if value is not None:
        return Path(value).expanduser() if value.strip() else None
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ctfp" / "jax"


def use_jax_cache() -> None:
    """JAX's persistent compilation cache in `jax_cache_dir()`, unless the user configured JAX's own.

    Each fit compiles a handful of XLA programs (log density and gradient, pointwise log-likelihood with the
    log prior, predictive), 0.1-1 s each: on a rerun of a 4-model study file they are read back instead of
    compiled (tests/test_bayes_report_sensitivity.py: 68 s with an empty cache, 55 s with a filled one). A cache entry
    is keyed by the program, JAX/XLA versions and the machine's CPU features, so a hit is the same executable
    and the same draws (tests/test_reproducible.py). The size bound turns on JAX's LRU eviction, which reads
    and writes under a file lock: safe for the parallel processes of a Dask cluster or a test run. Must run
    before the process's first JAX compilation (JAX sets its cache up once). A $CTFP_JAX_CACHE that cannot be
    created or written is one InputError line (JAX itself would warn at every compile and go on without it); an
    unusable default folder (a read-only home) means no cache, as before ctfp kept one."""
    import jax

    where = jax_cache_dir()
    if where is None:
        return
    try:
        where.mkdir(parents=True, exist_ok=True)
        why = "" if os.access(where, os.W_OK) else "not writable"
    except OSError as err:
        why = err.strerror or type(err).__name__
    if why:
        if JAX_CACHE_ENV in os.environ:
            raise InputError(f"{JAX_CACHE_ENV}={os.environ[JAX_CACHE_ENV]}: cannot keep JAX's compiled programs "
                             f"there ({why}); point it at a writable folder, or set it empty for no cache")
        return
    if jax.config.values.get("jax_compilation_cache_dir"):
        return
    jax.config.update("jax_compilation_cache_dir", str(where))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)  # JAX's default keeps only >1 s ones
    jax.config.update("jax_compilation_cache_max_size", JAX_CACHE_MAX_BYTES)


# Compiled nutpie models of this process: structure key -> (compiled model, the pm.Model it was compiled from).
_COMPILED: dict[str, tuple[Any, Any]] = {}
COMPILE_STATS: dict[str, int] = {"compiled": 0, "reused": 0}


def clear_compiled() -> None:
    """Forget the compiled models of this process (tests; memory)."""
    _COMPILED.clear()
    COMPILE_STATS.update(compiled=0, reused=0)


def structure_key(model: Any, backend: str, logp: Any = None) -> str:
    """A hash of everything about `model` except the values held in `pm.Data` (`logp`: its `model.logp()`, if
    the caller has built it already: building it is most of the cost).

    Covers the log-density and every deterministic (ops in topological order, constants with their values,
    `pm.Data` variables by name, dtype and shape), the coordinates, and the initial-value strategy. Two models
    with the same key compute the same functions of their data, so one compiled model serves both. A value that
    a builder leaves as a constant (not `pm.Data`) is part of the key: reuse is then never wrong, only missed.
    """
    from pytensor.compile.sharedvalue import SharedVariable
    from pytensor.graph.basic import Constant
    from pytensor.graph.traversal import toposort

    outputs = [model.logp() if logp is None else logp, *model.deterministics, *model.free_RVs]
    h = hashlib.sha256(f"{backend}|{[v.name for v in model.free_RVs]}|{[v.name for v in model.deterministics]}".encode())
    ids: dict[Any, int] = {}

    def ref(var: Any) -> str:
        if var.owner is not None:
            return f"n{ids[var.owner]}.{var.owner.outputs.index(var)}"
        if isinstance(var, SharedVariable):
            val = var.get_value(borrow=True)
            return f"s:{var.name}:{np.asarray(val).dtype}:{np.shape(val)}"
        if isinstance(var, Constant):
            data = np.asarray(var.data)
            return f"c:{var.type}:{data.dtype}:{data.shape}:{hashlib.sha256(data.tobytes()).hexdigest()}"
        return f"i:{var.name}:{var.type}"

    for node in toposort(outputs):
        ids[node] = len(ids)
        h.update(f"{node.op}|{[ref(i) for i in node.inputs]}|{[str(o.type) for o in node.outputs]};".encode())
    h.update(repr(sorted((k, tuple(map(str, v)) if v is not None else None) for k, v in model.coords.items())).encode())
    h.update(repr({v.name: str(model.rvs_to_initial_values.get(v)) for v in model.free_RVs}).encode())
    return h.hexdigest()


def nutpie_gradient(model: Any, backend: str) -> str:
    """Which autodiff nutpie's gradient comes from: JAX's own for a JAX model whose observed variables are all
    normal, PyTensor's gradient graph otherwise.

    Measured on the demo panel, 4 x (300 + 1000) on 2 cores, same draws either way: JAX's gradient cut the draws
    of the AR(1) headline model from 48.3 to 43.7 s and of the group-slope model from 41.8 to 34.6 s (the FE-IV:
    30.2 -> 26.4 s at 1000 + 1000). It is no faster for the censored model, and for the ordered beta it gives a
    NaN initial gradient (JAX differentiates through both branches of the likelihood's `switch`), so models
    with those likelihoods keep PyTensor's.
    """
    from pytensor.tensor.random.basic import NormalRV

    if backend != "jax":
        return "pytensor"
    return "jax" if all(isinstance(rv.owner.op, NormalRV) for rv in model.observed_RVs) else "pytensor"


def compile_nutpie(model: Any, backend: str) -> Any:
    """nutpie's compiled model of `model` (no reuse: see `compiled_nutpie`); its data stay inputs of the compiled
    function, not constants, so `with_data` can swap them."""
    import nutpie

    if backend == "jax":
        prepare_jax()
        return nutpie.compile_pymc_model(model, backend="jax", freeze_model=False,
                                         gradient_backend=nutpie_gradient(model, backend))
    return nutpie.compile_pymc_model(model, backend=backend, freeze_model=False)


def compiled_nutpie(model: Any, backend: str) -> Any:
    """The nutpie model for `model`: compiled once per structure, then reused with the new model's data."""
    import pymc as pm

    logp = model.logp()  # built once for both (about 1.5 s for the report test's group-slope model on 2 cores)
    key = structure_key(model, backend, logp)  # the gradient engine is a function of the structure (nutpie_gradient)
    data = {name: var.get_value() for name, var in _data_vars(model, logp).items()}
    if key in _COMPILED:
        compiled, source = _COMPILED[key]
        # The compiled functions read nutpie's copy of the data; the initial-point function reads the source
        # model's pm.Data, so both are updated.
        pm.set_data(data, model=source)
        COMPILE_STATS["reused"] += 1
        return compiled.with_data(**data)
    compiled = compile_nutpie(model, backend)
    _COMPILED[key] = (compiled, model)
    COMPILE_STATS["compiled"] += 1
    return compiled


def _data_vars(model: Any, logp: Any) -> dict[str, Any]:
    """The `pm.Data` variables the log-density `logp` or a deterministic reads (what a compiled nutpie model
    holds)."""
    from pytensor.compile.sharedvalue import SharedVariable
    from pytensor.graph.traversal import graph_inputs

    used = graph_inputs([logp, *model.deterministics])
    return {v.name: v for v in used if isinstance(v, SharedVariable) and v in set(model.data_vars)}


def sampler_backend_kwargs(cfg: SamplerConfig) -> dict[str, Any]:
    """pm.sample's backend argument for `cfg` (numpyro always compiles with JAX)."""
    return {} if cfg.sampler == "numpyro" else {"backend": cfg.backend}


def predictive_backend(cfg: SamplerConfig, model: Any) -> str:
    """Backend of the posterior-predictive draws: a CustomDist's Python random function (the ordered beta's) cannot
    run in JAX, so such a model draws with the C backend."""
    from pymc.distributions.custom import CustomDistRV

    if cfg.backend == "jax" and any(isinstance(rv.owner.op, CustomDistRV) for rv in model.observed_RVs):
        return "c"
    return cfg.backend


def forward_model(model: Any, backend: str) -> Any:
    """The model forward draws are compiled from: for JAX with its dims and data frozen into constants (JAX needs
    static shapes; a prior draw of a city effect has the length of a `city` dim held in a shared variable)."""
    if backend != "jax":
        return model
    from pymc.model.transform.optimization import freeze_dims_and_data

    return freeze_dims_and_data(model)


def prepare_sampler(cfg: SamplerConfig) -> None:
    """Before a fit with `cfg`: its sampler and backend are installed (one clear line if not), and JAX, if it is
    the backend, is set up (`prepare_jax`: before JAX creates its client)."""
    check_sampler_available(cfg.sampler)
    check_backend_available(str(cfg.backend))
    if cfg.backend == "jax":
        prepare_jax()


def add_log_densities(dt: xr.DataTree, model: Any, backend: str, var: str = "y") -> None:
    """Add the pointwise log-likelihood of `var` (group `log_likelihood`, for LOO) and the log prior density of
    every free variable (group `log_prior`, for the power-scaling sensitivity check) to `dt`, both from ONE
    compiled function over the posterior draws.

    What `pm.compute_log_likelihood` and `pm.compute_log_prior` each do (on the model without value transforms,
    since the posterior holds constrained values), in one pass: PyTensor's graph rewrites are not cached between
    calls, and each call paid them again for its own function (about 1-2 s per model on 2 cores), besides its
    own XLA or C compile.
    """
    from pymc.backends.arviz import apply_function_over_dataset, coords_and_dims_for_inferencedata
    from pymc.model.transform.conditioning import remove_value_transforms
    from pymc.pytensorf import resolve_backend_compile_kwargs

    umodel = remove_value_transforms(model)
    targets = [umodel[var], *umodel.free_RVs]
    names = [rv.name for rv in targets]
    fn = umodel.compile_fn(inputs=umodel.value_vars, outs=umodel.logp(vars=targets, sum=False),
                           on_unused_input="ignore", **resolve_backend_compile_kwargs(backend, None))
    coords, dims = coords_and_dims_for_inferencedata(umodel)
    # the value variables' own dtypes, so that the compiled function's strict input checks pass
    draws = dt["posterior"].to_dataset()[names[1:]].astype(
        {umodel.rvs_to_values[rv].name: umodel.rvs_to_values[rv].type.dtype for rv in umodel.free_RVs}, copy=False)
    dens = apply_function_over_dataset(fn, draws, output_var_names=names, sample_dims=("chain", "draw"), dims=dims,
                                       coords=coords, progressbar=False)
    dt["log_likelihood"] = xr.DataTree(dens[[var]])
    dt["log_prior"] = xr.DataTree(dens[names[1:]])


def drop_log_prior(dt: xr.DataTree) -> None:
    """Remove the `log_prior` group once the sensitivity check has read it: as large as the posterior, and not
    what a run folder's posterior.nc is for."""
    if "log_prior" in dt.children:
        del dt["log_prior"]


def add_pointwise_and_predictive(dt: xr.DataTree, model: Any, cfg: SamplerConfig, var: str = "y", *,
                                 predictive: bool = True) -> None:
    """Add the log-likelihood of `var` and the log prior (`add_log_densities`) and, with `predictive`, its posterior
    predictive draws (seed `cfg.seed + 1`) to `dt`, compiled on the fit's backend."""
    import pymc as pm

    add_log_densities(dt, model, str(cfg.backend), var)
    if predictive:
        fwd = predictive_backend(cfg, model)
        pm.sample_posterior_predictive(
            dt, model=forward_model(model, fwd), var_names=[var], random_seed=cfg.seed + 1, extend_inferencedata=True,
            progressbar=False, backend=fwd,
        )


def sample_model(model: Any, cfg: SamplerConfig, *, progress: bool = True, predictive: bool = True) -> xr.DataTree:
    """Sample `model` with `cfg`; add log-likelihood and posterior predictive of `y`; record wall time."""
    import pymc as pm
    import pytensor
    from pymc.pytensorf import resolve_backend_compile_kwargs

    prepare_sampler(cfg)
    cores = cfg.cores or min(cfg.chains, os.cpu_count() or 1)
    import multiprocessing

    if multiprocessing.current_process().daemon:  # a Dask worker: no child processes; the chains run in turn
        cores = 1  # (each chain has its own seed either way: the draws are the same)
    t0 = time.perf_counter()
    if cfg.sampler == "nutpie":
        dt = _sample_nutpie(model, cfg, cores, progress)
    else:
        # pm.sample compiles the trace's point function (values -> stored variables) in PyTensor's default mode,
        # not the backend asked for: numba, 50 s on an empty cache for a 60-row model. Compile it on the fit's
        # backend like everything else (PyMC's own backend-to-mode mapping, the one `backend=` goes through).
        with pytensor.config.change_flags(mode=resolve_backend_compile_kwargs(str(cfg.backend), None)["mode"]):
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
    add_pointwise_and_predictive(dt, model, cfg, predictive=predictive)
    if "observed_data" not in dt.children:
        # nutpie's tree lacks it on some versions: rebuild from the model's observed data.
        dt["observed_data"] = xr.Dataset(
            {name: (("obs",), model.rvs_to_values[model[name]].eval(mode="FAST_COMPILE")) for name in observed}
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


def _sample_nutpie(model: Any, cfg: SamplerConfig, cores: int, progress: bool) -> xr.DataTree:
    import nutpie
    from pymc.backends.arviz import patch_nutpie_idata

    compiled = compiled_nutpie(model, str(cfg.backend))
    t0 = time.perf_counter()
    dt = nutpie.sample(compiled, draws=cfg.draws, tune=cfg.tune, chains=cfg.chains, cores=cores, seed=cfg.seed,
                       target_accept=cfg.target_accept, progress_bar=progress, save_warmup=False)
    patch_nutpie_idata(dt, model, sampling_time=time.perf_counter() - t0)
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

    Draws (parameters, y) jointly from the prior predictive, then refits the SAME compiled nutpie model
    (`compiled_nutpie`) with `y` swapped through `pm.Data` (`with_data`), so only the first fit pays compilation. Returns, per variable,
    the ranks in 0..thin_to; a calibrated sampler gives uniform ranks.
    """
    import nutpie
    import pymc as pm

    backend = DEFAULT_BACKEND["nutpie"]
    if backend == "jax":
        prepare_jax()
    fwd = predictive_backend(SamplerConfig(backend=backend), model)
    prior = pm.sample_prior_predictive(draws=n_reps, model=forward_model(model, fwd), random_seed=seed, backend=fwd)
    compiled = compiled_nutpie(model, backend)
    ranks: dict[str, list[int]] = {v: [] for v in var_names}
    for i in range(n_reps):
        y = np.asarray(prior["prior_predictive"]["y"].isel(chain=0, draw=i).values)
        post = nutpie.sample(
            compiled.with_data(**{data_name: y}), draws=draws, tune=tune, chains=1, seed=seed + 1 + i,
            progress_bar=False, save_warmup=False,
        )
        for v in var_names:
            truth = float(prior["prior"][v].isel(chain=0, draw=i).values)
            samples = np.asarray(post["posterior"][v].values).ravel()
            # Thin to thin_to draws so ranks are comparable and less autocorrelated.
            samples = samples[np.linspace(0, samples.size - 1, thin_to).astype(int)]
            ranks[v].append(int(np.sum(samples < truth)))
    return {v: np.asarray(r) for v, r in ranks.items()}
