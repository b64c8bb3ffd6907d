"""The variable dictionary covers docs/contract.md exactly, with the paper's rules."""

from __future__ import annotations

from pathlib import Path

from ctfp.data.dictionary import (
    CONTROLS,
    EXTRA_CONTROLS,
    OPTIONAL_GROUPS,
    RAW,
    REQUIRED,
    ROLES,
    SPLITS,
    VARIABLES,
    markdown_table,
)

CONTRACT_RAW = """city year emp fai fai_pi energy gdp gdp_index green co2 ai_inv ai_util ai_design ai1_inv ai1_util
ai1_design pop_total area edu_exp sci_exp fiscal_exp road_km va_secondary va_tertiary trade_total wastewater so2
dust solidwaste_util broadband gf_credit gf_invest gf_support gf_insurance gf_bond gf_fund gf_equity tel1984
res1984 broadband_nat_prev dig1 dig2 green1 green2 env_words env_invest students water_household lpg_household
buses sewage_rate garbage_rate""".split()
CONTRACT_DERIVED = """province city_name provyear labor capital rgdp ctfp ctfp_bcc ai scale ai_kw1 scale_kw1 pop
hum lninf isu trade tec er newinf gfin iv_tel iv_res gcons g_ua g_resource g_attention g_envinv g_hum
g_gcons""".split()


def test_raw_columns_are_the_contract() -> None:
    assert [n for n in RAW if n != "synthetic"] == CONTRACT_RAW  # + the synthetic panel's marker
    assert all(VARIABLES[n].kind == "raw" for n in CONTRACT_RAW)


def test_derived_columns_cover_the_analysis_panel() -> None:
    derived = {n for n, v in VARIABLES.items() if v.kind == "derived"}
    assert set(CONTRACT_DERIVED) <= derived
    assert derived - set(CONTRACT_DERIVED) == {"rfai"}  # kept for auditing the capital stock
    assert all(v.rule for v in VARIABLES.values() if v.kind == "derived")


def test_every_variable_is_described() -> None:
    for v in VARIABLES.values():
        assert v.unit and v.term_zh and v.description, v.name
        assert v.role in ROLES and v.kind in ("raw", "derived")
        assert v.domain in ("positive", "nonnegative", "percent", "share", "any")
        assert v.nan in ("never", "interpolate", "extrapolate")


def test_sbm_columns_must_be_positive() -> None:
    for name in ("emp", "fai", "energy", "gdp", "green", "co2", "labor", "capital", "rgdp"):
        assert VARIABLES[name].positive, name
    assert not VARIABLES["ai_inv"].positive and VARIABLES["ai_inv"].nonnegative


def test_nan_rules() -> None:
    assert VARIABLES["fai"].nan == "extrapolate"
    assert [n for n in RAW if VARIABLES[n].nan == "extrapolate"] == ["fai"]
    never = {n for n in RAW if not VARIABLES[n].nan_allowed}
    assert never == {"city", "year", "ai_inv", "ai_util", "ai_design", "ai1_inv", "ai1_util", "ai1_design",
                     "tel1984", "res1984", "broadband_nat_prev", "env_words", "synthetic"}


def test_required_and_optional_groups() -> None:
    assert "emp" in REQUIRED and "co2" in REQUIRED and "dig1" not in REQUIRED
    assert OPTIONAL_GROUPS["iv_tel"] == ("tel1984", "broadband_nat_prev")
    assert OPTIONAL_GROUPS["gcons"] == ("water_household", "lpg_household", "buses", "sewage_rate", "garbage_rate")
    assert len(OPTIONAL_GROUPS["gfin"]) == 7
    assert set(CONTROLS) | set(EXTRA_CONTROLS) | set(SPLITS) <= set(VARIABLES)
    assert VARIABLES["tel1984"].time_invariant and VARIABLES["broadband_nat_prev"].national


def test_markdown_table_lists_every_variable() -> None:
    table = markdown_table()
    assert table.count("\n") == len(VARIABLES) + 2
    assert "| `fai` | raw | raw series behind an SBM column | 100M yuan, nominal | 全社会固定资产投资 |" in table
    assert markdown_table("raw").count("\n") == len(RAW) + 2


def test_docs_table_is_current() -> None:
    doc = (Path(__file__).resolve().parents[1] / "docs" / "data.md").read_text(encoding="utf-8")
    assert markdown_table() in doc, "regenerate the table in docs/data.md with `ctfp data vars --markdown`"
