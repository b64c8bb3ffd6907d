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
            # Scaled so that sigma_city is the sd of a city's effect, as in the unconstrained form. In pm.Data:
            # the basis depends on the data (city means), so a compiled model can be refitted on another world.
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


def _city_split(design: PanelDesign) -> tuple[np.ndarray, np.ndarray] | None:
    """Orthonormal bases (span, complement) of [1, city means] in city space; None without Mundlak terms or
    with fewer than two cities left over."""
    if not design.mundlak.shape[1]:
        return None
    n_city = len(design.units)
    first = np.array([np.flatnonzero(design.unit_idx == u)[0] for u in range(n_city)])
    c = np.column_stack([np.ones(n_city), design.mundlak[first]])
    q, _ = np.linalg.qr(c, mode="complete")
    rank = np.linalg.matrix_rank(c)
    if n_city - rank < 2:
        return None
    return q[:, :rank], q[:, rank:]


def city_complement(design: PanelDesign) -> np.ndarray | None:
    """Orthonormal basis (cities x k) of the complement of [1, city means]; None without Mundlak terms."""
    split = _city_split(design)
    return None if split is None else split[1]


def _conditional_ar1(spec: BayesSpec) -> bool:
    """Whether the model draws its effects through `_ar1_effects` (given a city split): the builder and
    `design_data` must agree, or a refit would swap in data the compiled model does not have."""
    return spec.likelihood == "normal" and spec.serial == "ar1" and spec.instrument is None


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
        # Every array that depends on the data values (not only on the panel's shape) is pm.Data, so one compiled
        # model refits another panel of the same structure (`design_data`: calibration, SBC, design analysis).
        k = scale_data(design)
        y_mean, y_sd, x_sd = k["y_mean"], k["y_sd"], k["x_sd"]

        # ordbeta's eta is on the logit scale of E[y | 0<y<1]: centre the intercept there.
        a0 = pm.Data("alpha_mu", alpha_centre(design.y) if ordbeta else 0.0)
        alpha = pm.Normal("alpha", mu=a0, sigma=spec.priors.intercept)
        beta_std = pm.Normal("beta_std", 0.0, spec.priors.beta)
        terms, gamma_std = linear_terms("", design, spec, controls, mundlak)
        slope = beta_std + pt.zeros(design.n)  # dE/dx per row (standardised), for the marginal effects
        treat = beta_std * x
        delta = None
        if design.splits.shape[1]:
            g = pm.Data("G_splits", design.splits, dims=("obs", "split"))
            w = pm.Data("W_interactions", design.interactions, dims=("obs", "split"))
            delta = pm.Normal("delta_std", 0.0, spec.priors.split, dims="split")
            centre = pm.Data("split_centre", design.split_centre, dims="split")
            slope = slope + pt.dot(g - centre, delta)
            treat = treat + pt.dot(w, delta)
        if spec.serial == "random_slopes":
            s_slope = pm.HalfNormal("sigma_slope", sigma=spec.priors.split)
            z_slope = pm.ZeroSumNormal("z_slope", sigma=1.0, dims="city")
            slope = slope + s_slope * z_slope[city_idx]
            treat = treat + s_slope * z_slope[city_idx] * x
        split = _city_split(design)
        basis = None if split is None else split[1]
        ar1 = spec.likelihood == "normal" and spec.serial == "ar1"
        if split is not None and _conditional_ar1(spec):
            span = split[0]
            # AR(1) errors: the city and year effects are drawn given everything else (see `_ar1_effects`).
            sigma = _error_sd(spec, city_idx)
            rho = pm.Uniform("rho", lower=-0.99, upper=0.99)
            y_std = (y_data - y_mean) / y_sd
            eta0 = alpha + treat + terms
            eta = eta0 + _ar1_effects(eta0, sigma, y_std, design, span, city_idx, year_idx, spec.priors.effects, rho)
            eta_obs, sigma_obs = _ar1(eta, sigma, y_std, design, rho)
            d_eta = normal_obs(eta_obs, sigma_obs, y_data, y_mean, y_sd)
        elif spec.likelihood == "normal":
            eta = alpha + effects("", spec.priors.effects, city_idx, year_idx, spec.centred, basis) + treat + terms
            sigma = _error_sd(spec, city_idx)
            if ar1:
                rho = pm.Uniform("rho", lower=-0.99, upper=0.99)
                eta_obs, sigma_obs = _ar1(eta, sigma, (y_data - y_mean) / y_sd, design, rho)
                d_eta = normal_obs(eta_obs, sigma_obs, y_data, y_mean, y_sd)
            else:
                d_eta = normal_obs(eta, sigma, y_data, y_mean, y_sd)
        elif spec.likelihood == "censored":
            eta = alpha + effects("", spec.priors.effects, city_idx, year_idx, spec.centred, basis) + treat + terms
            sigma = _error_sd(spec, city_idx)
            d_eta = censored_obs(eta, sigma, y_data, y_mean, y_sd, spec.censor_at)
        else:
            eta = alpha + effects("", spec.priors.effects, city_idx, year_idx, spec.centred, basis) + treat + terms
            d_eta = ordbeta_obs(eta, y_data, bool(np.any(design.y == 0)), spec.priors.phi)

        # Coefficients back in the data's units (latent scale for censored, logit scale for ordbeta).
        y_unit = 1.0 if ordbeta else y_sd
        pm.Deterministic("beta", beta_std * y_unit / x_sd)
        if gamma_std is not None:
            pm.Deterministic("gamma", gamma_std * y_unit / k["control_sd"], dims="control")
        marginal = slope * d_eta / x_sd  # dE[y_it]/dx_it in data units
        pm.Deterministic("ame", pt.mean(marginal))
        if delta is not None:
            pm.Deterministic("slope_inter", delta * y_unit / x_sd, dims="split")
            fe_weight = pm.Data("fe_weight", design.fe_weight, dims="obs")
            group_slopes(marginal, g, fe_weight)
    return model


