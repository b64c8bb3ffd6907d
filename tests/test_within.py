"""The shared within transformation: one demeaning pass per (sample, FEs), fits equal to lone fits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ctfp.models.panel.estimators import fit_iv, fit_ols
from ctfp.models.panel.within import WithinCache


def _panel(balanced: bool, seed: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    u, t = np.repeat(np.arange(40), 12), np.tile(np.arange(12), 40)
    df = pd.DataFrame({"unit": u, "time": t})
    a = rng.normal(size=40)[u]
    for c in ("x1", "x2", "x3", "z"):
        df[c] = a + rng.normal(size=len(df))
    df["d"] = 0.7 * df["z"] + rng.normal(size=len(df))
    df["y1"] = 0.5 * df["x1"] - 0.2 * df["x2"] + 0.3 * df["d"] + a + rng.normal(size=len(df))
    df["y2"] = df["x3"] + rng.normal(size=len(df))
    return df if balanced else df.sample(frac=0.85, random_state=1).sort_index()


SPECS = [("y1", ["x1"]), ("y1", ["x1", "x2"]), ("y2", ["x1", "x2", "x3"])]


@pytest.mark.parametrize("absorb", [["unit"], ["unit", "time"]])
def test_shared_fits_equal_lone_fits_bit_for_bit(absorb: list[str]) -> None:
    df = _panel(balanced=True)
    cache = WithinCache(df, companions=["y1", "y2", "x1", "x2", "x3", "d", "z"])
    for y, xs in SPECS:
        lone = fit_ols(df, y, xs, absorb=absorb, cluster="unit")
        shared = fit_ols(df, y, xs, absorb=absorb, cluster="unit", demean=cache)
        np.testing.assert_array_equal(shared.coef, lone.coef)
        np.testing.assert_array_equal(shared.vcov, lone.vcov)
        assert (shared.r2_within, shared.r2_overall) == (lone.r2_within, lone.r2_overall)
    lone = fit_iv(df, "y1", "d", "z", exog=["x1"], absorb=absorb, cluster="unit")
    shared = fit_iv(df, "y1", "d", "z", exog=["x1"], absorb=absorb, cluster="unit", demean=cache)
    np.testing.assert_array_equal(shared.coef, lone.coef)
    assert shared.diagnostics["kp_rk_wald_f"] == lone.diagnostics["kp_rk_wald_f"]
    assert cache.demeaned == 1 and cache.hits == len(SPECS)  # every variable demeaned in the first pass


def test_unbalanced_two_way_agrees_to_the_projection_tolerance() -> None:
    df = _panel(balanced=False)
    cache = WithinCache(df, companions=["y1", "y2", "x1", "x2", "x3"])
    for y, xs in SPECS:
        lone = fit_ols(df, y, xs, absorb=["unit", "time"], cluster="unit")
        shared = fit_ols(df, y, xs, absorb=["unit", "time"], cluster="unit", demean=cache)
        np.testing.assert_allclose(shared.coef, lone.coef, rtol=1e-10)
        np.testing.assert_allclose(shared.se, lone.se, rtol=1e-10)
    assert cache.demeaned == 1


def test_another_sample_is_demeaned_on_its_own() -> None:
    df = _panel(balanced=True)
    cache = WithinCache(df, companions=["y1", "x1", "x2"])
    full = fit_ols(df, "y1", ["x1", "x2"], absorb=["unit"], demean=cache)
    half = fit_ols(df[df["time"] < 6], "y1", ["x1", "x2"], absorb=["unit"], demean=cache)
    lone = fit_ols(df[df["time"] < 6], "y1", ["x1", "x2"], absorb=["unit"])
    np.testing.assert_array_equal(half.coef, lone.coef)
    assert cache.demeaned == 2 and full.nobs == 480 and half.nobs == 240


def test_a_companion_with_missing_values_is_left_out() -> None:
    df = _panel(balanced=True)
    df.loc[df.index[:5], "x3"] = np.nan  # complete on a smaller sample only
    cache = WithinCache(df, companions=["y1", "x1", "x3"])
    a = fit_ols(df, "y1", ["x1"], absorb=["unit"], demean=cache)
    b = fit_ols(df, "y1", ["x1", "x3"], absorb=["unit"], demean=cache)  # another sample (5 rows fewer)
    lone = fit_ols(df, "y1", ["x1", "x3"], absorb=["unit"])
    np.testing.assert_array_equal(b.coef, lone.coef)
    assert a.nobs == 480 and b.nobs == 475 and cache.demeaned == 2
