"""Parameter recovery on simulated panels with known truth (fixed seeds), and agreement with two-way FE.

Small panels (30 cities x 8 years), 2 chains x 700 draws with the default sampler (nutpie on JAX: each
structure compiles in seconds; a structure already fitted in this process is reused).

The group-slope, censored and ordered-beta recoveries are `heavy` (run by `make test-heavy` and CI): statistical
evidence at 15-40 s each, whose machinery `make test` already runs through the report's pipeline fixture (the
paper's hetero, censored and ordbeta models on `ctfp run`). The FE-tracking and IV recoveries stay in `make test`
(the IV model is fitted nowhere else there).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

from ctfp.core.errors import InputError
from ctfp.inference.contrasts import compare_likelihoods, instrument_strength, loo_summary
from ctfp.inference.diagnostics import check_gate
from ctfp.inference.fit import fit_spec
from ctfp.inference.sampling import SamplerConfig, sample_model
from ctfp.models.bayes.builder import build_model
from ctfp.models.bayes.sim import simulate_panel
from ctfp.models.bayes.spec import PAPER_CONTROLS, PAPER_SPLITS, BayesSpec, PriorScales

pytestmark = pytest.mark.slow
CFG = SamplerConfig(draws=700, tune=500, chains=2, seed=11)  # the default sampler: nutpie on JAX


def _eti(da: xr.DataArray, prob: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    q = da.quantile([(1 - prob) / 2, (1 + prob) / 2], dim=("chain", "draw"))
    return q.isel(quantile=0).values, q.isel(quantile=1).values


def test_mundlak_posterior_tracks_two_way_fe() -> None:
    """City effects correlated with AI: pooled OLS is off; with Mundlak terms the posterior mean is FE's."""
    import pyfixest as pf

    panel, truth = simulate_panel(30, 8, seed=4)
    rhs = " + ".join(("ai", *PAPER_CONTROLS))
    fe = pf.feols(f"ctfp ~ {rhs} | city + year", data=panel, vcov="iid")
    fe_b, fe_se = float(fe.coef()["ai"]), float(fe.se()["ai"])
    ols_b = float(pf.feols(f"ctfp ~ {rhs}", data=panel, vcov="iid").coef()["ai"])
    assert abs(ols_b - fe_b) > 3 * fe_se  # the test panel really is confounded

    weak = PriorScales(beta=10.0, mundlak=10.0, effects=5.0, sigma=5.0, intercept=10.0)
    # iid errors: the posterior-FE equivalence is that of the iid model (AR(1) errors give a GLS slope instead)
    spec = BayesSpec("ctfp", "ai", controls=PAPER_CONTROLS, priors=weak, serial="none", error_scale="common")
    dt = sample_model(build_model(panel, spec), CFG, progress=False)
    post = dt["posterior"]["beta"]
    assert abs(float(post.mean()) - fe_b) < 0.2 * fe_se
    lo, hi = _eti(post)
    assert lo < truth["beta"] < hi
    gam_lo, gam_hi = _eti(dt["posterior"]["gamma"], 0.99)  # seven at once: a family-wise 95%
    true_gamma = np.array([truth["gamma"][c] for c in PAPER_CONTROLS])
    assert np.all((gam_lo < true_gamma) & (true_gamma < gam_hi))
    gate = check_gate(dt, warn=False)
    assert gate.max_rhat < 1.02 and gate.min_ess_bulk > 400 and gate.divergences == 0  # 2 short test chains
    # Groups of the contract, with `y` in each.
    for group in ("posterior_predictive", "log_likelihood", "observed_data"):
        assert "y" in dt[group].data_vars
    assert dt["log_likelihood"]["y"].shape == (2, 700, 240)


@pytest.mark.heavy
def test_group_slopes_recovered_through_fit_spec(tmp_path) -> None:
    """Six splits at once: each group difference's 95% interval holds the truth; files follow the contract."""
    effects = {"g_ua": 0.04, "g_hum": -0.03}
    panel, truth = simulate_panel(30, 8, seed=7, split_effects=effects, sigma=0.03)
    spec = BayesSpec("ctfp", "ai", controls=PAPER_CONTROLS, splits=PAPER_SPLITS)
    summary = fit_spec(panel, spec, CFG, tmp_path / "hetero", progress=False)

    on_disk = json.loads((tmp_path / "hetero" / "summary.json").read_text())
    assert on_disk["by"].keys() == set(PAPER_SPLITS)
    assert {"max_rhat", "min_ess_bulk", "min_ess_tail", "divergences"} <= on_disk["diagnostics"].keys()
    assert on_disk["sampler"]["seed"] == 11 and on_disk["diagnostics"]["divergences"] == 0
    assert on_disk["diagnostics"]["max_rhat"] < 1.02  # short test chains; the 1.01 gate is for real fits
    assert summary["by"]["g_ua"]["diff"]["p_gt0"] > 0.975
    assert summary["by"]["g_hum"]["diff"]["p_gt0"] < 0.025
    dt = xr.open_datatree(tmp_path / "hetero" / "posterior.nc", engine="h5netcdf")
    lo, hi = _eti(dt["posterior"]["slope_diff"], 0.99)  # six at once: a family-wise 95%
    for j, s in enumerate(dt["posterior"]["slope_diff"]["split"].values.tolist()):
        true_diff = truth["slope_group"][s]["1"] - truth["slope_group"][s]["0"]
        assert lo[j] < true_diff < hi[j], s
        assert summary["by"][s]["diff"]["eti95"][0] > lo[j]
    sg = dt["posterior"]["slope_group"]
    assert sg.dims[2:] == ("split", "level") and sg["level"].values.tolist() == ["1", "0"]
    assert dt["posterior"]["slope_diff"].dims[2:] == ("split",)
    # The average effect is the row-weighted mean of the two levels' row-average slopes of any split.
    share = panel["g_ua"].mean()
    rows = dt["posterior"]["slope_group_rows"]
    ame = share * rows.sel(split="g_ua", level="1") + (1 - share) * rows.sel(split="g_ua", level="0")
    np.testing.assert_allclose(ame.values, dt["posterior"]["ame"].values, rtol=1e-6)


