"""Observation models of the panel builders: normal, Tobit censored at an upper bound, ordered beta.

Each function adds the observed variable `y` (in the data's units, so LOO and posterior predictive checks
compare across likelihoods) and returns dE[y]/d(eta) per observation, where eta is the linear predictor. The
builder multiplies that by the treatment slope to get the average marginal effect `ame` on E[y].

Ordered beta (Kubinec 2022, Political Analysis 31:519): with cutpoints k1 < k2 and mu = logistic(eta),
P(y=0) = 1 - logistic(eta - k1), P(y=1) = logistic(eta - k2), and 0<y<1 has probability
logistic(eta - k1) - logistic(eta - k2) times a Beta(mu*phi, (1-mu)*phi) density. When the data hold no exact
zeros the lower cutpoint is dropped (k1 = -inf): no mass is put where none is observed.
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from scipy.special import expit

_TINY = float(np.nextafter(0.0, 1.0))
_BELOW_ONE = float(np.nextafter(1.0, 0.0))


def _log_sigmoid(x: pt.TensorVariable) -> pt.TensorVariable:
    return -pt.softplus(-x)


def normal_obs(
    eta: pt.TensorVariable, sigma: pt.TensorVariable, y_data: pt.TensorVariable, y_mean: float, y_sd: float
) -> pt.TensorVariable:
    """y ~ Normal(y_mean + y_sd*eta, y_sd*sigma); E[y] is linear in eta."""
    pm.Normal("y", mu=y_mean + y_sd * eta, sigma=y_sd * sigma, observed=y_data, dims="obs")
    return pt.as_tensor_variable(y_sd)


def censored_obs(
    eta: pt.TensorVariable,
    sigma: pt.TensorVariable,
    y_data: pt.TensorVariable,
    y_mean: float,
    y_sd: float,
    upper: float,
) -> pt.TensorVariable:
    """Tobit: latent Normal censored at `upper`; dE[min(y*, c)]/dmu = Phi((c - mu)/s)."""
    mu = y_mean + y_sd * eta
    s = y_sd * sigma
    pm.Censored("y", pm.Normal.dist(mu=mu, sigma=s), lower=None, upper=upper, observed=y_data, dims="obs")
    phi_cdf = 0.5 * (1.0 + pt.erf((upper - mu) / (s * np.sqrt(2.0))))
    return y_sd * phi_cdf


def _ordbeta_logp(value, eta, k_low, k_high, phi, has_zero):  # noqa: ANN001, ANN202 - pytensor graph function
    l_low = _log_sigmoid(eta - k_low)  # log P(y > 0); 0 when the lower cutpoint is absent
    l_high = _log_sigmoid(eta - k_high)  # log P(y = 1)
    l_high_c = _log_sigmoid(-(eta - k_high))  # log P(y < 1)
    # log P(0 < y < 1) = log(sig(a) - sig(b)); without zeros it is log(1 - sig(b)).
    log_mid = pt.switch(has_zero, l_low + pt.log1mexp(l_high - l_low), l_high_c)
    mu = pt.sigmoid(eta)
    # The beta density at the value itself: only the mass points 0 and 1 are replaced (by a harmless 0.5 whose
    # density the switch below discards), so no gradient is NaN. A clip to [1e-9, 1 - 1e-9] here distorted the
    # precision: with phi of a few units a third of the continuous values lie beyond 1e-9 of a bound (SBC of phi).
    v = pt.switch(pt.or_(pt.eq(value, 0.0), pt.eq(value, 1.0)), 0.5, value)
    beta_lp = pm.logp(pm.Beta.dist(alpha=mu * phi, beta=(1 - mu) * phi), v)
    log_zero = _log_sigmoid(-(eta - k_low))
    return pt.switch(
        pt.eq(value, 0.0), log_zero, pt.switch(pt.eq(value, 1.0), l_high, log_mid + beta_lp)
    )


def ordbeta_random(eta, k_low, k_high, phi, has_zero, rng=None, size=None):  # noqa: ANN001, ANN202
    eta, k_low, k_high, phi = (np.asarray(a, float) for a in (eta, k_low, k_high, phi))
    size = size if size is not None else np.broadcast(eta, k_low, k_high, phi).shape
    p_pos = expit(eta - k_low) if bool(has_zero) else np.ones_like(eta)
    p_one = expit(eta - k_high)
    mu = expit(eta)
    u = rng.uniform(size=size)
    cont = rng.beta(np.broadcast_to(mu * phi, size), np.broadcast_to((1 - mu) * phi, size))
    # A beta draw can round to exactly 0 or 1 in floating point (phi small, mu near a bound); that value would be
    # read as the point mass, not the continuous part. Keep it at the nearest representable interior value.
    cont = np.clip(cont, _TINY, _BELOW_ONE)
    return np.where(u < p_one, 1.0, np.where(u < p_pos, cont, 0.0))


def ordbeta_obs(eta: pt.TensorVariable, y_data: pt.TensorVariable, has_zero: bool, phi_rate: float) -> pt.TensorVariable:
    """Ordered beta with mass at 1 (and at 0 when the data hold zeros); returns dE[y]/deta."""
    if has_zero:
        # Means -2, 2 (not an initval: PyMC cannot compute log-likelihoods of models with custom initvals) give
        # the ordered transform a valid, strictly increasing starting point.
        cuts = pm.Normal(
            "cutpoints",
            mu=np.array([-2.0, 2.0]),
            sigma=2.5,
            shape=2,
            transform=pm.distributions.transforms.ordered,
        )
        k_low, k_high = cuts[0], cuts[1]
    else:
        k_high = pm.Normal("cutpoints", mu=2.0, sigma=2.5)
        k_low = pt.as_tensor_variable(-np.inf)
    phi = pm.Exponential("phi", lam=phi_rate)
    flag = pt.as_tensor_variable(np.int8(1 if has_zero else 0))
    pm.CustomDist(
        "y", eta, k_low, k_high, phi, flag, logp=_ordbeta_logp, random=ordbeta_random, observed=y_data, dims="obs"
    )
    # E[y] = L_high + (L_low - L_high) * mu with L = logistic(eta - k); differentiate in eta.
    mu = pt.sigmoid(eta)
    l_high = pt.sigmoid(eta - k_high)
    l_low = pt.sigmoid(eta - k_low) if has_zero else pt.ones_like(eta)
    d_low = l_low * (1 - l_low)
    d_high = l_high * (1 - l_high)
    return d_high + (d_low - d_high) * mu + (l_low - l_high) * mu * (1 - mu)


def ordbeta_mean(eta: np.ndarray, k_low: float, k_high: float, phi: float) -> np.ndarray:  # noqa: ARG001
    """E[y] of the ordered beta (numpy; phi does not enter the mean). Used in tests and checks."""
    l_low = expit(eta - k_low)
    l_high = expit(eta - k_high)
    return l_high + (l_low - l_high) * expit(eta)