def group_slopes(
    marginal: pt.TensorVariable, splits: pt.TensorVariable, fe_weight: pt.TensorVariable | None = None
) -> None:
    """Per split and level, the marginal effect averaged over the level's rows.

    `slope_group` weights rows by the squared two-way within treatment (`fe_weight`): with heterogeneous slopes
    that is the slope a split-sample two-way FE regression estimates, so it is the posterior counterpart of the
    paper's Table 6 columns. `slope_group_rows` is the plain row average (the average effect among the level's
    city-years). `slope_diff` = level 1 - level 0 of `slope_group`.
    """
    splits = pt.as_tensor_variable(splits)
    ones = pt.ones_like(splits[:, 0])
    w = ones if fe_weight is None else pt.as_tensor_variable(fe_weight)

    def level_means(weights: pt.TensorVariable) -> tuple[pt.TensorVariable, pt.TensorVariable]:
        w1 = splits * weights[:, None]
        w0 = (1 - splits) * weights[:, None]
        return pt.dot(marginal, w1 / w1.sum(axis=0)), pt.dot(marginal, w0 / w0.sum(axis=0))

    s1, s0 = level_means(w)
    pm.Deterministic("slope_group", pt.stack([s1, s0], axis=1), dims=("split", "level"))
    pm.Deterministic("slope_diff", s1 - s0, dims="split")
    r1, r0 = level_means(ones)
    pm.Deterministic("slope_group_rows", pt.stack([r1, r0], axis=1), dims=("split", "level"))


def alpha_centre(y: np.ndarray) -> float:
    """Logit of the (clipped) outcome mean: where the ordered-beta intercept's prior is centred."""
    m = float(np.clip(np.mean(y), 0.02, 0.98))
    return float(np.log(m / (1 - m)))


def scale_data(design: PanelDesign) -> dict[str, pt.TensorVariable]:
    """The standardisation constants as pm.Data (`y_mean`, `y_sd`, `x_sd`, `control_sd`; inside a model)."""
    return {
        "y_mean": pm.Data("y_mean", np.float64(design.y_mean)),
        "y_sd": pm.Data("y_sd", np.float64(design.y_sd)),
        "x_sd": pm.Data("x_sd", np.float64(design.x_sd)),
        "control_sd": pm.Data("control_sd", np.asarray(design.control_sd, float), dims="control"),
    }


