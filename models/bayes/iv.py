"""Bayesian FE-IV: a first stage and an outcome equation with correlated errors, city and year effects in both.

Standardised scale: x = pi*z + FE_1 + X'gamma_1 + M'lambda_1 + v and y = alpha + beta*x + FE_2 + X'gamma_2 +
M'lambda_2 + e, (v, e) bivariate normal with correlation rho. Written as the first stage times the conditional
outcome: y | x ~ Normal(mu_y + rho*(s_e/s_v)*v, s_e*sqrt(1 - rho^2)), which samples well and gives pointwise
log-likelihoods of y for LOO. M holds city and year means of the instrument and controls (correlated random
effects, Wooldridge 2010 §11): the endogenous treatment's own means are left out. rho's prior is LKJ(eta=2)
for a 2x2 correlation, i.e. (rho + 1)/2 ~ Beta(2, 2).
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from ctfp.models.bayes.design import PanelDesign
from ctfp.models.bayes.spec import BayesSpec
from ctfp.models.bayes.twoway import city_complement, effects, linear_terms, scale_data


def build_iv(design: PanelDesign, spec: BayesSpec) -> pm.Model:
    """The FE-IV model; first-stage observed variable is `x_first`, outcome `y` (both in data units)."""
    assert design.z is not None
    with pm.Model(coords=design.coords()) as model:
        x_std = pm.Data("x", design.x, dims="obs")
        z = pm.Data("z", design.z, dims="obs")
        controls = pm.Data("X_controls", design.controls, dims=("obs", "control"))
        mundlak = pm.Data("X_mundlak", design.mundlak, dims=("obs", "mundlak"))
        city_idx = pm.Data("city_idx", design.unit_idx, dims="obs")
        year_idx = pm.Data("year_idx", design.time_idx, dims="obs")
        y_data = pm.Data("y_obs", design.y, dims="obs")
        x_data = pm.Data("x_obs", design.x * design.x_sd + design.x_mean, dims="obs")
        k = scale_data(design)  # data-dependent constants as pm.Data (twoway.design_data)
        y_mean, y_sd, x_sd = k["y_mean"], k["y_sd"], k["x_sd"]
        x_mean = pm.Data("x_mean", np.float64(design.x_mean))
        z_sd = pm.Data("z_sd", np.float64(design.z_sd))

        basis = city_complement(design)
        # With Mundlak terms the treatment is two-way demeaned: its city and year effects and city means are zero
        # by construction and are left out of the first stage (a learned sd with nothing to explain is a funnel).
        alpha_1 = pm.Normal("alpha_first", 0.0, spec.priors.intercept)
        pi_std = pm.Normal("pi_std", 0.0, spec.priors.beta)
        mu_x = alpha_1 + pi_std * z
        if design.controls.shape[1]:
            gamma_1 = pm.Normal("gamma_std_first", 0.0, spec.priors.beta, dims="control")
            mu_x = mu_x + pt.dot(controls, gamma_1)
        if not spec.mundlak:
            mu_x = mu_x + effects("_first", spec.priors.effects, city_idx, year_idx, spec.centred, None)
        s_v = pm.HalfNormal("sigma_first", sigma=spec.priors.sigma)
        pm.Normal("x_first", mu=x_mean + x_sd * mu_x, sigma=x_sd * s_v, observed=x_data, dims="obs")

        # Outcome conditional on the first-stage residual.
        alpha = pm.Normal("alpha", 0.0, spec.priors.intercept)
        beta_std = pm.Normal("beta_std", 0.0, spec.priors.beta)
        terms_2, gamma_std = linear_terms("", design, spec, controls, mundlak)
        s_e = pm.HalfNormal("sigma", sigma=spec.priors.sigma)
        rho_01 = pm.Beta("rho_01", alpha=2.0, beta=2.0)
        rho = pm.Deterministic("rho", 2 * rho_01 - 1)
        v = x_std - mu_x
        mu_y = alpha + beta_std * x_std + effects("", spec.priors.effects, city_idx, year_idx, spec.centred, basis) + terms_2
        eta = mu_y + rho * (s_e / s_v) * v
        sd_y = s_e * pt.sqrt(1 - rho**2)
        pm.Normal("y", mu=y_mean + y_sd * eta, sigma=y_sd * sd_y, observed=y_data, dims="obs")

        pm.Deterministic("beta", beta_std * y_sd / x_sd)
        pm.Deterministic("ame", beta_std * y_sd / x_sd)
        pm.Deterministic("pi", pi_std * x_sd / z_sd)
        if gamma_std is not None:
            pm.Deterministic("gamma", gamma_std * y_sd / k["control_sd"], dims="control")
    return model
