"""Bayesian builders without sampling: design arrays, model structure, likelihood formulas, input errors."""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytest
from scipy.special import expit
from scipy.stats import beta as beta_dist
from scipy.stats import norm

from ctfp.core.errors import InputError
from ctfp.models.bayes.builder import build_model
from ctfp.models.bayes.design import make_design
from ctfp.models.bayes.likelihoods import ordbeta_mean
from ctfp.models.bayes.sim import simulate_panel
from ctfp.models.bayes.spec import PAPER_CONTROLS, PAPER_SPLITS, BayesSpec


@pytest.fixture(autouse=True, scope="module")
def _jax_compile_mode():
    """The graphs compiled by hand here (`compile_fn`) compile in JAX in well under a second; numba's first
    compile of each takes tens of seconds on an empty cache (136 s against 36 s for this file)."""
    import pytensor

    old = pytensor.config.mode
    pytensor.config.mode = "JAX"
    yield
    pytensor.config.mode = old


def _evaluate(model: pm.Model, outs: list, point: dict) -> list:
    """Evaluate graphs at a point of the value variables (random variables replaced by their values)."""
    graphs = model.replace_rvs_by_values(outs)
    return model.compile_fn(graphs, inputs=model.value_vars, on_unused_input="ignore")(point)


@pytest.fixture(scope="module")
def panel():
    return simulate_panel(12, 6, seed=3, split_effects={"g_ua": 0.02})[0]


def test_design_within_between_form(panel) -> None:
    spec = BayesSpec("ctfp", "ai", controls=PAPER_CONTROLS[:2])
    d = make_design(panel, spec)
    assert d.n == 72 and len(d.units) == 12 and len(d.times) == 6
    assert abs(d.x.mean()) < 1e-12 and abs(d.x.std() - 1) < 1e-12
    # Regressors are within-city deviations of year-demeaned values: zero mean in every year and every city
    # (balanced panel), so they are orthogonal to both sets of effects and to the city means.
    for t in range(6):
        assert abs(d.x[d.time_idx == t].mean()) < 1e-12
    for u in range(12):
        assert abs(d.controls[d.unit_idx == u, 1].mean()) < 1e-12
        assert np.ptp(d.mundlak[d.unit_idx == u, 0]) < 1e-12  # the city-mean column is constant within city
    assert d.mundlak_names == ["city_mean_ai", "city_mean_pop", "city_mean_hum"]
    assert abs(float(d.mundlak[:, 0] @ d.x)) < 1e-9
    frame = panel.sort_values(["city", "year"])
    dm = frame["ai"] - frame.groupby("year")["ai"].transform("mean")
    within = dm - dm.groupby(frame["city"]).transform("mean")
    np.testing.assert_allclose(d.x * d.x_sd, within.to_numpy() - within.mean(), atol=1e-10)
    # No Mundlak terms: the regressor as it is (standardised).
    d0 = make_design(panel, BayesSpec("ctfp", "ai", mundlak=False))
    np.testing.assert_allclose(d0.x * d0.x_sd + d0.x_mean, frame["ai"].to_numpy(), atol=1e-10)
    assert d0.mundlak.shape == (72, 0)


def test_time_invariant_regressor_with_mundlak_is_an_input_error(panel) -> None:
    p = panel.copy()
    p["pop"] = p.groupby("city")["pop"].transform("mean")
    with pytest.raises(InputError, match="'pop' does not vary within cities"):
        make_design(p, BayesSpec("ctfp", "ai", controls=("pop",)))


def test_previous_row_index_respects_gaps(panel) -> None:
    gap = panel[~((panel["city"] == panel["city"].iloc[0]) & (panel["year"] == 2008))]
    d = make_design(gap, BayesSpec("ctfp", "ai"))
    first_city = d.prev_idx[:5]  # years 2006, 2007, 2009, 2010, 2011
    assert first_city.tolist() == [-1, 0, -1, 2, 3]
    assert (d.prev_idx >= 0).sum() == 12 * 5 - 2


def test_missing_rows_are_dropped_and_counted(panel) -> None:
    p = panel.copy()
    p.loc[[0, 5], "pop"] = np.nan
    d = make_design(p, BayesSpec("ctfp", "ai", controls=("pop",)))
    assert d.n == 70 and d.dropped_rows == 2 and "2 rows" in d.notes[0]


