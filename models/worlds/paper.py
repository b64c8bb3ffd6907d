"""The SYNTHETIC "paper-world" panel: 78 real cities × 2006–2021 with every raw series of docs/contract.md.

`synthesize_panel(seed, effect=None)` returns (raw panel, truth). The panel is made up — real city roster and
classifications, invented numbers — and says so: a `synthetic` column, `attrs["synthetic"]`, and the truth
dict's `"SYNTHETIC"` key. Its derived statistics match the paper's Table 1 and its data-generating process
(docs/synthetic.md) is built so the pipeline's replicas land near the published Tables 2–6, with the true
parameters stored for recovery tests:

- CTFP: a latent score linear in AI (slope by UA × resource group), controls, city and year effects and AR(1)
  noise; the raw labour, energy and CO2 are then placed (models/worlds/paper_frontier.py, on the package's DEA
  engine) so the SBM score of every city-year (non-oriented, CRS, global frontier) equals that target, bounded
  to [floor, 1].
- AI: Poisson patent counts with mean π · tel1984 · broadband_nat_prev × a mean-one persistent shock, so the
  shift-share instrument drives AI with first-stage slope π.
- Mechanisms dig1, dig2, green1, green2 respond to AI with the published slopes.

The true AI effect is a structural parameter: `effect` = X moves every group's slope by X − REFERENCE_EFFECT,
the same shift for every seed, so a seed is one draw of one world. REFERENCE_EFFECT is the headline estimand
(the population two-way FE slope, `truth["ctfp_beta_ai"]`) of the default seed under the calibrated slopes, so
the default seed's headline estimand is exactly X; other seeds' estimands scatter around X with their AI draws
(each draw's own value is in its truth). `effect=None` is the calibrated world itself (shift 0): the embedded
panel (seed 20251201) of every earlier version.

Pure and seeded: nothing here reads or writes files (`ctfp data synth` writes the panel: inference/cmd_data.py).
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ctfp.core.errors import InputError, NumericalError
from ctfp.models.worlds import paper_dgp as dgp
from ctfp.models.worlds.paper_frontier import efficient_subset, min_capital, solve_scales

DEFAULT_SEED = 20251201
VERSION = "1"
LABEL = "SYNTHETIC paper-world panel (invented numbers on the real 78-city roster; not observed data)"
# The headline estimand (population two-way FE slope of beta_i*AI on AI and the Table 2 controls) of the default
# seed under the calibrated group slopes (dgp.CTFP["beta"]): effect = X shifts every slope by X - this.
REFERENCE_EFFECT = 0.02290787204006245
PUBLISHED_EFFECT = 0.0248  # Table 2 (2): the effect a design analysis of the paper assumes by default

# Frontier mix per unit of real GDP (2006 prices): labour and energy scale with the inefficiency multiple.
FRONTIER: dict[str, Any] = {
    "labour_per_gdp": 0.022,  # 10k persons per 100M yuan
    "labour_city_sd": 0.2,
    "labour_trend": -0.07,  # per year
    "energy_trend": -0.05,
    "energy_per_gdp": 0.42,  # 10k tce per 100M yuan
    "energy_city_sd": 0.2,
    "energy_resource": 0.35,
    "co2_per_energy": 2.3,  # 10k t CO2 per 10k tce
    "co2_city_sd": 0.06,
    "anchor_bins": 12,  # one frontier city-year per real-GDP decile (plus every latent score >= 1)
    "dropped_anchor_target": 0.99,
    "anchor_multiple": 0.5,  # anchors use 50% less labour, energy and CO2 per GDP than the reference mix
    "capital_margin": 1.15,
    "top_anchors": 8,
    "capital_quantile": 0.9,  # capital as tight as the city's upper-quartile target needs
}
# Interior gaps for the interpolation step (flagged by derive as <var>_imputed).
GAPS = (("road_km", 3), ("env_invest", 3))
CAPITAL_ITERATIONS = 8
PLACEMENT_ROUNDS = 4  # frontier rebuilds with unplaceable city-years added as anchor candidates
INVESTMENT_FLOOR = 0.5  # AI capital saving: real investment at least half of what the investment path gives
STREAMS = ("cities", "macro", "controls", "ai", "other", "ctfp", "mechanisms", "frontier", "gaps")
NOISE_STREAMS = ("ctfp", "mechanisms")  # redrawn by `noise_seed`: a draw of the same world (design analysis)


def _stream(seed: int, name: str) -> np.random.Generator:
    """One independent stream per block: changing one block never reshuffles the others."""
    return np.random.default_rng([seed, STREAMS.index(name)])


@functools.lru_cache(maxsize=2)
def _design_cached(seed: int) -> dict[str, Any]:
    """Everything of the draw of `seed` that NOISE_STREAMS do not touch: cities, macro series, controls, AI,
    the other series, the frontier mix, the gaps and the pipeline's derivation of them (with the mechanisms
    of `seed`, which the derived controls, real GDP and capital do not read)."""
    from ctfp.data.cities import load_cities

    cities = load_cities().sort_values("code", kind="stable").reset_index(drop=True)
    c = dgp.city_latents(_stream(seed, "cities"), cities)
    m = dgp.macro(_stream(seed, "macro"), c)
    x = dgp.controls(_stream(seed, "controls"), c, m)
    a = dgp.ai_block(_stream(seed, "ai"), c)
    o = dgp.other_series(_stream(seed, "other"), c, m)
    ai = a["ai_inv"] / 100.0
    mech = dgp.mechanisms(_stream(seed, "mechanisms"), c, ai, m["rgdp"])
    mix = _frontier_mix(_stream(seed, "frontier"), c, m)
    raw = _assemble(cities, c, m, x, a, o, mech, mix)
    gaps = _punch_gaps(_stream(seed, "gaps"), raw)
    derived = _derive(raw)
    if dgp.PARAMS["fai"]["ai_capital_saving"]:
        raw["fai"] = raw["fai"] * _capital_saving(derived, ai, dgp.PARAMS["fai"]["ai_capital_saving"])
        derived = _derive(raw)
    return {"cities": cities, "c": c, "m": m, "x": x, "a": a, "o": o, "mix": mix, "raw": raw, "gaps": gaps,
            "derived": derived}


def _design(seed: int) -> dict[str, Any]:
    """A deep copy of `_design_cached(seed)` (callers modify the raw panel)."""
    return copy.deepcopy(_design_cached(seed))


def synthesize_panel(seed: int = DEFAULT_SEED, *, effect: float | None = None, noise_seed: int | None = None,
                     noise_size_elasticity: float = 0.0) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The SYNTHETIC raw panel (1248 rows, contract columns + `synthetic`) and the truth of its DGP.

    `effect`: the true AI effect (None = the calibrated world, REFERENCE_EFFECT; see the module docstring).
    `noise_seed`: seed of the outcome-side noise only (NOISE_STREAMS: CTFP's city and year effects and AR(1)
    errors, the mechanisms' noise); everything else (cities, AI, controls, the frontier mix) comes from `seed`.
    None = `seed`: one seed draws everything, as `ctfp data synth --seed` does.
    `noise_size_elasticity`: CTFP's error sd falls with city size (`paper_dgp.ctfp_target`); 0 = the embedded
    world.
    """
    seed = int(seed)
    if seed < 0 or (noise_seed is not None and int(noise_seed) < 0):
        raise InputError(f"synthetic panel: seeds must be non-negative integers, got {seed}, {noise_seed}")
    if effect is not None and not np.isfinite(effect):
        raise InputError(f"synthetic panel: the true effect must be a finite number, got {effect}")
    shift = 0.0 if effect is None else float(effect) - REFERENCE_EFFECT
    noise = seed if noise_seed is None else int(noise_seed)
    base = _design(seed)  # the structure: a copy of the cached draw of `seed`
    cities, c, m, x, a, o, mix, raw, gaps, derived = (base[k] for k in (
        "cities", "c", "m", "x", "a", "o", "mix", "raw", "gaps", "derived"))
    ai = a["ai_inv"] / 100.0
    if noise != seed:
        mech = dgp.mechanisms(_stream(noise, "mechanisms"), c, ai, m["rgdp"])
        for k, v in mech.items():
            raw[k] = np.asarray(v).reshape(-1)
    ctrl = {k: derived[k].to_numpy().reshape(len(c["z"]), dgp.T) for k in dgp.CTFP["gamma"]}
    tgt = dgp.ctfp_target(_stream(noise, "ctfp"), c, ai, a["xi"], ctrl, shift, rgdp=m["rgdp"],
                          noise_size_elasticity=noise_size_elasticity)

    rgdp = derived["rgdp"].to_numpy().reshape(-1)
    capital = derived["capital"].to_numpy().reshape(-1)
    # a city-year that no multiple places inside the anchors' technology (its fixed capital is below what the
    # anchors need for its outputs) becomes an anchor candidate itself, and the frontier is rebuilt
    extra = np.zeros(len(rgdp), dtype=bool)
    for _ in range(PLACEMENT_ROUNDS):
        target, anchors, scale, cmult = _place_inputs(tgt["latent"].reshape(-1), rgdp, capital,
                                                      raw["green"].to_numpy(), mix, raw["city"].to_numpy(),
                                                      raw["year"].to_numpy(), extra)
        unplaced = ~np.isfinite(scale)
        if not unplaced.any():
            break
        extra |= unplaced
    else:
        raise NumericalError(f"synthetic panel (seed {seed}): {int(unplaced.sum())} city-years could not be placed "
                         f"inside the frontier after {PLACEMENT_ROUNDS} rounds")
    raw["fai"] = raw["fai"] * cmult
    raw["emp"] = mix["labour"] * scale
    raw["energy"] = mix["energy"] * scale
    raw["co2"] = mix["co2"] * scale
    raw.attrs.update({"synthetic": True, "source": f"SYNTHETIC paper-world panel (seed {seed})",
                      "data_source": "synthetic"})
    truth = _truth(seed, raw, c, a, tgt, ctrl, ai, target, anchors, scale, gaps, shift)
    if noise != seed:
        truth["noise_seed"] = noise
        raw.attrs["source"] = f"SYNTHETIC paper-world panel (seed {seed}, noise seed {noise})"
    truth["capital_multiple"] = {"cities_scaled": int(len(np.unique(raw["city"][cmult > 1]))),
                                 "max": float(cmult.max())}
    return raw, truth


