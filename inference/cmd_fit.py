"""`ctfp fit`: one Bayesian hierarchical panel model on a panel file, written to a model folder.

Heavy imports (pandas, PyMC, ArviZ) happen inside the handler so `ctfp --help` stays fast.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def _names(text: str | None) -> tuple[str, ...]:
    return tuple(n.strip() for n in (text or "").split(",") if n.strip())


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "fit",
        help="fit a Bayesian two-way hierarchical panel model (PyMC) and write posterior.nc + summary.json",
        description="Two-way (city, year) hierarchical model with Mundlak terms; optional group-varying slopes "
        "(--by), bounded likelihoods and Bayesian FE-IV. Exits 2 when the convergence gate fails "
        "(R-hat <= 1.01, bulk/tail ESS >= 400, no divergences) unless --allow-failed-gate.",
    )
    p.add_argument("panel", help="panel file (CSV, XLSX, DTA, Parquet), one row per unit and period")
    p.add_argument("--outcome", required=True, help="outcome column, e.g. ctfp")
    p.add_argument("--treatment", required=True, help="treatment column, e.g. ai")
    p.add_argument("--controls", default="", help="comma-separated control columns")
    p.add_argument("--unit", default="city", help="unit (city) id column [city]")
    p.add_argument("--time", default="year", help="period column [year]")
    p.add_argument("--by", default="", help="comma-separated binary split columns: group-varying treatment slopes")
    p.add_argument("--likelihood", default="normal", choices=("normal", "censored", "ordbeta"))
    p.add_argument("--instrument", default=None, help="instrument column: Bayesian FE-IV")
    p.add_argument("--serial", default="auto", choices=("auto", "none", "ar1", "random_slopes"),
                   help="within-unit error dependence [auto: AR(1) errors for the normal likelihood, the calibrated "
                   "default of docs/bayes.md]")
    p.add_argument("--error-scale", default="auto", choices=("auto", "common", "unit"),
                   help="residual sd [auto: one per unit for normal/censored, log-normal around a common sd]")
    p.add_argument("--no-mundlak", action="store_true", help="leave out the city-mean (Mundlak) terms")
    p.add_argument("--draws", type=int, default=1000)
    p.add_argument("--tune", type=int, default=1000)
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--seed", type=int, default=20251201)
    p.add_argument("--cores", type=int, default=None,
                   help="chains run at once [min(chains, CPUs)]; 1 runs them in turn in this process (same draws)")
    p.add_argument("--target-accept", type=float, default=0.9)
    p.add_argument("--sampler", default="nutpie", choices=("pymc", "nutpie", "numpyro"),
                   help="NUTS implementation [nutpie on JAX: fastest first fit, see docs/bayes.md 'first run']")
    p.add_argument("--backend", default=None, choices=("jax", "numba", "c"),
                   help="what PyTensor compiles the model's log-density (and log-likelihood, predictive draws) "
                   "with [the sampler's default: jax for nutpie and numpyro, c for pymc]; nutpie takes jax or "
                   "numba, numpyro jax only (docs/bayes.md 'first run')")
    p.add_argument("--allow-failed-gate", action="store_true", help="exit 0 even when the convergence gate fails")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--out", required=True, help="output folder for posterior.nc and summary.json")
    p.set_defaults(func=run_fit)


def read_any_panel(path: str):  # noqa: ANN201 - pandas imported lazily
    """ctfp.data.readers.read_panel (formats, one-line errors)."""
    from ctfp.data.readers import read_panel

    return read_panel(path)


def run_fit(args: argparse.Namespace) -> int:
    from ctfp.core.atomic import check_output_path

    out = check_output_path(args.out, "folder")  # before reading and sampling, never after
    for name in ("posterior.nc", "summary.json"):
        check_output_path(out / name, "file")

    from ctfp.inference.fit import fit_spec
    from ctfp.inference.sampling import SamplerConfig, check_backend_available, check_sampler_available
    from ctfp.models.bayes.spec import BayesSpec

    spec = BayesSpec(
        outcome=args.outcome,
        treatment=args.treatment,
        unit=args.unit,
        time=args.time,
        controls=_names(args.controls),
        splits=_names(args.by),
        likelihood=args.likelihood,
        instrument=args.instrument,
        mundlak=not args.no_mundlak,
        serial=args.serial,
        error_scale=args.error_scale,
    )
    cfg = SamplerConfig(
        sampler=args.sampler,
        draws=args.draws,
        tune=args.tune,
        chains=args.chains,
        seed=args.seed,
        target_accept=args.target_accept,
        cores=args.cores,
        backend=args.backend,
    )  # an impossible sampler/backend pair is one InputError line here, before the panel is read
    check_sampler_available(cfg.sampler)
    check_backend_available(str(cfg.backend))
    panel = read_any_panel(args.panel)
    summary = fit_spec(
        panel, spec, cfg, Path(args.out), progress=not args.quiet, require_gate=not args.allow_failed_gate,
        source=args.panel,
    )
    t = summary["treatment"]
    lo, hi = t["eti95"]
    print(
        f"{summary['model']} ({summary['likelihood']}): effect of {args.treatment} on E[{args.outcome}] "
        f"{t['mean']:.4g} (sd {t['sd']:.3g}, 95% [{lo:.4g}, {hi:.4g}]); gate "
        f"{'passed' if summary['gate']['passed'] else 'FAILED'}; wrote {Path(args.out) / 'summary.json'}"
    )
    return 0
