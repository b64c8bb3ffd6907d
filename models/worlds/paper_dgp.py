"""Data-generating process of the SYNTHETIC paper-world panel: every raw series except the SBM inputs.

Everything is drawn from one `numpy.random.Generator`, in a fixed order, so a seed fixes the panel. Arrays
are (78 cities × 16 years) in the city order of data/cities.py. The parameters are module constants (`PARAMS`)
and go into the truth sidecar; docs/synthetic.md explains each block.
"""

from __future__ import annotations

from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

YEARS = np.arange(2006, 2022)
T = len(YEARS)

# National series (approximate public magnitudes; the panel is SYNTHETIC, these only set realistic shapes).
BROADBAND_NAT = {  # national internet broadband users, 10k, end of year
    2005: 3735, 2006: 5085, 2007: 6641, 2008: 8288, 2009: 10323, 2010: 12634, 2011: 15000, 2012: 17518,
    2013: 18891, 2014: 20048, 2015: 25947, 2016: 29721, 2017: 34854, 2018: 40738, 2019: 44928, 2020: 48355,
    2021: 53579,
}
GDP_GROWTH = [0.135, 0.145, 0.125, 0.12, 0.135, 0.13, 0.11, 0.10, 0.09, 0.08, 0.075, 0.07, 0.065, 0.06, 0.03,
              0.075]
GDP_INFLATION = [0.039, 0.077, 0.078, -0.002, 0.066, 0.081, 0.023, 0.022, 0.008, 0.001, 0.014, 0.042, 0.035,
                 0.013, 0.005, 0.048]
COMMODITY_CYCLE = [0.0, 0.01, 0.04, -0.05, 0.03, 0.03, -0.01, -0.02, -0.03, -0.05, -0.02, 0.06, 0.02, 0.0,
                   -0.01, 0.07]
FAI_PRICE = [101.5, 103.9, 108.9, 97.6, 103.6, 106.6, 101.1, 100.3, 100.5, 98.2, 99.4, 105.8, 105.4, 102.6,
             100.1, 104.9]

PROVINCE_SIZE = {"山西": 0.0, "内蒙古": -0.1, "山东": 0.45, "河南": 0.3, "陕西": -0.05, "甘肃": -0.55,
                 "青海": 0.1, "宁夏": -0.45}
PROVINCE_POP = {"山西": -0.05, "内蒙古": -0.45, "山东": 0.15, "河南": 0.4, "陕西": 0.0, "甘肃": -0.1,
                "青海": 0.0, "宁夏": -0.3}
PROVINCE_AREA = {"山西": 0.2, "内蒙古": 1.35, "山东": -0.2, "河南": -0.15, "陕西": 0.45, "甘肃": 0.75,
                 "青海": -0.3, "宁夏": 0.05}
WEST = ("内蒙古", "甘肃", "青海", "宁夏")
COASTAL = (370200, 370500, 370600, 370700, 371000, 371100, 371600)  # Shandong's coastal prefectures

