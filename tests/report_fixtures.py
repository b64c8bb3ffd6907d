"""A small but real run folder for the report tests.

20 cities x 6 years; four tiny PyMC models sampled with the pymc NUTS sampler (2 chains x 200 draws):
`headline` (normal), `censored` (Tobit at 1), `ordbeta` (one-inflated beta, standing in for the ordered
beta: both put mass at exactly 1) and `hetero` (six split-interaction regressions fitted jointly). The
frequentist cells are real within-city OLS fits with city-clustered SEs on the same panel; published numbers are
the paper's. Every file follows docs/contract.md so the report reads it as it reads a pipeline run.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

SPLITS = ("g_ua", "g_resource", "g_attention", "g_envinv", "g_hum", "g_gcons")
N_CITY, N_YEAR = 20, 6
SEED = 20251201
DRAWS, TUNE, CHAINS = 200, 200, 2

# Paper's Table 6 AI row: column -> (split, level, coef, t, stars, N).
TABLE6 = {
    "(1)": ("g_ua", "1", 0.0254, 2.08, 2, 960),
    "(2)": ("g_ua", "0", -0.4827, -2.09, 1, 288),
    "(3)": ("g_resource", "1", -0.1356, -1.10, 0, 640),
    "(4)": ("g_resource", "0", 0.0276, 2.25, 2, 608),
    "(5)": ("g_attention", "1", 0.0321, 2.13, 2, 651),
    "(6)": ("g_attention", "0", 0.0157, 1.55, 0, 597),
    "(7)": ("g_envinv", "1", 0.0256, 2.10, 2, 624),
    "(8)": ("g_envinv", "0", 0.0603, 0.74, 0, 624),
    "(9)": ("g_hum", "1", 0.0245, 2.03, 2, 624),
    "(10)": ("g_hum", "0", -0.0954, -0.59, 0, 624),
    "(11)": ("g_gcons", "1", 0.0213, 1.71, 1, 624),
    "(12)": ("g_gcons", "0", -0.6657, -1.34, 0, 624),
}
CONTROLS = ("pop", "hum", "lninf", "isu", "trade", "er", "tec")


def make_panel(seed: int = SEED) -> pd.DataFrame:
    """A balanced city-year panel with CTFP in (0, 1] and about a tenth of the cells on the frontier."""
    rng = np.random.default_rng(seed)
    cities = 140100 + 100 * np.arange(N_CITY)
    years = 2016 + np.arange(N_YEAR)
    df = pd.DataFrame([(c, y) for c in cities for y in years], columns=["city", "year"])
    n = len(df)
    ci = np.repeat(np.arange(N_CITY), N_YEAR)
    df["city_name"] = [f"City{i + 1:02d}" for i in ci]
    df["province"] = np.where(ci < 10, "山西", "河南")
    df["ai"] = rng.gamma(0.8, 0.3, n)
    for c in CONTROLS:
        df[c] = rng.normal(0.5, 0.2, n)
    df["g_ua"] = (ci % 4 != 0).astype(int)
    df["g_resource"] = (ci % 3 == 0).astype(int)
    for s in ("g_attention", "g_envinv", "g_hum", "g_gcons"):
        v = rng.normal(size=n) + 0.3 * ci / N_CITY
        df[s] = (v >= np.median(v)).astype(int)
    city_eff = rng.normal(0, 0.2, N_CITY)[ci]
    slope = np.where(df["g_ua"] == 1, 0.08, -0.02)
    latent = 0.45 + city_eff + slope * df["ai"] + 0.01 * (df["year"] - 2016) + rng.normal(0, 0.08, n)
    df["ctfp"] = np.clip(latent, 0.05, 1.0)
    df.loc[df["ctfp"] >= 0.8, "ctfp"] = 1.0  # the frontier: about a tenth of the cells
    df["ctfp_bcc"] = np.clip(df["ctfp"] + rng.normal(0.05, 0.03, n), 0.05, 1.0)
    df["scale"] = df["ai"] * 1.6 + rng.gamma(0.5, 0.2, n)  # the "innovation scale" measure of Table 2 (3)-(4)
    return df


def _fe_ols(df: pd.DataFrame, y: str, xs: list[str]) -> dict[str, Any]:
    """The first regressor of `fe_fit` as a cells.json record wants it (coef, se, t, p, ci, nobs, r2)."""
    fit = fe_fit(df, y, xs)
    c = fit["terms"][xs[0]]
    return {"coef": c["estimate"], "se": c["se"], "t": c["t"], "p": c["p"], "ci": (c["ci_low"], c["ci_high"]),
            "nobs": fit["nobs"], "r2": fit["r2"]}


def fe_fit(df: pd.DataFrame, y: str, xs: list[str]) -> dict[str, Any]:
    """Every coefficient of a two-way FE regression (city-demeaned, year dummies, SEs clustered by city with
    Stata's small-sample factor, t with G-1 df, as reghdfe), with N, R2, within R2 and the number of clusters."""
    from scipy import stats

    years = pd.get_dummies(df["year"], prefix="yr", drop_first=True).astype(float)
    data = pd.concat([df[[y, *xs]].astype(float), years], axis=1)
    dm = data - data.groupby(df["city"].to_numpy()).transform("mean")
    cols = [*xs, *years.columns]
    yv, xm = dm[y].to_numpy(), dm[cols].to_numpy()
    beta, *_ = np.linalg.lstsq(xm, yv, rcond=None)
    resid = yv - xm @ beta
    bread = np.linalg.pinv(xm.T @ xm)
    groups = df["city"].to_numpy()
    meat = np.zeros_like(bread)
    for g in np.unique(groups):
        sc = xm[groups == g].T @ resid[groups == g]
        meat += np.outer(sc, sc)
    n_obs, k, n_g = len(yv), xm.shape[1], len(np.unique(groups))
    se = np.sqrt(np.diag(bread @ meat @ bread) * (n_obs - 1) / (n_obs - k - 1) * n_g / (n_g - 1))
    t = beta / se
    p = 2 * stats.t.sf(np.abs(t), n_g - 1)
    crit = stats.t.ppf(0.975, n_g - 1)
    yv_raw = df[y].to_numpy(float)
    # Within R2 with year effects partialled out, as reghdfe's "Within R-sq." (the year dummies are absorbed).
    yr = pd.get_dummies(df["year"], drop_first=True).astype(float)
    ydm = pd.concat([df[[y]].astype(float), yr], axis=1)
    ydm = ydm - ydm.groupby(df["city"].to_numpy()).transform("mean")
    b_yr, *_ = np.linalg.lstsq(ydm[yr.columns].to_numpy(), ydm[y].to_numpy(), rcond=None)
    y_within = ydm[y].to_numpy() - ydm[yr.columns].to_numpy() @ b_yr
    return {
        "terms": {x: {"estimate": float(beta[i]), "se": float(se[i]), "t": float(t[i]), "p": float(p[i]),
                      "ci_low": float(beta[i] - crit * se[i]), "ci_high": float(beta[i] + crit * se[i])}
                  for i, x in enumerate(xs)},
        "nobs": n_obs, "n_clusters": n_g,
        "r2": float(1 - resid @ resid / ((yv_raw - yv_raw.mean()) ** 2).sum()),
        "r2_within": float(1 - resid @ resid / (y_within @ y_within)),
    }


# Table id, column, formula regressors, outcome, sample split (split, level) or None: a slice of the paper's
# Tables 2 and 6 written as the study file writes them.
TABLE_SPECS: tuple[tuple[str, str, tuple[str, ...], str, tuple[str, int] | None, str], ...] = (
    ("T2", "(1)", ("ai",), "ctfp", None, "Innovation quality"),
    ("T2", "(2)", ("ai", *CONTROLS), "ctfp", None, "Innovation quality"),
    ("T2", "(3)", ("scale",), "ctfp", None, "Innovation scale"),
    ("T2", "(4)", ("scale", *CONTROLS), "ctfp", None, "Innovation scale"),
    *((("T6", col, ("ai", *CONTROLS), "ctfp", (split, int(level)), "") for col, (split, level, *_) in TABLE6.items())),
)
# The paper prints the scale measure in row "AI" of Table 2 (3)-(4): published cells name the row, not the term.
PUBLISHED_TERM = {("2", "(3)", "scale"): "ai", ("2", "(4)", "scale"): "ai"}


def table_frames(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """tables/replicas.csv, columns.csv and tests.csv (docs/contract.md) for TABLE_SPECS on `df`: every
    coefficient of every column, published values from the paper's printed tables (ctfp.data.published)."""
    from ctfp.data.published import published_cells

    pub = published_cells()
    rows, cols = [], []
    for table, column, xs, outcome, split, label in TABLE_SPECS:
        sub = df if split is None else df[df[split[0]] == split[1]]
        fit = fe_fit(sub, outcome, list(xs))
        tnum = table[1:]
        pcol = pub[(pub["table"] == tnum) & (pub["column"] == column)]
        for term, v in fit["terms"].items():
            pvar = PUBLISHED_TERM.get((tnum, column, term), term)
            hit = pcol[pcol["variable"] == pvar] if pvar != "ai" else pcol[pcol["row"] == "AI"]
            pe = hit.iloc[0] if len(hit) else None
            rs = _stars(v["p"])
            rows.append({
                "table": table, "column": column, "term": term, "kind": "coef", **v, "stars": rs,
                "nobs": fit["nobs"],
                "published_estimate": None if pe is None else float(pe["coef"]), "published_se": None,
                "published_t": None if pe is None else float(pe["t"]),
                "published_stars": None if pe is None else int(pe["stars"]), "published_note": "",
                "sign_agrees": None if pe is None else bool(np.sign(v["estimate"]) == np.sign(pe["coef"])),
                "stars_agree": None if pe is None else rs == int(pe["stars"]),
                "published_in_ci": None if pe is None else bool(v["ci_low"] <= pe["coef"] <= v["ci_high"]),
                "note": ""})
        for stat, value in (("N", fit["nobs"]), ("R2", fit["r2"]), ("R2_within", fit["r2_within"])):
            hit = pcol[pcol["row"] == stat]
            rows.append({"table": table, "column": column, "term": stat, "kind": "stat", "estimate": value,
                         "nobs": fit["nobs"], "published_estimate": float(hit.iloc[0]["coef"]) if len(hit) else None,
                         "note": ""})
        formula = f"{outcome} ~ {' + '.join(xs)} | city + year"
        cols.append({"table": table, "column": column, "label": label, "formula": formula, "estimator": "ols",
                     "outcome": outcome, "treatment": xs[0], "fe": "city+year", "cluster": "city",
                     "sample": "" if split is None else f"{split[0]} == {split[1]}", "nobs": fit["nobs"],
                     "n_clusters": fit["n_clusters"], "r2": fit["r2"], "r2_within": fit["r2_within"]})
    rep = pd.DataFrame(rows)
    t6 = rep[(rep["table"] == "T6") & (rep["term"] == "ai")].set_index("column")["estimate"]
    tests = pd.DataFrame([{"table": "T6", "column_a": "(1)", "column_b": "(2)", "term": "ai", "method": "permutation",
                           "estimate_a": t6["(1)"], "estimate_b": t6["(2)"], "diff": t6["(1)"] - t6["(2)"],
                           "p": 0.004, "p_two_sided": 0.008, "permutations": 250, "level": "unit", "seed": 1}])
    return rep, pd.DataFrame(cols), tests


def write_table_frames(root: Path, df: pd.DataFrame) -> Path:
    """The study-pipeline tables of `df` into root/tables/ (replicas.csv, columns.csv, tests.csv)."""
    from ctfp.core.atomic import write_csv

    rep, cols, tests = table_frames(df)
    write_csv(root / "tables" / "replicas.csv", rep)
    write_csv(root / "tables" / "columns.csv", cols)
    write_csv(root / "tables" / "tests.csv", tests)
    return root


def table_run(root: Path, *, language: str = "en", data_source: str = "synthetic") -> Path:
    """A run folder holding only what `ctfp table` reads: run.json (study facts) and tables/*.csv."""
    from ctfp.core.atomic import write_json

    root.mkdir(parents=True, exist_ok=True)
    write_json(root / "run.json", {
        "data_source": data_source, "created": "2026-11-29T06:00:00Z",
        "study": {"study": {"name": "report fixture"}, "data": {"unit": "city", "time": "year"},
                  "tables": [{"id": "T2", "title": "Baseline regressions"},
                             {"id": "T6", "title": "Split samples"}],
                  "labels": {"ai": "AI", "scale": "AI", "pop": "POP", "hum": "HUM", "lninf": "lnINF", "isu": "ISU",
                             "trade": "trade", "er": "ER", "tec": "TEC"},
                  "report": {"language": language}},
    })
    return write_table_frames(root, make_panel())


def _stars(p: float) -> int:
    return 3 if p < 0.01 else 2 if p < 0.05 else 1 if p < 0.1 else 0


def _cell(table: str, column: str, row: str, variable: str, pub: tuple[float, float | None, int],
          fit: dict[str, Any] | None, value: float | None = None, nobs: int | None = None,
          published_nobs: int | None = None) -> dict[str, Any]:
    """A cells.json record: a coefficient cell when `fit` is given, else a scalar (N, R2, KP) cell."""
    pc, pt, ps = pub
    rec: dict[str, Any] = {
        "table": table, "column": column, "row": row, "variable": variable, "published_coef": pc,
        "published_t": pt, "published_stars": ps, "replica_coef": None, "replica_se": None, "replica_t": None,
        "replica_p": None, "replica_stars": None, "replica_ci_low": None, "replica_ci_high": None,
        "nobs": nobs, "published_nobs": published_nobs, "same_sign": None, "same_stars": None,
        "published_in_ci": None,
    }
    if fit is not None:
        rs = _stars(fit["p"])
        rec.update(
            replica_coef=fit["coef"], replica_se=fit["se"], replica_t=fit["t"], replica_p=fit["p"],
            replica_stars=rs, replica_ci_low=fit["ci"][0], replica_ci_high=fit["ci"][1], nobs=fit["nobs"],
            same_sign=bool(np.sign(fit["coef"]) == np.sign(pc)), same_stars=rs == ps,
            published_in_ci=bool(fit["ci"][0] <= pc <= fit["ci"][1]),
        )
    else:
        rec["replica_coef"] = value
    return rec


def make_cells(df: pd.DataFrame) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Replica cells for a slice of Tables 2-6 and the group-difference records of Table 6."""
    ctrl = list(CONTROLS)
    cells: list[dict[str, Any]] = []
    f1 = _fe_ols(df, "ctfp", ["ai"])
    f2 = _fe_ols(df, "ctfp", ["ai", *ctrl])
    cells.append(_cell("2", "(1)", "AI", "ai", (0.0224, 1.92, 1), f1, published_nobs=1248))
    cells.append(_cell("2", "(2)", "AI", "ai", (0.0248, 2.08, 2), f2, published_nobs=1248))
    cells.append(_cell("2", "(2)", "POP", "pop", (0.0873, 1.91, 1), _fe_ols(df, "ctfp", ["pop", "ai", *ctrl[1:]]),
                       published_nobs=1248))
    cells.append(_cell("2", "(1)", "N", "", (1248, None, 0), None, value=f1["nobs"]))
    cells.append(_cell("2", "(2)", "R2", "", (0.5414, None, 0), None, value=f2["r2"]))
    cells.append(_cell("3", "(3)", "AI", "ai", (0.0343, 5.14, 3), _fe_ols(df, "ctfp_bcc", ["ai", *ctrl]),
                       published_nobs=1248))
    cells.append(_cell("4", "(2)", "AI", "ai", (0.0285, 4.01, 3), f2, published_nobs=1248))
    cells.append(_cell("4", "(2)", "KP_LM", "", (21.747, None, 0), None, value=19.8))
    cells.append(_cell("4", "(2)", "KP_F", "", (105.526, None, 0), None, value=88.2))
    cells.append(_cell("5", "(1)", "AI", "ai", (0.0048, 2.07, 3), _fe_ols(df.assign(dig1=df["ai"] * 0.01 + df["pop"] + np.random.default_rng(1).normal(0, 0.05, len(df))),
                                                                        "dig1", ["ai", *ctrl]), published_nobs=1248))
    fits: dict[tuple[str, str], dict[str, Any]] = {}
    for col, (split, level, coef, t, stars, n_pub) in TABLE6.items():
        sub = df[df[split] == int(level)]
        fit = _fe_ols(sub, "ctfp", ["ai", *ctrl])
        fits[split, level] = fit
        cells.append(_cell("6", col, "AI", "ai", (coef, t, stars), fit, published_nobs=n_pub))
    cells.append(_cell("6", "(1)-(2)", "diff_p", "", (0.001, None, 0), None, value=0.004))
    diffs = []
    for i, split in enumerate(SPLITS):
        a, b = fits[split, "1"], fits[split, "0"]
        diffs.append({
            "split": split, "coef_1": a["coef"], "coef_0": b["coef"], "se_1": a["se"], "se_0": b["se"],
            "n_1": a["nobs"], "n_0": b["nobs"], "diff": a["coef"] - b["coef"],
            "perm_p_one_sided": round(0.004 + 0.05 * i, 3), "perm_p_two_sided": round(0.008 + 0.1 * i, 3),
            "chow_p": 0.01 + 0.02 * i, "suest_p": 0.012 + 0.02 * i,
            "published_p": 0.001 if split == "g_ua" else None,
        })
    return cells, diffs


def _sample(model: Any, *, ppc: bool = True, loglik: bool = True, ppc_mode: str | None = None) -> Any:
    """ppc_mode: the PyTensor mode of the predictive draws (a CustomDist's Python `random` has no JAX form, and
    the tests' default mode is JAX, tests/conftest.py)."""
    import pymc as pm

    with model:
        dt = pm.sample(draws=DRAWS, tune=TUNE, chains=CHAINS, cores=1, nuts_sampler="pymc", random_seed=SEED,
                       progressbar=False, compute_convergence_checks=False)
        if loglik:
            pm.compute_log_likelihood(dt, model=model, progressbar=False)
        if ppc:
            kw = {"compile_kwargs": {"mode": ppc_mode}} if ppc_mode else {}
            dt.update(pm.sample_posterior_predictive(dt, random_seed=SEED, progressbar=False, **kw))
    return dt


def fit_models(df: pd.DataFrame) -> dict[str, Any]:
    """Sample the four fixture models; returns {name: DataTree}."""
    import pymc as pm
    import pytensor.tensor as pt

    ci = pd.factorize(df["city"])[0]
    y, ai = df["ctfp"].to_numpy(), df["ai"].to_numpy()
    coords = {"city": np.unique(df["city"]).astype(str), "obs_id": np.arange(len(df))}
    out: dict[str, Any] = {}

    def linear(name: str) -> tuple[Any, Any]:
        alpha = pm.Normal("alpha", 0.45, 0.3)
        sigma_a = pm.HalfNormal("sigma_a", 0.2)
        a = pm.Deterministic("a", sigma_a * pm.ZeroSumNormal("z_a", dims="city"), dims="city")
        beta = pm.Normal("beta", 0, 0.5)
        return alpha + a[ci] + beta * ai, beta

    with pm.Model(coords=coords) as m:
        mu, beta = linear("headline")
        sigma = pm.HalfNormal("sigma", 0.3)
        pm.Normal("y", mu, sigma, observed=y, dims="obs_id")
        pm.Deterministic("ame", beta)
    out["headline"] = _sample(m)

    with pm.Model(coords=coords) as m:
        mu, beta = linear("censored")
        sigma = pm.HalfNormal("sigma", 0.3)
        pm.Censored("y", pm.Normal.dist(mu, sigma), lower=None, upper=1.0, observed=y, dims="obs_id")
        # d E[min(y*, 1)] / d ai = beta * Phi((1 - mu) / sigma), averaged over the sample
        pm.Deterministic("ame", beta * pt.mean(pm.math.invprobit((1.0 - mu) / sigma)))
    out["censored"] = _sample(m)

    with pm.Model(coords=coords) as m:
        eta, beta = linear("ordbeta")
        phi = pm.Gamma("phi", 4, 0.2)
        pi1 = pm.Beta("pi1", 1, 4)
        mu = pm.math.invlogit(eta - 0.45)

        def logp(value: Any, mu: Any, phi: Any, pi1: Any) -> Any:
            inner = pt.clip(value, 1e-6, 1 - 1e-6)
            lb = pm.logp(pm.Beta.dist(mu * phi, (1 - mu) * phi), inner)
            return pt.switch(pt.eq(value, 1.0), pt.log(pi1), pt.log1p(-pi1) + lb)

        def random(mu: Any, phi: Any, pi1: Any, rng: Any = None, size: Any = None) -> Any:
            one = rng.uniform(size=size) < pi1
            return np.where(one, 1.0, rng.beta(mu * phi, (1 - mu) * phi, size=size))

        pm.CustomDist("y", mu, phi, pi1, logp=logp, random=random, observed=y, dims="obs_id")
        pm.Deterministic("ame", pt.mean((1 - pi1) * mu * (1 - mu) * beta))
    out["ordbeta"] = _sample(m, ppc_mode="FAST_COMPILE")  # Python linker: runs the CustomDist's `random`

    flags = np.stack([df[s].to_numpy() for s in SPLITS])  # (split, obs)
    lvl = 1 - flags  # level coord order is ("1", "0")
    with pm.Model(coords={**coords, "split": list(SPLITS), "level": ["1", "0"]}) as m:
        alpha = pm.Normal("alpha", 0.45, 0.3, dims="split")
        sigma_a = pm.HalfNormal("sigma_a", 0.2)
        z = pm.ZeroSumNormal("z_a", dims=("split", "city"))
        sg = pm.Normal("slope_group", 0, 0.5, dims=("split", "level"))
        sigma = pm.HalfNormal("sigma", 0.3, dims="split")
        rows = np.arange(len(SPLITS))[:, None]
        mu = alpha[:, None] + sigma_a * z[:, ci] + sg[rows, lvl] * ai[None, :]
        pm.Normal("y", mu, sigma[:, None], observed=np.tile(y, (len(SPLITS), 1)), dims=("split", "obs_id"))
        pm.Deterministic("slope_diff", sg[:, 0] - sg[:, 1], dims="split")
        share1 = flags.mean(axis=1)
        pm.Deterministic("ame", pt.mean(sg[:, 0] * share1 + sg[:, 1] * (1 - share1)))
    out["hetero"] = _sample(m, ppc=False, loglik=False)
    return out


def _summary(name: str, likelihood: str, dt: Any) -> dict[str, Any]:
    import arviz as az

    ame = dt.posterior["ame"].values.ravel()
    lo, hi = np.quantile(ame, [0.025, 0.975])
    names = [v for v in ("ame", "beta", "slope_group", "slope_diff") if v in dt.posterior]
    rhat = az.rhat(dt, var_names=names)
    ess = az.ess(dt, var_names=names, method="bulk")
    ess_t = az.ess(dt, var_names=names, method="tail")
    max_rhat = float(max(float(rhat[v].max()) for v in rhat.data_vars))
    min_bulk = float(min(float(ess[v].min()) for v in ess.data_vars))
    min_tail = float(min(float(ess_t[v].min()) for v in ess_t.data_vars))
    div = int(dt.sample_stats["diverging"].sum())
    msgs = []
    if max_rhat > 1.01:
        msgs.append(f"max R-hat {max_rhat:.3f} > 1.01")
    if min_bulk < 400:
        msgs.append(f"min bulk ESS {min_bulk:.0f} < 400")
    if div:
        msgs.append(f"{div} divergences")
    by: dict[str, Any] = {}
    if "slope_diff" in dt.posterior:
        for s in SPLITS:
            d = dt.posterior["slope_diff"].sel(split=s).values.ravel()
            by[s] = {"diff": {"mean": float(d.mean()), "p_gt0": float((d > 0).mean())}}
    return {
        "model": name, "likelihood": likelihood, "treatment": {"mean": float(ame.mean()), "sd": float(ame.std()),
                                                               "ci95": [float(lo), float(hi)]},
        "by": by, "diagnostics": {"max_rhat": max_rhat, "min_ess_bulk": min_bulk, "min_ess_tail": min_tail,
                                  "divergences": div},
        "priors": {"beta": "Normal(0, 0.5)"}, "sampler": {"name": "pymc", "draws": DRAWS, "tune": TUNE,
                                                         "chains": CHAINS}, "seed": SEED,
        "gate": {"passed": not msgs, "messages": msgs},
    }


def _validation(cells: list[dict[str, Any]], dts: dict[str, Any]) -> list[dict[str, Any]]:
    t2 = next(c for c in cells if c["table"] == "2" and c["column"] == "(2)" and c["row"] == "AI")
    ame = dts["headline"].posterior["ame"].values.ravel()
    d_ua = dts["hetero"].posterior["slope_diff"].sel(split="g_ua").values.ravel()
    p_pos = float((ame > 0).mean())
    p_ua = float((d_ua > 0).mean())
    return [
        {"claim_id": "H0-baseline", "claim": "AI raises carbon TFP (Table 2 col 2: 0.0248**)",
         "published": "0.0248 (t = 2.08)", "replica_evidence": f"{t2['replica_coef']:.4f} (t = {t2['replica_t']:.2f})",
         "replica_verdict": "supported" if t2["replica_coef"] > 0 and t2["replica_p"] < 0.1 else "not supported",
         "posterior_evidence": f"P(AME > 0) = {p_pos:.3f}",
         "posterior_verdict": "supported" if p_pos > 0.95 else "inconclusive"},
        {"claim_id": "H3-ua", "claim": "AI helps urban-agglomeration cities more (Table 6, p = 0.001)",
         "published": "p = 0.001", "replica_evidence": "permutation p = 0.004",
         "replica_verdict": "supported", "posterior_evidence": f"P(diff > 0) = {p_ua:.3f}",
         "posterior_verdict": "supported" if p_ua > 0.95 else "inconclusive"},
    ]


def write_run_folder(root: Path, df: pd.DataFrame, dts: dict[str, Any], *, data_source: str = "synthetic") -> Path:
    """Write a complete run folder (contract layout) from the panel and fitted models."""
    from ctfp.core.atomic import write_csv, write_json

    root.mkdir(parents=True, exist_ok=True)
    write_json(root / "run.json", {
        "data_source": data_source, "created": "2026-11-29T06:00:00Z",
        "spec": {"study": {"name": "report fixture"},
                 "sbm": {"inputs": ["labor", "capital", "energy"], "good": ["rgdp", "green"], "bad": ["co2"],
                         "model": "sbm", "orientation": "none", "rts": "crs", "frontier": "global",
                         "weights": [1.0, 1.0]}},
        "versions": {"ctfp": "0.1.0"}, "inputs": {"panel": "synthetic" if data_source == "synthetic" else "user.csv"},
    })
    write_csv(root / "panel" / "analysis.csv", df)
    scores = df[["city", "year", "ctfp"]].assign(slack_labor=0.0, status="optimal")
    write_csv(root / "dea" / "ctfp.csv", scores)  # one file per measure (core.runfolder.RunFolder.dea_csv)
    from ctfp.data.table1 import compare_table1

    write_csv(root / "tables" / "table1.csv", compare_table1(df))  # what the pipeline stores for the paper
    cells, diffs = make_cells(df)
    write_json(root / "replicas" / "cells.json", cells)
    write_table_frames(root, df)
    write_json(root / "replicas" / "group_diffs.json", diffs)
    likelihoods = {"headline": "normal", "censored": "censored", "ordbeta": "ordbeta", "hetero": "normal"}
    for name, dt in dts.items():
        folder = root / "bayes" / name
        folder.mkdir(parents=True, exist_ok=True)
        dt.to_netcdf(folder / "posterior.nc", engine="h5netcdf")
        write_json(folder / "summary.json", _summary(name, likelihoods[name], dt))
    write_json(root / "validation.json", _validation(cells, dts))
    return root


def copy_run(src: Path, dst: Path, *, data_source: str | None = None) -> Path:
    """Copy a run folder (without built outputs), optionally changing its data_source."""
    def built(folder: str, names: list[str]) -> list[str]:  # what `ctfp report` writes, not the run's inputs
        out = [n for n in names if n in ("figures", "report.html", "report.zh.html", "notes.json", "log.txt")]
        return out + ([n for n in names if n.startswith("report_")] if Path(folder).name == "tables" else [])

    shutil.copytree(src, dst, ignore=built)
    if data_source is not None:
        run = json.loads((dst / "run.json").read_text())
        run["data_source"] = data_source
        if data_source == "user":
            run["inputs"] = {"panel": "my_cities.csv"}
        (dst / "run.json").write_text(json.dumps(run))
    return dst


_CACHE: dict[str, Path] = {}


def session_run(tmp_path_factory: Any) -> Path:
    """The fixture run folder, sampled once per test session (shared by every report test module).

    Set CTFP_REPORT_RUN to an existing run folder (e.g. a small `ctfp demo` run) to test against it instead;
    it is copied so the report's outputs never land in the original.
    """
    import os

    if "run" not in _CACHE:
        base = tmp_path_factory.mktemp("report_run")
        src = os.environ.get("CTFP_REPORT_RUN")
        if src:
            _CACHE["run"] = copy_run(Path(src), base / "run")
        else:
            df = make_panel()
            _CACHE["run"] = write_run_folder(base / "run", df, fit_models(df))
    return _CACHE["run"]