# --- construction steps -------------------------------------------------------------------------------


def _frontier_mix(rng: np.random.Generator, c: dict[str, np.ndarray], m: dict[str, np.ndarray]
                  ) -> dict[str, np.ndarray]:
    """Labour, energy and CO2 at the frontier mix of each city-year (before the inefficiency multiple)."""
    p = FRONTIER
    n = len(c["z"])
    lab = p["labour_per_gdp"] * np.exp(rng.normal(0, p["labour_city_sd"], size=n) + 0.1 * c["west"])
    ene = p["energy_per_gdp"] * np.exp(rng.normal(0, p["energy_city_sd"], size=n) + p["energy_resource"] * c["resource"])
    co2 = p["co2_per_energy"] * np.exp(rng.normal(0, p["co2_city_sd"], size=n))
    y = m["rgdp"]
    # technical progress: labour and energy per unit of output fall (the capital-output ratio falls too, with
    # the FAI ratio and AI's capital saving: docs/synthetic.md)
    tt = np.arange(dgp.T)[None, :]
    labour = lab[:, None] * y * np.exp(p["labour_trend"] * tt)
    energy = ene[:, None] * y * np.exp(p["energy_trend"] * tt)
    return {"labour": labour.reshape(-1), "energy": energy.reshape(-1), "co2": (co2[:, None] * energy).reshape(-1)}


