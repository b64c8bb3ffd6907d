"""Preset "shen-chao-2025": Shen & Chao (2025), Resources Science 47(12), 78 Yellow River Basin cities.

What a study file with `preset = "shen-chao-2025"` gets: the raw-series dictionary (`ctfp.data.dictionary`),
validation against it and, unless `allow_unknown_cities`, the 78-city roster (`ctfp.data.validate`), the
derivations (deflation, perpetual-inventory capital, entropy indices, shift-share instruments, the city facts'
splits: `ctfp.data.derive.derive_analysis_panel`), the embedded SYNTHETIC paper-world panel (a draw of the
world "shen-chao-2025", `ctfp.models.worlds.paper`, found through the `ctfp.worlds` entry points: see
`ctfp.data.presets`), the published Table 1 and the paper's claims for validation.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from ctfp.core.errors import InputError
from ctfp.data.presets import Claim, Prepared, Preset

if TYPE_CHECKING:
    import pandas as pd

    from ctfp.core.study import Study

SYNTH_SEED = 20251201

CLAIMS: tuple[Claim, ...] = (
    Claim("main", "AI innovation quality raises city carbon TFP (two-way FE, controls)",
          "Table 2 (2): 0.0248** (t = 2.08)", (("T2", "(2)", "ai"),), +1, ("treatment", "headline")),
    Claim("main_scale", "AI innovation scale raises carbon TFP as well, less than quality",
          "Table 2 (4): 0.0172** (t = 2.08)", (("T2", "(4)", "scale"),), +1),
    Claim("robust_lag", "The effect persists with a one-year lag",
          "Table 3 (4): 0.0270* (t = 1.90)", (("T3", "(4)", "l_ai"),), +1),
    Claim("robust_iv", "The effect survives 2SLS with the 1984 telephone shift-share instrument",
          "Table 4: 0.0285*** (t = 4.01), KP F = 105.5", (("T4", "(2)", "ai"),), +1, ("treatment", "iv")),
    Claim("H1_dig1", "H1: AI drives industrial digital transformation (digital investment)",
          "Table 5 (1): 0.0048 (t = 2.07, printed ***)", (("T5", "(1)", "ai"),), +1),
    Claim("H1_dig2", "H1: AI drives industrial digital transformation (digital firms)",
          "Table 5 (2): 0.0592*** (t = 25.15)", (("T5", "(2)", "ai"),), +1),
    Claim("H2_green1", "H2: AI drives industrial green transformation (green-firm assets)",
          "Table 5 (3): 0.0621*** (t = 4.16)", (("T5", "(3)", "ai"),), +1),
    Claim("H2_green2", "H2: AI drives industrial green transformation (green-firm revenue)",
          "Table 5 (4): 0.0097*** (t = 5.39)", (("T5", "(4)", "ai"),), +1),
    Claim("het_ua", "AI raises carbon TFP in urban-agglomeration cities",
          "Table 6 (1): 0.0254** ", (("T6", "(1)", "ai"),), +1, ("group", "g_ua", "1")),
    Claim("het_nonua", "AI lowers carbon TFP in non-agglomeration cities",
          "Table 6 (2): -0.4827* ", (("T6", "(2)", "ai"),), -1, ("group", "g_ua", "0")),
    Claim("het_ua_diff", "The agglomeration difference is significant (permutation p = 0.001)",
          "Table 6 text: p = 0.001", (), +1, ("diff", "g_ua"), test=("T6", "(1)", "(2)", "ai")),
    Claim("het_resource", "No significant effect in resource-based cities",
          "Table 6 (3): -0.1356 (t = -1.10)", (("T6", "(3)", "ai"),), 0, ("group", "g_resource", "1")),
    Claim("het_nonresource", "AI raises carbon TFP in non-resource-based cities",
          "Table 6 (4): 0.0276**", (("T6", "(4)", "ai"),), +1, ("group", "g_resource", "0")),
    Claim("het_attention", "AI raises carbon TFP where government environmental attention is high",
          "Table 6 (5): 0.0321**; (6): 0.0157 n.s.", (("T6", "(5)", "ai"),), +1, ("group", "g_attention", "1")),
    Claim("het_envinv", "AI raises carbon TFP where environmental investment is high",
          "Table 6 (7): 0.0256**; (8): 0.0603 n.s.", (("T6", "(7)", "ai"),), +1, ("group", "g_envinv", "1")),
    Claim("het_hum", "AI raises carbon TFP where human capital is high",
          "Table 6 (9): 0.0245**; (10): -0.0954 n.s.", (("T6", "(9)", "ai"),), +1, ("group", "g_hum", "1")),
    Claim("het_gcons", "AI raises carbon TFP where green consumption is high",
          "Table 6 (11): 0.0213*; (12): -0.6657 n.s.", (("T6", "(11)", "ai"),), +1, ("group", "g_gcons", "1")),
)


class ShenChao2025(Preset):
    name = "shen-chao-2025"
    description = "Shen & Chao (2025): AI technology and carbon TFP, 78 Yellow River Basin cities, 2006-2021"
    data_options = {
        "ua_rule": ("any", ("any", "whole")),  # urban-agglomeration membership: any part (63/15) or whole (57/21)
        "entropy_normalisation": ("pooled", ("pooled", "per_year")),
        "allow_unknown_cities": (False, (False, True)),  # a panel beyond the 78-city roster
    }
    data_defaults = {"unit": "city", "time": "year", "years": [2006, 2021]}
    synthetic_label = f"embedded SYNTHETIC paper-world panel (seed {SYNTH_SEED})"
    world = "shen-chao-2025"

    def study_file(self) -> Path:
        return Path(str(resources.files("ctfp.studies").joinpath("shen_chao_2025", "study.toml"))).resolve()

    def check_columns(self, raw: pd.DataFrame, needed: list[tuple[str, str]], source: str) -> None:
        from ctfp.data.lineage import raw_sources

        inverse = {name: user for name, user in (raw.attrs.get("mapping") or {}).items()}
        for name, where in needed:
            absent = [c for c in raw_sources(name) if c not in raw.columns]
            if absent:
                cols = ", ".join(f"'{inverse.get(c, c)}'" for c in absent)
                raise InputError(f"{where} names '{name}', which needs column(s) {cols} that {source} does not "
                                 f"have; add the column, map your own name to it in [data.mapping], or stop using "
                                 f"'{name}'")

    def derived_columns(self, raw: pd.DataFrame) -> set[str]:
        from ctfp.data.lineage import RAW_SOURCES

        made = {name for name, src in RAW_SOURCES.items() if all(c in raw.columns for c in src)}
        return made | {"province", "city_name", "provyear", "rfai", "g_ua", "g_resource"}

    def prepare(self, raw: pd.DataFrame, study: Study, source: str) -> Prepared:
        from ctfp.data.derive import derive_analysis_panel
        from ctfp.data.validate import check_panel

        opts = study.data.options
        problems = check_panel(raw, source, allow_unknown_cities=bool(opts.get("allow_unknown_cities", False)),
                               years=study.data.years)
        errors = [p for p in problems if p.severity == "error"]
        if errors:
            more = f" (and {len(errors) - 1} more problems: run `ctfp data check {source}` to list them all)" \
                if len(errors) > 1 else ""
            raise InputError(f"{errors[0].line()}{more}")
        panel = derive_analysis_panel(raw, ua_rule=opts.get("ua_rule", "any"),
                                      entropy_normalisation=opts.get("entropy_normalisation", "pooled"))
        prov = {k: panel.attrs.get(k) for k in ("imputed", "skipped", "entropy_weights", "derive")}
        return Prepared(panel, prov, [p.line() for p in problems if p.severity != "error"])

    def table1(self, frame: pd.DataFrame) -> pd.DataFrame | None:
        from ctfp.data.table1 import compare_table1

        return compare_table1(frame)

    def claims(self) -> tuple[Claim, ...]:
        return CLAIMS


PRESET = ShenChao2025()