def design_data(design: PanelDesign, spec: BayesSpec) -> dict[str, np.ndarray]:
    """Values of every pm.Data of the model of `spec` on `design`, by name.

    Two designs of the same structure (same shapes, same spec) give the same keys and shapes: a model compiled
    for one refits the other with `compiled.with_data(**design_data(other, spec))` (nutpie) or `pm.set_data`.
    """
    split = _city_split(design)
    out: dict[str, np.ndarray] = {
        "x": design.x,
        "X_controls": design.controls,
        "X_mundlak": design.mundlak,
        "city_idx": design.unit_idx,
        "year_idx": design.time_idx,
        "y_obs": design.y,
        "y_mean": np.float64(design.y_mean),
        "y_sd": np.float64(design.y_sd),
        "x_sd": np.float64(design.x_sd),
        "control_sd": np.asarray(design.control_sd, float),
    }
    if split is not None and _conditional_ar1(spec):
        out["city_span"] = split[0]  # the AR(1) effects (`_ar1_effects`) read the span, not the basis
    elif split is not None:
        basis = split[1]
        out["city_basis"] = basis * np.sqrt(basis.shape[0] / basis.shape[1])
    if spec.instrument is not None:
        out.update({"z": design.z, "x_obs": design.x * design.x_sd + design.x_mean,
                    "x_mean": np.float64(design.x_mean), "z_sd": np.float64(design.z_sd)})
        return out
    out["alpha_mu"] = np.float64(alpha_centre(design.y) if spec.likelihood == "ordbeta" else 0.0)
    if design.splits.shape[1]:
        out.update({"G_splits": design.splits, "W_interactions": design.interactions,
                    "split_centre": design.split_centre, "fe_weight": design.fe_weight})
    return out


def _error_sd(spec: BayesSpec, city_idx: pt.TensorVariable) -> pt.TensorVariable:
    """The residual sd: one `sigma`, or per unit sigma*exp(tau*z_i) (`error_scale="unit"`, non-centred).

    Unit-varying error scales matter for calibration as much as serial correlation: a few noisy units otherwise
    look like information about the slope (docs/bayes.md, the calibration study).
    """
    sigma = pm.HalfNormal("sigma", sigma=spec.priors.sigma)
    if spec.error_scale != "unit":
        return sigma
    tau = pm.HalfNormal("tau_sigma", sigma=spec.priors.split)
    z = pm.Normal("z_sigma", 0.0, 1.0, dims="city")
    sigma_unit = pm.Deterministic("sigma_unit", sigma * pt.exp(tau * z), dims="city")
    return sigma_unit[city_idx]


def _ar1(
    eta: pt.TensorVariable, sigma: pt.TensorVariable, y_std: pt.TensorVariable, design: PanelDesign,
    rho: pt.TensorVariable,
) -> tuple[pt.TensorVariable, pt.TensorVariable]:
    """City-level AR(1) errors: condition each row on the previous year's residual (stationary first row).

    `y_std` is the outcome on the standardised scale. Rows and gaps (`prev_idx`) are structure, not data.
    """
    has_prev = design.prev_idx >= 0
    prev = np.where(has_prev, design.prev_idx, 0)
    resid = y_std - eta
    eta_obs = eta + pt.where(has_prev, rho * resid[prev], 0.0)
    sigma_obs = pt.where(has_prev, sigma, sigma / pt.sqrt(1 - rho**2))
    return eta_obs, sigma_obs


def zero_sum_basis(n: int) -> np.ndarray:
    """Orthonormal basis (n x n-1) of the vectors summing to zero: ZeroSumNormal(s) = basis @ Normal(0, s)."""
    u, _, _ = np.linalg.svd(np.eye(n) - 1.0 / n)
    return u[:, : n - 1]


