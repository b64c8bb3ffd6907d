"""Headline Bayesian model vs bambi on a 1248-row panel (78 cities x 16 years): wall time, ESS, ESS/s.

Headline: two-way (city, year) effects, 7 controls, Mundlak terms, treatment slopes for the six splits, normal
likelihood, 4 chains x 1000 draws after 1000 tuning. bambi fits the same regression (ai, its six split
interactions, the controls, (1|city) + (1|year)) with its default priors and PyMC NUTS. Wall time includes
building and compiling; ours also includes the log-likelihood and posterior predictive draws.

Run: .venv/bin/python benchmarks/bench_bayes.py [--samplers nutpie,pymc] [--no-bambi] [--fresh-cache]
(each sampler on its default backend, inference.sampling.DEFAULT_BACKEND: nutpie on JAX, PyMC's NUTS on C;
`nutpie:numba` picks a backend. Compile caches as they are, or empty with --fresh-cache: a new PyTensor
base_compiledir and numba cache directory for this process, so "compile s" is a first fit's compilation;
benchmarks/bench_cold.py compares empty and warm for all the demo's fits.)
The headline model is the default spec: AR(1) errors within city, city-level error sds (docs/bayes.md).
Targets: min bulk ESS >= 1000, no divergences, >= 15x bambi's min-ESS/s (issue 12), in one run.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np


def _min_ess(dt, var_names=None) -> tuple[float, str]:  # noqa: ANN001
    import arviz as az

    ess = az.ess(dt, var_names=var_names, method="bulk")
    ds = ess.to_dataset() if hasattr(ess, "to_dataset") else ess
    worst = min(((float(np.nanmin(da.values)), str(v)) for v, da in ds.data_vars.items()), key=lambda t: t[0])
    return worst


def _max_rhat(dt) -> float:  # noqa: ANN001
    import arviz as az

    r = az.rhat(dt)
    ds = r.to_dataset() if hasattr(r, "to_dataset") else r
    return max(float(np.nanmax(da.values)) for da in ds.data_vars.values())


def run_ours(panel, sampler: str, seed: int) -> dict:  # noqa: ANN001
    sampler, _, backend = sampler.partition(":")
    from ctfp.inference.diagnostics import check_gate
    from ctfp.inference.sampling import SamplerConfig, sample_model
    from ctfp.models.bayes.builder import build_model
    from ctfp.models.bayes.spec import PAPER_CONTROLS, PAPER_SPLITS, BayesSpec

    t0 = time.perf_counter()
    spec = BayesSpec("ctfp", "ai", controls=PAPER_CONTROLS, splits=PAPER_SPLITS)
    model = build_model(panel, spec)
    cfg = SamplerConfig(sampler=sampler, backend=backend or None, draws=1000, tune=1000, chains=4, seed=seed)
    dt = sample_model(model, cfg, progress=False)
    wall = time.perf_counter() - t0
    gate = check_gate(dt, warn=False)
    ess_slope = _min_ess(dt, ["beta"])[0]
    return {
        "name": f"ctfp ({sampler}:{cfg.backend})",
        "wall_s": wall,
        "min_ess": gate.min_ess_bulk,
        "min_ess_var": gate.worst_ess_var,
        "ess_slope": ess_slope,
        "divergences": gate.divergences,
        "max_rhat": gate.max_rhat,
        "slope_mean": float(dt["posterior"]["beta"].mean()),
        "compile_s": float(dt.attrs.get("compile_s", float("nan"))),
        "serial": f"{spec.serial}/{spec.error_scale}",
    }


def run_bambi(panel, seed: int) -> dict:  # noqa: ANN001
    import bambi as bmb

    from ctfp.models.bayes.spec import PAPER_CONTROLS, PAPER_SPLITS

    t0 = time.perf_counter()
    data = panel.assign(city=panel["city"].astype(str), year=panel["year"].astype(str))
    rhs = " + ".join(["ai", *[f"ai:{s}" for s in PAPER_SPLITS], *PAPER_CONTROLS])
    model = bmb.Model(f"ctfp ~ {rhs} + (1|city) + (1|year)", data, family="gaussian")
    # Same parallelism as ours (bambi would otherwise pick its own); everything else is bambi's default.
    dt = model.fit(draws=1000, tune=1000, chains=4, cores=min(4, os.cpu_count() or 1), random_seed=seed,
                   progressbar=False)
    wall = time.perf_counter() - t0
    ess, var = _min_ess(dt)
    return {
        "name": "bambi (defaults)",
        "wall_s": wall,
        "min_ess": ess,
        "min_ess_var": var,
        "ess_slope": _min_ess(dt, ["ai"])[0],
        "divergences": int(dt["sample_stats"]["diverging"].values.sum()),
        "max_rhat": _max_rhat(dt),
        "slope_mean": float(dt["posterior"]["ai"].mean()),
        "compile_s": float("nan"),
        "serial": "iid",
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samplers", default="nutpie,pymc")
    ap.add_argument("--no-bambi", action="store_true")
    ap.add_argument("--seed", type=int, default=20251201)
    ap.add_argument("--fresh-cache", action="store_true", help="empty PyTensor/numba/JAX compile caches (first fit)")
    args = ap.parse_args()
    if args.fresh_cache:  # before anything imports pytensor or numba
        import tempfile

        fresh = tempfile.mkdtemp(prefix="ctfp-bench-cache-")
        os.environ["PYTENSOR_FLAGS"] = f"base_compiledir={fresh}/pytensor"
        os.environ["NUMBA_CACHE_DIR"] = f"{fresh}/numba"
        os.environ["CTFP_JAX_CACHE"] = f"{fresh}/jax"
        print(f"fresh compile caches under {fresh}")
    warnings.filterwarnings("ignore")
    from ctfp.models.bayes.sim import simulate_panel

    panel, truth = simulate_panel(78, 16, seed=1, split_effects={"g_ua": 0.02, "g_resource": -0.02}, sigma=0.05)
    print(f"panel: {len(panel)} rows (78 cities x 16 years, simulated), cpu count {os.cpu_count()}, "
          f"load average {os.getloadavg()[0]:.1f} (the machine is shared)")
    rows = [run_ours(panel, s, args.seed) for s in args.samplers.split(",") if s]
    if not args.no_bambi:
        rows.append(run_bambi(panel, args.seed))
    head = (f"{'model':<18}{'errors':>11}{'compile s':>10}{'wall s':>8}{'min bulk ESS':>14}{'ESS/s':>8}"
            f"{'slope ESS/s':>13}{'div':>5}{'max R-hat':>10}  worst")
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r['name']:<18}{r['serial']:>11}{r['compile_s']:>10.1f}{r['wall_s']:>8.1f}{r['min_ess']:>14.0f}{r['min_ess'] / r['wall_s']:>8.1f}"
              f"{r['ess_slope'] / r['wall_s']:>13.1f}{r['divergences']:>5d}{r['max_rhat']:>10.4f}  {r['min_ess_var']}")
    if not args.no_bambi:
        b = rows[-1]
        for r in rows[:-1]:
            print(f"{r['name']} vs bambi: ESS/s ratio {(r['min_ess'] / r['wall_s']) / (b['min_ess'] / b['wall_s']):.1f}x "
                  f"(min bulk ESS), {(r['ess_slope'] / r['wall_s']) / (b['ess_slope'] / b['wall_s']):.1f}x (slope); "
                  f"wall ratio {b['wall_s'] / r['wall_s']:.1f}x")
    print(f"true slope {truth['beta']}; posterior means: " + ", ".join(f"{r['name']} {r['slope_mean']:.4f}" for r in rows))


if __name__ == "__main__":
    main()
