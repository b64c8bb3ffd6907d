"""Property tests of the DEA engine (hypothesis, small n, few examples)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ctfp.models.dea import run_dea

COLS = ["x1", "x2", "yg", "yb"]
SETTINGS = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def panels(draw, n_min: int = 4, n_max: int = 9, periods: int = 1) -> pd.DataFrame:
    n = draw(st.integers(n_min, n_max))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    rows = n * periods
    vals = np.round(rng.lognormal(mean=2.0, sigma=0.8, size=(rows, 4)), 3) + 0.01
    df = pd.DataFrame(vals, columns=COLS)
    df["id"] = np.tile(np.arange(n), periods)
    df["t"] = np.repeat(np.arange(periods), n)
    return df


def _sbm(df: pd.DataFrame, **kw) -> pd.DataFrame:
    return run_dea(df, ["x1", "x2"], ["yg"], ["yb"], id_col="id", period_col="t", **kw)


@SETTINGS
@given(panels(), st.sampled_from(["crs", "vrs"]), st.lists(st.floats(1e-3, 1e4), min_size=4, max_size=4))
def test_unit_invariance(df, rts, factors) -> None:
    scaled = df.copy()
    for c, f in zip(COLS, factors, strict=True):
        scaled[c] = df[c] * f
    a, b = _sbm(df, rts=rts), _sbm(scaled, rts=rts)
    np.testing.assert_allclose(a["efficiency"], b["efficiency"], atol=1e-6, rtol=0)


@SETTINGS
@given(panels(), st.sampled_from(["crs", "vrs"]))
def test_projections_are_efficient(df, rts) -> None:
    r = _sbm(df, rts=rts)
    proj = pd.DataFrame({c: r[f"target_{c}"].to_numpy() for c in COLS})
    proj["id"] = np.arange(len(df)) + 1000
    proj["t"] = 0
    both = pd.concat([df, proj], ignore_index=True)
    r2 = _sbm(both, rts=rts)
    n = len(df)
    np.testing.assert_allclose(r2["efficiency"].iloc[:n], r["efficiency"], atol=1e-6, rtol=0)
    assert (r2["efficiency"].iloc[n:] >= 1 - 1e-6).all()


@SETTINGS
@given(panels(n_min=3, n_max=6, periods=3), st.sampled_from(["crs", "vrs"]))
def test_global_not_above_contemporaneous_or_sequential(df, rts) -> None:
    g = _sbm(df, rts=rts, frontier="global")["efficiency"].to_numpy()
    c = _sbm(df, rts=rts, frontier="contemporaneous")["efficiency"].to_numpy()
    s = _sbm(df, rts=rts, frontier="sequential")["efficiency"].to_numpy()
    w = _sbm(df, rts=rts, frontier="window:3")["efficiency"].to_numpy()
    assert (g <= c + 1e-9).all() and (g <= s + 1e-9).all() and (g <= w + 1e-9).all()
    assert (s <= c + 1e-9).all() and (w <= c + 1e-9).all()
    first = df["t"].to_numpy() == 0
    np.testing.assert_allclose(s[first], c[first], atol=1e-9)  # sequential = contemporaneous in period 1


@SETTINGS
@given(panels(), st.sampled_from(["crs", "vrs"]))
def test_super_two_stage(df, rts) -> None:
    r = _sbm(df, rts=rts, model="super-sbm")
    eff = r["rho"] >= 1 - 1e-6
    assert eff.any()
    # VRS with bad outputs can be infeasible (a DMU with the largest good and a far smaller bad output):
    # flagged, never replaced by another number. CRS is always feasible.
    nan = r["efficiency"].isna()
    assert (r.loc[nan, "status"] == "super_infeasible").all()
    assert not (nan & (rts == "crs")).any()
    assert (r.loc[eff & ~nan, "efficiency"] >= 1 - 1e-6).all()
    np.testing.assert_allclose(r.loc[~eff, "efficiency"], r.loc[~eff, "rho"], atol=0)
    assert r.loc[~eff, "super_efficiency"].isna().all()


@SETTINGS
@given(
    panels(n_min=5, n_max=12, periods=2),
    st.sampled_from(["sbm", "super-sbm", "ccr", "bcc"]),
    st.sampled_from(["global", "contemporaneous"]),
)
def test_pricing_equals_plain_lp(df, model, frontier) -> None:
    kw = dict(model=model, frontier=frontier)
    a, b = _sbm(df, **kw), _sbm(df, pricing=False, **kw)
    np.testing.assert_allclose(a["efficiency"], b["efficiency"], atol=1e-6, rtol=0)


def test_super_vrs_infeasible_is_flagged() -> None:
    # DMU 0 has the largest good output and a bad output far below the others: under VRS no point of the
    # other DMUs' hull can be reached with a positive super-SBM denominator.
    df = pd.DataFrame({"x1": [9.752, 15.256, 9.901, 4.109], "x2": [14.268, 10.57, 9.359, 6.496],
                       "yg": [9.635, 4.819, 7.569, 5.034], "yb": [2.615, 11.772, 11.453, 11.94],
                       "id": [0, 1, 2, 3], "t": 0})
    r = _sbm(df, rts="vrs", model="super-sbm")
    assert r["status"].iloc[0] == "super_infeasible" and np.isnan(r["efficiency"].iloc[0])
    assert r["rho"].iloc[0] == 1.0 or abs(r["rho"].iloc[0] - 1) < 1e-9
    crs = _sbm(df, rts="crs", model="super-sbm")
    assert (crs["status"] == "optimal").all()


@SETTINGS
@given(panels(n_min=5, n_max=10), st.floats(0.001, 5.0))
def test_input_bcc_invariant_to_translation_constant(df, c) -> None:
    a = _sbm(df, model="bcc", orientation="input")
    b = _sbm(df, model="bcc", orientation="input", translation=c)
    np.testing.assert_allclose(a["efficiency"], b["efficiency"], atol=1e-6, rtol=0)


def test_engine_equals_plain_lp_on_a_larger_panel() -> None:
    # 60 units x 2 periods: enough DMUs for pool growth, warm starts and exclusions to matter
    rng = np.random.default_rng(11)
    size = rng.lognormal(0, 0.7, (60, 1))
    df = pd.DataFrame({
        "x1": (size * rng.lognormal(0, 0.3, (60, 2))).ravel(), "x2": (size * rng.lognormal(0, 0.3, (60, 2))).ravel(),
        "yg": (size * rng.lognormal(0, 0.3, (60, 2))).ravel(), "yb": (size * rng.lognormal(0, 0.3, (60, 2))).ravel(),
        "id": np.repeat(np.arange(60), 2), "t": np.tile([0, 1], 60),
    })
    configs = [dict(model="sbm", orientation=o, rts=r) for o in ("none", "input", "output") for r in ("crs", "vrs")]
    configs += [dict(model="super-sbm", rts=r) for r in ("crs", "vrs")]
    configs += [dict(model="super-sbm", orientation="input", rts="vrs")]
    configs += [dict(model=m, orientation=o) for m in ("ccr", "bcc") for o in ("input", "output")]
    for kw in configs:
        a, b = _sbm(df, **kw), _sbm(df, pricing=False, **kw)
        np.testing.assert_allclose(a["efficiency"], b["efficiency"], atol=1e-6, rtol=0, err_msg=str(kw))
        assert (a["status"] == b["status"]).all(), kw