@pytest.mark.parametrize(
    ("change", "spec_kwargs", "message"),
    [
        (None, {"treatment": "nope"}, "column(s) nope not found"),
        ("split3", {"splits": ("g_ua",)}, "must hold both 0 and 1"),
        ("above1", {"likelihood": "censored"}, "above the censoring point"),
        ("above1", {"likelihood": "ordbeta"}, "needs 'ctfp' in [0, 1]"),
        ("const", {"controls": ("pop",)}, "'pop' is constant"),
    ],
)
def test_input_errors_are_one_line(panel, change, spec_kwargs, message) -> None:
    p = panel.copy()
    if change == "split3":
        p.loc[0, "g_ua"] = 3
    if change == "above1":
        p.loc[0, "ctfp"] = 1.5
    if change == "const":
        p["pop"] = 2.0
    kwargs = {"outcome": "ctfp", "treatment": "ai", **spec_kwargs}
    with pytest.raises(InputError) as err:
        make_design(p, BayesSpec(**kwargs))
    assert message in str(err.value) and "\n" not in str(err.value)


def test_spec_rejects_bad_combinations() -> None:
    with pytest.raises(InputError, match="likelihood 'probit' unknown"):
        BayesSpec("ctfp", "ai", likelihood="probit")
    with pytest.raises(InputError, match="serial='ar1' needs likelihood 'normal'"):
        BayesSpec("ctfp", "ai", likelihood="censored", serial="ar1")
    with pytest.raises(InputError, match="named twice"):
        BayesSpec("ctfp", "ai", controls=("ai",))


def test_model_structure_and_names(panel) -> None:
    spec = BayesSpec("ctfp", "ai", controls=PAPER_CONTROLS, splits=PAPER_SPLITS)
    m = build_model(panel, spec)
    assert m.coords["split"] == PAPER_SPLITS and m.coords["level"] == ("1", "0")
    assert len(m.coords["city"]) == 12 and len(m.coords["year"]) == 6
    assert m.named_vars_to_dims["slope_group"] == ("split", "level")
    assert m.named_vars_to_dims["slope_diff"] == ("split",)
    assert [v.name for v in m.observed_RVs] == ["y"]
    names = {v.name for v in m.free_RVs}
    # No learned variance over the two levels of a split: the split terms are plain Normal interactions.
    assert {"delta_std", "year_effect", "sigma_city", "sigma_year"} <= names and "city_effect" in m.named_vars
    assert not any(n.startswith("sigma_split") for n in names)
    assert {"ame", "beta", "gamma", "slope_inter"} <= {v.name for v in m.deterministics}


def test_slope_group_is_the_group_average_of_the_marginal_effect(panel) -> None:
    """Normal likelihood: slope_group[s, l] = beta + sum_k delta_k (mean(g_k | g_s=l) - c_k), in data units."""
    spec = BayesSpec("ctfp", "ai", splits=("g_ua", "g_hum"))
    m = build_model(panel, spec)
    d = make_design(panel, spec)
    point = m.initial_point()
    point.update({"beta_std": np.array(0.4), "delta_std": np.array([0.3, -0.2])})
    sg, ame = _evaluate(m, [m["slope_group"], m["ame"]], point)
    g = d.splits
    slope_std = 0.4 + (g - d.split_centre) @ np.array([0.3, -0.2])
    me = slope_std * d.y_sd / d.x_sd
    # slope_group weights rows as a split-sample two-way FE regression does: by the squared within treatment
    x = d.frame["ai"].to_numpy(float)
    xw = x - x.mean()
    for _ in range(200):  # sweep out city and year means (an independent few lines, not the design's helper)
        xw = xw - d.frame.assign(v=xw).groupby("city")["v"].transform("mean").to_numpy()
        xw = xw - d.frame.assign(v=xw).groupby("year")["v"].transform("mean").to_numpy()
    w = xw**2
    in1, in0 = g[:, 0] == 1, g[:, 1] == 0
    np.testing.assert_allclose(sg[0, 0], (w[in1] * me[in1]).sum() / w[in1].sum(), rtol=1e-8)
    np.testing.assert_allclose(sg[1, 1], (w[in0] * me[in0]).sum() / w[in0].sum(), rtol=1e-8)
    rows = _evaluate(m, [m["slope_group_rows"]], point)[0]
    np.testing.assert_allclose(rows[0, 0], me[in1].mean(), rtol=1e-10)
    np.testing.assert_allclose(rows[1, 1], me[in0].mean(), rtol=1e-10)
    np.testing.assert_allclose(ame, me.mean(), rtol=1e-10)
    # The indicator is centred where its interaction is orthogonal to the treatment.
    assert abs(np.corrcoef(d.interactions[:, 0], d.x)[0, 1]) < 0.15


