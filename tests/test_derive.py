"""Derived variables against numbers computed by hand (methods.md §2)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from test_validate import raw_panel

from ctfp.core.errors import InputError
from ctfp.data.derive import (
    capital_stock,
    deflate,
    derive_analysis_panel,
    entropy_index,
    entropy_weights,
    extrapolate_growth,
    interpolate_interior,
    lag,
    median_split,
    real_gdp,
    shift_share,
)


def one_city(years: list[int], **cols: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"city": 140100, "year": years, **cols})


def test_capital_stock_three_years_by_hand() -> None:
    # I = 100, 110, 121: g = (121/100)^(1/2) − 1 = 0.1; K0 = 100 / (0.1 + 0.096) = 510.2040816
    # K1 = 0.904 · 510.2040816 + 110 = 571.2244898; K2 = 0.904 · 571.2244898 + 121 = 637.3869388
    df = one_city([2006, 2007, 2008], rfai=[100.0, 110.0, 121.0])
    k = capital_stock(df, "rfai")
    assert k.tolist() == pytest.approx([510.2040816, 571.2244898, 637.3869388], abs=1e-6)


def test_capital_stock_per_city_and_order_free() -> None:
    df = pd.DataFrame({"city": [2, 1, 2, 1], "year": [2007, 2006, 2006, 2007], "rfai": [20.0, 100.0, 10.0, 100.0]})
    k = capital_stock(df, "rfai")
    # city 1: g = 0, K0 = 100/0.096 = 1041.6667, K1 = 0.904·1041.6667 + 100 = 1041.6667 (steady state)
    # city 2: g = 1, K0 = 10/1.096 = 9.1241, K1 = 0.904·9.1241 + 20 = 28.2482
    assert k.tolist() == pytest.approx([28.2481752, 1041.6666667, 9.1240876, 1041.6666667], abs=1e-6)


def test_capital_stock_rejects_collapsing_investment() -> None:
    df = one_city([2006, 2007], rfai=[100.0, 50.0])  # g = −0.5 ≤ −δ
    with pytest.raises(InputError, match="city 140100 has average real investment growth -0.5000"):
        capital_stock(df, "rfai")


def test_deflation_by_chained_indices() -> None:
    # GDP index (previous year = 100): rgdp = 100, 100·1.10 = 110, 110·1.05 = 115.5; the base year's index is unused
    df = one_city([2006, 2007, 2008], gdp=[100.0, 120.0, 150.0], gdp_index=[999.0, 110.0, 105.0],
                  fai=[50.0, 60.0, 70.0], fai_pi=[100.0, 104.0, 105.0])
    assert real_gdp(df).tolist() == pytest.approx([100.0, 110.0, 115.5])
    # FAI deflator D = 1, 1.04, 1.04·1.05 = 1.092: real FAI = 50, 57.6923077, 64.1025641
    assert deflate(df, "fai", "fai_pi").tolist() == pytest.approx([50.0, 57.6923077, 64.1025641], abs=1e-6)


def test_entropy_weights_three_by_two_by_hand() -> None:
    # x1 positive [1, 2, 3] → v1 = [0, .5, 1], p1 = [0, 1/3, 2/3] (0·ln 0 = 0)
    # x2 negative [10, 20, 40] → v2 = (40 − x)/30 = [1, 2/3, 0], p2 = [.6, .4, 0]
    # e1 = −(1/3 ln 1/3 + 2/3 ln 2/3)/ln 3 = 0.5793802; e2 = −(.6 ln .6 + .4 ln .4)/ln 3 = 0.6126016
    # w = (1 − e)/Σ(1 − e) = [0.5205574, 0.4794426]; index = v @ w = [0.4794426, 0.5799071, 0.5205574]
    e1 = -(1 / 3 * math.log(1 / 3) + 2 / 3 * math.log(2 / 3)) / math.log(3)
    assert e1 == pytest.approx(0.5793802, abs=1e-7)
    w, v = entropy_weights(np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 40.0]]), [False, True])
    assert w.tolist() == pytest.approx([0.5205574, 0.4794426], abs=1e-7)
    np.testing.assert_allclose(v, [[0.0, 1.0], [0.5, 2 / 3], [1.0, 0.0]])
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [10.0, 20.0, 40.0]})
    idx, weights = entropy_index(frame, ["a"], ["b"])
    assert idx.tolist() == pytest.approx([0.4794426, 0.5799071, 0.5205574], abs=1e-7)
    assert weights.loc["pooled"].tolist() == pytest.approx([0.5205574, 0.4794426], abs=1e-7)


def test_entropy_constant_indicator_gets_zero_weight() -> None:
    w, _ = entropy_weights(np.array([[1.0, 5.0], [2.0, 5.0], [3.0, 5.0]]), [False, False])
    assert w.tolist() == [1.0, 0.0]
    with pytest.raises(InputError, match="every indicator is constant"):
        entropy_weights(np.array([[5.0], [5.0]]), [False])


@settings(max_examples=40, deadline=None)
@given(arrays(float, (6, 3), elements=st.floats(0.0, 1e3)), st.lists(st.booleans(), min_size=3, max_size=3))
def test_entropy_index_is_a_convex_combination(x: np.ndarray, negative: list[bool]) -> None:
    if (x.max(axis=0) == x.min(axis=0)).all():
        return  # all constant: an error, tested above
    w, v = entropy_weights(x, negative)
    assert w.sum() == pytest.approx(1.0) and (w >= 0).all()
    assert ((v >= 0) & (v <= 1)).all()
    index = v @ w
    assert (index >= -1e-12).all() and (index <= 1 + 1e-12).all()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(1.0, 1e4), min_size=2, max_size=8))
def test_capital_stock_follows_the_law_of_motion(inv: list[float]) -> None:
    df = one_city(list(range(2006, 2006 + len(inv))), rfai=inv)
    if (inv[-1] / inv[0]) ** (1 / (len(inv) - 1)) - 1 + 0.096 <= 0:
        return
    k = capital_stock(df, "rfai").to_numpy()
    np.testing.assert_allclose(k[1:], 0.904 * k[:-1] + np.array(inv[1:]), rtol=1e-12)


def test_entropy_per_year_normalisation() -> None:
    # per year: each year's two rows normalise to 0 and 1 on their own; pooled: on all four rows
    frame = pd.DataFrame({"a": [1.0, 3.0, 2.0, 4.0]})
    year = pd.Series([2006, 2006, 2007, 2007])
    per_year, w = entropy_index(frame, ["a"], [], by=year)
    assert per_year.tolist() == [0.0, 1.0, 0.0, 1.0]
    assert list(w.index) == [2006, 2007]
    pooled, _ = entropy_index(frame, ["a"], [])
    assert pooled.tolist() == pytest.approx([0.0, 2 / 3, 1 / 3, 1.0])


def test_interpolation_fills_interior_only_and_flags() -> None:
    df = one_city([2006, 2007, 2008, 2009, 2010], x=[1.0, np.nan, np.nan, 7.0, np.nan])
    values, flag = interpolate_interior(df, "x")
    assert values.tolist()[:4] == [1.0, 3.0, 5.0, 7.0]
    assert np.isnan(values.iloc[4])  # trailing gap: never extrapolated by interpolation
    assert flag.tolist() == [False, True, True, False, False]
    assert flag.name == "x_imputed"


def test_fai_growth_extrapolation() -> None:
    # last 3 growth years 2014→2017: g = (133.1/100)^(1/3) − 1 = 0.1 → 2018 = 146.41, 2019 = 161.051;
    # 2013's 50 lies outside the window and must not matter
    df = one_city(list(range(2013, 2020)), fai=[50.0, 100.0, 110.0, 121.0, 133.1, np.nan, np.nan])
    values, flag = extrapolate_growth(df, "fai", window=3)
    assert values.tolist()[-2:] == pytest.approx([146.41, 161.051])
    assert flag.tolist() == [False] * 5 + [True, True]
    with pytest.raises(InputError, match="one observed value"):
        extrapolate_growth(one_city([2017, 2018], fai=[1.0, np.nan]), "fai")


def test_lag_requires_consecutive_years() -> None:
    df = pd.DataFrame({"city": [1, 1, 1, 2, 2], "year": [2006, 2007, 2009, 2006, 2007],
                       "ai": [1.0, 2.0, 3.0, 10.0, 20.0]})
    out = lag(df, "ai")
    assert out.tolist()[1] == 1.0 and out.tolist()[4] == 10.0
    assert np.isnan(out.iloc[0]) and np.isnan(out.iloc[2]) and np.isnan(out.iloc[3])  # 2008 absent → NaN
    shuffled = df.iloc[[4, 2, 0, 3, 1]]
    assert lag(shuffled, "ai").tolist()[0] == 10.0  # aligned by index, not position


def test_shift_share_instrument() -> None:
    df = pd.DataFrame({"tel1984": [2.0, 2.0, 3.0, 3.0], "nat": [10.0, 20.0, 10.0, 20.0]})
    assert shift_share(df["tel1984"], df["nat"]).tolist() == [20.0, 40.0, 30.0, 60.0]


def test_median_split_ties_go_high() -> None:
    assert median_split(pd.Series([1.0, 2.0, 2.0, 2.0, 3.0, 4.0])).tolist() == [0, 1, 1, 1, 1, 1]
    assert median_split(pd.Series([4.0, 1.0, 3.0, 2.0])).tolist() == [1, 0, 1, 0]  # median 2.5
    with_nan = median_split(pd.Series([1.0, np.nan, 3.0]))
    assert with_nan.iloc[0] == 0 and np.isnan(with_nan.iloc[1]) and with_nan.iloc[2] == 1


def test_analysis_panel_values() -> None:
    raw = raw_panel()
    out = derive_analysis_panel(raw)
    first = out.iloc[0]  # 140100, 2006: every generic raw value is 10
    assert (first["city"], first["year"], first["provyear"]) == (140100, 2006, 142006)
    assert (first["province"], first["city_name"]) == ("山西", "Taiyuan")
    assert first["labor"] == 10.0
    assert first["ai"] == pytest.approx(0.1) and first["scale"] == pytest.approx(0.3)
    assert first["pop"] == pytest.approx(10.0)  # 10·1e4 / 10 / 1000
    assert first["hum"] == 1.0 and first["isu"] == 1.0 and first["trade"] == 1.0 and first["tec"] == 1.0
    assert first["lninf"] == pytest.approx(math.log(10.0))
    assert first["iv_tel"] == 100.0 * 1000.0 and out.iloc[4]["iv_res"] == 55.0 * 1010.0
    # rgdp: 140100 gdp 10, 11, 12 with index 108 → 10, 10.8, 11.664
    assert out["rgdp"].iloc[:3].tolist() == pytest.approx([10.0, 10.8, 11.664])
    # rfai: fai 10, 11, 12 / (1, 1.02, 1.0404)
    assert out["rfai"].iloc[:3].tolist() == pytest.approx([10.0, 11 / 1.02, 12 / 1.0404])
    assert out["g_ua"].tolist() == [1, 1, 1, 0, 0, 0]  # 太原 in 山西中部; 大同 in none
    assert out["g_resource"].tolist() == [0, 0, 0, 1, 1, 1]  # 大同 mature resource city
    # students 10, 11, 12, 12, 13, 14: median 12 → ties at 12 go high
    assert out["g_hum"].tolist() == [0, 0, 1, 1, 1, 1]
    assert out["er"].between(0, 1).all() and out["gcons"].between(0, 1).all()
    assert "ctfp" not in out.columns and not any(c.endswith("_imputed") for c in out.columns)
    assert out.attrs["imputed"] == {} and out.attrs["skipped"] == {}
    assert set(out.attrs["entropy_weights"]) == {"er", "gfin", "gcons"}


def test_analysis_panel_flags_imputed_cells() -> None:
    raw = raw_panel()
    raw.loc[1, "emp"] = np.nan
    out = derive_analysis_panel(raw)
    assert out["labor"].iloc[1] == pytest.approx(11.0)  # (10 + 12) / 2
    assert out["emp_imputed"].tolist() == [False, True, False, False, False, False]
    assert out.attrs["imputed"] == {"emp": {"interpolated": 1, "extrapolated": 0}}


def test_analysis_panel_extrapolates_fai_after_2017() -> None:
    raw = raw_panel()
    raw["year"] = raw["year"] + 10  # 2016..2018
    raw.loc[[2, 5], "fai"] = np.nan
    out = derive_analysis_panel(raw)
    # city 140100: fai 10, 11 → g = 0.1 → 2018 = 12.1
    nominal = out["rfai"].iloc[2] * 1.0404
    assert nominal == pytest.approx(12.1)
    assert out["fai_imputed"].tolist() == [False, False, True, False, False, True]
    assert out.attrs["imputed"]["fai"] == {"interpolated": 0, "extrapolated": 2}


def test_analysis_panel_skips_absent_optional_groups() -> None:
    raw = raw_panel().drop(columns=["broadband", "res1984", "env_words"])
    out = derive_analysis_panel(raw)
    assert "newinf" not in out and "iv_res" not in out and "g_attention" not in out and "iv_tel" in out
    assert out.attrs["skipped"] == {"newinf": "needs broadband", "iv_res": "needs res1984",
                                    "g_attention": "needs env_words"}


def test_analysis_panel_other_region_and_rules() -> None:
    raw = raw_panel()
    raw.loc[raw["city"] == 140200, "city"] = 510100  # 成都: another region
    out = derive_analysis_panel(raw, ua_rule="whole", entropy_normalisation="per_year")
    assert out["province"].tolist()[3:] == ["四川"] * 3 and out["city_name"].tolist()[3] == ""
    assert out["g_ua"].isna().tolist() == [False] * 3 + [True] * 3
    assert set(out.attrs["entropy_weights"]["er"]) == {"2006", "2007", "2008"}
    with pytest.raises(InputError, match="unknown urban-agglomeration rule"):
        derive_analysis_panel(raw_panel(), ua_rule="most")
    with pytest.raises(InputError, match="entropy normalisation 'yearly'"):
        derive_analysis_panel(raw_panel(), entropy_normalisation="yearly")


def test_analysis_panel_refuses_invalid_raw() -> None:
    raw = raw_panel()
    raw.loc[0, "co2"] = -1.0
    raw.attrs["source"] = "in.csv"
    with pytest.raises(InputError, match=r"^error: in.csv, row 2, column co2: value -1 is not positive"):
        derive_analysis_panel(raw)
    with pytest.raises(InputError, match="required column"):
        derive_analysis_panel(raw_panel().drop(columns=["emp"]))
