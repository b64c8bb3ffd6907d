"""Many fits of one model structure on many simulated panels: compile once, swap the data, sample.

`StructureFitter(spec, design)` compiles the model of `spec` on `design` once (nutpie on numba by default: it
compiles in minutes on a cold cache but then samples each refit 5-16x faster than JAX, whose per-gradient Python
dispatch dominates small models; `RefitConfig(backend="jax")` for a handful of fits; the data stay inputs of
the compiled function); `fit(other)`
refits it on another design of the same structure (same shapes, same rows-with-a-previous-year pattern) through
`with_data` and `ctfp.models.bayes.twoway.design_data`, which names every data-dependent array of the graph. A
refit of a 200-row panel takes under a second where a fresh build + compile takes 30-60 s, which is what makes
calibration studies, SBC and the design analysis (`ctfp simulate`) affordable on two cores.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from ctfp.core.errors import InputError
from ctfp.models.bayes.design import PanelDesign
from ctfp.models.bayes.spec import BayesSpec


@dataclass(frozen=True)
class RefitConfig:
    """Sampler settings of the many small refits (nutpie; a seed per fit is passed to `fit`)."""

    draws: int = 500
    tune: int = 500
    chains: int = 2
    cores: int = 1
    target_accept: float = 0.9
    # nutpie backend: numba compiles once per structure (minutes on a cold cache), then each refit samples 5-16x
    # faster than on JAX, whose per-gradient Python dispatch dominates small models; many refits is the use case
    backend: str = "numba"


def structure_key(design: PanelDesign, spec: BayesSpec) -> tuple[Any, ...]:
    """What must be equal for a compiled model to refit another design: spec, shapes and lag pattern."""
    from ctfp.models.bayes.twoway import design_data

    shapes = tuple(sorted((k, np.shape(v)) for k, v in design_data(design, spec).items()))
    return (spec, shapes, design.prev_idx.tobytes(), bool(np.any(design.y == 0)))


class StructureFitter:
    """One compiled model, refitted on designs of the same structure."""

    def __init__(self, spec: BayesSpec, design: PanelDesign, cfg: RefitConfig | None = None,
                 backend: str | None = None) -> None:
        from pytensor.compile.sharedvalue import SharedVariable
        from pytensor.graph.traversal import graph_inputs

        from ctfp.inference.sampling import check_backend_available, compile_nutpie
        from ctfp.models.bayes.builder import build_from_design

        self.spec = spec
        self.cfg = cfg or RefitConfig()
        backend = backend or self.cfg.backend
        check_backend_available(backend)
        self.key = structure_key(design, spec)
        self.model = build_from_design(design, spec)
        self.compiled = compile_nutpie(self.model, backend)
        used = graph_inputs([self.model.logp(), *self.model.deterministics])
        # the pm.Data the compiled graph reads (ordbeta never reads y_mean, say): only those can be swapped
        self.known = {v.name for v in used if isinstance(v, SharedVariable) and v in set(self.model.data_vars)}

    def fit(self, design: PanelDesign, seed: int) -> xr.DataTree:
        """Posterior (and sample_stats) of the model on `design`; the structure must match the compiled one."""
        from ctfp.models.bayes.twoway import design_data

        if structure_key(design, self.spec) != self.key:
            raise InputError("this panel's structure (shapes, years, spec) differs from the compiled model's")
        return self.fit_data(design_data(design, self.spec), seed)

    def fit_data(self, data: dict[str, np.ndarray], seed: int) -> xr.DataTree:
        """Posterior of the model with its pm.Data set to `data` (every name of `design_data`)."""
        import nutpie
        import pymc as pm

        c = self.cfg
        if "y_obs" not in self.known:  # never refit silently on the template's outcome
            raise RuntimeError("the compiled model does not read y_obs; cannot refit it on other data")
        data = {k: v for k, v in data.items() if k in self.known}
        pm.set_data(data, model=self.model)  # the initial-point function reads the source model's data
        return nutpie.sample(
            self.compiled.with_data(**data),
            draws=c.draws, tune=c.tune, chains=c.chains, cores=c.cores, seed=int(seed),
            target_accept=c.target_accept, progress_bar=False, save_warmup=False,
        )

    def log_likelihood(self, design: PanelDesign, dt: xr.DataTree) -> xr.DataTree:
        """Add the pointwise log-likelihood of `y` (for LOO) to `dt`, on `design`'s data."""
        import pymc as pm

        from ctfp.models.bayes.twoway import design_data

        with self.model:
            pm.set_data(design_data(design, self.spec))
        pm.compute_log_likelihood(dt, var_names=["y"], model=self.model, progressbar=False, backend="c")
        return dt