def test_censored_ame_matches_numerical_derivative(panel) -> None:
    """AME = mean(beta * Phi((c - mu)/s)): check against a finite difference of E[min(y*, c)]."""
    p = panel.copy()
    p["ctfp"] = np.minimum(p["ctfp"] - p["ctfp"].quantile(0.8) + 1.0, 1.0)
    spec = BayesSpec("ctfp", "ai", mundlak=False, likelihood="censored")
    m = build_model(p, spec)
    d = make_design(p, spec)
    point = m.initial_point()
    point.update({"beta_std": np.array(0.5), "alpha": np.array(0.3), "sigma_log__": np.log(np.array(0.6))})
    ame = _evaluate(m, [m["ame"]], point)[0]

    def expected_y(shift: float) -> float:
        mu = d.y_mean + d.y_sd * (0.3 + 0.5 * (d.x + shift / d.x_sd))
        s = d.y_sd * 0.6
        a = (1.0 - mu) / s
        return float(np.mean(1.0 * norm.sf(a) + mu * norm.cdf(a) - s * norm.pdf(a)))

    h = 1e-5
    np.testing.assert_allclose(ame, (expected_y(h) - expected_y(-h)) / (2 * h), rtol=1e-5)


def test_ordbeta_logp_and_mean() -> None:
    """Ordered beta: point masses and the Beta density against scipy; dE/deta against a finite difference.

    The last two values lie within 1e-9 of a bound: the density must be the Beta's at the value itself (a clip
    to [1e-9, 1 - 1e-9] made SBC of phi fail: such values are common when phi is small)."""
    y = np.array([0.0, 1.0, 0.3, 0.8, 1e-12, 1 - 1e-12])
    eta = np.array([0.2, -0.1, 0.5, 1.0, -0.5, 0.7])
    k_low, k_high, phi = -1.5, 1.2, 8.0
    with pm.Model(coords={"obs": list(range(len(y)))}) as m:
        from ctfp.models.bayes.likelihoods import ordbeta_obs

        d_eta = ordbeta_obs(pm.Data("eta", eta), pm.Data("yd", y), True, 0.1)
    point = {"cutpoints_ordered__": m.rvs_to_transforms[m["cutpoints"]].forward(np.array([k_low, k_high])).eval(),
             "phi_log__": np.log(phi)}
    lp = m.compile_fn(m.logp(vars=[m["y"]], sum=False)[0], inputs=m.value_vars)(point)
    mu = expit(eta)
    expected = [
        np.log(1 - expit(eta[0] - k_low)),
        np.log(expit(eta[1] - k_high)),
        np.log(expit(eta[2] - k_low) - expit(eta[2] - k_high)) + beta_dist.logpdf(0.3, mu[2] * phi, (1 - mu[2]) * phi),
        *(np.log(expit(eta[i] - k_low) - expit(eta[i] - k_high))
          + beta_dist.logpdf(y[i], mu[i] * phi, (1 - mu[i]) * phi) for i in (3, 4, 5)),
    ]
    np.testing.assert_allclose(lp, expected, rtol=1e-8)
    dd = _evaluate(m, [d_eta], point)[0]
    h = 1e-6
    fd = (ordbeta_mean(eta + h, k_low, k_high, phi) - ordbeta_mean(eta - h, k_low, k_high, phi)) / (2 * h)
    np.testing.assert_allclose(dd, fd, rtol=1e-6)


def test_ordbeta_draws_keep_the_continuous_part_off_the_point_masses() -> None:
    """With phi = 0.3 and mu near 1 more than half of raw beta draws round to exactly 1.0; they belong to the
    continuous part, so the share of exact 1s must be P(y = 1) = logistic(eta - k2) alone (binomial check)."""
    from ctfp.models.bayes.likelihoods import ordbeta_random

    n, eta, k_low, k_high = 200_000, np.full(200_000, 3.0), -1.0, 4.0
    y = ordbeta_random(eta, k_low, k_high, 0.3, True, rng=np.random.default_rng(7), size=(n,))
    p_one, p_zero = expit(3.0 - k_high), 1 - expit(3.0 - k_low)
    for share, p in ((np.mean(y == 1.0), p_one), (np.mean(y == 0.0), p_zero)):
        assert abs(share - p) < 5 * np.sqrt(p * (1 - p) / n), (share, p)
    inner = y[(y > 0) & (y < 1)]
    assert inner.size and inner.max() < 1.0 and inner.min() > 0.0


def _ar1_panel():  # noqa: ANN202
    """A small unbalanced panel with AR(1) errors, a gap and a shorter unit (the AR(1) effects' density tests)."""
    p, _ = simulate_panel(8, 6, seed=9, error_rho=0.6, unit_sigma_sd=0.4, treatment_rho=0.5)
    return p.drop(index=[3, 20, 21]).reset_index(drop=True)


