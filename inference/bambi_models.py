"""Any bambi formula as a study model: fitted through bambi, gated, summarised like ctfp's own models.

A `[[bayes.models]]` entry with `formula = "ctfp ~ ai + pop + (1|city) + (1|year)"` (and optionally `family`, a
bambi family name, default "gaussian"; `treatment`, default the formula's first term) is fitted by
`fit_bambi`, which writes the same model folder as `ctfp.inference.fit.fit_spec`: `posterior.nc` (groups
posterior, posterior_predictive / log_likelihood / observed_data with the outcome renamed `y`, sample_stats) and
`summary.json` in the same schema (`treatment` = the average marginal effect `ame` of the treatment on E[y],
`coefficient` = its coefficient, `diagnostics`, `gate`, `loo`, `prior_sensitivity`, `priors` as bambi set them).

The average marginal effect is computed for every family the same way: the posterior mean response with the
treatment moved by h = 1e-4 sd, minus the mean response at the data, over h, averaged over rows (bambi's own
`predict`): for an identity link it equals the coefficient; for a logit or log link it is the effect on E[y].
Unit and period columns named in the formula are made categorical (a city code is a label, not a number).
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ctfp.core.atomic import atomic_path, write_json
from ctfp.core.errors import InputError, NumericalError
from ctfp.inference.sampling import (
    SamplerConfig,
    add_pointwise_and_predictive,
    drop_log_prior,
    prepare_sampler,
    sampler_backend_kwargs,
)

BAMBI_KEYS = ("name", "formula", "family", "treatment", "link")


def formula_terms(formula: str) -> tuple[str, list[str]]:
    """(response, right-hand terms at the top level: group terms `(1|city)` kept whole)."""
    if "~" not in formula:
        raise InputError(f"bambi formula '{formula}' has no '~' (write 'outcome ~ treatment + ...')")
    lhs, rhs = formula.split("~", 1)
    terms, depth, cur = [], 0, ""
    for ch in rhs:
        depth += ch == "("
        depth -= ch == ")"
        if ch == "+" and depth == 0:
            terms.append(cur.strip())
            cur = ""
        else:
            cur += ch
    terms.append(cur.strip())
    return lhs.strip(), [t for t in terms if t]


def formula_treatment(formula: str) -> str:
    """The first population-level term that is a plain column name (not 1/0, not a group term)."""
    _, terms = formula_terms(formula)
    for t in terms:
        if t in ("1", "0", "-1") or "|" in t:
            continue
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", t):
            raise InputError(
                f"bambi formula '{formula}': the first term '{t}' is not a column; name the treatment with "
                "treatment = \"...\" in the [[bayes.models]] entry"
            )
        return t
    raise InputError(f"bambi formula '{formula}' has no population-level term to report as the treatment")


def _group_factors(formula: str) -> set[str]:
    return {m.strip() for m in re.findall(r"\|\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\)", formula)}


def _response_mean(bm: Any, dt: xr.DataTree, data: pd.DataFrame) -> xr.DataArray:
    """Posterior draws of E[y | data] per row (bambi's response parameter, e.g. mu or p)."""
    pred = bm.predict(dt, kind="response_params", data=data, inplace=False)
    name = bm.family.likelihood.parent
    da = pred["posterior"][name]
    return da


def average_marginal_effect(bm: Any, dt: xr.DataTree, data: pd.DataFrame, treatment: str) -> xr.DataArray:
    """Posterior draws of mean_i dE[y_i]/dx_i by a forward difference (h = 1e-4 sd of the treatment)."""
    h = 1e-4 * float(np.std(data[treatment].to_numpy(float))) or 1e-4
    shifted = data.copy()
    shifted[treatment] = shifted[treatment].astype(float) + h
    base = _response_mean(bm, dt, data)
    moved = _response_mean(bm, dt, shifted)
    obs_dim = [d for d in base.dims if d not in ("chain", "draw")]
    return ((moved - base) / h).mean(obs_dim)


def bambi_priors(bm: Any) -> dict[str, str]:
    """The priors bambi chose (or was given), per term and auxiliary parameter, as bambi prints them."""
    out: dict[str, str] = {}
    for comp_name, comp in bm.components.items():
        terms = getattr(comp, "terms", None)
        if terms:
            out.update({f"{comp_name}: {k}": str(t.prior) for k, t in terms.items()})
        elif getattr(comp, "prior", None) is not None:
            out[comp_name] = str(comp.prior)
    return out


def _is_group_level(name: str) -> bool:
    """bambi's group-specific effects (`1|city`, `1|city_offset`) are not power-scaled; their sds are."""
    return "|" in name and not name.endswith("_sigma")


def _rename_outcome(dt: xr.DataTree, response: str) -> None:
    """The contract's name for the observed variable is `y` in every group (LOO, PPC, the report)."""
    for group in ("log_likelihood", "observed_data", "posterior_predictive"):
        if group in dt.children and response in dt[group].data_vars:
            ds = dt[group].to_dataset().rename({response: "y"})
            obs = [d for d in ds["y"].dims if d not in ("chain", "draw")]
            if obs and obs[0] != "obs":
                ds = ds.rename({obs[0]: "obs"})
            dt[group] = xr.DataTree(ds)


def fit_bambi(
    panel: pd.DataFrame,
    entry: dict[str, Any],
    sampler_cfg: SamplerConfig,
    out_dir: str | Path,
    *,
    unit: str = "city",
    time_col: str = "year",
    progress: bool = True,
    require_gate: bool = False,
    source: str = "panel",
) -> dict[str, Any]:
    """Fit one `[[bayes.models]]` entry with a `formula` through bambi; write posterior.nc + summary.json."""
    import bambi as bmb

    from ctfp.inference.contrasts import add_loo, effect_summary
    from ctfp.inference.diagnostics import check_gate
    from ctfp.inference.psense import prior_sensitivity

    name = entry.get("name", "?")
    extra = sorted(set(entry) - set(BAMBI_KEYS))
    if extra:
        raise InputError(f"bayes model '{name}': key(s) {', '.join(extra)} do not apply to a bambi formula model")
    formula = str(entry["formula"])
    family = str(entry.get("family") or "gaussian")
    treatment = str(entry.get("treatment") or formula_treatment(formula))
    response, _ = formula_terms(formula)
    t0 = time.perf_counter()

    data = panel.copy()
    for col in _group_factors(formula) | ({unit, time_col} & set(data.columns)):
        if col in data.columns:
            data[col] = data[col].astype(str)
    if treatment not in data.columns:
        raise InputError(f"bayes model '{name}': treatment '{treatment}' is not a column of the {source}")
    try:
        bm = bmb.Model(formula, data, family=family, link=entry.get("link"), dropna=True)
    except Exception as err:  # formulae/bambi errors on a user's formula: one line naming the model
        raise InputError(f"bayes model '{name}': bambi cannot build '{formula}' (family {family}): {err}") from err
    used = bm.data
    dropped = len(data) - len(used)
    notes = [f"fitted by bambi {bmb.__version__}: {formula} (family {family})"]
    if dropped:
        notes.append(f"{dropped} rows with missing values in the formula's columns were dropped")
        print(f"warning: {source}: {notes[-1]}", file=sys.stderr)

    # The study's sampler on its backend, as for ctfp's own models (nutpie on JAX by default): bambi's own default
    # (PyMC's NUTS on numba) spends minutes compiling on an empty cache.
    prepare_sampler(sampler_cfg)
    dt = bm.fit(
        draws=sampler_cfg.draws, tune=sampler_cfg.tune, chains=sampler_cfg.chains, cores=sampler_cfg.cores,
        random_seed=sampler_cfg.seed, target_accept=sampler_cfg.target_accept, omit_offsets=False,
        inference_method=sampler_cfg.sampler, progressbar=progress, **sampler_backend_kwargs(sampler_cfg),
    )
    if not isinstance(dt, xr.DataTree):
        dt = xr.DataTree.from_dict({k: dt[k] for k in dt.groups()})
    pm_model = bm.backend.model
    add_pointwise_and_predictive(dt, pm_model, sampler_cfg, response)
    post = dt["posterior"].to_dataset()
    post["ame"] = average_marginal_effect(bm, dt, used, treatment)
    coef = post[treatment]
    if coef.ndim > 2:
        raise InputError(f"bayes model '{name}': treatment '{treatment}' has several coefficients; give a numeric one")
    post["beta"] = coef
    dt["posterior"] = xr.DataTree(post)
    gate = check_gate(dt, var_names=[v for v in post.data_vars if v != "beta"], warn=True)
    _rename_outcome(dt, response)

    summary: dict[str, Any] = {
        "model": "bambi",
        "likelihood": family,
        "spec": {"formula": formula, "family": family, "treatment": treatment, "link": entry.get("link")},
        "priors": bambi_priors(bm),
        "sampler": sampler_cfg.to_dict(),
        "seed": sampler_cfg.seed,
        "n_obs": len(used),
        "n_units": int(used[unit].nunique()) if unit in used.columns else None,
        "n_periods": int(used[time_col].nunique()) if time_col in used.columns else None,
        "dropped_rows": dropped,
        "notes": notes,
        "treatment": effect_summary(dt, "ame"),
        "coefficient": effect_summary(dt, "beta"),
        "by": {},
        **gate.summary_entries(),
    }
    try:  # same extras as ctfp's own fits; their failure must not lose a finished fit
        summary["prior_sensitivity"] = prior_sensitivity(
            dt, None, var_names=["ame", "beta"], group_level=_is_group_level)
    except Exception as err:
        summary["prior_sensitivity"] = {"error": f"{type(err).__name__}: {err}"}
    drop_log_prior(dt)
    try:
        summary["loo"] = add_loo(dt)
    except Exception as err:
        summary["loo"] = {"error": f"{type(err).__name__}: {err}"}
    summary["wall_s"] = round(time.perf_counter() - t0, 3)

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "posterior.nc") as tmp:
        dt.to_netcdf(tmp, engine="h5netcdf")
    write_json(out / "summary.json", summary)
    if require_gate and not gate.passed:
        raise NumericalError(f"convergence gate failed ({'; '.join(gate.messages)}); results kept in {out}")
    return summary