def _assemble(cities: pd.DataFrame, c: dict[str, np.ndarray], m: dict[str, np.ndarray], x: dict[str, np.ndarray],
              a: dict[str, np.ndarray], o: dict[str, np.ndarray], mech: dict[str, np.ndarray],
              mix: dict[str, np.ndarray]) -> pd.DataFrame:
    n, t = len(c["z"]), dgp.T
    flat = {k: np.asarray(v).reshape(-1) for k, v in {**m, **x, **o, **mech}.items() if np.ndim(v) == 2}
    fai = flat["fai"].copy()
    years = np.tile(dgp.YEARS, n)
    fai[years > 2017] = np.nan  # official FAI stops in 2017 (paper, note 1): the derive step extrapolates
    df = pd.DataFrame({
        "city": np.repeat(c["code"], t).astype("int64"),
        "year": years.astype("int64"),
        "emp": mix["labour"], "fai": fai, "fai_pi": flat["fai_pi"], "energy": mix["energy"],
        "gdp": flat["gdp"], "gdp_index": flat["gdp_index"], "green": flat["green"], "co2": mix["co2"],
    })
    for k in ("ai_inv", "ai_util", "ai_design", "ai1_inv", "ai1_util", "ai1_design"):
        df[k] = a[k].reshape(-1).astype("int64")
    df["pop_total"] = flat["pop_total"]
    df["area"] = np.repeat(m["area"], t)
    for k in ("edu_exp", "sci_exp", "fiscal_exp", "road_km", "va_secondary", "va_tertiary", "trade_total",
              "wastewater", "so2", "dust", "solidwaste_util", "broadband", "gf_credit", "gf_invest",
              "gf_support", "gf_insurance", "gf_bond", "gf_fund", "gf_equity"):
        df[k] = flat[k]
    df["tel1984"] = np.repeat(a["tel1984"], t).astype("int64")
    df["res1984"] = np.repeat(a["res1984"], t).astype("int64")
    df["broadband_nat_prev"] = np.tile(a["bb_prev"], n)
    for k in ("dig1", "dig2", "green1", "green2"):
        df[k] = flat[k]
    df["env_words"] = flat["env_words"].astype("int64")
    for k in ("env_invest", "students", "water_household", "lpg_household", "buses", "sewage_rate",
              "garbage_rate"):
        df[k] = flat[k]
    df["buses"] = df["buses"].astype("int64")
    df["synthetic"] = True
    return df


