"""Numbers the report reads off posteriors: intervals, P(> 0), replicated mass at 1, LOO.

Intervals are 95% equal-tailed (ArviZ `eti`, prob 0.95), stated as such wherever they are shown.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from ctfp.data.loo_group import elpd_of
from ctfp.reports.runfolder import ModelFit, RunFolder
from ctfp.reports.style import CI_PROB

ONE_TOL = 1e-6  # CTFP within 1e-6 of 1 is on the frontier (methods.md: never test == 1)


def _eti(da: Any) -> tuple[Any, Any]:
    import arviz as az

    bounds = az.eti(da, prob=CI_PROB)
    return bounds.sel(ci_bound="lower"), bounds.sel(ci_bound="upper")


def scalar_summary(fit: ModelFit, var: str = "ame") -> dict[str, float] | None:
    """Mean, sd, 95% ETI and P(> 0) of a scalar posterior variable, or None when absent."""
    post = fit.group("posterior")
    if post is None or var not in post:
        return None
    da = post[var]
    lo, hi = _eti(da)
    draws = da.values.ravel()
    return {"mean": float(draws.mean()), "sd": float(draws.std(ddof=1)), "lo": float(lo), "hi": float(hi),
            "p_gt0": float((draws > 0).mean())}


def group_slopes(fit: ModelFit) -> pd.DataFrame | None:
    """split, level, mean, lo, hi of `slope_group` (split, level)."""
    post = fit.group("posterior")
    if post is None or "slope_group" not in post:
        return None
    da = post["slope_group"]
    lo, hi = _eti(da)
    mean = da.mean(("chain", "draw"))
    rows = []
    for s in da["split"].values:
        for lv in da["level"].values:
            sel = {"split": s, "level": lv}
            rows.append({"split": str(s), "level": str(lv), "mean": float(mean.sel(sel)),
                         "lo": float(lo.sel(sel)), "hi": float(hi.sel(sel))})
    return pd.DataFrame(rows)


def slope_diffs(fit: ModelFit) -> pd.DataFrame | None:
    """split, mean, lo, hi, p_gt0 of `slope_diff` (split): group 1 minus group 0."""
    post = fit.group("posterior")
    if post is None or "slope_diff" not in post:
        return None
    da = post["slope_diff"]
    lo, hi = _eti(da)
    rows = []
    for s in da["split"].values:
        d = da.sel(split=s).values.ravel()
        rows.append({"split": str(s), "mean": float(d.mean()), "lo": float(lo.sel(split=s)),
                     "hi": float(hi.sel(split=s)), "p_gt0": float((d > 0).mean())})
    return pd.DataFrame(rows)


def ppc_ones(fit: ModelFit) -> dict[str, Any] | None:
    """Observed share of y == 1 against the replicated shares (one per posterior draw)."""
    obs, pp = fit.group("observed_data"), fit.group("posterior_predictive")
    if obs is None or pp is None or "y" not in obs or "y" not in pp:
        return None
    y = obs["y"].values.ravel()
    rep = pp["y"]
    sample_dims = [d for d in ("chain", "draw") if d in rep.dims]
    if rep.size % max(y.size, 1) or rep.size // max(y.size, 1) != int(np.prod([rep.sizes[d] for d in sample_dims])):
        return None  # replicated y does not line up with the observed y: no check rather than a wrong one
    rep_flat = rep.stack(sample=sample_dims).transpose("sample", ...).values.reshape(-1, y.size)
    shares = (np.abs(rep_flat - 1.0) <= ONE_TOL).mean(axis=1)
    obs_share = float((np.abs(y - 1.0) <= ONE_TOL).mean())
    return {
        "observed": obs_share, "mean": float(shares.mean()), "lo": float(np.quantile(shares, 0.025)),
        "hi": float(np.quantile(shares, 0.975)), "p_ge_obs": float((shares >= obs_share).mean()),
        "above_one": float((rep_flat > 1.0 + ONE_TOL).mean()), "shares": shares, "y": y, "rep": rep_flat,
    }


def loo_table(run: RunFolder) -> tuple[pd.DataFrame | None, list[str]]:
    """LOO of every model with a log_likelihood; az.compare within two sets of models on the same measure.

    The bounded (mass-at-1) models are compared among themselves. When the run has bambi formula models, they
    are compared with the built-in models that are densities with iid errors (a normal likelihood without AR(1)
    errors): the same rows, the same measure. A built-in AR(1) model is left out of that comparison: its
    pointwise terms are one-step conditional densities, given the previous year's observation.

    Returns one row per model (model, likelihood, bounded, compared, elpd, se, p_loo, bad_k, rank, elpd_diff,
    dse, weight; `compared` is "bounded", "density" or "" for a model ranked in neither set) and the names of
    models without a log_likelihood.
    """
    import arviz as az

    rows, skipped, bounded, density = [], [], {}, {}
    has_bambi = any((f.summary or {}).get("model") == "bambi" for f in run.models.values())
    for name, fit in sorted(run.models.items()):
        ll = fit.group("log_likelihood")
        if ll is None or "y" not in ll:
            skipped.append(name)
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # Pareto-k warnings are counted into `bad_k` instead
                res = elpd_of(fit.tree)  # stored by the fit step; computed only for an older posterior file
        except Exception as err:  # a model whose pointwise log-likelihood LOO cannot use: say so, go on
            skipped.append(f"{name} (LOO failed: {type(err).__name__})")
            continue
        k = np.asarray(res.pareto_k).ravel()
        summ = fit.summary or {}
        serial = (summ.get("spec") or {}).get("serial")
        iid_density = not fit.bounded and (summ.get("model") == "bambi" or serial in (None, "none"))
        compared = "bounded" if fit.bounded else "density" if has_bambi and iid_density else ""
        rows.append({"model": name, "likelihood": fit.likelihood, "bounded": fit.bounded, "compared": compared,
                     "elpd": float(res.elpd), "se": float(res.se), "p_loo": float(res.p),
                     "bad_k": int((k > 0.7).sum())})
        if compared == "bounded":
            bounded[name] = res
        elif compared == "density":
            density[name] = res
    if not rows:
        return None, skipped
    table = pd.DataFrame(rows)
    for col in ("rank", "elpd_diff", "dse", "weight"):
        table[col] = np.nan
    for group in (bounded, density):
        if len(group) >= 2:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                cmp = az.compare(group, round_to="none")
            for name, rec in cmp.iterrows():
                i = table.index[table["model"] == name][0]
                for col in ("rank", "elpd_diff", "dse", "weight"):
                    table.loc[i, col] = float(rec[col])
        elif len(group) == 1 and group is bounded:
            only = next(iter(group))
            table.loc[table["model"] == only, ["rank", "elpd_diff", "dse", "weight"]] = [0.0, 0.0, 0.0, 1.0]
    return table, skipped
