"""Table 1 of the paper (descriptive statistics) computed on an analysis panel, and compared with print.

Statistics as Stata's `summarize` reports them: N = non-missing count, sd with n − 1 in the denominator.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ctfp.core.errors import InputError
from ctfp.data.published import TABLE1_VARIABLES, table1

# Relative gap of mean or sd above which a variable is flagged (calibration target of the synthetic panel).
DEFAULT_TOLERANCE = 0.15


def describe_table1(panel: pd.DataFrame, variables: Sequence[str] | None = None) -> pd.DataFrame:
    """N, mean, sd (n − 1), min, max of the Table 1 variables (or `variables`) of an analysis panel.

    Returns one row per variable in Table 1 order: variable, label, N, mean, sd, min, max.
    """
    names = list(TABLE1_VARIABLES) if variables is None else list(variables)
    missing = [v for v in names if v not in panel.columns]
    if missing:
        raise InputError(
            f"analysis panel lacks Table 1 column(s) {', '.join(missing)}: derive the panel first (ctfp.data.derive)"
        )
    rows = []
    for v in names:
        x = pd.to_numeric(panel[v], errors="coerce").to_numpy(dtype="float64")
        x = x[np.isfinite(x)]
        n = int(x.size)
        rows.append(
            {
                "variable": v,
                "label": TABLE1_VARIABLES.get(v, v),
                "N": n,
                "mean": float(x.mean()) if n else np.nan,
                "sd": float(x.std(ddof=1)) if n > 1 else np.nan,
                "min": float(x.min()) if n else np.nan,
                "max": float(x.max()) if n else np.nan,
            }
        )
    return pd.DataFrame(rows)


def _rel(replica: pd.Series, published: pd.Series) -> pd.Series:
    # Relative to the published value; a published zero leaves the ratio undefined (NaN, never flagged).
    pub = published.abs().where(published != 0)
    return (replica - published) / pub


def compare_table1(panel: pd.DataFrame, tolerance: float = DEFAULT_TOLERANCE) -> pd.DataFrame:
    """Published Table 1 beside the panel's own statistics.

    Columns: variable, label, then `<stat>_published` and `<stat>` for N, mean, sd, min, max, then
    `mean_rel_diff`, `sd_rel_diff` ((replica − published) / |published|) and `flag` (True where either
    relative difference exceeds `tolerance` in absolute value, or the variable is all missing).
    """
    if not tolerance > 0:
        raise InputError(f"Table 1 tolerance must be positive, got {tolerance}")
    pub = table1().set_index("variable")
    own = describe_table1(panel, list(pub.index)).set_index("variable")
    out = pd.DataFrame({"variable": pub.index, "label": pub["label"].to_numpy()})
    for stat in ("N", "mean", "sd", "min", "max"):
        out[f"{stat}_published"] = pub[stat].to_numpy()
        out[stat] = own[stat].to_numpy()
    out["mean_rel_diff"] = _rel(out["mean"], out["mean_published"])
    out["sd_rel_diff"] = _rel(out["sd"], out["sd_published"])
    # An all-missing variable is flagged too: nothing to compare is a failure, not a pass.
    out["flag"] = (
        (out["mean_rel_diff"].abs() > tolerance) | (out["sd_rel_diff"].abs() > tolerance) | out["mean"].isna()
    )
    return out