def forward_sampler(model: Any, output: str, seed: int) -> Any:
    """A compiled function drawing `output` given values of every free variable (by name) and the current data.

    The free variables are frozen (never resampled); set the model's data with `pm.set_data` between calls.
    """
    from pymc.sampling.forward import compile_forward_sampling_function

    fn, _ = compile_forward_sampling_function(
        outputs=[model[output]], vars_in_trace=list(model.free_RVs), basic_rvs=model.basic_RVs,
        freeze_vars=set(model.free_RVs), model=model, random_seed=seed, mode="FAST_RUN",
    )
    return fn


def sbc_ranks_spec(
    spec: BayesSpec,
    design: PanelDesign,
    var_names: list[str],
    *,
    n_reps: int = 30,
    cfg: RefitConfig | None = None,
    seed: int = 0,
    thin_to: int = 99,
) -> dict[str, Any]:
    """Simulation-based calibration (Talts et al. 2018) of the model of `spec` on the covariates of `design`.

    Each replication draws parameters from the prior and data from the model given them, refits the same compiled
    model (`StructureFitter`), and records the rank of the true value among `thin_to` evenly thinned posterior
    draws (0..thin_to; uniform when the sampler and model are calibrated). For the IV model the treatment is data
    too: the first stage draws it, then `y` is drawn given the drawn treatment (the same order as the model's
    factorisation). Returns {"ranks": {var: array}, "posteriors": {var: list of (mean, sd)}, "truth": {...},
    "divergences": [...]}: means and sds let a caller build a deliberately miscalibrated posterior.
    """
    import pymc as pm

    from ctfp.models.bayes.twoway import design_data

    fitter = StructureFitter(spec, design, cfg)
    model = fitter.model
    # Forward draws compile with the C backend: random ops (ordbeta's CustomDist, data-sized shapes) have no JAX
    # form, and a caller's default mode may be JAX (the test suite's is).
    prior = pm.sample_prior_predictive(draws=n_reps, model=model, random_seed=seed, backend="c")
    free = [v.name for v in model.free_RVs]
    base = design_data(design, spec)
    draw_y = forward_sampler(model, "y", seed + 1) if spec.instrument is not None else None
    out: dict[str, Any] = {"ranks": {v: [] for v in var_names}, "posteriors": {v: [] for v in var_names},
                           "truth": {v: [] for v in var_names}, "divergences": []}
    for i in range(n_reps):
        data = dict(base)
        point = {v: np.asarray(prior["prior"][v].isel(chain=0, draw=i).values) for v in free}
        if spec.instrument is not None:
            x_obs = np.asarray(prior["prior_predictive"]["x_first"].isel(chain=0, draw=i).values)
            data["x_obs"] = x_obs
            data["x"] = (x_obs - design.x_mean) / design.x_sd
            with model:
                pm.set_data({"x": data["x"], "x_obs": x_obs})
            drawn = draw_y(**point)
            y = np.asarray(drawn[0] if isinstance(drawn, list | tuple) else drawn)
        else:
            y = np.asarray(prior["prior_predictive"]["y"].isel(chain=0, draw=i).values)
        data["y_obs"] = y
        post = fitter.fit_data(data, seed=seed + 1000 + i)
        out["divergences"].append(int(post["sample_stats"]["diverging"].sum()))
        for v in var_names:
            truth = float(prior["prior"][v].isel(chain=0, draw=i).values)
            draws = np.asarray(post["posterior"][v].values).ravel()
            out["posteriors"][v].append((float(draws.mean()), float(draws.std())))
            out["truth"][v].append(truth)
            thinned = draws[np.linspace(0, draws.size - 1, thin_to).astype(int)]
            out["ranks"][v].append(int(np.sum(thinned < truth)))
    if spec.instrument is not None:
        with model:
            pm.set_data({"x": base["x"], "x_obs": base["x_obs"]})
    out["ranks"] = {v: np.asarray(r) for v, r in out["ranks"].items()}
    return out


