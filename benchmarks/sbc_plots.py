"""Rank plots of simulation-based calibration for every likelihood (the setup of tests/test_sbc.py).

    .venv/bin/python benchmarks/sbc_plots.py --reps 30 --out docs/img/sbc_ranks.png

One row per likelihood (normal, censored, ordered beta, FE-IV), one panel per checked variable: the histogram of
the truth's ranks among 99 thinned posterior draws in 5 bins (the bins of the test's chi-square), with the 99%
band of a uniform histogram (binomial quantiles) and the p-value of `rank_uniformity_p` in the title.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from scipy.stats import binom

CASES = (
    ("normal", {}, {}, ["beta_std", "sigma", "sigma_city"]),
    # non-centred city effects on 6 periods per city, as in the test (centred: a funnel, 1.7% divergent)
    ("censored", {"censor": True}, {"likelihood": "censored", "centred": ("year",)}, ["beta_std", "sigma"]),
    ("ordbeta", {"ordbeta": True}, {"likelihood": "ordbeta"}, ["beta_std", "phi"]),
    ("iv", {"instrument": True}, {"instrument": "iv_tel"}, ["beta_std", "pi_std", "rho"]),
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--out", default="docs/img/sbc_ranks.png")
    args = ap.parse_args()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ctfp.inference.simulate import RefitConfig, rank_uniformity_p, sbc_ranks_spec
    from ctfp.models.bayes.design import make_design
    from ctfp.models.bayes.sim import simulate_panel
    from ctfp.models.bayes.spec import BayesSpec

    fig, axes = plt.subplots(len(CASES), 3, figsize=(10, 2.4 * len(CASES)), squeeze=False)
    bins = 5  # 30 ranks in 10 bins: the uniform 99% band would reach 0 and say nothing
    lo, hi = binom.ppf([0.005, 0.995], args.reps, 1 / bins)
    for row, (name, sim_kw, spec_kw, var_names) in enumerate(CASES):
        panel, _ = simulate_panel(12, 6, seed=31 + row, **sim_kw)
        spec = BayesSpec("ctfp", "ai", controls=("pop",), serial="none", error_scale="common", **spec_kw)
        res = sbc_ranks_spec(spec, make_design(panel, spec), var_names, n_reps=args.reps,
                             cfg=RefitConfig(draws=400, tune=400, chains=2), seed=row + 1)
        for col in range(3):
            ax = axes[row][col]
            if col >= len(var_names):
                ax.axis("off")
                continue
            v = var_names[col]
            ranks = res["ranks"][v]
            ax.hist(ranks, bins=bins, range=(-0.5, 99.5), color="#4c72b0", edgecolor="white")
            ax.axhspan(lo, hi, color="grey", alpha=0.25)
            ax.set_title(f"{name}: {v} (p = {rank_uniformity_p(ranks):.2g})", fontsize=9)
            ax.set_yticks([])
        print(name, {v: float(rank_uniformity_p(res["ranks"][v])) for v in var_names},
              "divergent fits", int(np.sum(np.asarray(res["divergences"]) > 0)),
              "divergent transitions", int(np.sum(res["divergences"])), "of", args.reps * 400 * 2, flush=True)
    fig.suptitle(f"SBC ranks, {args.reps} prior draws each (grey: 99% band of a uniform histogram)", fontsize=10)
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print("wrote", args.out)


if __name__ == "__main__":
    main()
