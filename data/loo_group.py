"""The `loo` group of a posterior file: PSIS-LOO computed once, where the fit is made, and read by the report.

PSIS-LOO smooths importance weights observation by observation (about 1 s per 1,000 observations per model), so
it is computed once in the fit step and stored beside the draws: pointwise elpd and Pareto k over the
observations, and the totals as attributes. `elpd_from_group` rebuilds arviz-stats' `ELPDDataLOO` from it, which
`az.compare` takes in place of a tree (and then does not recompute LOO).
"""

from __future__ import annotations

from typing import Any

import xarray as xr

LOO_GROUP = "loo"
_SCALARS = ("elpd", "se", "p", "n_samples", "n_data_points", "scale", "warning", "good_k")


def loo_dataset(res: Any) -> xr.Dataset:
    """The `loo` group for one pointwise LOO result (`az.loo(..., pointwise=True)`)."""
    attrs = {name: getattr(res, name) for name in _SCALARS}
    attrs["warning"] = int(bool(attrs["warning"]))  # netCDF attributes hold no booleans
    return xr.Dataset({"elpd_i": res.elpd_i, "pareto_k": res.pareto_k}, attrs=attrs)


def elpd_from_group(ds: xr.Dataset) -> Any:
    """arviz-stats' ELPDDataLOO from a stored `loo` group."""
    from arviz_stats.utils import ELPDDataLOO

    a = ds.attrs
    return ELPDDataLOO(
        elpd=float(a["elpd"]), se=float(a["se"]), p=float(a["p"]), n_samples=int(a["n_samples"]),
        n_data_points=int(a["n_data_points"]), scale=str(a["scale"]), warning=bool(int(a["warning"])),
        good_k=float(a["good_k"]), elpd_i=ds["elpd_i"], pareto_k=ds["pareto_k"],
    )


def elpd_of(tree: xr.DataTree) -> Any:
    """PSIS-LOO of `y` for one fit: rebuilt from its `loo` group, or computed for a posterior file written before
    fits stored one."""
    import arviz as az

    if LOO_GROUP in tree.children:
        return elpd_from_group(tree[LOO_GROUP].to_dataset())
    return az.loo(tree, var_name="y", pointwise=True)