def rank_uniformity_p(ranks: np.ndarray, thin_to: int = 99, bins: int = 5) -> float:
    """p-value of uniform ranks (0..thin_to): two tests, Bonferroni-combined (2 x the smaller p, at most 1).

    A chi-square of equal counts in `bins` equal-width bins (any shape: bias, skew) and a dispersion test, the
    mean of (u - 1/2)^2 with u = (rank + 1/2) / (thin_to + 1) against its uniform mean 1/12 and sd
    sqrt(1/80 - 1/144) / sqrt(n) (normal approximation, two-sided): a U shape (overconfident posterior) or a hump
    (underconfident) moves it first, where a 5-bin chi-square on 30 ranks has little power.
    """
    from scipy.stats import chisquare
    from scipy.stats import norm as normal

    ranks = np.asarray(ranks)
    counts = np.histogram(ranks, bins=bins, range=(-0.5, thin_to + 0.5))[0]
    p_shape = float(chisquare(counts).pvalue)
    u = (ranks + 0.5) / (thin_to + 1)
    z = (np.mean((u - 0.5) ** 2) - 1 / 12) / (np.sqrt(1 / 80 - 1 / 144) / np.sqrt(len(u)))
    p_disp = float(2 * normal.sf(abs(z)))
    return min(1.0, 2 * min(p_shape, p_disp))


# ---- design analysis: many worlds from a known data-generating process, every method on each ----------------

METRIC_COLUMNS = ("method", "worlds", "truth", "coverage", "power", "type_s", "type_m", "mean_width",
                  "sd_over_se", "mean_estimate", "gate_passed")


def design_metrics(records: list[dict[str, Any]], level: float = 0.95) -> list[dict[str, Any]]:
    """Per method, from per-world records {method, world, truth, estimate, se, lower, upper, gate}:

    coverage = share of intervals holding the truth; power = share of intervals excluding 0; type S = among
    those, the share with the sign opposite to the truth; type M (exaggeration ratio) = mean |estimate / truth|
    among them (Gelman & Carlin 2014); mean interval width; sd(estimate - truth) / mean(se) (1 = the reported
    uncertainty matches the spread over worlds; with one truth for every world this is sd(estimates) /
    mean(se), and the truth may differ by world when each draw has its own estimand); gate = share of fits
    that passed the convergence gate (NaN for a method without a sampler).
    """
    out = []
    for method in dict.fromkeys(r["method"] for r in records):
        rs = [r for r in records if r["method"] == method]
        est = np.array([r["estimate"] for r in rs], float)
        se = np.array([r["se"] for r in rs], float)
        lo = np.array([r["lower"] for r in rs], float)
        hi = np.array([r["upper"] for r in rs], float)
        truth = np.array([r["truth"] for r in rs], float)
        sig = (lo > 0) | (hi < 0)
        wrong = np.sign(est) != np.sign(truth)
        # the sampler gate of the Bayesian fits; a replica has none (None, or NaN read back from worlds.csv)
        gates = [bool(g) for g in (r.get("gate") for r in rs) if g is not None and not (isinstance(g, float) and np.isnan(g))]
        out.append({
            "method": method,
            "worlds": len(rs),
            "truth": float(truth.mean()),
            "coverage": float(np.mean((lo <= truth) & (truth <= hi))),
            "power": float(sig.mean()),
            "type_s": float(wrong[sig].mean()) if sig.any() else float("nan"),
            "type_m": float(np.mean(np.abs(est[sig] / truth[sig]))) if sig.any() and np.all(truth[sig]) else
            float("nan"),
            "mean_width": float(np.mean(hi - lo)),
            "sd_over_se": float(np.std(est - truth, ddof=1) / np.mean(se)) if len(rs) > 1 else float("nan"),
            "mean_estimate": float(est.mean()),
            "gate_passed": float(np.mean(gates)) if gates else float("nan"),
        })
    return out