def test_ar1_effects_are_an_exact_reparameterisation() -> None:
    """Under AR(1) errors the effects are v = mean(theta) + L^-T z with L L' their conditional precision: then
    log p(theta, z) = log p(theta) + log p(y | theta) + log N(z; 0, I), the effects integrated out. So at any
    theta the model's log density minus log N(z; 0, I) must not depend on z; a wrong mean, precision or Jacobian
    breaks that (tested on an unbalanced panel with a gap, at two thetas)."""
    from scipy.stats import norm as normal

    m = build_model(_ar1_panel(), BayesSpec("ctfp", "ai", controls=("pop",)))
    assert "z_effects" in {v.name for v in m.free_RVs} and "city_effect" in {v.name for v in m.deterministics}
    logp = m.compile_fn(m.logp(), inputs=m.value_vars, on_unused_input="ignore")
    rng = np.random.default_rng(3)
    for shift in (0.0, 0.7):
        point = {k: v + shift * rng.normal(size=np.shape(v)) for k, v in m.initial_point().items()}
        net = []
        for _ in range(3):
            point["z_effects"] = rng.normal(size=point["z_effects"].shape) * 2
            net.append(float(logp(point)) - normal.logpdf(point["z_effects"]).sum())
        np.testing.assert_allclose(net, net[0], rtol=0, atol=1e-8)


# log p(theta, z) - log N(z; 0, I) at five thetas, less its value at the first, from the dense formulation that the
# calibration test validated (one Cholesky of all effects' precision, ctfp before 2026-12-01 17:00). The structured
# formulation (`_ar1_effects`: the city block inverted through the Mundlak span, the years through a Schur
# complement) must give the same differences: the same posterior over theta, whatever the coordinates.
DENSE_AR1_NET = {
    "unit": [0.0, -72.477129385, -8.5267974731, -273.7890435518, -13.7509041604],
    "common": [0.0, -8.6358004395, -18.051117134, -701.4124784868, 23.4544297878],
}


@pytest.mark.parametrize("error_scale", ["unit", "common"])
def test_ar1_effects_give_the_dense_formulations_density_over_theta(error_scale: str) -> None:
    """The z-independence above cannot see a wrong Jacobian term that depends on theta only; this can."""
    from scipy.stats import norm as normal

    m = build_model(_ar1_panel(), BayesSpec("ctfp", "ai", controls=("pop",), error_scale=error_scale))
    logp = m.compile_fn(m.logp(), inputs=m.value_vars, on_unused_input="ignore")
    rng, base, nets = np.random.default_rng(3), m.initial_point(), []
    for i in range(5):
        r2 = np.random.default_rng(100 + i)
        point = {k: v + (0.6 * r2.normal(size=np.shape(v)) if k != "z_effects" else 0) for k, v in base.items()}
        point["z_effects"] = rng.normal(size=point["z_effects"].shape)
        nets.append(float(logp(point)) - normal.logpdf(point["z_effects"]).sum())
    np.testing.assert_allclose(np.array(nets) - nets[0], DENSE_AR1_NET[error_scale], rtol=0, atol=1e-7)


def test_default_centring_follows_the_error_model() -> None:
    """Non-centred city effects under AR(1) errors (the centred form made a funnel, docs/bayes.md); both centred
    with iid errors; an explicit choice is kept."""
    assert BayesSpec("ctfp", "ai").centred == ("year",)
    assert BayesSpec("ctfp", "ai", serial="none").centred == ("city", "year")
    assert BayesSpec("ctfp", "ai", likelihood="censored").centred == ("city", "year")
    assert BayesSpec("ctfp", "ai", centred=("city", "year")).centred == ("city", "year")
    assert "sigma_city * ZeroSumNormal(1)" in BayesSpec("ctfp", "ai").priors_dict()["city_effects"]


def test_iv_model_names(panel) -> None:
    p, _ = simulate_panel(12, 6, seed=4, instrument=True)
    m = build_model(p, BayesSpec("ctfp", "ai", controls=("pop",), instrument="iv_tel"))
    assert {v.name for v in m.observed_RVs} == {"y", "x_first"}
    assert {"pi", "ame", "beta", "rho"} <= {v.name for v in m.deterministics}
    d = make_design(p, BayesSpec("ctfp", "ai", controls=("pop",), instrument="iv_tel"))
    assert d.mundlak_names == ["city_mean_pop", "city_mean_iv_tel"]  # the endogenous treatment's mean is left out


