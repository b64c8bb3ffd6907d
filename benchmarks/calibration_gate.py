"""Why the AR(1) default fails its gate: the worst variable of every fit on the calibration test's worlds.

The worlds and seeds of tests/test_bayes_calibration.py (20 cities x 12 years, AR(1) errors rho 0.7, unit error
sds log-sd 0.5, treatment rho 0.9; fit seed 100 + world), one compiled nutpie model refitted per world. One JSON
line per fit: gate passed, max R-hat and its variable, min bulk / tail ESS and the variable, divergences,
whether the 95% interval of `ame` covers the truth, mean tree depth and step size, posterior mean of rho.

    .venv/bin/python benchmarks/calibration_gate.py --worlds 0-39                      # the default spec
    .venv/bin/python benchmarks/calibration_gate.py --worlds 7,8,21 --centred city,year  # the former default
    .venv/bin/python benchmarks/calibration_gate.py --worlds 7,8,21 --fix-rho 0.6       # rho held fixed

`--fix-rho` replaces the AR(1) coefficient by a constant (a diagnostic, not a model anyone should fit): if the
gate then passes, the sampler's trouble is the coupling through rho. Figures in docs/bayes.md.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def _worlds(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out += list(range(int(lo), int(hi) + 1)) if hi else [int(lo)]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worlds", default="0-39")
    ap.add_argument("--centred", default=None, help="comma list of centred effects (default: the spec's)")
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--tune", type=int, default=1000)
    ap.add_argument("--low-rank", action="store_true", help="nutpie's low-rank modified mass matrix")
    ap.add_argument("--fix-rho", type=float, default=None)
    ap.add_argument("--backend", default="numba")
    args = ap.parse_args()

    import nutpie

    from ctfp.inference.diagnostics import check_gate
    from ctfp.models.bayes import twoway
    from ctfp.models.bayes.builder import build_from_design
    from ctfp.models.bayes.design import make_design
    from ctfp.models.bayes.sim import simulate_panel
    from ctfp.models.bayes.spec import BayesSpec

    if args.fix_rho is not None:
        import pymc as pm

        fixed = float(args.fix_rho)
        original = pm.Uniform

        def constant_rho(name, *a, **kw):  # noqa: ANN001, ANN002, ANN003, ANN202 - a diagnostic patch
            return pm.Data(name, fixed) if name == "rho" else original(name, *a, **kw)

        twoway.pm.Uniform = constant_rho  # only the AR(1) coefficient is drawn from a Uniform in the builder
    kw = {} if args.centred is None else {"centred": tuple(c for c in args.centred.split(",") if c)}
    spec = BayesSpec("ctfp", "ai", controls=("pop", "hum"), **kw)
    compiled, names = None, set()
    for r in _worlds(args.worlds):
        panel, truth = simulate_panel(20, 12, seed=500 + r, error_rho=0.7, unit_sigma_sd=0.5, treatment_rho=0.9)
        design = make_design(panel, spec)
        data = twoway.design_data(design, spec)
        if compiled is None:
            model = build_from_design(design, spec)
            compiled = nutpie.compile_pymc_model(model, backend=args.backend, freeze_model=False)
            names = {v.name for v in model.data_vars}
        t0 = time.perf_counter()
        dt = nutpie.sample(compiled.with_data(**{k: v for k, v in data.items() if k in names}), draws=args.draws,
                           tune=args.tune, chains=4, cores=1, seed=100 + r, target_accept=0.9, progress_bar=False,
                           **({"low_rank_modified_mass_matrix": True} if args.low_rank else {}))
        g = check_gate(dt, warn=False)
        ame = dt["posterior"]["ame"].values.ravel()
        lo, hi = np.quantile(ame, [0.025, 0.975])
        post = dt["posterior"]
        print(json.dumps({
            "world": r, "s": round(time.perf_counter() - t0, 1), "passed": g.passed, "rhat": round(g.max_rhat, 4),
            "rhat_var": g.worst_rhat_var, "bulk": round(g.min_ess_bulk), "tail": round(g.min_ess_tail),
            "ess_var": g.worst_ess_var, "divergences": g.divergences, "covered": bool(lo <= truth["beta"] <= hi),
            "depth": round(float(dt["sample_stats"]["depth"].mean()), 2),
            "step": round(float(dt["sample_stats"]["step_size"].mean()), 3),
            "rho": round(float(post["rho"].mean()), 3) if "rho" in post.data_vars else args.fix_rho,
        }), flush=True)


if __name__ == "__main__":
    main()
