"""Power-scaling prior and likelihood sensitivity of every reported quantity (Kallioinen et al. 2024).

`prior_sensitivity(dt, spec)` adds nothing to `dt`: it reads the log prior that sampling computed with the
log-likelihood (`dt["log_prior"]`, `sampling.add_log_densities`), then ArviZ's `psense_summary` (arviz-stats 1.3:
the cumulative Jensen-Shannon distance between the posterior and its power-scaled versions, alpha = 0.99 and
1.01, by Pareto-smoothed importance weights; no refit). The block goes to `summary.json["prior_sensitivity"]`:

    {"method", "threshold": 0.05, "alphas": [0.99, 1.01], "scaled_priors": [...], "likelihood": [...],
     "quantities": {"ame": {"prior": 0.004, "likelihood": 0.09, "diagnosis": "✓", "flagged": false}, ...},
     "flagged": ["..."]}

Which priors are power-scaled: as in brms/priorsense, the priors of population-level parameters and of the
hierarchical sds, not the group-level effects themselves (u_city, year_effect, z_...): their "prior" is part of
the model of the data, and scaling it says nothing about the analyst's prior choices. A quantity is flagged
when ArviZ's diagnosis is not "✓": prior sensitivity >= threshold with a likelihood-sensitive posterior
(prior-data conflict) or with a weak likelihood (strong prior).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import xarray as xr

from ctfp.models.bayes.spec import BayesSpec

THRESHOLD = 0.05  # arviz-stats' default, as in Kallioinen et al. (2024)
ALPHAS = (0.99, 1.01)
# Group-level effects (and their non-centred standard normals): not scaled, see the module docstring.
GROUP_LEVEL = ("u_city", "z_city", "city_effect", "year_effect", "z_year", "z_slope", "z_sigma", "z_effects")


def reported_quantities(spec: BayesSpec, posterior: xr.Dataset) -> list[str]:
    """The posterior variables a summary reports: the effect, the coefficient, group slopes, the first stage."""
    names = ["ame", "beta"]
    if spec.splits:
        names += ["slope_group", "slope_diff"]
    if spec.instrument is not None:
        names.append("pi")
    return [n for n in names if n in posterior.data_vars]


def is_group_level(name: str) -> bool:
    return any(name == g or name.startswith(g + "_") for g in GROUP_LEVEL)


def prior_sensitivity(
    dt: xr.DataTree,
    spec: BayesSpec | None,
    *,
    var_names: list[str] | None = None,
    likelihood_vars: tuple[str, ...] = ("y",),
    threshold: float = THRESHOLD,
    group_level: Callable[[str], bool] = is_group_level,
) -> dict[str, Any]:
    """Power-scaling sensitivity of the reported quantities of a fit (needs `log_likelihood` of `y` and
    `log_prior` in `dt`, as `sampling.add_log_densities` computes them).

    `var_names` overrides the quantities of `spec` (bambi models pass theirs and `spec=None`); `group_level`
    says which free variables are group-level effects (not scaled).
    """
    import arviz as az

    if var_names is None and spec is None:
        raise ValueError("prior_sensitivity needs a spec or var_names")
    if "log_prior" not in dt.children:
        raise ValueError("prior_sensitivity needs the fit's log_prior group (sampling.add_log_densities)")
    names = var_names or reported_quantities(spec, dt["posterior"])  # type: ignore[arg-type]
    lp = dt["log_prior"].to_dataset()
    scaled = [str(v) for v in lp.data_vars if not group_level(str(v))]
    lik = [v for v in likelihood_vars if v in dt["log_likelihood"].data_vars]
    tree = xr.DataTree.from_dict(
        {"posterior": dt["posterior"].to_dataset()[names], "log_prior": lp[scaled],
         "log_likelihood": dt["log_likelihood"].to_dataset()[lik]}
    )
    psense_log = logging.getLogger("arviz_stats.psense")
    level = psense_log.level
    psense_log.setLevel(logging.ERROR)  # its generic warning is replaced by our flags in summary and report
    try:
        table = az.psense_summary(
            tree, var_names=names, threshold=threshold, alphas=ALPHAS, prior_var_names=scaled,
            likelihood_var_names=lik,
        )
    finally:
        psense_log.setLevel(level)
    quantities: dict[str, dict[str, Any]] = {}
    for label, row in table.iterrows():
        diagnosis = str(row["diagnosis"])
        quantities[str(label)] = {
            "prior": float(row["prior"]),
            "likelihood": float(row["likelihood"]),
            "diagnosis": diagnosis,
            "flagged": diagnosis != "✓",
        }
    return {
        "method": "power-scaling (Kallioinen et al. 2024), arviz-stats psense_summary, cumulative JS distance",
        "threshold": threshold,
        "alphas": list(ALPHAS),
        "scaled_priors": scaled,
        "likelihood": lik,
        "quantities": quantities,
        "flagged": [k for k, v in quantities.items() if v["flagged"]],
    }
