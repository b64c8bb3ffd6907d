"""City facts against the paper: 78 cities (footnote ④), resource-based 640/608 city-years (Table 6 cols 3–4),
40 of 126 resource-based prefecture cities = 31.75% (text of §5.4), and the UA counts of the public rules."""

from __future__ import annotations

import pytest

from ctfp.core.errors import InputError
from ctfp.data import cities
from ctfp.data.published import lookup

# Footnote ④ of the paper, in print order.
FOOTNOTE_4 = (
    "太原、大同、阳泉、长治、晋城、朔州、晋中、运城、忻州、临汾、吕梁、呼和浩特、包头、乌海、鄂尔多斯、巴彦淖尔、乌兰察布、"
    "济南、青岛、淄博、枣庄、东营、烟台、潍坊、济宁、泰安、威海、日照、临沂、德州、聊城、滨州、菏泽、郑州、开封、洛阳、"
    "平顶山、安阳、鹤壁、新乡、焦作、濮阳、许昌、漯河、三门峡、南阳、商丘、信阳、周口、驻马店、西安、铜川、宝鸡、咸阳、"
    "渭南、延安、汉中、榆林、安康、商洛、兰州、嘉峪关、金昌、白银、天水、武威、张掖、平凉、酒泉、庆阳、定西、陇南、西宁、"
    "银川、石嘴山、吴忠、固原、中卫"
).split("、")
T = len(cities.YEARS)


def test_roster_is_footnote_4() -> None:
    df = cities.load_cities()
    assert len(df) == 78 and len(FOOTNOTE_4) == 78
    assert df["city_zh"].tolist() == FOOTNOTE_4
    assert df["code"].is_unique and df["city_pinyin"].is_unique
    assert list(df.columns) == list(cities.COLUMNS)
    assert df["code"].between(110000, 659999).all()
    assert T == 16


def test_resource_based_matches_table6() -> None:
    g = cities.resource_membership()
    n1, n0 = int(g.sum()), int((g == 0).sum())
    assert (n1, n0) == (40, 38) == cities.PAPER_RESOURCE_CITIES
    # Table 6 cols (3)-(4): N = 640 / 608
    assert (n1 * T, n0 * T) == (lookup("T6c3", "N")["coef"], lookup("T6c4", "N")["coef"]) == (640, 608)
    # §5.4: 126 resource-based prefecture-level cities nationally, "31.75%" of them in the basin
    assert round(100 * n1 / 126, 2) == 31.75
    df = cities.load_cities()
    assert set(df["resource_type_2013"]) <= set(cities.RESOURCE_TYPES)
    assert ((df["resource_type_2013"] != "none") == (df["resource_based"] == 1)).all()
    assert df["resource_type_2013"].value_counts().to_dict() == {
        "none": 38, "mature": 19, "growing": 8, "declining": 7, "regenerating": 6,
    }


def test_ua_rules_and_the_unreproducible_paper_split() -> None:
    any_, whole = cities.ua_membership("any"), cities.ua_membership("whole")
    assert (int(any_.sum()), int((any_ == 0).sum())) == (63, 15)
    assert (int(whole.sum()), int((whole == 0).sum())) == (57, 21)
    assert any_.name == "g_ua" and any_.index.name == "code" and set(any_.unique()) <= {0, 1}
    assert (whole <= any_).all()
    # Table 6 cols (1)-(2): 960/288 city-years = 60/18 cities, between the two public rules
    n_ua = lookup("T6c1", "N")["coef"] / T
    assert (n_ua, lookup("T6c2", "N")["coef"] / T) == cities.PAPER_UA_CITIES == (60, 18)
    assert whole.sum() < n_ua < any_.sum()
    partial = cities.load_cities().query("ua_partial == 1")["city_zh"].tolist()
    assert sorted(partial) == sorted(["临汾", "商洛", "白银", "平凉", "庆阳", "定西"])
    df = cities.load_cities()
    assert ((df["agglomerations"] != "") == (df["ua_any"] == 1)).all()


def test_unknown_rule_is_an_input_error() -> None:
    with pytest.raises(InputError, match="any, whole"):
        cities.ua_membership("most")  # type: ignore[arg-type]


def test_provinces() -> None:
    assert cities.province_counts().to_dict() == {
        "河南": 17, "山东": 16, "甘肃": 12, "山西": 11, "陕西": 10, "内蒙古": 6, "宁夏": 5, "青海": 1,
    }
    assert cities.province_of([140100, 370200, 630100]).tolist() == ["山西", "山东", "青海"]
    assert cities.pinyin_of([140100]).tolist() == ["Taiyuan"]
    # all 16 Shandong cities are in the Shandong Peninsula agglomeration (standard definition)
    sd = cities.load_cities().query("province_zh == '山东'")
    assert len(sd) == 16 and sd["agglomerations"].str.contains("山东半岛").all()
    # Sichuan and the eastern Inner Mongolia cities were excluded by the paper (§4.3)
    assert "四川" not in set(cities.load_cities()["province_zh"])
    with pytest.raises(InputError, match="999999"):
        cities.province_of([140100, 999999])


def test_load_cities_returns_a_copy() -> None:
    df = cities.load_cities()
    df.loc[0, "city_zh"] = "x"
    assert cities.load_cities().loc[0, "city_zh"] == "太原"
