"""Simulated city panels with known truth, in the contract's column names, for recovery tests and benchmarks.

City effects are correlated with the treatment (so pooled OLS is biased and FE/Mundlak is needed); splits are
the paper's six binary flags; an optional instrument drives the treatment while the treatment's error is
correlated with the outcome's (endogeneity). `censor` clips the outcome at 1 (a Tobit world); `ordbeta` draws it
from an ordered beta (mass at 0 and 1) with 8x the linear predictor on the logit scale. truth["ame"] is the
average marginal effect of `ai` on E[y] of the world simulated.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ctfp.models.bayes.spec import PAPER_CONTROLS, PAPER_SPLITS


def simulate_panel(
    n_units: int = 30,
    n_years: int = 8,
    seed: int = 1,
    *,
    beta: float = 0.05,
    split_effects: dict[str, float] | None = None,
    censor: bool = False,
    ordbeta: bool = False,
    instrument: bool = False,
    sigma: float = 0.05,
    error_corr: float = 0.6,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Return (panel, truth). Outcome `ctfp`, treatment `ai`, controls PAPER_CONTROLS, splits PAPER_SPLITS."""
    rng = np.random.default_rng(seed)
    n = n_units * n_years
    city = np.repeat(np.arange(n_units), n_years)
    year = np.tile(np.arange(n_years), n_units)
    a_city = rng.normal(0, 0.08, n_units)
    g_year = np.linspace(-0.04, 0.04, n_years) + rng.normal(0, 0.01, n_years)
    controls = {c: rng.normal(0, 1, n_units)[city] * 0.5 + rng.normal(0, 1, n) for c in PAPER_CONTROLS}
    gamma = {c: g for c, g in zip(PAPER_CONTROLS, np.linspace(-0.02, 0.02, len(PAPER_CONTROLS)), strict=True)}

    z = rng.normal(0, 1, n_units)[city] * 0.5 + rng.normal(0, 1, n)
    e_y = rng.normal(0, sigma, n)
    # Treatment: city-level part tied to the city effect (confounding), a time trend, its own noise.
    v = rng.normal(0, 0.5, n)
    if instrument:
        # Endogenous: the treatment's noise shares a component with the outcome's error.
        v = 0.5 * (error_corr * e_y / sigma + np.sqrt(1 - error_corr**2) * rng.normal(0, 1, n))
    ai = 1.0 + 6.0 * a_city[city] + 0.1 * year + v + (0.6 * z if instrument else 0.0)

    splits = {
        "g_ua": (rng.random(n_units) < 0.5).astype(int)[city],
        "g_resource": (rng.random(n_units) < 0.4).astype(int)[city],
    }
    for s in PAPER_SPLITS[2:]:
        latent = rng.normal(0, 1, n_units)[city] + rng.normal(0, 1, n)
        splits[s] = (latent >= np.median(latent)).astype(int)
    split_effects = split_effects or {}
    slope = np.full(n, beta)
    for s, d in split_effects.items():
        slope = slope + d * (splits[s] - splits[s].mean())

    y_star = 0.6 + a_city[city] + g_year[year] + slope * ai + sum(gamma[c] * controls[c] for c in PAPER_CONTROLS) + e_y
    if censor:
        # Shift so about a fifth of rows sit at the bound, as efficient DEA cities do.
        y_star = y_star - np.quantile(y_star, 0.8) + 1.0
    y = np.minimum(y_star, 1.0) if censor else y_star
    true_ame = beta
    if censor:
        from scipy.stats import norm

        true_ame = float(np.mean(slope * norm.cdf((1.0 - (y_star - e_y)) / sigma)))
    if ordbeta:
        # Ordered-beta world: the linear predictor on the logit scale, cutpoints (-3, 1.5), phi = 20.
        from ctfp.models.bayes.likelihoods import _ordbeta_random, ordbeta_mean

        eta = 8.0 * (y_star - e_y - np.mean(y_star))
        y = _ordbeta_random(eta, -3.0, 1.5, 20.0, True, rng=rng, size=eta.shape)
        h = 1e-6
        true_ame = float(np.mean(8.0 * slope * (ordbeta_mean(eta + h, -3.0, 1.5, 20.0)
                                                - ordbeta_mean(eta - h, -3.0, 1.5, 20.0)) / (2 * h)))

    frame = pd.DataFrame({"city": 140100 + 100 * city, "year": 2006 + year, "ctfp": y, "ai": ai, **controls, **splits})
    if instrument:
        frame["iv_tel"] = z
    # the estimands of `slope_group` (two-way FE weights: squared within treatment) and `slope_group_rows`
    from ctfp.models.bayes.design import two_way_within

    w = two_way_within(ai, city, year) ** 2
    group_slope = {s: {lvl: float(np.average(slope[splits[s] == int(lvl)], weights=w[splits[s] == int(lvl)]))
                       for lvl in ("1", "0")} for s in PAPER_SPLITS}
    group_slope_rows = {
        s: {lvl: float(slope[splits[s] == int(lvl)].mean()) for lvl in ("1", "0")} for s in PAPER_SPLITS
    }
    truth = {
        "beta": beta,
        "gamma": gamma,
        "sigma": sigma,
        "split_effects": dict(split_effects),
        "slope_group": group_slope,
        "slope_group_rows": group_slope_rows,
        "pi": 0.6 if instrument else None,
        "share_at_bound": float(np.mean(y >= 1.0)),
        "ame": true_ame,
    }
    return frame, truth
