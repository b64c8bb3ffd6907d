"""Which raw-panel columns each analysis variable is derived from (docs/contract.md).

Used to check a specification against a user's panel before anything runs, so a missing series is named
once, with the spec line that asked for it, instead of failing deep inside a derivation.
"""

from __future__ import annotations

GF = ("gf_credit", "gf_invest", "gf_support", "gf_insurance", "gf_bond", "gf_fund", "gf_equity")
GCONS = ("water_household", "lpg_household", "buses", "sewage_rate", "garbage_rate")

RAW_SOURCES: dict[str, tuple[str, ...]] = {
    "labor": ("emp",),
    "capital": ("fai", "fai_pi"),
    "energy": ("energy",),
    "rgdp": ("gdp", "gdp_index"),
    "green": ("green",),
    "co2": ("co2",),
    "ai": ("ai_inv",),
    "scale": ("ai_inv", "ai_util", "ai_design"),
    "ai_kw1": ("ai1_inv",),
    "scale_kw1": ("ai1_inv", "ai1_util", "ai1_design"),
    "pop": ("pop_total", "area"),
    "hum": ("edu_exp", "fiscal_exp"),
    "lninf": ("road_km",),
    "isu": ("va_tertiary", "va_secondary"),
    "trade": ("trade_total", "gdp"),
    "tec": ("sci_exp", "fiscal_exp"),
    "er": ("wastewater", "so2", "dust", "solidwaste_util", "gdp"),
    "newinf": ("broadband", "pop_total"),
    "gfin": GF,
    "iv_tel": ("tel1984", "broadband_nat_prev"),
    "iv_res": ("res1984", "broadband_nat_prev"),
    "dig1": ("dig1",),
    "dig2": ("dig2",),
    "green1": ("green1",),
    "green2": ("green2",),
    "gcons": GCONS,
    "province": (),  # from the city facts (the city code)
    "city_name": (),  # from the city facts
    "provyear": (),  # province (city facts) x year: Table 3 col 5 clusters on it
    "g_ua": (),  # from the city facts
    "g_resource": (),  # from the city facts
    "g_attention": ("env_words",),
    "g_envinv": ("env_invest",),
    "g_hum": ("students",),
    "g_gcons": GCONS,
}


def raw_sources(name: str) -> tuple[str, ...]:
    """Raw columns needed for analysis variable `name`; a name not derived here is its own raw column."""
    return RAW_SOURCES.get(name, (name,))