def _punch_gaps(rng: np.random.Generator, raw: pd.DataFrame) -> list[dict[str, Any]]:
    """A few interior cells set missing (2008–2019) in secondary series; the true values go to the truth."""
    out = []
    interior = np.flatnonzero((raw["year"] >= 2008).to_numpy() & (raw["year"] <= 2019).to_numpy())
    for col, k in GAPS:
        for i in rng.choice(interior, size=k, replace=False):
            out.append({"city": int(raw.at[i, "city"]), "year": int(raw.at[i, "year"]), "column": col,
                        "true_value": float(raw.at[i, col])})
            raw.at[i, col] = np.nan
    return sorted(out, key=lambda d: (d["column"], d["city"], d["year"]))


def _derive(raw: pd.DataFrame) -> pd.DataFrame:
    """The pipeline's own derive step, so controls, real GDP and capital are exactly what it will see."""
    from ctfp.data.derive import derive_analysis_panel

    probe = raw.drop(columns=["synthetic"])
    probe.attrs = {"source": "synthetic panel"}
    out = derive_analysis_panel(probe)
    key = raw[["city", "year"]]
    return key.merge(out, on=["city", "year"], how="left", validate="one_to_one")


def _capital_saving(derived: pd.DataFrame, ai: np.ndarray, kappa: float) -> np.ndarray:
    """Per-row multiple of nominal FAI that makes the perpetual-inventory capital about exp(-kappa·AI) of what
    the investment path alone gives: AI is capital-saving (it raises capital productivity).

    The target stock K*_t = K_t·exp(-kappa·AI_t) is inverted through the pipeline's own PIM
    (I_t = K*_t - (1 - δ) K*_{t-1}, I_first = K*_first (g + δ)); the deflator cancels in the ratio I*/I.
    Years without FAI (after 2017) keep NaN: derive extrapolates them, so there the reduction is approximate.
    """
    from ctfp.data.derive import DELTA

    n, t = ai.shape
    k = derived["capital"].to_numpy(dtype=float).reshape(n, t)
    inv = derived["rfai"].to_numpy(dtype=float).reshape(n, t)
    target = k * np.exp(-kappa * ai)
    growth = (inv[:, -1] / inv[:, 0]) ** (1.0 / (t - 1)) - 1.0
    i_star = np.empty_like(target)
    i_star[:, 0] = target[:, 0] * (growth + DELTA)
    k_star = i_star[:, 0] / (growth + DELTA)
    for j in range(1, t):
        # investment never falls below INVESTMENT_FLOOR of its own path: where AI jumps, capital follows the
        # target with a lag instead of requiring disinvestment
        i_star[:, j] = np.maximum(target[:, j] - (1.0 - DELTA) * k_star, INVESTMENT_FLOOR * inv[:, j])
        k_star = (1.0 - DELTA) * k_star + i_star[:, j]
    return (i_star / inv).reshape(-1)


