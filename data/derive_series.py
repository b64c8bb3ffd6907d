"""Time-series steps within a city: interpolation, growth extrapolation, deflation, capital stock, lags.

Every function takes a long frame with a unit and a time column and returns Series aligned to its index,
so callers never depend on row order. Years within a unit are assumed consecutive (validation checks it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ctfp.core.errors import InputError

DELTA = 0.096  # depreciation rate of the paper (§4.2)


def interpolate_interior(df: pd.DataFrame, col: str, unit: str = "city", time: str = "year",
                         ) -> tuple[pd.Series, pd.Series]:
    """Linear interpolation in time of interior gaps within each unit; returns (values, imputed flag).

    Leading and trailing gaps stay NaN: interpolation never extrapolates.
    """
    values = df[col].astype(float).copy()
    for _, idx in df.groupby(unit, sort=False).groups.items():
        g = df.loc[idx].sort_values(time)
        y = g[col].to_numpy(dtype=float).copy()
        t = g[time].to_numpy(dtype=float)
        seen = ~np.isnan(y)
        if seen.sum() < 2 or seen.all():
            continue
        lo, hi = np.flatnonzero(seen)[[0, -1]]
        fill = np.isnan(y) & (np.arange(len(y)) > lo) & (np.arange(len(y)) < hi)
        if fill.any():
            y[fill] = np.interp(t[fill], t[seen], y[seen])
            values.loc[g.index] = y
    flag = df[col].isna() & values.notna()
    return values, flag.rename(f"{col}_imputed")


def extrapolate_growth(df: pd.DataFrame, col: str, unit: str = "city", time: str = "year", window: int = 3,
                       ) -> tuple[pd.Series, pd.Series]:
    """Fill trailing gaps by the unit's average growth over its last `window` observed years.

    g = (x_last / x_{last-k})^(1/k) − 1 over the last k = min(window, observed − 1) years with values
    (geometric mean of the annual growth rates); x_t = x_last · (1 + g)^(t − t_last).
    """
    values = df[col].astype(float).copy()
    for code, idx in df.groupby(unit, sort=False).groups.items():
        g = df.loc[idx].sort_values(time)
        y = g[col].to_numpy(dtype=float).copy()
        t = g[time].to_numpy(dtype=float)
        seen = np.flatnonzero(~np.isnan(y))
        if len(seen) == 0 or seen[-1] == len(y) - 1:
            continue
        if len(seen) < 2:
            raise InputError(f"{col}: city {code} has one observed value; growth extrapolation needs two or more")
        obs = seen[-min(window, len(seen) - 1) - 1:]
        span = t[obs[-1]] - t[obs[0]]
        growth = (y[obs[-1]] / y[obs[0]]) ** (1.0 / span) - 1.0
        tail = np.arange(seen[-1] + 1, len(y))
        y[tail] = y[seen[-1]] * (1.0 + growth) ** (t[tail] - t[seen[-1]])
        values.loc[g.index] = y
    flag = df[col].isna() & values.notna()
    return values, flag.rename(f"{col}_imputed")


def chain_index(df: pd.DataFrame, index_col: str, unit: str = "city", time: str = "year") -> pd.Series:
    """Cumulative index relative to each unit's first year: D_first = 1, D_t = D_{t−1} · index_t / 100.

    The first year's own index value is not used (it links to the year before the base).
    """
    out = pd.Series(np.nan, index=df.index, name=f"{index_col}_chain")
    for _, idx in df.groupby(unit, sort=False).groups.items():
        g = df.loc[idx].sort_values(time)
        f = g[index_col].to_numpy(dtype=float).copy() / 100.0
        f[0] = 1.0
        out.loc[g.index] = np.cumprod(f)
    return out


def real_gdp(df: pd.DataFrame, gdp: str = "gdp", index: str = "gdp_index", unit: str = "city",
             time: str = "year") -> pd.Series:
    """Real GDP at base-year prices: rgdp_base = gdp_base, rgdp_t = rgdp_{t−1} · gdp_index_t / 100."""
    base = df.groupby(unit)[[time, gdp]].apply(lambda g: g.sort_values(time)[gdp].iloc[0])
    return (df[unit].map(base) * chain_index(df, index, unit, time)).rename("rgdp")


def deflate(df: pd.DataFrame, value: str, price_index: str, unit: str = "city", time: str = "year") -> pd.Series:
    """Nominal series at base-year prices: value_t / D_t with D from the price index (previous year = 100)."""
    return (df[value] / chain_index(df, price_index, unit, time)).rename(f"r{value}")


def capital_stock(df: pd.DataFrame, investment: str, unit: str = "city", time: str = "year",
                  delta: float = DELTA) -> pd.Series:
    """Perpetual inventory: K_t = (1 − δ) K_{t−1} + I_t, K_first = I_first / (g + δ) (Hall–Jones).

    g is the unit's average annual growth of real investment over all its years, geometric:
    g = (I_last / I_first)^(1/(T−1)) − 1.
    """
    out = pd.Series(np.nan, index=df.index, name="capital")
    for code, idx in df.groupby(unit, sort=False).groups.items():
        g = df.loc[idx].sort_values(time)
        inv = g[investment].to_numpy(dtype=float)
        t = g[time].to_numpy(dtype=float)
        if len(inv) < 2:
            raise InputError(f"{investment}: city {code} has one year; the initial capital stock needs the "
                             "growth of investment over two or more years")
        growth = (inv[-1] / inv[0]) ** (1.0 / (t[-1] - t[0])) - 1.0
        if growth + delta <= 0:
            raise InputError(f"{investment}: city {code} has average real investment growth {growth:.4f} <= "
                             f"-{delta}; the initial stock I/(g + δ) is undefined: check the city's FAI series")
        k = np.empty_like(inv)
        k[0] = inv[0] / (growth + delta)
        for j in range(1, len(inv)):
            k[j] = (1.0 - delta) * k[j - 1] + inv[j]
        out.loc[g.index] = k
    return out


def lag(df: pd.DataFrame, col: str, unit: str = "city", time: str = "year", periods: int = 1) -> pd.Series:
    """Value of `col` in the same unit at time − periods; NaN where that row is absent (gaps are not bridged)."""
    prev = df[[unit, time, col]].copy()
    prev[time] = prev[time] + periods
    prev = prev.rename(columns={col: "__lag"})
    merged = df[[unit, time]].merge(prev, on=[unit, time], how="left", validate="many_to_one")
    return pd.Series(merged["__lag"].to_numpy(), index=df.index, name=f"L{periods}.{col}")
