"""The 78 Yellow River Basin prefecture-level cities of the paper (footnote ④) and their classifications.

The roster, State Council 2013 resource-based types and 14th Five-Year Plan urban-agglomeration membership are
public administrative facts (sources in docs/data_sources.md); they ship as `resources/yrb78_cities.csv`.

The urban-agglomeration split is a user choice: the any-part rule gives 63/15 cities, the whole-city rule 57/21,
while the paper's Table 6 (N = 960/288) implies 60/18, a split no public rule reproduces.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from importlib import resources
from typing import Literal

import pandas as pd

from ctfp.core.errors import InputError

UA_RULES: tuple[str, ...] = ("any", "whole")
RESOURCE_TYPES: tuple[str, ...] = ("growing", "mature", "declining", "regenerating", "none")
COLUMNS: tuple[str, ...] = (
    "code",
    "city_zh",
    "city_pinyin",
    "province_zh",
    "resource_type_2013",
    "resource_based",
    "agglomerations",
    "ua_any",
    "ua_partial",
)
# Years of the paper's panel: 16 years, so a city group of n cities is 16·n city-years in Table 6.
YEARS: tuple[int, ...] = tuple(range(2006, 2022))
# Group sizes the paper's Table 6 implies (N / 16); the UA split is not reproducible (see module doc).
PAPER_UA_CITIES: tuple[int, int] = (60, 18)
PAPER_RESOURCE_CITIES: tuple[int, int] = (40, 38)


@cache
def _cities() -> pd.DataFrame:
    path = resources.files("ctfp.data").joinpath("resources/yrb78_cities.csv")
    with path.open("r", encoding="utf-8") as fh:
        df = pd.read_csv(
            fh,
            dtype={"code": "int64", "resource_based": "int64", "ua_any": "int64", "ua_partial": "int64"},
            keep_default_na=False,  # an empty `agglomerations` means "none", not missing
        )
    return df.loc[:, list(COLUMNS)]


def load_cities() -> pd.DataFrame:
    """The 78 cities, one row each, in the paper's footnote order (a fresh copy the caller may modify)."""
    return _cities().copy()


def city_codes() -> list[int]:
    """GB/T 2260 prefecture codes of the 78 cities."""
    return _cities()["code"].tolist()


def ua_membership(rule: Literal["any", "whole"] = "any") -> pd.Series:
    """1 = urban-agglomeration city, indexed by code.

    `any`: any part of the city lies in one of the 19 agglomerations (63 cities).
    `whole`: additionally drop the six cities only partly inside (57 cities).
    """
    if rule not in UA_RULES:
        raise InputError(f"unknown urban-agglomeration rule {rule!r}: use one of {', '.join(UA_RULES)}")
    df = _cities()
    flag = df["ua_any"] if rule == "any" else df["ua_any"] * (1 - df["ua_partial"])
    return pd.Series(flag.to_numpy(dtype="int64"), index=pd.Index(df["code"], name="code"), name="g_ua")


def resource_membership() -> pd.Series:
    """1 = resource-based city on the State Council 2013 list (40 cities), indexed by code."""
    df = _cities()
    return pd.Series(
        df["resource_based"].to_numpy(dtype="int64"), index=pd.Index(df["code"], name="code"), name="g_resource"
    )


def _lookup(codes: Iterable[int], column: str) -> pd.Series:
    codes = list(codes)
    table = _cities().set_index("code")[column]
    unknown = sorted({int(c) for c in codes} - set(table.index))
    if unknown:
        shown = ", ".join(str(c) for c in unknown[:5]) + (" ..." if len(unknown) > 5 else "")
        raise InputError(
            f"city code(s) {shown} not among the 78 Yellow River Basin cities: use GB/T 2260 prefecture codes"
        )
    return pd.Series(table.loc[[int(c) for c in codes]].to_numpy(), index=pd.Index(codes, name="code"), name=column)


def province_of(codes: Iterable[int]) -> pd.Series:
    """Province (Chinese name) of each code, in the order given; unknown codes raise InputError."""
    return _lookup(codes, "province_zh")


def pinyin_of(codes: Iterable[int]) -> pd.Series:
    """City name in pinyin of each code, in the order given; unknown codes raise InputError."""
    return _lookup(codes, "city_pinyin")


def province_counts() -> pd.Series:
    """Number of the 78 cities per province, largest first."""
    return _cities()["province_zh"].value_counts().rename("cities")
