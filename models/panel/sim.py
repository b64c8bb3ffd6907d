"""A simulated analysis panel with the contract's column names, for tests and benchmarks of the replicas.

Not the paper-world synthetic panel (that one is `ctfp.models.worlds.paper`): a plain two-way FE data-generating process
with known slopes, city-level and city-year-level 0/1 groups, shift-share instruments and a province × year id,
so every replica specification runs on it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CONTROLS = ("pop", "hum", "lninf", "isu", "trade", "er", "tec")


def simulate_analysis_panel(n_cities: int = 78, n_years: int = 16, seed: int = 0, *,
                            beta_ai: float = 0.025, beta_diff: float = 0.0) -> pd.DataFrame:
    """Balanced city × year panel; ctfp = a_i + g_t + beta·ai (+ beta_diff·ai·g_ua) + controls + noise."""
    rng = np.random.default_rng(seed)
    city = np.repeat(np.arange(n_cities) + 100, n_years)
    year = np.tile(np.arange(2006, 2006 + n_years), n_cities)
    n = city.size
    ci = np.repeat(np.arange(n_cities), n_years)
    ti = np.tile(np.arange(n_years), n_cities)
    province = ci % 7
    a = rng.normal(0, 0.1, n_cities)[ci]
    g = np.linspace(0, 0.1, n_years)[ti]
    tel = rng.lognormal(8, 1, n_cities)[ci]
    res = rng.lognormal(7, 1, n_cities)[ci]
    nat = np.exp(np.linspace(15, 20, n_years))[ti]
    u_ai = rng.normal(0, 1, n)
    ai = np.abs(0.3 + 4e-9 * tel * nat / 1e3 + 2e-9 * res * nat / 1e3 + 0.3 * u_ai + rng.normal(0, 0.2, n_cities)[ci])
    df = pd.DataFrame({"city": city, "year": year, "province": province,
                       "provyear": province * 10_000 + year})
    df["ai"] = ai
    df["scale"] = ai * 1.4 + rng.normal(0, 0.05, n)
    df["ai_kw1"] = ai * 0.2 + rng.normal(0, 0.02, n)
    df["scale_kw1"] = ai * 0.3 + rng.normal(0, 0.02, n)
    for j, c in enumerate(CONTROLS):
        df[c] = rng.normal(0, 1, n_cities)[ci] + rng.normal(0, 0.5, n) + 0.1 * j
    df["newinf"] = rng.normal(0, 1, n)
    df["gfin"] = rng.normal(0, 1, n)
    df["iv_tel"] = tel * nat / 1e3
    df["iv_res"] = res * nat / 1e3
    df["g_ua"] = (rng.random(n_cities) < 0.77).astype(int)[ci]
    df["g_resource"] = (rng.random(n_cities) < 0.5).astype(int)[ci]
    for name in ("g_attention", "g_envinv", "g_hum", "g_gcons"):
        score = rng.normal(0, 1, n_cities)[ci] + rng.normal(0, 1, n)
        df[name] = (score >= np.median(score)).astype(int)
    eps = rng.normal(0, 0.05, n) + 0.02 * u_ai  # endogeneity through u_ai
    slope = beta_ai + beta_diff * df["g_ua"].to_numpy()
    ctrl = sum(0.01 * (j - 3) * df[c].to_numpy() for j, c in enumerate(CONTROLS))
    df["ctfp"] = 0.43 + a + g + slope * ai + ctrl + eps
    df["ctfp_bcc"] = df["ctfp"] * 0.8 + rng.normal(0, 0.02, n)
    for j, m in enumerate(("dig1", "dig2", "green1", "green2")):
        df[m] = 0.1 + 0.01 * (j + 1) * ai + rng.normal(0, 0.05, n)
    return df