PARAMS: dict[str, Any] = {
    # city size index z_i = province + 1.0·capital + 0.15·UA + 0.55·N(0,1); Qingdao counts as a capital
    "size": {"capital": 1.0, "ua": 0.15, "sd": 0.55, "province": PROVINCE_SIZE},
    "gdp": {"log_level_2006": np.log(650.0), "on_size": 0.9, "growth_city_sd": 0.012, "growth_ar": 0.4,
            "growth_shock_sd": 0.015, "resource_commodity_beta": 1.0, "inflation_noise_sd": 0.008},
    "population": {"log_level": np.log(350.0), "on_size": 0.35, "sd": 0.2, "growth": 0.004,
                   "growth_sd": 0.004, "province": PROVINCE_POP},
    # density (1000 persons/km²): fixed lognormal quantiles ranked by size − province remoteness + noise
    "density": {"log_mean": -0.99, "log_sd": 0.64, "on_size": 0.5, "noise": 0.5, "province": PROVINCE_AREA},
    "green": {"level": 33.0, "on_size": 3.5, "city_sd": 3.5, "trend": 0.45, "ar": 0.6, "shock_sd": 1.0,
              "bounds": (8.0, 55.0)},
    "fiscal_share": {"level": 0.13, "west": 0.07, "on_size": -0.02, "trend": 0.003, "sd": 0.02},
    "hum": {"level": 0.19, "city_sd": 0.065, "west": -0.02, "trend": -0.001, "ar": 0.6, "shock_sd": 0.03,
            "bounds": (0.04, 0.45)},
    "tec": {"log_level": np.log(0.0053), "log_sd": 0.95, "on_size": 0.5, "noise": 1.0, "trend": 0.04,
            "ar": 0.5, "shock_sd": 0.3},
    "road": {"log_level": 8.4, "log_sd": 1.3, "on_area": 0.45, "on_size": 0.35, "noise": 0.8, "trend": 0.03,
             "shock_sd": 0.04},
    "isu": {"log_level": np.log(1.0), "log_sd": 0.55, "on_size": 0.4, "resource": -0.35, "noise": 0.5,
            "trend": 0.05, "ar": 0.6, "shock_sd": 0.08},
    "trade": {"log_level": np.log(0.057), "log_sd": 1.2, "on_size": 0.6, "coastal": 1.7, "noise": 0.6,
              "ar": 0.7, "shock_sd": 0.25},
    "er": {"ww_log": np.log(8.0), "so2_log": np.log(0.12), "dust_log": np.log(0.08), "city_sd": 0.5, "stringency_log": 0.5, "stringency_util": 10.0,
           "resource": 0.5, "ww_trend": -0.07, "so2_trend": -0.09, "dust_trend": -0.07, "shock_sd": 0.25,
           "util_level": 83.0, "util_city_sd": 22.0, "util_trend": 0.6, "util_shock_sd": 7.0},
    "fai": {"log_ratio_2006": np.log(0.42), "trend": -0.07, "trend_stop": 2016, "west": 0.15,
            "city_sd": 0.2, "ar": 0.5, "shock_sd": 0.07, "price_sd": 0.4,
            # capital stock lower by exp(-ai_capital_saving · AI): AI raises capital productivity (radial BCC)
            "ai_capital_saving": 0.04},
    # AI invention applications (hundreds): E[AI] = pi · tel1984 · broadband_nat_prev · exp(xi), xi AR(1)
    "ai": {"pi": 3.54e-9, "tel_log_level": np.log(88.0), "tel_log_sd": 2.75, "tel_noise": 0.3, "tel_floor": 150.0,
           "xi_ar": 0.8, "xi_sd": 0.2, "xi_trend_sd": 0.1, "util_ratio": 0.33, "design_ratio": 0.12, "kw1_share": 0.179,
           "kw1_other_share": 0.134, "res_log_level": np.log(120.0), "res_on_tel": 0.9, "res_sd": 0.55},
}


def _quantile_map(rng: np.random.Generator, score: np.ndarray, mu: float, sd: float, noise: float) -> np.ndarray:
    """exp of fixed normal quantiles assigned by the rank of score + noise: the cross-section's distribution
    is the same for every seed (Table 1 moments stay on target), only which city gets which value varies."""
    n = len(score)
    order = np.argsort(np.argsort(score + noise * rng.normal(size=n)))
    q = np.array([NormalDist().inv_cdf((k + 0.5) / n) for k in range(n)])
    return np.exp(mu + sd * q[order])


def _ar1(rng: np.random.Generator, n: int, rho: float, sd: float) -> np.ndarray:
    """Stationary AR(1) shocks, (n, T), marginal sd `sd`."""
    e = rng.normal(0.0, sd * np.sqrt(1.0 - rho**2), size=(n, T))
    out = np.empty((n, T))
    out[:, 0] = rng.normal(0.0, sd, size=n)
    for t in range(1, T):
        out[:, t] = rho * out[:, t - 1] + e[:, t]
    return out