def test_priors_dict_states_every_prior() -> None:
    pri = BayesSpec("ctfp", "ai", splits=("g_ua",), likelihood="ordbeta").priors_dict()
    assert pri["split_interactions"].startswith("Normal(0, 0.5)")
    assert "cutpoints" in pri and "phi" in pri and "mundlak" in pri


def test_spec_from_pipeline_dicts() -> None:
    from ctfp.inference.fit import spec_from_dicts

    variables = {"outcome": "ctfp", "treatment": "ai", "controls": list(PAPER_CONTROLS), "splits": list(PAPER_SPLITS)}
    spec = spec_from_dicts(variables, {"name": "hetero", "likelihood": "normal", "by": list(PAPER_SPLITS)})
    assert spec.splits == PAPER_SPLITS and spec.controls == PAPER_CONTROLS and spec.model_kind == "twoway_splits"
    iv = spec_from_dicts(variables, {"name": "iv", "instrument": "iv_tel", "mundlak": False})
    assert iv.model_kind == "iv" and iv.mundlak is False and iv.splits == ()
    with pytest.raises(InputError, match="unknown key"):
        spec_from_dicts(variables, {"name": "x", "likelihod": "normal"})


def test_ar1_likelihood_conditions_on_the_previous_residual(panel) -> None:
    from scipy.stats import norm as normal

    spec = BayesSpec("ctfp", "ai", mundlak=False, serial="ar1")
    m = build_model(panel, spec)
    d = make_design(panel, spec)
    rho = 0.4
    point = m.initial_point()
    point.update({
        "alpha": np.array(0.1),
        "beta_std": np.array(0.3),
        "sigma_log__": np.log(np.array(0.5)),
        "rho_interval__": np.log((rho + 0.99) / (0.99 - rho)),  # PyMC's interval transform of Uniform(-.99, .99)
    })
    lp = m.compile_fn(m.logp(vars=[m["y"]], sum=False)[0], inputs=m.value_vars, on_unused_input="ignore")(point)
    eta = 0.1 + 0.3 * d.x
    resid = (d.y - d.y_mean) / d.y_sd - eta
    has_prev = d.prev_idx >= 0
    mean = eta + np.where(has_prev, rho * resid[np.maximum(d.prev_idx, 0)], 0.0)
    sd = np.where(has_prev, 0.5, 0.5 / np.sqrt(1 - rho**2))
    expected = normal.logpdf(d.y, d.y_mean + d.y_sd * mean, d.y_sd * sd)
    np.testing.assert_allclose(lp, expected, rtol=1e-8)


def test_unit_error_scales_and_the_calibrated_default(panel) -> None:
    from scipy.stats import norm as normal

    auto = BayesSpec("ctfp", "ai")
    assert (auto.serial, auto.error_scale) == ("ar1", "unit")  # the calibrated default (docs/bayes.md)
    assert (BayesSpec("ctfp", "ai", likelihood="censored").serial,
            BayesSpec("ctfp", "ai", likelihood="censored").error_scale) == ("none", "unit")
    assert BayesSpec("ctfp", "ai", likelihood="ordbeta").error_scale == "common"
    assert BayesSpec("ctfp", "ai", instrument="iv_tel").serial == "none"
    with pytest.raises(InputError, match="error_scale='unit' needs"):
        BayesSpec("ctfp", "ai", likelihood="ordbeta", error_scale="unit")
    spec = BayesSpec("ctfp", "ai", mundlak=False, serial="none", error_scale="unit")
    m = build_model(panel, spec)
    d = make_design(panel, spec)
    z = np.linspace(-1, 1, len(d.units))
    point = m.initial_point()
    point.update({"alpha": np.array(0.1), "beta_std": np.array(0.3), "sigma_log__": np.log(np.array(0.5)),
                  "tau_sigma_log__": np.log(np.array(0.4)), "z_sigma": z})
    lp = m.compile_fn(m.logp(vars=[m["y"]], sum=False)[0], inputs=m.value_vars, on_unused_input="ignore")(point)
    sd = 0.5 * np.exp(0.4 * z)[d.unit_idx]
    expected = normal.logpdf(d.y, d.y_mean + d.y_sd * (0.1 + 0.3 * d.x), d.y_sd * sd)
    np.testing.assert_allclose(lp, expected, rtol=1e-8)


def test_random_slopes_add_zero_sum_city_deviations(panel) -> None:
    m = build_model(panel, BayesSpec("ctfp", "ai", serial="random_slopes"))
    assert {"sigma_slope", "z_slope"} <= {v.name for v in m.free_RVs}
    assert m.named_vars_to_dims["z_slope"] == ("city",)