def _ar1_effects(
    eta0: pt.TensorVariable,
    sigma: pt.TensorVariable,
    y_std: pt.TensorVariable,
    design: PanelDesign,
    span: np.ndarray,
    city_idx: pt.TensorVariable,
    year_idx: pt.TensorVariable,
    scale: float,
    rho: pt.TensorVariable,
) -> pt.TensorVariable:
    """City and year effects under AR(1) errors, drawn in the coordinates of their conditional posterior.

    The model is the same as `effects` (city effects in W, the complement of the constant and the Mundlak means
    `span`; zero-sum year effects; half-normal sds), only the coordinates differ. Given rho, the error sds, the
    effect sds and the other coefficients, the effects v are Gaussian: with the AR(1) transform of the rows
    (quasi-differenced, the first row scaled by sqrt(1 - rho^2), all divided by the row's error sd) applied to
    the residual w and to the effects' design Z, their precision is diag(1/sd^2) + Z'Z and their mean solves it
    against Z'w. Writing v = mean + R z with R R' = precision^-1 and z free, and adding log N(v; 0, sd) and the
    Jacobian log|det R| to the log density, gives exactly the same posterior, in which z is standard normal
    and independent of everything else. Why: with the effects sampled directly rho traded off against the city
    and year levels (a persistent offset and a higher rho explain a short series equally well) and the gate
    failed 7-12 of 40 calibration fits; with rho held fixed every one passed (docs/bayes.md).

    How, cheaply: the city block of the precision is a diagonal E (cities) compressed to W, so it is never formed.
    With F = E^-1/2 and G = Q'E^-1 Q (Q = `span`, a few columns), its inverse is op(x) = E^-1 x - E^-1 Q G^-1 Q'E^-1 x,
    and one root is F Pi, Pi the projector off FQ; the years (T - 1 of them) are eliminated through a
    (T-1)^2 Schur complement. Every factorisation is of Q's width or T - 1, not of the number of cities: a
    gradient costs a fraction of the dense Cholesky of all effects it replaces (same model, same density). The
    root F Pi spends one free coordinate per column of Q on nothing: those directions get their own N(0, 1).
    """
    n_city, n_year = len(design.units), len(design.times)
    r = span.shape[1]
    k = n_city - r  # dimension of W: the city effects' own coordinates
    # A static shape: JAX compiles only static shapes (the Cholesky's gradient builds index ranges from them).
    q_span = pt.specify_shape(pm.Data("city_span", span), (n_city, r))
    c_np = zero_sum_basis(n_year)
    c_year = pt.as_tensor_variable(c_np)  # depends on the number of years only
    s_city = pm.HalfNormal("sigma_city", sigma=scale)
    s_year = pm.HalfNormal("sigma_year", sigma=scale)
    my = n_year - 1
    st = _ar1_structure(design)
    has_prev, prev = st["has_prev"], st["prev"]
    # Row weights 1/sd^2 and, per unit, the AR(1)-transformed design's cross products (structure x rho, weights):
    # rows with a previous year load (1 - rho) on the city and e_t - rho e_prev on the years; first rows
    # sqrt(1 - rho^2) on both. Summed per unit, then over units: O(units x years^2), never a 3-d temporary.
    model = pm.modelcontext(None)
    sd_unit = model["sigma_unit"] if "sigma_unit" in model.named_vars else model["sigma"] * pt.ones(n_city)
    w_unit = 1.0 / sd_unit**2
    s_row = sd_unit[city_idx]
    one_m, first2 = 1 - rho, 1 - rho**2
    d_city = w_unit * (st["n_prev"] * one_m**2 + st["n_first"] * first2)
    m_cy = w_unit[:, None] * (one_m * (st["np"] - rho * st["pp"]) + first2 * st["nf"])
    w_s1 = pt.tensordot(w_unit, st["s1"], axes=1)
    q = (pt.tensordot(w_unit, st["s0"], axes=1) - rho * (w_s1 + w_s1.T) + rho**2 * pt.tensordot(w_unit, st["s2"], axes=1)
         + first2 * pt.tensordot(w_unit, st["f"], axes=1))
    # The prior sd of a city effect is sigma_city in W's own coordinates (as `effects` scales its basis).
    e_city = d_city + k / (n_city * s_city**2)
    e_inv = 1.0 / e_city
    g_chol = pt.linalg.cholesky(pt.dot(q_span.T * e_inv, q_span))

    def op(x: pt.TensorVariable) -> pt.TensorVariable:
        """The inverse of the city block (E compressed to W) applied to the columns of x (cities x columns)."""
        ex = x * e_inv[:, None]
        sol = pt.linalg.solve_triangular(g_chol.T, pt.linalg.solve_triangular(g_chol, pt.dot(q_span.T, ex), lower=True),
                                         lower=False)
        return ex - pt.dot(q_span, sol) * e_inv[:, None]

    m_c = pt.dot(m_cy, c_year)  # cities x (T - 1): the city-year cross block, in city space
    # Against the transformed residual u (times the row weight): the city and the year sums.
    r0 = y_std - eta0
    u = pt.where(has_prev, r0 - rho * r0[prev], pt.sqrt(first2) * r0) / s_row**2
    load = pt.where(has_prev, one_m, pt.sqrt(first2))
    g_city = pt.zeros(n_city)[city_idx].inc(load * u)
    g_year = pt.zeros(n_year)[st["t"]].inc(pt.where(has_prev, u, pt.sqrt(first2) * u))
    g_year = pt.inc_subtensor(g_year[st["t_prev_rows_p"]], -rho * u[st["prev_rows"]])
    # one application of the city block's inverse serves the Schur complement, its right-hand side and the cities
    inv = op(pt.concatenate([m_c, g_city[:, None]], axis=1))
    inv_mc, inv_g = inv[:, :my], inv[:, my]
    yy = pt.dot(pt.dot(c_year.T, q), c_year) + np.eye(my) / s_year**2
    s_chol = pt.linalg.cholesky(yy - pt.dot(m_c.T, inv_mc))
    schur_rhs = pt.dot(c_year.T, g_year) - pt.dot(m_c.T, inv_g)
    mean_y = pt.linalg.solve_triangular(s_chol.T, pt.linalg.solve_triangular(s_chol, schur_rhs, lower=True), lower=False)
    z = pm.Flat("z_effects", shape=n_city + my)
    z_city, z_year = z[:n_city], z[n_city:]
    v_year = mean_y + pt.linalg.solve_triangular(s_chol.T, z_year, lower=False)
    f_z = z_city * pt.sqrt(e_inv)
    h_z = pt.linalg.solve_triangular(g_chol, pt.dot(q_span.T, f_z), lower=True)  # L_G^-1 Q'F z
    root_z = f_z - e_inv * pt.dot(q_span, pt.linalg.solve_triangular(g_chol.T, h_z, lower=False))  # F Pi z
    city = inv_g - pt.dot(inv_mc, v_year) + root_z  # in W: the mean given the years, plus the city draw
    # log N(a; 0, sigma_city) in W's coordinates (|a|^2 = |city|^2 k / n) and N(v_year; 0, sigma_year); the
    # Jacobian -1/2 log det(city block) - log det(Schur), constants dropped; N(0, 1) for the spare directions.
    log_prior = (-0.5 * (city**2).sum() * k / n_city / s_city**2 - k * pt.log(s_city)
                 - 0.5 * (v_year**2).sum() / s_year**2 - my * pt.log(s_year))
    log_jac = -0.5 * (pt.log(e_city).sum() + 2 * pt.log(pt.diagonal(g_chol)).sum()) - pt.log(pt.diagonal(s_chol)).sum()
    pm.Potential("effects_density", log_prior + log_jac - 0.5 * (h_z**2).sum())
    city = pm.Deterministic("city_effect", city, dims="city")
    year = pm.Deterministic("year_effect", pt.dot(c_year, v_year), dims="year")
    return city[city_idx] + year[year_idx]


