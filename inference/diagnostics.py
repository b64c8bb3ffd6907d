"""The convergence gate every Bayesian fit passes or fails loudly.

Thresholds (Vehtari et al. 2021): rank-normalised split R-hat <= 1.01, bulk and tail ESS >= 400 for every
posterior variable, zero divergent transitions. A failing gate is printed as a rich warning with what to try;
`ctfp fit` turns it into a NumericalError unless --allow-failed-gate.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import xarray as xr

MAX_RHAT = 1.01
MIN_ESS = 400.0


@dataclass
class GateResult:
    """Outcome of the gate with the worst values and one message per failed check."""

    passed: bool
    max_rhat: float
    min_ess_bulk: float
    min_ess_tail: float
    divergences: int
    worst_rhat_var: str = ""
    worst_ess_var: str = ""
    messages: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary_entries(self) -> dict[str, Any]:
        """The `diagnostics` and `gate` entries of a fit's summary.json (the same for every kind of fit)."""
        return {
            "diagnostics": {"max_rhat": self.max_rhat, "min_ess_bulk": self.min_ess_bulk,
                            "min_ess_tail": self.min_ess_tail, "divergences": self.divergences},
            "gate": {"passed": self.passed, "messages": self.messages},
        }


def _extreme(ds: xr.Dataset, largest: bool) -> tuple[float, str]:
    best, name = (-np.inf if largest else np.inf), ""
    for var, da in ds.data_vars.items():
        vals = np.asarray(da.values, float)
        vals = vals[~np.isnan(vals)]  # inf (e.g. R-hat of chains stuck apart) must fail the gate
        if not vals.size:
            continue
        v = float(vals.max() if largest else vals.min())
        if (v > best) if largest else (v < best):
            best, name = v, str(var)
    return best, name


def check_gate(
    dt: xr.DataTree,
    *,
    var_names: list[str] | None = None,
    max_rhat: float = MAX_RHAT,
    min_ess: float = MIN_ESS,
    warn: bool = True,
) -> GateResult:
    """Apply the gate to the posterior of `dt` (all variables unless `var_names`)."""
    import arviz as az

    rhat = _as_dataset(az.rhat(dt, var_names=var_names))
    bulk = _as_dataset(az.ess(dt, var_names=var_names, method="bulk"))
    tail = _as_dataset(az.ess(dt, var_names=var_names, method="tail"))
    r_max, r_var = _extreme(rhat, largest=True)
    b_min, b_var = _extreme(bulk, largest=False)
    t_min, t_var = _extreme(tail, largest=False)
    div = int(np.asarray(dt["sample_stats"]["diverging"].values).sum()) if "sample_stats" in dt.children else 0

    messages: list[str] = []
    if not r_max <= max_rhat:
        messages.append(
            f"R-hat {r_max:.3f} > {max_rhat} ({r_var}): chains disagree; raise --tune and --draws, "
            "or look for a multimodal or unidentified parameter"
        )
    if not b_min >= min_ess:
        messages.append(f"bulk ESS {b_min:.0f} < {min_ess:.0f} ({b_var}): raise --draws or --chains")
    if not t_min >= min_ess:
        messages.append(f"tail ESS {t_min:.0f} < {min_ess:.0f} ({t_var}): raise --draws; intervals are unreliable")
    if div > 0:
        messages.append(
            f"{div} divergent transitions: raise target_accept, reparameterise, or drop learned variances over "
            "few groups (e.g. two levels)"
        )
    result = GateResult(
        passed=not messages,
        max_rhat=r_max,
        min_ess_bulk=b_min,
        min_ess_tail=t_min,
        divergences=div,
        worst_rhat_var=r_var,
        worst_ess_var=b_var,
        messages=messages,
    )
    if warn and not result.passed:
        report_failure(result)
    return result


def _as_dataset(obj: Any) -> xr.Dataset:
    if isinstance(obj, xr.DataTree):
        return obj.to_dataset()
    if isinstance(obj, xr.DataArray):
        return obj.to_dataset(name=obj.name or "x")
    return obj


def report_failure(result: GateResult, label: str = "") -> None:
    """Print the failed gate loudly on stderr."""
    from rich.console import Console

    console = Console(stderr=True)
    head = f"convergence gate FAILED{' for ' + label if label else ''}"
    console.print(f"[bold red]WARNING: {head}[/bold red]")
    for msg in result.messages:
        console.print(f"[red]  - {msg}[/red]")
