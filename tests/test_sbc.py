"""Simulation-based calibration of every likelihood: normal, censored (Tobit at 1), ordered beta, FE-IV.

Each likelihood: 30 prior draws on a tiny panel (12 cities x 6 years, one control, Mundlak terms), one compiled
model refitted on each (`ctfp.inference.simulate.sbc_ranks_spec`), ranks of the truth among 99 thinned posterior
draws. Under calibration a rank is uniform on 0..99, so the counts in 5 equal bins are multinomial(30, 1/5 each)
and a chi-square test of equal counts has a (near) uniform p-value; so has the dispersion test of the ranks
(`rank_uniformity_p` combines both, Bonferroni). We assert p > 0.001 per checked variable: with about 10
variables in the file the chance that a calibrated model trips one is about 1% (Bonferroni again).

The same test has power: the posterior of the treatment slope in the same fits shrunk to half its sd around
its mean (a sampler or prior that is overconfident by a factor 2) puts the truth in the outer bins far too
often, and must give p < 0.01. Ranks of the shrunk posterior are computed from a normal approximation of each
fit (mean, sd), so no extra fits are needed; for the calibrated check the same normal approximation must also
pass, which ties the two checks to the same statistic. (Only the slope: the posteriors of scale parameters on
30 tiny panels are too wide and skewed for a factor-2 shrink to show reliably.) Divergent transitions must stay
under 1% of a fit's transitions in all but at most 3 of the 30 fits (a prior draw in a corner of the space may
give many in its own fit).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from ctfp.inference.simulate import RefitConfig, rank_uniformity_p, sbc_ranks_spec
from ctfp.models.bayes.design import make_design
from ctfp.models.bayes.sim import simulate_panel
from ctfp.models.bayes.spec import BayesSpec

REPS = 30
P_MIN = 1e-3
P_POWER = 1e-2
CFG = RefitConfig(draws=400, tune=400, chains=2)
# iid errors: the AR(1) likelihood conditions on the observed previous residual, so its prior predictive is not a
# forward simulation of the panel; the AR(1) default is checked by coverage instead (test_bayes_calibration.py).
IID = {"serial": "none", "error_scale": "common"}
# Measured 4 December on an Intel Xeon (ordered beta, the case that set this): 248 divergent of 24,000
# transitions, 136 and 82 of them in two fits (prior draws phi 6.4 and 8.4, with phi's prior median 4.0), at most
# 7 in any other; the same test in a CI run on empty caches counted 422 (its first six fits 0-2; the rest not
# printed). Under the former rule (under 1% of all transitions) two corner fits alone failed the test; on the
# machine before they passed.
MAX_DIVERGENT_FITS = 3  # of REPS = 30: 10%


def _normal_ranks(posteriors: list[tuple[float, float]], truth: list[float], shrink: float) -> np.ndarray:
    """Rank (0..99) of the truth under a Normal(mean, shrink * sd) posterior: 99 * its CDF value, floored."""
    m = np.array([p[0] for p in posteriors])
    s = np.array([p[1] for p in posteriors]) * shrink
    return np.floor(99 * norm.cdf((np.asarray(truth) - m) / s) + 0.5).astype(int)


def _check(spec: BayesSpec, panel, var_names: list[str], seed: int, cfg: RefitConfig = CFG) -> None:
    res = sbc_ranks_spec(spec, make_design(panel, spec), var_names, n_reps=REPS, cfg=cfg, seed=seed)
    for v in var_names:
        ranks = res["ranks"][v]
        assert ranks.shape == (REPS,) and ranks.min() >= 0 and ranks.max() <= 99
        p = rank_uniformity_p(ranks)
        assert p > P_MIN, (spec.likelihood, v, np.sort(ranks), p)
    # the slope's normal approximation passes, and the same approximation with the sd halved must fail
    v = var_names[0]
    assert rank_uniformity_p(_normal_ranks(res["posteriors"][v], res["truth"][v], 1.0)) > P_MIN, v
    shrunk = _normal_ranks(res["posteriors"][v], res["truth"][v], 0.5)
    assert rank_uniformity_p(shrunk) < P_POWER, (spec.likelihood, v, np.sort(shrunk))
    # Divergences: a sampler in trouble across the prior diverges in many fits; a prior draw in a corner of the
    # space may diverge a lot in its own fit. At most MAX_DIVERGENT_FITS fits may have more than 1% of their
    # transitions divergent.
    per_fit = cfg.draws * cfg.chains
    heavy = [d for d in res["divergences"] if d > 0.01 * per_fit]
    assert len(heavy) <= MAX_DIVERGENT_FITS, (spec.likelihood, res["divergences"])


@pytest.mark.slow
@pytest.mark.heavy
def test_sbc_normal() -> None:
    panel, _ = simulate_panel(12, 6, seed=31)
    _check(BayesSpec("ctfp", "ai", controls=("pop",), **IID), panel, ["beta_std", "sigma", "sigma_city"], seed=1)


@pytest.mark.slow
@pytest.mark.heavy
def test_sbc_censored() -> None:
    # Non-centred city effects: 6 periods per city pin a city effect down too little for the centred form (the
    # docs' advice for short panels). Centred, 416 of 24,000 transitions diverged (1.7%); non-centred 37 (0.15%).
    panel, _ = simulate_panel(12, 6, seed=32, censor=True)
    spec = BayesSpec("ctfp", "ai", controls=("pop",), likelihood="censored", centred=("year",), **IID)
    _check(spec, panel, ["beta_std", "sigma"], seed=2)


@pytest.mark.slow
@pytest.mark.heavy
def test_sbc_ordbeta() -> None:
    # Before the fix the precision's ranks were not uniform (p = 0.00025, truth below the posterior): the logp
    # clipped values to [1e-9, 1 - 1e-9] and beta draws that rounded to exactly 1 were read as the point mass.
    panel, _ = simulate_panel(12, 6, seed=33, ordbeta=True)
    # target_accept 0.95: at 0.9 the divergences were 449 of 24,000 transitions (1.9%) with JAX's CPU client on one
    # thread per call, under 1% with its default pool (same seed): the ordered beta's geometry on 72 rows sits at the 1% line
    cfg = RefitConfig(draws=CFG.draws, tune=CFG.tune, chains=CFG.chains, target_accept=0.95)
    _check(BayesSpec("ctfp", "ai", controls=("pop",), likelihood="ordbeta"), panel, ["beta_std", "phi"], seed=3, cfg=cfg)


@pytest.mark.slow
@pytest.mark.heavy
def test_sbc_iv() -> None:
    panel, _ = simulate_panel(12, 6, seed=34, instrument=True)
    spec = BayesSpec("ctfp", "ai", controls=("pop",), instrument="iv_tel")
    _check(spec, panel, ["beta_std", "pi_std", "rho"], seed=4)
