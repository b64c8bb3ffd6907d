"""Posterior contrasts: the treatment effect, group slopes and their differences, instrument strength, LOO.

Everything is returned as xarray objects with named dims (split, level, stat) or plain dicts for JSON.
Intervals are 95% (the paper's convention), HDI and equal-tailed both given for the headline effect.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from ctfp.core.errors import InputError

PROB = 0.95
SAMPLE_DIMS = ("chain", "draw")
BOUNDED = ("censored", "ordbeta")  # likelihoods that put mass at exactly 1


def _post(dt: xr.DataTree, var: str) -> xr.DataArray:
    if var not in dt["posterior"].data_vars:
        raise InputError(f"posterior has no variable '{var}'")
    return dt["posterior"][var]


def _eti(da: xr.DataArray, prob: float) -> tuple[xr.DataArray, xr.DataArray]:
    q = da.quantile([(1 - prob) / 2, (1 + prob) / 2], dim=list(SAMPLE_DIMS))
    return q.isel(quantile=0, drop=True), q.isel(quantile=1, drop=True)


def effect_summary(dt: xr.DataTree, var: str = "ame", prob: float = PROB) -> dict[str, Any]:
    """Mean, sd, 95% HDI and ETI and P(>0) of a scalar posterior variable."""
    import arviz as az

    da = _post(dt, var)
    hdi = az.hdi(da, prob=prob)
    lo, hi = _eti(da, prob)
    return {
        "variable": var,
        "mean": float(da.mean()),
        "sd": float(da.std()),
        "hdi95": [float(hdi.sel(ci_bound="lower")), float(hdi.sel(ci_bound="upper"))],
        "eti95": [float(lo), float(hi)],
        "p_gt0": float((da > 0).mean()),
    }


def group_contrasts(dt: xr.DataTree, rope: float = 0.0, prob: float = PROB) -> xr.Dataset:
    """Per split: each level's slope (mean, 95% ETI, P(slope > 0)), the difference 1 - 0, P(diff > 0) and
    P(|diff| < rope).

    `rope` is the half-width of the region of practical equivalence in the treatment's data units (0 = none).
    """
    slope = _post(dt, "slope_group")
    diff = _post(dt, "slope_diff")
    s_lo, s_hi = _eti(slope, prob)
    d_lo, d_hi = _eti(diff, prob)
    out = xr.Dataset(
        {
            "slope_mean": slope.mean(SAMPLE_DIMS),
            "slope_sd": slope.std(SAMPLE_DIMS),
            "slope_lower": s_lo,
            "slope_upper": s_hi,
            "slope_p_gt0": (slope > 0).mean(SAMPLE_DIMS),
            "diff_mean": diff.mean(SAMPLE_DIMS),
            "diff_sd": diff.std(SAMPLE_DIMS),
            "diff_lower": d_lo,
            "diff_upper": d_hi,
            "p_gt0": (diff > 0).mean(SAMPLE_DIMS),
            "p_rope": (abs(diff) < rope).mean(SAMPLE_DIMS),
        }
    )
    out.attrs.update({"prob": prob, "rope": rope, "interval": "equal-tailed"})
    return out


def by_dict(contrasts: xr.Dataset) -> dict[str, Any]:
    """The `by` block of summary.json from `group_contrasts`."""
    out: dict[str, Any] = {}
    for split in contrasts["split"].values.tolist():
        c = contrasts.sel(split=split)
        levels = {
            lvl: {
                "mean": float(c["slope_mean"].sel(level=lvl)),
                "sd": float(c["slope_sd"].sel(level=lvl)),
                "eti95": [float(c["slope_lower"].sel(level=lvl)), float(c["slope_upper"].sel(level=lvl))],
                "p_gt0": float(c["slope_p_gt0"].sel(level=lvl)),
            }
            for lvl in ("1", "0")
        }
        out[str(split)] = {
            **levels,
            "diff": {
                "mean": float(c["diff_mean"]),
                "sd": float(c["diff_sd"]),
                "eti95": [float(c["diff_lower"]), float(c["diff_upper"])],
                "p_gt0": float(c["p_gt0"]),
                "p_rope": float(c["p_rope"]),
            },
        }
    return out


def instrument_strength(dt: xr.DataTree, prob: float = PROB) -> dict[str, Any]:
    """Posterior of the first-stage coefficient `pi` and an F-like ratio mean(pi)^2 / var(pi).

    With one instrument the frequentist first-stage F is t^2; the posterior analogue is (mean/sd)^2, read with the
    usual rule of thumb (below 10: weak).
    """
    pi = _post(dt, "pi")
    lo, hi = _eti(pi, prob)
    f_like = float(pi.mean() ** 2 / pi.var())
    return {
        "pi_mean": float(pi.mean()),
        "pi_sd": float(pi.std()),
        "pi_eti95": [float(lo), float(hi)],
        "first_stage_f_like": f_like,
        "weak": f_like < 10,
    }


def compare_likelihoods(fits: dict[str, xr.DataTree], likelihoods: dict[str, str]) -> Any:
    """LOO comparison (az.compare) among fits whose likelihood puts mass at exactly 1.

    A Gaussian model gives a density, not a probability, to the observations at the bound, so its elpd is not on
    the same footing: it is left out and the note says so.
    """
    import arviz as az

    from ctfp.data.loo_group import elpd_of

    keep = {name: dt for name, dt in fits.items() if likelihoods.get(name) in BOUNDED}
    dropped = sorted(set(fits) - set(keep))
    if len(keep) < 2:
        raise InputError("LOO comparison needs two fits with a bounded likelihood (censored, ordbeta)")
    table = az.compare({name: elpd_of(dt) for name, dt in keep.items()})
    table.attrs["note"] = (
        "compared only models that put probability mass at 1"
        + (f"; left out (density at the bound): {', '.join(dropped)}" if dropped else "")
    )
    return table


def loo_summary(dt: xr.DataTree) -> dict[str, float]:
    """elpd_loo, its se and the worst Pareto k of one fit (its stored `loo` group if it has one)."""
    from ctfp.data.loo_group import elpd_of

    res = elpd_of(dt)
    return {
        "elpd_loo": float(res.elpd),
        "se": float(res.se),
        "p_loo": float(res.p),
        "max_pareto_k": float(np.nanmax(np.asarray(res.pareto_k))),
    }


def add_loo(dt: xr.DataTree) -> dict[str, float]:
    """Compute PSIS-LOO of `y` once, store it as `dt`'s `loo` group (the report reads it, `data/loo_group.py`)
    and return its summary."""
    import arviz as az

    from ctfp.data.loo_group import LOO_GROUP, loo_dataset

    dt[LOO_GROUP] = loo_dataset(az.loo(dt, var_name="y", pointwise=True))
    return loo_summary(dt)
