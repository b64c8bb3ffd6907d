"""Calibration study: which error model makes the two-way posterior's 95% intervals cover under panel dependence.

World (`ctfp.models.bayes.sim.simulate_panel`): a persistent treatment (AR(1) noise, rho_x), AR(1) errors within
unit (rho = 0.7) and unit-varying error sds (log-sd 0.5), city effects confounded with the treatment. Each
candidate error model is fitted on the same R panels; printed per candidate: coverage of the true slope by the
95% equal-tailed interval, its binomial 95% interval, mean posterior sd, sd of the posterior means across
worlds / mean posterior sd (1 = calibrated width), gate passes, and mean elpd_loo (with its mean SE) from
the fits. The city-clustered two-way FE replica is the frequentist reference (t(G-1) interval).

    .venv/bin/python benchmarks/calibration_bayes.py --reps 40 --units 30 --years 10 --draws 300 --tune 300

Small by default: the machine is shared. Figures in docs/bayes.md (with the load they were taken under).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
from scipy.stats import beta as beta_dist

CANDIDATES: dict[str, dict[str, str]] = {
    "iid": {"serial": "none", "error_scale": "common"},
    "unit_scales": {"serial": "none", "error_scale": "unit"},
    "random_slopes": {"serial": "random_slopes", "error_scale": "common"},
    "ar1": {"serial": "ar1", "error_scale": "common"},
    "ar1_unit_scales": {"serial": "ar1", "error_scale": "unit"},
}


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    a = (1 - level) / 2
    lo = 0.0 if k == 0 else float(beta_dist.ppf(a, k, n - k + 1))
    hi = 1.0 if k == n else float(beta_dist.ppf(1 - a, k + 1, n - k))
    return lo, hi


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--units", type=int, default=30)
    ap.add_argument("--years", type=int, default=10)
    ap.add_argument("--draws", type=int, default=300)
    ap.add_argument("--tune", type=int, default=300)
    ap.add_argument("--chains", type=int, default=2)
    ap.add_argument("--rho", type=float, default=0.7)
    ap.add_argument("--treatment-rho", type=float, default=0.8)
    ap.add_argument("--unit-sigma-sd", type=float, default=0.5)
    ap.add_argument("--controls", default="pop,hum")
    ap.add_argument("--candidates", default=",".join(CANDIDATES))
    ap.add_argument("--seed", type=int, default=100)
    ap.add_argument("--loo-reps", type=int, default=5, help="LOO on the first N worlds (it compiles per call)")
    ap.add_argument("--summary-only", action="store_true", help="print the table of the records in --out, fit nothing")
    ap.add_argument("--out", default="", help="write per-fit records as JSON lines here (resumes)")
    args = ap.parse_args()

    from scipy.stats import t as t_dist

    from ctfp.inference.diagnostics import check_gate
    from ctfp.inference.simulate import RefitConfig, StructureFitter
    from ctfp.models.bayes.design import make_design
    from ctfp.models.bayes.sim import simulate_panel
    from ctfp.models.bayes.spec import BayesSpec
    from ctfp.models.panel.estimators import fit_ols

    controls = tuple(c for c in args.controls.split(",") if c)
    names = [c for c in args.candidates.split(",") if c]
    specs = {n: BayesSpec("ctfp", "ai", controls=controls, **CANDIDATES[n]) for n in names}
    records: list[dict] = []
    out = Path(args.out) if args.out else None
    if out and out.exists():
        records = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    done = {(r["rep"], r["model"]) for r in records}
    cfg = RefitConfig(draws=args.draws, tune=args.tune, chains=args.chains)
    fitters: dict[str, StructureFitter] = {}
    t0 = time.perf_counter()

    def keep(rec: dict) -> None:
        records.append(rec)
        if out:
            with out.open("a") as f:
                f.write(json.dumps(rec) + "\n")

    for rep in range(0 if args.summary_only else args.reps):
        panel, truth = simulate_panel(
            args.units, args.years, seed=args.seed + rep, error_rho=args.rho, unit_sigma_sd=args.unit_sigma_sd,
            treatment_rho=args.treatment_rho,
        )
        b = truth["beta"]
        if (rep, "fe_cluster") not in done:
            fe = fit_ols(panel, "ctfp", ["ai", *controls], absorb=["city", "year"], cluster="city")
            est, se = float(fe.coef[0]), float(fe.se[0])
            q = float(t_dist.ppf(0.975, fe.n_clusters - 1))
            keep({"rep": rep, "model": "fe_cluster", "mean": est, "sd": se, "covered": bool(abs(est - b) <= q * se),
                  "gate": True})
        for name in names:
            if (rep, name) in done:
                continue
            design = make_design(panel, specs[name])
            if name not in fitters:
                fitters[name] = StructureFitter(specs[name], design, cfg)
            dt = fitters[name].fit(design, seed=1000 * rep + 7)
            gate = check_gate(dt, warn=False)
            draws = dt["posterior"]["beta"].values.ravel()
            lo, hi = np.quantile(draws, [0.025, 0.975])
            rec = {"rep": rep, "model": name, "mean": float(draws.mean()), "sd": float(draws.std()),
                   "covered": bool(lo <= b <= hi), "gate": bool(gate.passed), "divergences": gate.divergences}
            if rep < args.loo_reps:
                import arviz as az

                try:
                    loo = az.loo(fitters[name].log_likelihood(design, dt))
                    rec["elpd_loo"], rec["elpd_se"] = float(loo.elpd), float(loo.se)
                except Exception as err:  # noqa: BLE001 - a failed LOO is reported, not fatal
                    rec["loo_error"] = str(err)
            keep(rec)
        print(f"rep {rep + 1}/{args.reps} done ({time.perf_counter() - t0:.0f} s)", flush=True)

    print(f"\nworld: {args.units} units x {args.years} years, error rho {args.rho}, treatment rho "
          f"{args.treatment_rho}, unit log-sd {args.unit_sigma_sd}; {args.chains} x ({args.tune} + {args.draws}); "
          f"load {os.getloadavg()[0]:.1f}")
    print(f"{'model':<16} {'n':>3} {'coverage':>8} {'95% CI':>15} {'mean sd':>9} {'sd(mean)/sd':>11} {'gate':>5} "
          f"{'elpd_loo':>9} {'se':>6}")
    for name in ["fe_cluster", *names]:
        rs = [r for r in records if r["model"] == name and r["rep"] < args.reps]
        if args.summary_only:  # a partial run: only worlds every model has finished
            complete = {r["rep"] for r in records if r["model"] == names[-1]}
            rs = [r for r in rs if r["rep"] in complete]
        if not rs:
            continue
        k = sum(r["covered"] for r in rs)
        lo, hi = clopper_pearson(k, len(rs))
        means = np.array([r["mean"] for r in rs])
        sds = np.array([r["sd"] for r in rs])
        elpd = [r["elpd_loo"] for r in rs if "elpd_loo" in r]
        ese = [r["elpd_se"] for r in rs if "elpd_se" in r]
        print(f"{name:<16} {len(rs):>3} {k / len(rs):>8.2f} [{lo:.2f}, {hi:.2f}]".ljust(45)
              + f" {sds.mean():>9.4f} {means.std(ddof=1) / sds.mean():>11.2f} {sum(r['gate'] for r in rs):>5}"
              + (f" {np.mean(elpd):>9.1f} {np.mean(ese):>6.1f}" if elpd else ""))


if __name__ == "__main__":
    main()
