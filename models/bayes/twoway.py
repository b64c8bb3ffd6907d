"""Two-way hierarchical panel model: city and year effects, controls, Mundlak means, split slopes, serial remedy.

eta_it = alpha + sigma_city*z_city[i] + sigma_year*z_year[t] + b_it*x_it + X_it'gamma + M_it'lambda, with
z ~ ZeroSumNormal (identified against alpha; non-centred, so small effect sds do not make a funnel). M holds the
city and year means of the treatment and controls (two-way Mundlak): with them the treatment slope is the
within (two-way FE) estimator, while the effects stay random.

Treatment slopes for binary splits: b_it = beta + sum_s delta_s*(g_its - c_s), delta_s ~ Normal(0, 0.5) on the
standardised scale, c_s the x^2-weighted share of level 1 (decorrelates beta from the deltas). No variance is
learned over two levels (that is unidentified and diverges). `ame` averages b_it over rows; `slope_group`
averages it over a level's rows with the two-way FE weights (see `group_slopes`).
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from ctfp.models.bayes.design import PanelDesign
from ctfp.models.bayes.likelihoods import censored_obs, normal_obs, ordbeta_obs
from ctfp.models.bayes.spec import BayesSpec


def effects(
    prefix: str,
    scale: float,
    city_idx: pt.TensorVariable,
    year_idx: pt.TensorVariable,
    centred: tuple[str, ...] = ("year",),
    city_basis: np.ndarray | None = None,
    dims: tuple[str, ...] = ("city", "year"),
) -> pt.TensorVariable:
    """Zero-sum city and year effects with learned sds; returns their sum per observation.

    Non-centred (sigma * z) suits groups with few rows each (cities: 16 years); centred suits groups whose
    many rows pin each effect down (years: 78 cities each), where the non-centred form gives a slow sigma.
    With Mundlak terms the city effects live in `city_basis`, the orthonormal complement of the constant and the
    city means (a zero-sum normal that is also orthogonal to the means): the means' coefficients and the city
    effects then do not trade off along a ridge, and the treatment slope is unchanged (it is the within slope).
    """
    total = pt.zeros_like(city_idx, dtype="float64")
    for dim, idx in (("city", city_idx), ("year", year_idx)):
        if dim not in dims:
            continue
        s = pm.HalfNormal(f"sigma_{dim}{prefix}", sigma=scale)
        if dim == "city" and city_basis is not None:
            n, k = city_basis.shape
            # Scaled so that sigma_city is the sd of a city's effect, as in the unconstrained form.
            basis = pm.Data(f"city_basis{prefix}", city_basis * np.sqrt(n / k))
            if dim in centred:
                raw = pm.Normal(f"u_city{prefix}", 0.0, s, shape=k)
                eff = pm.Deterministic(f"city_effect{prefix}", pt.dot(basis, raw), dims="city")
            else:
                z = pm.Normal(f"z_city{prefix}", 0.0, 1.0, shape=k)
                eff = pm.Deterministic(f"city_effect{prefix}", s * pt.dot(basis, z), dims="city")
        elif dim in centred:
            eff = pm.ZeroSumNormal(f"{dim}_effect{prefix}", sigma=s, dims=dim)
        else:
            eff = pm.Deterministic(
                f"{dim}_effect{prefix}", s * pm.ZeroSumNormal(f"z_{dim}{prefix}", sigma=1.0, dims=dim), dims=dim
            )
        total = total + eff[idx]
    return total


def city_complement(design: PanelDesign) -> np.ndarray | None:
    """Orthonormal basis (cities x k) of the complement of [1, city means]; None without Mundlak terms."""
    if not design.mundlak.shape[1]:
        return None
    n_city = len(design.units)
    first = np.array([np.flatnonzero(design.unit_idx == u)[0] for u in range(n_city)])
    c = np.column_stack([np.ones(n_city), design.mundlak[first]])
    q, _ = np.linalg.qr(c, mode="complete")
    rank = np.linalg.matrix_rank(c)
    if n_city - rank < 2:
        return None
    return q[:, rank:]


def scale_data(design: PanelDesign) -> dict[str, pt.TensorVariable]:
    """The design's standardisation constants as `pm.Data`: with every data-dependent value in `pm.Data`, one
    compiled model serves every panel of the same structure (`inference.sampling.structure_key`)."""
    out = {name: pm.Data(name, float(getattr(design, name))) for name in ("y_mean", "y_sd", "x_mean", "x_sd")}
    if design.controls.shape[1]:
        out["control_sd"] = pm.Data("control_sd", design.control_sd, dims="control")
    return out


def linear_terms(
    prefix: str, design: PanelDesign, spec: BayesSpec, controls: pt.TensorVariable, mundlak: pt.TensorVariable
) -> tuple[pt.TensorVariable, pt.TensorVariable | None]:
    """Controls and Mundlak terms; returns (their sum per observation, the control coefficients or None)."""
    total = pt.zeros(design.n)
    gamma = None
    if design.controls.shape[1]:
        gamma = pm.Normal(f"gamma_std{prefix}", 0.0, spec.priors.beta, dims="control")
        total = total + pt.dot(controls, gamma)
    if design.mundlak.shape[1]:
        lam = pm.Normal(f"lambda_std{prefix}", 0.0, spec.priors.mundlak, dims="mundlak")
        total = total + pt.dot(mundlak, lam)
    return total, gamma


def build_twoway(design: PanelDesign, spec: BayesSpec) -> pm.Model:
    """The two-way model for likelihood normal, censored or ordbeta, with optional splits and serial remedy."""
    ordbeta = spec.likelihood == "ordbeta"
    with pm.Model(coords=design.coords()) as model:
        x = pm.Data("x", design.x, dims="obs")
        controls = pm.Data("X_controls", design.controls, dims=("obs", "control"))
        mundlak = pm.Data("X_mundlak", design.mundlak, dims=("obs", "mundlak"))
        city_idx = pm.Data("city_idx", design.unit_idx, dims="obs")
        year_idx = pm.Data("year_idx", design.time_idx, dims="obs")
        y_data = pm.Data("y_obs", design.y, dims="obs")
        sc = scale_data(design)

        # ordbeta's eta is on the logit scale of E[y | 0<y<1]: centre the intercept there.
        a0 = float(np.log(np.clip(design.y.mean(), 0.02, 0.98) / (1 - np.clip(design.y.mean(), 0.02, 0.98))))
        alpha = pm.Normal("alpha", mu=pm.Data("alpha_mean", a0) if ordbeta else 0.0, sigma=spec.priors.intercept)
        beta_std = pm.Normal("beta_std", 0.0, spec.priors.beta)
        terms, gamma_std = linear_terms("", design, spec, controls, mundlak)
        slope = beta_std + pt.zeros(design.n)  # dE/dx per row (standardised), for the marginal effects
        treat = beta_std * x
        delta = None
        if design.splits.shape[1]:
            g = pm.Data("G_splits", design.splits, dims=("obs", "split"))
            w = pm.Data("W_interactions", design.interactions, dims=("obs", "split"))
            delta = pm.Normal("delta_std", 0.0, spec.priors.split, dims="split")
            slope = slope + pt.dot(g - pm.Data("split_centre", design.split_centre, dims="split"), delta)
            treat = treat + pt.dot(w, delta)
        if spec.serial == "random_slopes":
            s_slope = pm.HalfNormal("sigma_slope", sigma=spec.priors.split)
            z_slope = pm.ZeroSumNormal("z_slope", sigma=1.0, dims="city")
            slope = slope + s_slope * z_slope[city_idx]
            treat = treat + s_slope * z_slope[city_idx] * x
        basis = city_complement(design)
        eta = alpha + effects("", spec.priors.effects, city_idx, year_idx, spec.centred, basis) + treat + terms

        if spec.likelihood == "normal":
            sigma = pm.HalfNormal("sigma", sigma=spec.priors.sigma)
            if spec.serial == "ar1":
                eta_obs, sigma_obs = _ar1(eta, sigma, y_data, design, sc)
                d_eta = normal_obs(eta_obs, sigma_obs, y_data, sc["y_mean"], sc["y_sd"])
            else:
                d_eta = normal_obs(eta, sigma, y_data, sc["y_mean"], sc["y_sd"])
        elif spec.likelihood == "censored":
            sigma = pm.HalfNormal("sigma", sigma=spec.priors.sigma)
            d_eta = censored_obs(eta, sigma, y_data, sc["y_mean"], sc["y_sd"], spec.censor_at)
        else:
            d_eta = ordbeta_obs(eta, y_data, bool(np.any(design.y == 0)), spec.priors.phi)

        # Coefficients back in the data's units (latent scale for censored, logit scale for ordbeta).
        y_unit = 1.0 if ordbeta else sc["y_sd"]
        pm.Deterministic("beta", beta_std * y_unit / sc["x_sd"])
        if gamma_std is not None:
            pm.Deterministic("gamma", gamma_std * y_unit / sc["control_sd"], dims="control")
        marginal = slope * d_eta / sc["x_sd"]  # dE[y_it]/dx_it in data units
        pm.Deterministic("ame", pt.mean(marginal))
        if delta is not None:
            pm.Deterministic("slope_inter", delta * y_unit / sc["x_sd"], dims="split")
            group_slopes(marginal, design.splits, design.fe_weight)
    return model


def group_slopes(marginal: pt.TensorVariable, splits: np.ndarray, fe_weight: np.ndarray | None = None) -> None:
    """Per split and level, the marginal effect averaged over the level's rows.

    `slope_group` weights rows by the squared two-way within treatment (`fe_weight`): with heterogeneous slopes
    that is the slope a split-sample two-way FE regression estimates, so it is the posterior counterpart of the
    paper's Table 6 columns. `slope_group_rows` is the plain row average (the average effect among the level's
    city-years). `slope_diff` = level 1 - level 0 of `slope_group`.
    """
    w = np.ones(splits.shape[0]) if fe_weight is None else np.asarray(fe_weight, float)

    def level_means(weights: np.ndarray, name: str) -> tuple[pt.TensorVariable, pt.TensorVariable]:
        w1 = splits * weights[:, None]
        w0 = (1 - splits) * weights[:, None]
        # pm.Data: the weights are data, so a compiled model can be reused with another panel
        return (pt.dot(marginal, pm.Data(f"{name}_1", w1 / w1.sum(axis=0), dims=("obs", "split"))),
                pt.dot(marginal, pm.Data(f"{name}_0", w0 / w0.sum(axis=0), dims=("obs", "split"))))

    s1, s0 = level_means(w, "w_group")
    pm.Deterministic("slope_group", pt.stack([s1, s0], axis=1), dims=("split", "level"))
    pm.Deterministic("slope_diff", s1 - s0, dims="split")
    r1, r0 = level_means(np.ones(splits.shape[0]), "w_group_rows")
    pm.Deterministic("slope_group_rows", pt.stack([r1, r0], axis=1), dims=("split", "level"))


def _ar1(
    eta: pt.TensorVariable, sigma: pt.TensorVariable, y_data: pt.TensorVariable, design: PanelDesign,
    sc: dict[str, pt.TensorVariable],
) -> tuple[pt.TensorVariable, pt.TensorVariable]:
    """City-level AR(1) errors: condition each row on the previous year's residual (stationary first row)."""
    rho = pm.Uniform("rho", lower=-0.99, upper=0.99)
    has_prev = pm.Data("has_prev", (design.prev_idx >= 0).astype(np.int8), dims="obs") > 0
    prev = pm.Data("prev_row", np.where(design.prev_idx >= 0, design.prev_idx, 0), dims="obs")
    resid = (y_data - sc["y_mean"]) / sc["y_sd"] - eta
    eta_obs = eta + pt.where(has_prev, rho * resid[prev], 0.0)
    sigma_obs = pt.where(has_prev, sigma, sigma / pt.sqrt(1 - rho**2))
    return eta_obs, sigma_obs