@dataclass(frozen=True)
class SimWorlds:
    """Worlds of `ctfp.models.bayes.sim.simulate_panel` (the generic panel DGP; its slope is `beta`)."""

    n_units: int = 30
    n_years: int = 10
    beta: float = 0.05
    error_rho: float = 0.7
    unit_sigma_sd: float = 0.5
    treatment_rho: float = 0.9
    controls: tuple[str, ...] = ("pop", "hum")
    seed: int = 1

    def draw(self, world: int) -> tuple[Any, float]:
        from ctfp.models.bayes.sim import simulate_panel

        panel, truth = simulate_panel(
            self.n_units, self.n_years, seed=self.seed * 100_003 + world, beta=self.beta,
            error_rho=self.error_rho, unit_sigma_sd=self.unit_sigma_sd, treatment_rho=self.treatment_rho,
        )
        return panel, float(truth["beta"])


@dataclass(frozen=True)
class DesignSetup:
    """What every world task needs: the worlds, the Bayesian specs by method name, the refit settings."""

    worlds: SimWorlds
    bayes: tuple[tuple[str, BayesSpec], ...]
    cfg: RefitConfig = RefitConfig()
    fe_cluster: bool = True  # the two-way FE replica with city-clustered SEs and t(G-1) intervals


_FITTERS: dict[Any, StructureFitter] = {}  # per process: a Dask worker compiles each structure once too


def world_task(setup: DesignSetup, world: int) -> list[dict[str, Any]]:
    """Every method on one world: a list of records (see `design_metrics`)."""
    from scipy.stats import t as t_dist

    from ctfp.inference.diagnostics import check_gate
    from ctfp.models.bayes.design import make_design
    from ctfp.models.panel.estimators import fit_ols

    panel, truth = setup.worlds.draw(world)
    controls = list(setup.worlds.controls)
    recs: list[dict[str, Any]] = []
    if setup.fe_cluster:
        fe = fit_ols(panel, "ctfp", ["ai", *controls], absorb=["city", "year"], cluster="city")
        est, se = float(fe.coef[0]), float(fe.se[0])
        q = float(t_dist.ppf(0.975, fe.n_clusters - 1))
        recs.append({"method": "fe_cluster", "world": world, "truth": truth, "estimate": est, "se": se,
                     "lower": est - q * se, "upper": est + q * se, "gate": True})
    for name, spec in setup.bayes:
        design = make_design(panel, spec)
        key = structure_key(design, spec)
        if key not in _FITTERS:
            _FITTERS[key] = StructureFitter(spec, design, setup.cfg)
        dt = _FITTERS[key].fit(design, seed=setup.worlds.seed * 7919 + world)
        draws = dt["posterior"]["ame"].values.ravel()
        lo, hi = np.quantile(draws, [0.025, 0.975])
        recs.append({"method": name, "world": world, "truth": truth, "estimate": float(draws.mean()),
                     "se": float(draws.std()), "lower": float(lo), "upper": float(hi),
                     "gate": bool(check_gate(dt, warn=False).passed)})
    return recs


def run_design(setup: DesignSetup, n_worlds: int, out_dir: str | Any, *, executor: Any = None,
               progress: bool = False) -> list[dict[str, Any]]:
    """Run worlds 0..n_worlds-1 (resumable: worlds already in `out_dir`/worlds.csv are kept, not rerun);
    write worlds.csv (one row per world and method) and metrics.csv; return the metrics."""
    from pathlib import Path

    import pandas as pd

    from ctfp.core.atomic import atomic_path

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "worlds.csv"
    done: list[dict[str, Any]] = pd.read_csv(path).to_dict("records") if path.exists() else []
    have = {int(r["world"]) for r in done}
    todo = [w for w in range(n_worlds) if w not in have]
    records = list(done)

    def save() -> None:
        records.sort(key=lambda r: (int(r["world"]), str(r["method"])))
        with atomic_path(path) as tmp:
            pd.DataFrame(records).to_csv(tmp, index=False)

    if executor is None:  # in-process: the CSV grows world by world, so a killed run resumes where it stopped
        for w in todo:
            records.extend(world_task(setup, w))
            save()
    else:
        for rs in executor.map(world_task, setup, todo, label="worlds", progress=progress):
            records.extend(rs)
        save()
    records = [r for r in records if int(r["world"]) < n_worlds]
    metrics = design_metrics(records)
    with atomic_path(out / "metrics.csv") as tmp:
        pd.DataFrame(metrics, columns=list(METRIC_COLUMNS)).to_csv(tmp, index=False)
    return metrics
