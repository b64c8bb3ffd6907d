"""The paper's Tables 2–6 as named regression specifications (Shen & Chao 2025, §5).

Each `Replica` is one printed regression: outcome, the regressor printed as "AI" (or the instrument of a first
stage), controls, absorbed FEs, clustering, estimator, split sample, and the published rows it answers for
(labels as in `ctfp.data.published.published_cells`: "AI", "POP", ..., "tel", "N", "R2", "KP_LM", ...).
Spec ids follow the published tables' data ("T2c2" = Table 2 column (2)). `GROUP_SPLITS` lists Table 6's six
splits and the difference tests run on each (the paper prints the p-value for the first only).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

CONTROLS: tuple[str, ...] = ("pop", "hum", "lninf", "isu", "trade", "er", "tec")
EXTRA_CONTROLS: tuple[str, ...] = ("newinf", "gfin")
CONTROL_LABELS: dict[str, str] = {"pop": "POP", "hum": "HUM", "lninf": "lnINF", "isu": "ISU", "trade": "trade",
                                  "er": "ER", "tec": "TEC"}
TWFE: tuple[str, ...] = ("city", "year")
LAG_PREFIX = "L."


@dataclass(frozen=True)
class Replica:
    """One printed regression of Tables 2–6."""

    spec: str
    table: str
    column: str
    outcome: str
    treatment: str  # regressor printed in row "AI"; for a first stage, the instrument
    controls: tuple[str, ...] = CONTROLS
    absorb: tuple[str, ...] = TWFE
    cluster: tuple[str, ...] = ("city",)
    estimator: str = "twfe"  # "twfe" | "fe2sls" | "fe2sls_first"
    endog: str = ""  # 2SLS: the endogenous regressor ("ai")
    instruments: tuple[str, ...] = ()
    split: str = ""
    level: int | None = None
    rows: tuple[tuple[str, str], ...] = (("AI", ""),)  # (printed row label, analysis variable)
    stats: tuple[str, ...] = ("N", "R2")
    description: str = ""

    @property
    def regressors(self) -> tuple[str, ...]:
        return (self.treatment, *self.controls)


def _t2() -> list[Replica]:
    full = (("AI", ""), *((lab, var) for var, lab in CONTROL_LABELS.items()))
    return [
        Replica("T2c1", "2", "(1)", "ctfp", "ai", controls=(), description="TWFE, AI quality, no controls"),
        Replica("T2c2", "2", "(2)", "ctfp", "ai", rows=full, description="headline TWFE with controls"),
        Replica("T2c3", "2", "(3)", "ctfp", "scale", controls=(), description="AI scale, no controls"),
        Replica("T2c4", "2", "(4)", "ctfp", "scale", rows=full, description="AI scale with controls"),
    ]


def _t3() -> list[Replica]:
    return [
        Replica("T3c1", "3", "(1)", "ctfp", "ai_kw1", description="single keyword AI quality"),
        Replica("T3c2", "3", "(2)", "ctfp", "scale_kw1", description="single keyword AI scale"),
        Replica("T3c3", "3", "(3)", "ctfp_bcc", "ai", description="CTFP re-measured by DEA-BCC"),
        Replica("T3c4", "3", "(4)", "ctfp", LAG_PREFIX + "ai", description="AI lagged one year (consecutive years)"),
        Replica("T3c5", "3", "(5)", "ctfp", "ai", cluster=("provyear",), description="clustered by province×year"),
        Replica("T3c6", "3", "(6)", "ctfp", "ai", controls=CONTROLS + EXTRA_CONTROLS,
                description="adds new infrastructure and green finance"),
    ]


def _t4() -> list[Replica]:
    out = []
    for k, (z, lab) in enumerate((("iv_tel", "tel"), ("iv_res", "res"))):
        c1, c2 = f"({2 * k + 1})", f"({2 * k + 2})"
        out.append(Replica(f"T4c{2 * k + 1}", "4", c1, "ai", z, estimator="fe2sls_first", endog="ai",
                           instruments=(z,), rows=((lab, z),), stats=("N", "KP_LM", "KP_LM_p", "KP_F"),
                           description=f"first stage of FE-2SLS with {z}"))
        out.append(Replica(f"T4c{2 * k + 2}", "4", c2, "ctfp", "ai", estimator="fe2sls", endog="ai",
                           instruments=(z,), stats=("N",), description=f"FE-2SLS second stage, instrument {z}"))
    return out


def _t5() -> list[Replica]:
    return [Replica(f"T5c{j + 1}", "5", f"({j + 1})", m, "ai", description=f"mechanism: {m}")
            for j, m in enumerate(("dig1", "dig2", "green1", "green2"))]


GROUP_SPLITS: tuple[str, ...] = ("g_ua", "g_resource", "g_attention", "g_envinv", "g_hum", "g_gcons")


def _t6() -> list[Replica]:
    out = []
    for j, g in enumerate(GROUP_SPLITS):
        for lev, off in ((1, 1), (0, 2)):
            col = 2 * j + off
            out.append(Replica(f"T6c{col}", "6", f"({col})", "ctfp", "ai", split=g, level=lev,
                               description=f"split sample {g} = {lev}"))
    return out


REPLICAS: tuple[Replica, ...] = tuple(_t2() + _t3() + _t4() + _t5() + _t6())


@dataclass(frozen=True)
class GroupDiff:
    """A Table 6 difference test: the split, its two published columns, and where its p is printed."""

    split: str
    column_1: str
    column_0: str
    published_column: str  # "(1)-(2)" where the paper prints a p-value, "" otherwise


GROUP_DIFFS: tuple[GroupDiff, ...] = tuple(
    GroupDiff(g, f"({2 * j + 1})", f"({2 * j + 2})", "(1)-(2)" if g == "g_ua" else "")
    for j, g in enumerate(GROUP_SPLITS))


def replica(spec: str) -> Replica:
    """Look up a replica by spec id (e.g. "T2c2")."""
    for r in REPLICAS:
        if r.spec == spec:
            return r
    raise KeyError(spec)


def add_lag(frame: pd.DataFrame, var: str, unit: str = "city", time: str = "year") -> pd.DataFrame:
    """Add `L.<var>`: the value of the previous year for the same unit, NaN when that year is absent."""
    out = frame.copy()
    prev = frame[[unit, time, var]].copy()
    prev[time] = prev[time] + 1
    prev = prev.rename(columns={var: LAG_PREFIX + var})
    merged = out[[unit, time]].merge(prev, on=[unit, time], how="left", validate="one_to_one")
    out[LAG_PREFIX + var] = merged[LAG_PREFIX + var].to_numpy(dtype=float)
    return out


def needed_columns(r: Replica) -> list[str]:
    """Analysis columns a replica reads (lags resolved to their base variable)."""
    cols = [r.outcome, *(c[len(LAG_PREFIX):] if c.startswith(LAG_PREFIX) else c for c in r.regressors),
            *r.absorb, *r.cluster, *r.instruments]
    if r.endog:
        cols.append(r.endog)
    if r.split:
        cols.append(r.split)
    return list(dict.fromkeys(c for c in cols if c))


def split_frame(frame: pd.DataFrame, r: Replica) -> pd.DataFrame:
    """The estimation frame of a replica: lag added if needed, split sample selected."""
    out = frame
    lagged = [c for c in r.regressors if c.startswith(LAG_PREFIX)]
    for c in lagged:
        out = add_lag(out, c[len(LAG_PREFIX):])
    if r.split:
        vals = out[r.split].to_numpy()
        out = out.loc[np.asarray(vals == r.level)]
    return out