def city_latents(rng: np.random.Generator, cities: pd.DataFrame) -> dict[str, np.ndarray]:
    """Size index and fixed city traits, correlated with province, capital status and the UA flag."""
    p = PARAMS["size"]
    code = cities["code"].to_numpy(dtype=np.int64)
    prov = cities["province_zh"].to_numpy()
    capital = ((code % 10000) == 100) | (code == 370200)
    z = (np.array([p["province"][x] for x in prov]) + p["capital"] * capital
         + p["ua"] * cities["ua_any"].to_numpy() + p["sd"] * rng.normal(size=len(code)))
    return {
        "code": code,
        "z": z,
        "capital": capital.astype(float),
        "west": np.isin(prov, WEST).astype(float),
        "coastal": np.isin(code, COASTAL).astype(float),
        "resource": cities["resource_based"].to_numpy(dtype=float),
        "ua": cities["ua_any"].to_numpy(dtype=float),
        "province": prov,
    }


def macro(rng: np.random.Generator, c: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Real GDP (2006 prices), GDP index, nominal GDP, population, area, green coverage, FAI and its prices."""
    n = len(c["z"])
    z, res, west = c["z"], c["resource"], c["west"]
    pg = PARAMS["gdp"]
    level = np.exp(pg["log_level_2006"] + pg["on_size"] * z + 0.1 * rng.normal(size=n))
    growth = (np.asarray(GDP_GROWTH)[None, :] + rng.normal(0, pg["growth_city_sd"], size=(n, 1))
              + _ar1(rng, n, pg["growth_ar"], pg["growth_shock_sd"]))
    gdp_index = 100.0 * (1.0 + growth)
    rgdp = level[:, None] * np.cumprod(np.concatenate([np.ones((n, 1)), 1.0 + growth[:, 1:]], axis=1), axis=1)
    infl = (np.asarray(GDP_INFLATION)[None, :] + pg["resource_commodity_beta"] * res[:, None]
            * np.asarray(COMMODITY_CYCLE)[None, :] + rng.normal(0, pg["inflation_noise_sd"], size=(n, T)))
    infl[:, 0] = 0.0  # 2006 is the base year: nominal = real
    deflator = np.cumprod(1.0 + infl, axis=1)
    gdp = rgdp * deflator

    pp = PARAMS["population"]
    prov_pop = np.array([pp["province"][x] for x in c["province"]])
    pop0 = np.exp(pp["log_level"] + pp["on_size"] * z + prov_pop + pp["sd"] * rng.normal(size=n))
    pgrowth = pp["growth"] + rng.normal(0, pp["growth_sd"], size=n)
    pop_total = pop0[:, None] * (1.0 + pgrowth[:, None]) ** np.arange(T)[None, :]
    pd_ = PARAMS["density"]
    score = pd_["on_size"] * z - np.array([pd_["province"][x] for x in c["province"]])
    density = _quantile_map(rng, score, pd_["log_mean"], pd_["log_sd"], pd_["noise"])
    area = np.round(pop0 * 10.0 / density, 0)

    pgr = PARAMS["green"]
    g_city = pgr["level"] + pgr["on_size"] * z + rng.normal(0, pgr["city_sd"], size=n) - 2.0 * west
    green = g_city[:, None] + pgr["trend"] * np.arange(T)[None, :] + _ar1(rng, n, pgr["ar"], pgr["shock_sd"])
    green = np.clip(green, *pgr["bounds"])

    pf = PARAMS["fai"]
    trend = pf["trend"] * np.minimum(YEARS - 2006, pf["trend_stop"] - 2006)
    ratio = np.exp(pf["log_ratio_2006"] + pf["west"] * west[:, None] + trend[None, :]
                   + rng.normal(0, pf["city_sd"], size=(n, 1)) + _ar1(rng, n, pf["ar"], pf["shock_sd"]))
    fai = gdp * ratio
    fai_pi = np.asarray(FAI_PRICE)[None, :] + rng.normal(0, pf["price_sd"], size=(n, T))
    return {"rgdp": rgdp, "gdp_index": gdp_index, "gdp": gdp, "pop_total": pop_total, "area": area,
            "green": green, "fai": fai, "fai_pi": fai_pi}


def controls(rng: np.random.Generator, c: dict[str, np.ndarray], m: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Raw series behind POP, HUM, lnINF, ISU, trade, ER, TEC (levels in the contract's units)."""
    n = len(c["z"])
    z, res, west = c["z"], c["resource"], c["west"]
    tt = np.arange(T)[None, :]
    gdp = m["gdp"]
    pfs = PARAMS["fiscal_share"]
    fshare = (pfs["level"] + pfs["west"] * west + pfs["on_size"] * z + rng.normal(0, pfs["sd"], size=n))
    fiscal_exp = gdp * np.clip(fshare[:, None] + pfs["trend"] * tt, 0.06, 0.45)

    ph = PARAMS["hum"]
    hum = (ph["level"] + rng.normal(0, ph["city_sd"], size=n)[:, None] + ph["west"] * west[:, None]
           + ph["trend"] * (tt - 7.5) + _ar1(rng, n, ph["ar"], ph["shock_sd"]))
    hum = np.clip(hum, *ph["bounds"])
    pt = PARAMS["tec"]
    tec_city = _quantile_map(rng, pt["on_size"] * z, pt["log_level"], pt["log_sd"], pt["noise"])
    tec = tec_city[:, None] * np.exp(pt["trend"] * tt + _ar1(rng, n, pt["ar"], pt["shock_sd"]))
    tec = np.minimum(tec, 0.2)

    pr = PARAMS["road"]
    road_city = _quantile_map(rng, pr["on_area"] * np.log(m["area"]) + pr["on_size"] * z, pr["log_level"],
                              pr["log_sd"], pr["noise"])
    road = road_city[:, None] * np.exp(pr["trend"] * (tt - 7.5)
                                       + np.cumsum(rng.normal(0, pr["shock_sd"], size=(n, T)), axis=1))

    pi = PARAMS["isu"]
    isu_city = _quantile_map(rng, pi["on_size"] * z + pi["resource"] * res, pi["log_level"], pi["log_sd"],
                             pi["noise"])
    isu = isu_city[:, None] * np.exp(pi["trend"] * (tt - 7.5) + _ar1(rng, n, pi["ar"], pi["shock_sd"]))
    primary = np.clip(0.13 - 0.04 * z[:, None] + 0.03 * west[:, None] - 0.003 * tt
                      + rng.normal(0, 0.02, size=(n, 1)), 0.01, 0.35)
    va_secondary = gdp * (1.0 - primary) / (1.0 + isu)
    va_tertiary = va_secondary * isu

    ptr = PARAMS["trade"]
    year_shape = np.array([0.1, 0.15, 0.15, -0.15, 0.0, 0.05, 0.0, -0.02, -0.05, -0.15, -0.2, -0.15, -0.1,
                           -0.12, -0.1, 0.0])
    trade_city = _quantile_map(rng, ptr["on_size"] * z + ptr["coastal"] * c["coastal"], ptr["log_level"],
                               ptr["log_sd"], ptr["noise"])
    trade = trade_city[:, None] * np.exp(year_shape[None, :] + _ar1(rng, n, ptr["ar"], ptr["shock_sd"]))
    trade = np.minimum(trade, 1.6)
    trade_total = trade * gdp

    pe = PARAMS["er"]
    # a common regulation stringency moves all four ER indicators together (cleaner and better reuse)
    strict = rng.normal(size=n)
    city = (rng.normal(0, pe["city_sd"], size=(n, 3)) + pe["resource"] * res[:, None]
            - pe["stringency_log"] * strict[:, None])
    ww = np.exp(pe["ww_log"] + city[:, [0]] + pe["ww_trend"] * tt + rng.normal(0, pe["shock_sd"], size=(n, T)))
    # SO2 falls much faster after the 2014 ultra-low-emission push
    so2_t = pe["so2_trend"] * tt - 0.12 * np.maximum(tt - 8, 0)
    so2 = np.exp(pe["so2_log"] + city[:, [1]] + so2_t + rng.normal(0, pe["shock_sd"], size=(n, T)))
    dust = np.exp(pe["dust_log"] + city[:, [2]] + pe["dust_trend"] * tt
                  + rng.normal(0, pe["shock_sd"], size=(n, T)))
    util = (pe["util_level"] + rng.normal(0, pe["util_city_sd"], size=(n, 1)) - 6.0 * res[:, None]
            + pe["stringency_util"] * strict[:, None]
            + pe["util_trend"] * tt + rng.normal(0, pe["util_shock_sd"], size=(n, T)))
    util = np.clip(util, 8.0, 100.0)
    return {
        "fiscal_exp": fiscal_exp, "edu_exp": hum * fiscal_exp, "sci_exp": tec * fiscal_exp, "road_km": road,
        "va_secondary": va_secondary, "va_tertiary": va_tertiary, "trade_total": trade_total,
        "wastewater": ww * gdp, "so2": so2 * gdp, "dust": dust * gdp, "solidwaste_util": util,
    }


def broadband_prev() -> np.ndarray:
    """National broadband users of the previous year, per panel year (10k users)."""
    return np.array([BROADBAND_NAT[y - 1] for y in YEARS], dtype=float)


def ai_block(rng: np.random.Generator, c: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """1984 bases, the shift-share driver, expected AI, its persistent shock and the patent counts."""
    n = len(c["z"])
    pa = PARAMS["ai"]
    tel = np.round(_quantile_map(rng, c["z"], pa["tel_log_level"], pa["tel_log_sd"], pa["tel_noise"]))
    tel = np.maximum(tel, pa["tel_floor"])
    res84 = np.round(np.exp(pa["res_log_level"] + pa["res_on_tel"] * (np.log(tel) - np.log(900.0))
                            + pa["res_sd"] * rng.normal(size=n)))
    res84 = np.maximum(res84, 5.0)
    bb = broadband_prev()
    # city-specific AI trend (uncorrelated with the bases) + persistent AR(1) shock
    slope = rng.normal(0, pa["xi_trend_sd"], size=n)
    ramp = (np.arange(T) - 7.5) / 7.5
    xi = slope[:, None] * ramp[None, :] + _ar1(rng, n, pa["xi_ar"], pa["xi_sd"])
    var = pa["xi_trend_sd"] ** 2 * ramp**2 + pa["xi_sd"] ** 2
    # mean-one multiplicative shock keeps E[AI | instrument] linear in the instrument
    mult = np.exp(xi - 0.5 * var[None, :])
    ai_mean = pa["pi"] * tel[:, None] * bb[None, :] * mult
    ai_inv = rng.poisson(100.0 * ai_mean)
    ai_util = rng.poisson(100.0 * pa["util_ratio"] * ai_mean)
    ai_design = rng.poisson(100.0 * pa["design_ratio"] * ai_mean)
    ai1_inv = rng.binomial(ai_inv, pa["kw1_share"])
    ai1_util = rng.binomial(ai_util, pa["kw1_other_share"])
    ai1_design = rng.binomial(ai_design, pa["kw1_other_share"])
    return {"tel1984": tel, "res1984": res84, "bb_prev": bb, "xi": xi, "ai_mean": ai_mean,
            "ai_inv": ai_inv, "ai_util": ai_util, "ai_design": ai_design,
            "ai1_inv": ai1_inv, "ai1_util": ai1_util, "ai1_design": ai1_design}


def other_series(rng: np.random.Generator, c: dict[str, np.ndarray], m: dict[str, np.ndarray]
                 ) -> dict[str, np.ndarray]:
    """Extra controls (broadband, green finance) and the split sources (Table 6)."""
    n = len(c["z"])
    z = c["z"]
    tt = np.arange(T)[None, :]
    pop = m["pop_total"]
    bb_nat = np.array([BROADBAND_NAT[y] for y in YEARS], dtype=float)
    # households per person: national penetration × development tilt × noise
    newinf = 0.33 * (bb_nat / bb_nat[-1])[None, :] * np.exp(0.25 * z[:, None] + rng.normal(0, 0.15, size=(n, 1))
                                                            + rng.normal(0, 0.05, size=(n, T)))
    out: dict[str, np.ndarray] = {"broadband": newinf * pop}
    for k, name in enumerate(("gf_credit", "gf_invest", "gf_support", "gf_insurance", "gf_bond", "gf_fund",
                              "gf_equity")):
        level = np.exp(rng.normal(0, 0.5, size=(n, 1)) + 0.3 * z[:, None])
        growth = (0.04 + 0.02 * k) * tt
        out[name] = np.round(level * np.exp(growth + rng.normal(0, 0.15, size=(n, T))) * 10.0, 4)
    out["env_words"] = rng.poisson(np.exp(np.log(45.0) + 0.15 * z[:, None] + 0.035 * tt
                                          + rng.normal(0, 0.2, size=(n, 1)))).astype(float)
    out["env_invest"] = m["gdp"] * np.exp(np.log(0.012) + rng.normal(0, 0.45, size=(n, 1))
                                          + rng.normal(0, 0.3, size=(n, T)))
    out["students"] = np.exp(np.log(4.0) + 1.3 * z[:, None] + rng.normal(0, 0.5, size=(n, 1)) + 0.05 * tt
                             + rng.normal(0, 0.05, size=(n, T)))
    urban = pop * np.clip(0.25 + 0.1 * z[:, None] + 0.012 * tt, 0.1, 0.9)
    out["water_household"] = urban * np.exp(np.log(3.0) + rng.normal(0, 0.25, size=(n, 1))
                                            + rng.normal(0, 0.08, size=(n, T)))
    out["lpg_household"] = urban * np.exp(np.log(0.012) + rng.normal(0, 0.4, size=(n, 1)) - 0.04 * tt
                                          + rng.normal(0, 0.15, size=(n, T)))
    out["buses"] = np.round(urban * np.exp(np.log(6.0) + rng.normal(0, 0.3, size=(n, 1)) + 0.03 * tt
                                           + rng.normal(0, 0.06, size=(n, T))))
    out["sewage_rate"] = np.clip(97.0 - 35.0 * np.exp(-0.15 * tt) * np.exp(rng.normal(0, 0.3, size=(n, 1)))
                                 + rng.normal(0, 2.0, size=(n, T)), 20.0, 100.0)
    out["garbage_rate"] = np.clip(99.5 - 45.0 * np.exp(-0.2 * tt) * np.exp(rng.normal(0, 0.4, size=(n, 1)))
                                  + rng.normal(0, 2.0, size=(n, T)), 10.0, 100.0)
    return out


# CTFP target: rho_it = mu + a_i + tau_t + beta_g · AI_it + gamma'X_it + psi·xi_it + e_it, then bounded.
CTFP: dict[str, Any] = {
    "mu": 0.43,
    "city_sd": 0.10,
    "city_on_size": -0.05,
    "year_trend": 0.006,  # per year, centred on 2013.5
    "year_sd": 0.015,
    "noise_ar": 0.5,
    "noise_sd": 0.115,
    "beta": {"ua_nonresource": 0.023, "ua_resource": -0.12, "non_ua": -0.45},
    "gamma": {"pop": 0.0873, "hum": -0.1233, "lninf": 0.0189, "isu": 0.0450, "trade": -0.0120, "er": 0.0146,
              "tec": 0.5678},
    "psi_xi": -0.01,  # endogeneity: the persistent AI shock lowers CTFP a little (OLS < IV, as published)
    "floor": 0.05,
}
MECHANISMS: dict[str, Any] = {  # m_it = level_i + trend_t + delta · AI_it + e_it (AR(1)); noise sets the t-values
    "dig1": {"delta": 0.0048, "level": 0.08, "city_sd": 0.02, "trend": 0.002, "noise_sd": 0.025},
    "dig2": {"delta": 0.0592, "level": 0.30, "city_sd": 0.08, "trend": 0.01, "noise_sd": 0.045},
    "green1": {"delta": 0.0621, "level": 0.90, "city_sd": 0.2, "trend": 0.01, "noise_sd": 0.22},
    "green2": {"delta": 0.0097, "level": 0.15, "city_sd": 0.04, "trend": 0.003, "noise_sd": 0.035},
}


MECHANISM_NOISE_SIZE_ELASTICITY = 1.0
MECHANISM_NOISE_MAX_SCALE = 2.0


def group_beta(c: dict[str, np.ndarray], shift: float = 0.0) -> np.ndarray:
    """True AI slope of each city: positive in UA non-resource cities, negative elsewhere (Table 6 signs); every
    group's slope moved by `shift` (the settable true effect, models/worlds/paper.py)."""
    b = CTFP["beta"]
    return shift + np.where(c["ua"] == 0, b["non_ua"],
                            np.where(c["resource"] == 1, b["ua_resource"], b["ua_nonresource"]))


def ctfp_target(rng: np.random.Generator, c: dict[str, np.ndarray], ai: np.ndarray, xi: np.ndarray,
                controls_: dict[str, np.ndarray], shift: float = 0.0, *, rgdp: np.ndarray | None = None,
                noise_size_elasticity: float = 0.0) -> dict[str, np.ndarray]:
    """Latent CTFP (linear in AI and controls) and its parts; `ai` is the realised AI (hundreds).

    `noise_size_elasticity` e > 0 scales each city's error sd by (city mean real GDP / panel mean)^-e, capped
    at MECHANISM_NOISE_MAX_SCALE, as the mechanisms' noise is (their docstring: with equal noise the few AI-heavy
    big cities dominate the slope's error and the clustered SE understates it). 0 (the default) is the
    calibrated world of every earlier version: the draws are then bit for bit the old ones."""
    n = len(c["z"])
    p = CTFP
    city = p["city_on_size"] * c["z"] + rng.normal(0, p["city_sd"], size=n)
    year = p["year_trend"] * (np.arange(T) - 7.5) + rng.normal(0, p["year_sd"], size=T)
    beta = group_beta(c, shift)
    xb = sum(p["gamma"][k] * (controls_[k] - controls_[k].mean()) for k in p["gamma"])
    noise = _ar1(rng, n, p["noise_ar"], p["noise_sd"])
    if noise_size_elasticity:
        size = rgdp.mean(axis=1) / rgdp.mean()
        noise = noise * np.minimum(size ** -noise_size_elasticity, MECHANISM_NOISE_MAX_SCALE)[:, None]
    latent = p["mu"] + city[:, None] + year[None, :] + beta[:, None] * ai + xb + p["psi_xi"] * xi / 0.2 + noise
    return {"latent": latent, "city": city, "year": year, "beta": beta, "noise": noise, "xb": xb}


def mechanisms(rng: np.random.Generator, c: dict[str, np.ndarray], ai: np.ndarray, rgdp: np.ndarray
               ) -> dict[str, np.ndarray]:
    """dig1, dig2, green1, green2 (shares of GDP) responding to AI with the published slopes.

    The noise of a share shrinks with the size of the economy (sd ∝ 1 / city mean real GDP, relative to the
    panel mean): a big economy's shares move less. Besides being realistic this matters for inference: AI is
    concentrated in a few big cities, and with equal noise everywhere their residuals dominate the slope's
    error while the city-clustered SE understates it (a Monte Carlo gave 57% coverage of the 95% CI; with
    size-scaled noise about 94%).
    """
    n = len(c["z"])
    size = rgdp.mean(axis=1) / rgdp.mean()
    # capped for the smallest cities so their shares rarely hit the floor
    noise_scale = np.minimum(size ** -MECHANISM_NOISE_SIZE_ELASTICITY, MECHANISM_NOISE_MAX_SCALE)[:, None]
    out = {}
    # one independent child stream per mechanism: each series' noise is its own draw, not the leftover of
    # the series before it
    for (name, p), sub in zip(MECHANISMS.items(), rng.spawn(len(MECHANISMS)), strict=True):
        level = p["level"] + sub.normal(0, p["city_sd"], size=n)
        val = (level[:, None] + p["trend"] * np.arange(T)[None, :] + p["delta"] * ai
               + noise_scale * _ar1(sub, n, 0.5, p["noise_sd"]))
        out[name] = np.maximum(val, 0.05 * p["level"])
    return out