def _place_inputs(latent: np.ndarray, rgdp: np.ndarray, capital: np.ndarray, green: np.ndarray,
                  mix: dict[str, np.ndarray], city: np.ndarray, year: np.ndarray, extra: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(achieved SBM score, anchor mask, inefficiency multiple s, city capital multiple c) of every city-year.

    See models/worlds/paper_frontier.py. Anchors' labour, energy and CO2 sit `anchor_multiple` below the frontier mix;
    a city whose capital is too small for the anchors to cover its outputs gets its whole FAI series scaled
    up by one factor c (capital is linear in FAI, so c scales the capital of every year exactly).
    """
    p = FRONTIER
    target = np.clip(latent, dgp.CTFP["floor"], 1.0)
    y = np.vstack([rgdp, green])
    cand = (latent >= 1.0) | extra
    # size coverage from the first year (capital-light) and from all years (capital-rich peers)
    for rows in (np.flatnonzero(year == year.min()), np.arange(len(latent))):
        edges = np.quantile(rgdp[rows], np.linspace(0, 1, p["anchor_bins"] + 1))
        bins = np.clip(np.searchsorted(edges, rgdp[rows], side="right") - 1, 0, p["anchor_bins"] - 1)
        for k in range(p["anchor_bins"]):
            idx = rows[bins == k]
            cand[idx[np.argmax(latent[idx])]] = True
    # the largest cities' last year: with green a percentage, a big city can only be projected without a
    # flood of excess green onto peers at least as big
    last = np.flatnonzero(year == year.max())
    cand[last[np.argsort(rgdp[last])[-p["top_anchors"]:]]] = True
    scale = np.ones(len(latent))
    scale[cand] = p["anchor_multiple"]
    lab, ene, co2 = mix["labour"] * scale, mix["energy"] * scale, mix["co2"] * scale
    cidx = np.flatnonzero(cand)
    cmult = np.ones(len(latent))
    # a city's mean target sets how tight its capital is: the capital its outputs need from the anchors,
    # divided by that mean (capital slack then matches the city's typical inefficiency), never below what
    # feasibility in its worst year requires
    level = np.clip(pd.Series(target).groupby(city).transform("quantile", p["capital_quantile"]).to_numpy(),
                    0.2, 0.95)
    for _ in range(CAPITAL_ITERATIONS):
        cap = capital * cmult
        keep = efficient_subset(np.vstack([lab, cap, ene])[:, cidx], y[:, cidx], co2[None, cidx])
        aidx = cidx[keep]
        need = min_capital(cap[aidx], y[:, aidx], y) / capital
        new = cmult.copy()
        for code in np.unique(city):
            rows = (city == code) & ~np.isin(np.arange(len(latent)), aidx)
            if rows.any():
                new[city == code] = max(p["capital_margin"] * float(np.max(need[rows])),
                                        float(np.median(need[rows] / level[rows])))
        if np.allclose(new, cmult, rtol=1e-3):
            break
        cmult = new
    anchors = np.zeros(len(latent), dtype=bool)
    anchors[aidx] = True
    scale[cand & ~anchors] = 1.0
    target[anchors] = 1.0
    target[cand & ~anchors] = np.minimum(target[cand & ~anchors], p["dropped_anchor_target"])
    cap = capital * cmult
    ref = (np.vstack([lab, cap, ene])[:, aidx], y[:, aidx], co2[None, aidx])
    scaled = np.array([True, False, True])  # labour and energy scale; capital is fixed by the FAI series
    achieved = target.copy()
    rest = np.flatnonzero(~anchors)
    x0 = np.vstack([mix["labour"][rest], cap[rest], mix["energy"][rest]])
    scale[rest], achieved[rest] = solve_scales(ref, x0, scaled, y[:, rest], mix["co2"][None, rest], target[rest])
    return achieved, anchors, scale, cmult


# --- truth --------------------------------------------------------------------------------------------


def _within(v: np.ndarray) -> np.ndarray:
    """Two-way within transform of a balanced (cities × years) array."""
    return v - v.mean(axis=1, keepdims=True) - v.mean(axis=0, keepdims=True) + v.mean()


def _estimand(signal: np.ndarray, ai: np.ndarray, ctrl: dict[str, np.ndarray], rows: np.ndarray) -> float:
    """Population slope of a two-way FE regression of the causal part β_i·AI on AI and the controls."""
    cols = [ai[rows]] + [ctrl[k][rows] for k in dgp.CTFP["gamma"]]
    xw = np.column_stack([_within(v).reshape(-1) for v in cols])
    yw = _within(signal[rows]).reshape(-1)
    coef, *_ = np.linalg.lstsq(xw, yw, rcond=None)
    return float(coef[0])


def _truth(seed: int, raw: pd.DataFrame, c: dict[str, np.ndarray], a: dict[str, np.ndarray],
           tgt: dict[str, np.ndarray], ctrl: dict[str, np.ndarray], ai: np.ndarray, target: np.ndarray,
           anchors: np.ndarray, scale: np.ndarray, gaps: list[dict[str, Any]], shift: float) -> dict[str, Any]:
    beta = tgt["beta"]
    signal = beta[:, None] * ai
    every = np.ones(len(beta), dtype=bool)
    splits: dict[str, dict[str, float]] = {}
    for name, flag in (("g_ua", c["ua"]), ("g_resource", c["resource"])):
        splits[name] = {lvl: _estimand(signal, ai, ctrl, flag == int(lvl)) for lvl in ("1", "0")}
    b = {k: v + shift for k, v in dgp.CTFP["beta"].items()}
    pa = dgp.PARAMS["ai"]
    return {
        "SYNTHETIC": True,
        "label": LABEL,
        "seed": seed,
        "version": VERSION,
        "n_cities": int(len(beta)),
        "years": [int(dgp.YEARS[0]), int(dgp.YEARS[-1])],
        # headline numbers a recovery test compares with
        "ctfp_beta_ai": _estimand(signal, ai, ctrl, every),
        "ctfp_beta_ai_note": "population two-way FE slope (with the Table 2 controls) of the causal part "
                             "beta_i*AI_it on AI; the per-group slopes are below",
        "effect": REFERENCE_EFFECT + shift,
        "effect_note": "the structural true AI effect: every group slope is the calibrated one + (effect - "
                       f"{REFERENCE_EFFECT!r}); ctfp_beta_ai is this draw's headline estimand",
        "ctfp_beta_by_group": dict(b),
        "ctfp_beta_city": {str(int(k)): float(v) for k, v in zip(c["code"], beta, strict=True)},
        "ctfp_beta_split_estimand": splits,
        "ctfp_gamma_controls": dict(dgp.CTFP["gamma"]),
        "ctfp_psi_endogeneity": dgp.CTFP["psi_xi"],
        "first_stage_pi_iv_tel": pa["pi"],
        "first_stage_note": "E[ai | tel1984, broadband_nat_prev] = pi * iv_tel (ai in hundreds); iv_res is "
                            "relevant only through its correlation with tel1984",
        "mechanism_delta": {k: v["delta"] for k, v in dgp.MECHANISMS.items()},
        "ai_kw1_share": pa["kw1_share"],
        "ctfp": {"city": raw["city"].tolist(), "year": raw["year"].tolist(),
                 "value": [float(v) for v in target],
                 "latent": [float(v) for v in tgt["latent"].reshape(-1)]},
        "ctfp_note": "SBM score (non-oriented, CRS, global frontier; inputs labor, capital, energy; good rgdp, "
                     "green; bad co2) of each city-year by construction; latent clipped to [floor, 1]",
        "anchors": [{"city": int(cc), "year": int(yy)} for cc, yy in
                    zip(raw["city"].to_numpy()[anchors], raw["year"].to_numpy()[anchors], strict=True)],
        "inefficiency_multiple": {"min": float(scale.min()), "median": float(np.median(scale)),
                                  "max": float(scale.max())},
        "gaps": gaps,
        "fai_missing_after": 2017,
        "params": {"dgp": dgp.PARAMS, "ctfp": dgp.CTFP, "mechanisms": dgp.MECHANISMS, "frontier": FRONTIER},
    }


# --- the world: what a design analysis draws ------------------------------------------------------------


@dataclass(frozen=True)
class PaperWorld:
    """The paper world as a generator of draws (registered as "shen-chao-2025" in the `ctfp.worlds` group)."""

    name: str = "shen-chao-2025"
    outcome: str = "ctfp"  # the outcome whose true slope on `treatment` the draws know
    treatment: str = "ai"
    unit: str = "city"
    time: str = "year"
    default_effect: float = PUBLISHED_EFFECT
    default_seed: int = DEFAULT_SEED
    # Design-analysis draws have CTFP errors that shrink with city size (elasticity 1, capped at 2x, as the
    # mechanisms'): with the embedded panel's equal errors the replica's city-clustered SE understated its
    # spread over draws (sd/se 1.41, coverage 0.67 on 30 draws), with these 0.91 and 1.00 (docs/synthetic.md).
    # `panel()` (the embedded panel, `ctfp data synth`) keeps equal errors: its numbers are the recorded ones.
    noise_size_elasticity: float = 1.0
    stage: str = "raw"  # draws are raw panels: the study's derivations and DEA make the analysis panel
    label: str = LABEL

    def panel(self, seed: int | None = None, effect: float | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
        """The raw panel and truth of `seed` (None = the embedded seed) with true effect `effect`."""
        return synthesize_panel(DEFAULT_SEED if seed is None else seed, effect=effect)

    def draw(self, seed: int, effect: float) -> Any:
        """One draw for a design analysis: a `WorldDraw` (raw panel, truth, per-row true slope of AI).

        The design (cities, AI, controls: everything but NOISE_STREAMS) is the world's, drawn from the embedded
        seed; `seed` draws the outcome-side noise. Every draw has the same true slopes and the same headline
        estimand (= `effect`: REFERENCE_EFFECT is the embedded seed's), so its interval is held to one truth.
        """
        from ctfp.models.worlds.draws import WorldDraw

        raw, truth = synthesize_panel(DEFAULT_SEED, effect=effect, noise_seed=seed,
                                      noise_size_elasticity=self.noise_size_elasticity)
        city = raw["city"].astype(int).astype(str)
        slope = city.map(truth["ctfp_beta_city"]).to_numpy(dtype=float)
        return WorldDraw(raw, truth, slope, self.outcome, self.treatment, self.stage, f"{self.name} (seed {seed})")

    def structure(self) -> dict[str, Any]:
        """Everything that makes this world this world (a design analysis fingerprints it)."""
        return {"name": self.name, "version": VERSION, "reference_effect": REFERENCE_EFFECT,
                "noise_size_elasticity": self.noise_size_elasticity,
                "params": {"dgp": dgp.PARAMS, "ctfp": dgp.CTFP, "mechanisms": dgp.MECHANISMS, "frontier": FRONTIER}}


WORLD = PaperWorld()
