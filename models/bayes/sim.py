"""Simulated city panels with known truth, in the contract's column names, for recovery tests and benchmarks.

City effects are correlated with the treatment (so pooled OLS is biased and FE/Mundlak is needed); splits are
the paper's six binary flags; an optional instrument drives the treatment while the treatment's error is
correlated with the outcome's (endogeneity). `censor` clips the outcome at 1 (a Tobit world); `ordbeta` draws it
from an ordered beta (mass at 0 and 1) with 8x the linear predictor on the logit scale. truth["ame"] is the
average marginal effect of `ai` on E[y] of the world simulated.

Within-unit dependence (the calibration study, docs/bayes.md): `error_rho` makes each unit's error a stationary
AR(1), `unit_sigma_sd` gives each unit its own error sd sigma*exp(unit_sigma_sd*z_i - unit_sigma_sd^2/2) (mean
sigma), `treatment_rho` makes the treatment's own noise a stationary AR(1) (a persistent treatment: with persistent
errors this is what makes iid-error intervals too narrow). The defaults (0, 0, 0) draw exactly the iid world of
before (the extra draw is made only when one is non-zero, so seeds reproduce the old panels).
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
    error_rho: float = 0.0,
    unit_sigma_sd: float = 0.0,
    treatment_rho: float = 0.0,
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
    if error_rho or unit_sigma_sd or treatment_rho:
        # Drawn only when asked, after the iid draws, so the default world is unchanged for a given seed.
        e_y, v = _dependent_noise(rng, n_units, n_years, sigma, error_rho, unit_sigma_sd, treatment_rho, e_y, v)
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
        from ctfp.models.bayes.likelihoods import ordbeta_mean, ordbeta_random

        eta = 8.0 * (y_star - e_y - np.mean(y_star))
        y = ordbeta_random(eta, -3.0, 1.5, 20.0, True, rng=rng, size=eta.shape)
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
        "error_rho": error_rho,
        "unit_sigma_sd": unit_sigma_sd,
        "treatment_rho": treatment_rho,
    }
    return frame, truth


def _ar1_rows(rng: np.random.Generator, n_units: int, n_years: int, rho: float, innovations: np.ndarray) -> np.ndarray:
    """Stationary AR(1) per unit (rows unit-major) from unit-variance innovations; marginal sd 1."""
    e = innovations.reshape(n_units, n_years).copy()
    scale = np.sqrt(1.0 - rho**2)
    for t in range(1, n_years):
        e[:, t] = rho * e[:, t - 1] + scale * e[:, t]
    return e.ravel()


def _dependent_noise(
    rng: np.random.Generator,
    n_units: int,
    n_years: int,
    sigma: float,
    error_rho: float,
    unit_sigma_sd: float,
    treatment_rho: float,
    e_y: np.ndarray,
    v: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """AR(1) outcome errors with unit-varying sd, and AR(1) treatment noise, with the iid draws' marginal scales."""
    for name, r in (("error_rho", error_rho), ("treatment_rho", treatment_rho)):
        if not -1.0 < r < 1.0:
            raise ValueError(f"{name} must be in (-1, 1), got {r}")
    z = rng.normal(0, 1, n_units)
    unit_sd = sigma * np.exp(unit_sigma_sd * z - unit_sigma_sd**2 / 2)
    e_y = _ar1_rows(rng, n_units, n_years, error_rho, e_y / sigma) * np.repeat(unit_sd, n_years)
    v = _ar1_rows(rng, n_units, n_years, treatment_rho, v / np.std(v) if np.std(v) > 0 else v) * np.std(v)
    return e_y, v