@pytest.mark.heavy
def test_censored_recovers_latent_slope() -> None:
    """Tobit at 1 on a panel with ~20% of rows at the bound: the latent slope's interval holds the truth."""
    panel, truth = simulate_panel(30, 8, seed=9, censor=True)
    assert 0.15 < truth["share_at_bound"] < 0.25
    spec = BayesSpec("ctfp", "ai", controls=PAPER_CONTROLS[:3], likelihood="censored")
    dt = sample_model(build_model(panel, spec), CFG, progress=False)
    lo, hi = _eti(dt["posterior"]["beta"])
    assert lo < truth["beta"] < hi
    # The effect on E[y] is damped by the share of rows pushed past the bound.
    ratio = float(dt["posterior"]["ame"].mean() / dt["posterior"]["beta"].mean())
    assert 0.6 < ratio < 0.95
    ame_lo, ame_hi = _eti(dt["posterior"]["ame"])
    assert ame_lo < truth["ame"] < ame_hi
    gate = check_gate(dt, warn=False)
    assert gate.max_rhat < 1.02 and gate.divergences == 0  # short test chains; the 1.01 gate is for real fits


def test_iv_recovers_slope_and_instrument() -> None:
    """Endogenous AI (error correlation 0.6): the IV posterior holds the true slope; the first stage is strong."""
    import pyfixest as pf

    panel, truth = simulate_panel(30, 8, seed=13, instrument=True)
    fe = pf.feols("ctfp ~ ai + pop + hum | city + year", data=panel, vcov="iid")
    spec = BayesSpec("ctfp", "ai", controls=("pop", "hum"), instrument="iv_tel")
    dt = sample_model(build_model(panel, spec), CFG, progress=False)
    lo, hi = _eti(dt["posterior"]["beta"])
    assert lo < truth["beta"] < hi
    assert not lo < float(fe.coef()["ai"]) < hi  # the naive FE estimate is outside: the IV corrected it
    pi_lo, pi_hi = _eti(dt["posterior"]["pi"])
    assert pi_lo < truth["pi"] < pi_hi
    strength = instrument_strength(dt)
    assert strength["first_stage_f_like"] > 10 and strength["weak"] is False
    assert float(dt["posterior"]["rho"].mean()) > 0.3


@pytest.mark.heavy
def test_ordbeta_recovers_the_average_marginal_effect() -> None:
    """Ordered-beta world with mass at 0 and 1: the AME on E[y] is recovered; LOO compares bounded fits only."""
    panel, truth = simulate_panel(30, 8, seed=3, ordbeta=True)
    spec = BayesSpec("ctfp", "ai", controls=PAPER_CONTROLS[:2], likelihood="ordbeta")
    dt = sample_model(build_model(panel, spec), CFG, progress=False)
    lo, hi = _eti(dt["posterior"]["ame"])
    assert lo < truth["ame"] < hi
    cuts = dt["posterior"]["cutpoints"].mean(("chain", "draw")).values
    assert cuts[0] < -1.5 and cuts[1] > 0.5  # the two point masses are both modelled
    gate = check_gate(dt, warn=False)
    assert gate.max_rhat < 1.02 and gate.divergences == 0
    assert np.isfinite(loo_summary(dt)["elpd_loo"])
    with pytest.raises(InputError, match="two fits with a bounded likelihood"):
        compare_likelihoods({"ordbeta": dt, "normal": dt}, {"ordbeta": "ordbeta", "normal": "normal"})
    table = compare_likelihoods(
        {"ordbeta": dt, "again": dt, "normal": dt}, {"ordbeta": "ordbeta", "again": "ordbeta", "normal": "normal"}
    )
    assert set(table.index) == {"ordbeta", "again"} and "left out (density at the bound): normal" in table.attrs["note"]
