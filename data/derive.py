"""From the raw panel to the analysis panel of docs/contract.md (everything but `ctfp`, `ctfp_bcc`).

Order: validate → interpolate interior gaps (flag) → extrapolate FAI after 2017 by growth (flag) → deflate to
base-year prices → perpetual-inventory capital → ratios and logs → entropy indices → shift-share instruments →
split flags and ids. Optional groups whose raw series are absent are skipped and listed in
`attrs["skipped"]`; imputed cells are flagged in `<var>_imputed` columns and counted in `attrs["imputed"]`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ctfp.core.errors import InputError
from ctfp.data.derive_index import NORMALISATIONS, entropy_index, entropy_weights
from ctfp.data.derive_series import (
    DELTA,
    capital_stock,
    chain_index,
    deflate,
    extrapolate_growth,
    interpolate_interior,
    lag,
    real_gdp,
)
from ctfp.data.dictionary import FAI_LAST_YEAR, OPTIONAL_GROUPS, RAW, REQUIRED, VARIABLES

__all__ = [
    "DELTA", "capital_stock", "chain_index", "deflate", "derive_analysis_panel", "entropy_index",
    "entropy_weights", "extrapolate_growth", "interpolate_interior", "lag", "median_split", "real_gdp",
    "shift_share", "PROVINCES",
]

# GB/T 2260 province of a code's first two digits (short names, as in data/cities.py), for other regions.
PROVINCES = {
    11: "北京", 12: "天津", 13: "河北", 14: "山西", 15: "内蒙古", 21: "辽宁", 22: "吉林", 23: "黑龙江",
    31: "上海", 32: "江苏", 33: "浙江", 34: "安徽", 35: "福建", 36: "江西", 37: "山东", 41: "河南",
    42: "湖北", 43: "湖南", 44: "广东", 45: "广西", 46: "海南", 50: "重庆", 51: "四川", 52: "贵州",
    53: "云南", 54: "西藏", 61: "陕西", 62: "甘肃", 63: "青海", 64: "宁夏", 65: "新疆", 71: "台湾",
    81: "香港", 82: "澳门",
}
ER_NEGATIVE = ("wastewater", "so2", "dust")  # each divided by nominal GDP
GF = OPTIONAL_GROUPS["gfin"]
GCONS_NEGATIVE = ("water_household", "lpg_household")
GCONS_POSITIVE = ("buses", "sewage_rate", "garbage_rate")
MEDIAN_SPLITS = {"g_attention": "env_words", "g_envinv": "env_invest", "g_hum": "students", "g_gcons": "gcons"}


def median_split(values: pd.Series) -> pd.Series:
    """1 where value ≥ the pooled median (ties at the median go to the high group), else 0; NaN stays NaN."""
    med = float(np.nanmedian(values.to_numpy(dtype=float)))
    flag = (values >= med).astype(float).where(values.notna())
    return flag.astype("int64") if flag.notna().all() else flag


def shift_share(base: pd.Series, shift: pd.Series) -> pd.Series:
    """City base (1984 stock) × national shift (previous-year broadband users): varies by city and year."""
    return base.astype(float) * shift.astype(float)


def derive_analysis_panel(raw: pd.DataFrame, *, ua_rule: str = "any", entropy_normalisation: str = "pooled",
                          delta: float = DELTA, fai_window: int = 3, base_year: int | None = None,
                          ) -> pd.DataFrame:
    """The analysis panel (docs/contract.md) from a raw panel; sorted by city, year."""
    if entropy_normalisation not in NORMALISATIONS:
        raise InputError(f"entropy normalisation {entropy_normalisation!r}: use one of {', '.join(NORMALISATIONS)}")
    source = str(raw.attrs.get("source", "panel"))
    _validate(raw, source)
    df = _numeric(raw)
    if base_year is not None and int(df["year"].min()) != base_year:
        raise InputError(f"{source}: the panel starts in {int(df['year'].min())}, not the base year {base_year}; "
                         "add the base year's rows or change base_year")
    imputed: dict[str, dict[str, object]] = {}
    flags: dict[str, pd.Series] = {}
    for name in RAW:
        if name in df.columns and VARIABLES[name].nan != "never" and df[name].isna().any():
            values, flag = interpolate_interior(df, name)
            n_ex = 0
            if name == "fai":
                values, flag_ex = extrapolate_growth(df.assign(fai=values), "fai", window=fai_window)
                n_ex = int(flag_ex.sum())
                flag = flag | flag_ex
            df[name] = values
            if flag.any():
                flags[f"{name}_imputed"] = flag.rename(f"{name}_imputed")
                imputed[name] = {"interpolated": int(flag.sum()) - n_ex, "extrapolated": n_ex}
            if df[name].isna().any():  # validation should have caught this; never pass NaN on silently
                raise InputError(f"{source}: column {name} still has missing values that cannot be filled; "
                                 "run `ctfp data check` for the rows")

    out = pd.DataFrame({"city": df["city"].astype("int64"), "year": df["year"].astype("int64")})
    skipped: dict[str, str] = {}
    out = pd.concat([out, _ids(df)], axis=1)
    out["labor"] = df["emp"]
    out["rfai"] = deflate(df, "fai", "fai_pi")
    out["capital"] = capital_stock(out.assign(rfai=out["rfai"]), "rfai", delta=delta)
    out["energy"] = df["energy"]
    out["rgdp"] = real_gdp(df)
    out["green"] = df["green"]
    out["co2"] = df["co2"]
    out["ai"] = df["ai_inv"] / 100.0
    out["scale"] = (df["ai_inv"] + df["ai_util"] + df["ai_design"]) / 100.0
    if _has(df, "ai_kw1", skipped):
        out["ai_kw1"] = df["ai1_inv"] / 100.0
        out["scale_kw1"] = (df["ai1_inv"] + df["ai1_util"] + df["ai1_design"]) / 100.0
    out["pop"] = df["pop_total"] * 1e4 / df["area"] / 1000.0
    out["hum"] = df["edu_exp"] / df["fiscal_exp"]
    out["lninf"] = np.log(df["road_km"])
    out["isu"] = df["va_tertiary"] / df["va_secondary"]
    out["trade"] = df["trade_total"] / df["gdp"]
    out["tec"] = df["sci_exp"] / df["fiscal_exp"]
    by = df["year"].astype("int64") if entropy_normalisation == "per_year" else None
    weights: dict[str, dict[str, object]] = {}
    er_in = pd.DataFrame({f"{c}_per_gdp": df[c] / df["gdp"] for c in ER_NEGATIVE})
    er_in["solidwaste_util"] = df["solidwaste_util"]
    out["er"], w = entropy_index(er_in, ["solidwaste_util"], [f"{c}_per_gdp" for c in ER_NEGATIVE], by=by, name="er")
    weights["er"] = _weights(w)
    if _has(df, "newinf", skipped):
        out["newinf"] = df["broadband"] / df["pop_total"]
    if _has(df, "gfin", skipped):
        out["gfin"], w = entropy_index(df, list(GF), [], by=by, name="gfin")
        weights["gfin"] = _weights(w)
    if _has(df, "iv_tel", skipped):
        out["iv_tel"] = shift_share(df["tel1984"], df["broadband_nat_prev"])
    if _has(df, "iv_res", skipped):
        out["iv_res"] = shift_share(df["res1984"], df["broadband_nat_prev"])
    for m in ("dig1", "dig2", "green1", "green2"):
        if _has(df, m, skipped):
            out[m] = df[m]
    if _has(df, "gcons", skipped):
        out["gcons"], w = entropy_index(df, list(GCONS_POSITIVE), list(GCONS_NEGATIVE), by=by, name="gcons")
        weights["gcons"] = _weights(w)
    for src in ("env_words", "env_invest", "students", "synthetic"):
        if src in df.columns:
            out[src] = df[src]
    out = pd.concat([out, _city_splits(out["city"], ua_rule)], axis=1)
    for flag, src in MEDIAN_SPLITS.items():
        if src in out.columns:
            out[flag] = median_split(out[src])
        else:
            skipped[flag] = f"needs {src}"
    for key, f in flags.items():
        out[key] = f.astype(bool)
    out = out.sort_values(["city", "year"], kind="stable").reset_index(drop=True)
    out.attrs = {k: v for k, v in raw.attrs.items() if k in ("source", "mapping", "data_source")}
    out.attrs.update({
        "imputed": imputed,
        "skipped": skipped,
        "entropy_weights": weights,
        "derive": {"ua_rule": ua_rule, "entropy_normalisation": entropy_normalisation, "delta": delta,
                   "fai_window": fai_window, "fai_last_year": FAI_LAST_YEAR, "base_year": int(df["year"].min()),
                   "median_tie_rule": "value >= pooled median -> 1"},
    })
    return out


def _validate(raw: pd.DataFrame, source: str) -> None:
    from ctfp.data.validate import check_panel

    missing = [c for c in REQUIRED if c not in raw.columns]
    if missing:
        raise InputError(f"{source}: required column(s) {', '.join(missing)} missing; "
                         "add them or map your names with a mapping file (docs/data.md)")
    errors = [p for p in check_panel(raw, source, allow_unknown_cities=True, years=None) if p.severity == "error"]
    if errors:
        more = f" (and {len(errors) - 1} more: run `ctfp data check {source}`)" if len(errors) > 1 else ""
        raise InputError(errors[0].line() + more)


def _numeric(raw: pd.DataFrame) -> pd.DataFrame:
    cols = [c for c in RAW if c in raw.columns]
    df = raw[cols].apply(lambda s: pd.to_numeric(s, errors="coerce")).astype(float)
    return df.sort_values(["city", "year"], kind="stable").reset_index(drop=True)


def _has(df: pd.DataFrame, group: str, skipped: dict[str, str]) -> bool:
    lacking = [c for c in OPTIONAL_GROUPS[group] if c not in df.columns]
    if lacking:
        skipped[group] = f"needs {', '.join(lacking)}"
    return not lacking


def _weights(w: pd.DataFrame) -> dict[str, object]:
    return {str(k): {c: float(v) for c, v in row.items()} for k, row in w.iterrows()}


def _ids(df: pd.DataFrame) -> pd.DataFrame:
    """province (Chinese), city_name (pinyin), provyear = province code × 10000 + year."""
    from ctfp.data.cities import load_cities

    facts = load_cities().set_index("code")
    code = df["city"].astype("int64")
    prov_code = code // 10000
    province = code.map(facts["province_zh"]).fillna(prov_code.map(PROVINCES))
    name = code.map(facts["city_pinyin"]).fillna("")
    return pd.DataFrame({"province": province, "city_name": name,
                         "provyear": prov_code * 10000 + df["year"].astype("int64")}, index=df.index)


def _city_splits(code: pd.Series, ua_rule: str) -> pd.DataFrame:
    """g_ua by the chosen rule and g_resource from the city facts; other regions' cities get NaN."""
    from ctfp.data.cities import load_cities, ua_membership

    ua = ua_membership(ua_rule)  # raises InputError on an unknown rule
    res = load_cities().set_index("code")["resource_based"]
    out = pd.DataFrame({"g_ua": code.map(ua), "g_resource": code.map(res)}, index=code.index)
    for c in out.columns:
        if out[c].notna().all():
            out[c] = out[c].astype("int64")
    return out