def _ar1_structure(design: PanelDesign) -> dict[str, np.ndarray]:
    """Counts of the panel's AR(1) structure per unit (rows with and without a previous year, by year)."""
    n_city, n_year = len(design.units), len(design.times)
    unit, t = design.unit_idx, design.time_idx
    has_prev = design.prev_idx >= 0
    prev = np.where(has_prev, design.prev_idx, 0)
    rows = np.flatnonzero(has_prev)
    tp = t[prev]
    out = {name: np.zeros((n_city, n_year)) for name in ("np", "pp", "nf")}
    mats = {name: np.zeros((n_city, n_year, n_year)) for name in ("s0", "s1", "s2", "f")}
    for r in range(len(unit)):
        i = unit[r]
        if has_prev[r]:
            out["np"][i, t[r]] += 1
            out["pp"][i, tp[r]] += 1
            mats["s0"][i, t[r], t[r]] += 1
            mats["s1"][i, t[r], tp[r]] += 1
            mats["s2"][i, tp[r], tp[r]] += 1
        else:
            out["nf"][i, t[r]] += 1
            mats["f"][i, t[r], t[r]] += 1
    return {**out, **mats, "has_prev": has_prev, "prev": prev, "t": t, "prev_rows": rows, "t_prev_rows_p": tp[rows],
            "n_prev": out["np"].sum(axis=1), "n_first": out["nf"].sum(axis=1)}
