"""Run the paper's Tables 2–6 replicas on an analysis panel and write them beside the published numbers.

`run_replicas(panel, out_dir)` writes into `out_dir` (the run folder's `replicas/`): `table2.csv|.md` ..
`table6.csv|.md` (per printed cell: published, replica, agreement), `cells.json` (docs/contract.md cell records)
and `group_diffs.json` (Table 6 difference tests: permutation, interacted Chow, SUEST).

A replica that cannot run on this panel (a column it needs is missing, or its design is not identified) is not
dropped: its cells carry `replica_coef = null` and a `note` saying why, and the note is printed.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ctfp.core.atomic import write_csv, write_json, write_text
from ctfp.core.errors import CtfpError, InputError
from ctfp.models.panel import groupdiff as gd
from ctfp.models.panel.estimators import PanelResult, _t_ppf, fit_iv, fit_ols, stars
from ctfp.models.panel.replicas import CONTROLS, GROUP_DIFFS, REPLICAS, Replica, needed_columns, split_frame

DEFAULT_SEED = 20251201
TABLES = ("2", "3", "4", "5", "6")


def _published() -> pd.DataFrame | None:
    try:
        from ctfp.data.published import published_cells
    except ImportError:  # the published tables module is optional for the estimators
        return None
    return published_cells()


def fit_replica(panel: pd.DataFrame, r: Replica, cache: dict[tuple, PanelResult] | None = None) -> PanelResult:
    """Estimate one replica (first stages come from their 2SLS fit, shared through `cache`)."""
    missing = [c for c in needed_columns(r) if c not in panel.columns]
    if missing:
        raise _Skip(f"column(s) {', '.join(missing)} not in the analysis panel")
    frame = split_frame(panel, r)
    if r.estimator == "twfe":
        res = fit_ols(frame, r.outcome, list(r.regressors), absorb=r.absorb, cluster=r.cluster, source="panel")
        if r.split:
            labels = panel[r.split]
            bad = labels.notna() & ~labels.isin([0, 1])
            if bad.any():
                raise InputError(f"panel: split column '{r.split}' must be 0/1; row {int(bad.to_numpy().argmax())} "
                                 f"holds {labels[bad].iloc[0]!r}")
            if labels.isna().any():
                res.notes.append(f"{int(labels.isna().sum())} row(s) with a missing {r.split} belong to neither group")
        return res
    y = "ctfp" if r.estimator == "fe2sls_first" else r.outcome
    key = (y, r.endog, r.instruments, r.controls, r.absorb, r.cluster, r.split, r.level)
    if cache is not None and key in cache:
        return cache[key]
    if y not in panel.columns:
        raise _Skip(f"column {y} not in the analysis panel")
    res = fit_iv(frame, y, r.endog, list(r.instruments), exog=list(r.controls), absorb=r.absorb,
                 cluster=r.cluster, source="panel")
    if cache is not None:
        cache[key] = res
    return res


class _Skip(Exception):
    pass


def _cell(r: Replica, row: str, variable: str, res: PanelResult | None, pub: dict[str, Any] | None,
          note: str) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "table": r.table, "column": r.column, "row": row, "variable": variable, "spec": r.spec,
        "outcome": r.outcome, "kind": "stat" if not variable else "coef",
        "published_coef": None, "published_t": None, "published_stars": None,
        "replica_coef": None, "replica_se": None, "replica_t": None, "replica_p": None, "replica_stars": None,
        "replica_ci_low": None, "replica_ci_high": None, "nobs": None, "published_nobs": None,
        "same_sign": None, "same_stars": None, "published_in_ci": None, "note": note,
    }
    if pub is not None:
        rec["published_coef"] = _num(pub.get("coef"))
        rec["published_t"] = _num(pub.get("t"))
        rec["published_stars"] = int(pub["stars"]) if variable else None
    if res is None:
        return rec
    rec["nobs"] = res.nobs
    if variable:
        if r.estimator == "fe2sls_first":
            fs = res.first_stage
            if fs is None:
                rec["note"] = "no first stage (more than one endogenous regressor)"
                return rec
            j = fs.names.index(variable)
            coef, se, t, p = float(fs.coef[j]), float(fs.se[j]), float(fs.t[j]), float(fs.p[j])
            df = res.df_t
        else:
            if variable not in res.names:
                rec["note"] = f"{variable} omitted (collinear) in this sample; " + "; ".join(res.notes)
                return rec
            j = res.index(variable)
            coef, se, t, p = float(res.coef[j]), float(res.se[j]), float(res.t[j]), float(res.p[j])
            df = res.df_t
        q = _t_ppf(0.975, df)
        rec.update(replica_coef=coef, replica_se=se, replica_t=t, replica_p=p, replica_stars=stars(p),
                   replica_ci_low=coef - q * se, replica_ci_high=coef + q * se)
        if rec["published_coef"] is not None:
            pc = rec["published_coef"]
            rec["same_sign"] = bool(np.sign(pc) == np.sign(coef))
            rec["same_stars"] = rec["published_stars"] == rec["replica_stars"]
            rec["published_in_ci"] = bool(rec["replica_ci_low"] <= pc <= rec["replica_ci_high"])
    else:
        rec["replica_coef"] = _stat(row, res)
        if row == "R2":  # the R2 row is the overall (LSDV) R²; the within R² rides along
            rec["replica_r2_within"] = res.r2_within
    if res.notes and not rec["note"]:
        rec["note"] = "; ".join(res.notes)
    return rec


def _stat(row: str, res: PanelResult) -> float | None:
    d = res.diagnostics
    value = {"N": float(res.nobs), "R2": res.r2_overall, "R2_within": res.r2_within,
             "KP_LM": d.get("kp_rk_lm"), "KP_LM_p": d.get("kp_rk_lm_p"), "KP_F": d.get("kp_rk_wald_f")}.get(row)
    return None if value is None else float(value)


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if np.isfinite(f) else None


def _say(progress: bool, msg: str) -> None:
    if progress:
        print(f"ctfp replicate: {msg}", file=sys.stderr, flush=True)


def run_replicas(panel: pd.DataFrame, out_dir: str | Path, *, permutations: int = 1000, seed: int = DEFAULT_SEED,
                 progress: bool = True, permutation_level: str = "city") -> dict[str, Any]:
    """Fit every replica of Tables 2–6, run the Table 6 difference tests, write tables and JSON files."""
    out = Path(out_dir)
    pub = _published()
    pub_index: dict[tuple[str, str, str], dict[str, Any]] = {}
    if pub is not None:
        for rec in pub.to_dict("records"):
            pub_index[(str(rec["table"]), str(rec["column"]), str(rec["row"]))] = rec
    cache: dict[tuple, PanelResult] = {}
    fits: dict[str, PanelResult] = {}
    cells: list[dict[str, Any]] = []
    for r in REPLICAS:
        res: PanelResult | None = None
        note = ""
        try:
            res = fit_replica(panel, r, cache)
            fits[r.spec] = res
        except (_Skip, CtfpError) as err:
            note = f"not estimated: {err}"
            _say(True, f"{r.spec} (Table {r.table} {r.column}) {note}")
        for label, var in r.rows:
            variable = var or r.treatment
            cells.append(_cell(r, label, variable, res, pub_index.get((r.table, r.column, label)), note))
        for label in r.stats:
            cells.append(_cell(r, label, "", res, pub_index.get((r.table, r.column, label)), note))
    _say(progress, f"{len(fits)} of {len(REPLICAS)} regressions estimated; Table 6 difference tests "
                   f"({permutations} {permutation_level}-level permutations each)")
    diffs = group_differences(panel, fits, permutations=permutations, seed=seed, level=permutation_level,
                              progress=progress)
    for dif in diffs:
        if dif["published_column"]:
            key = ("6", dif["published_column"], "diff_p")
            p = pub_index.get(key)
            dif["published_p"] = _num(p.get("coef")) if p else None
            cells.append({
                "table": "6", "column": dif["published_column"], "row": "diff_p", "variable": "ai",
                "spec": "T6d1", "outcome": "ctfp", "kind": "stat",
                "published_coef": _num(p.get("coef")) if p else None, "published_t": None, "published_stars": None,
                "replica_coef": dif["perm_p_one_sided"], "replica_se": None, "replica_t": None, "replica_p": None,
                "replica_stars": None, "replica_ci_low": None, "replica_ci_high": None, "nobs": dif["n_1"] + dif["n_0"]
                if dif["n_1"] is not None else None, "published_nobs": None, "same_sign": None, "same_stars": None,
                "published_in_ci": None, "note": dif.get("note", "") or
                f"Fisher permutation, {dif['permutations']} {dif['permutation_level']}-level, one-sided"})
    for c in cells:
        if c["row"] == "N" and c["published_coef"] is not None:
            c["published_nobs"] = int(c["published_coef"])
        elif c["kind"] == "coef":
            n_pub = pub_index.get((c["table"], c["column"], "N"))
            c["published_nobs"] = int(n_pub["coef"]) if n_pub else None
    files = [write_json(out / "cells.json", cells), write_json(out / "group_diffs.json", diffs)]
    for t in TABLES:
        rows = [c for c in cells if c["table"] == t]
        files.append(write_csv(out / f"table{t}.csv", _table_frame(rows)))
        files.append(write_text(out / f"table{t}.md", _markdown(t, rows)))
    _say(progress, f"wrote {len(files)} files to {out}")
    return {"cells": cells, "group_diffs": diffs, "fits": fits, "files": files}


def group_differences(panel: pd.DataFrame, fits: dict[str, PanelResult], *, permutations: int, seed: int,
                      level: str = "city", progress: bool = False) -> list[dict[str, Any]]:
    """Table 6: for each split, both groups' AI slopes, the permutation, Chow and SUEST tests."""
    x = ["ai", *CONTROLS]
    out: list[dict[str, Any]] = []
    grid = None
    for k, gdif in enumerate(GROUP_DIFFS):
        r1 = next(r for r in REPLICAS if r.split == gdif.split and r.level == 1)
        r0 = next(r for r in REPLICAS if r.split == gdif.split and r.level == 0)
        f1, f0 = fits.get(r1.spec), fits.get(r0.spec)
        rec: dict[str, Any] = {
            "split": gdif.split, "coef_1": None, "coef_0": None, "se_1": None, "se_0": None, "n_1": None,
            "n_0": None, "diff": None, "perm_p_one_sided": None, "perm_p_two_sided": None,
            "perm_p_one_sided_plus1": None, "perm_p_two_sided_plus1": None, "permutations": permutations,
            "permutation_level": level, "seed": seed + k, "perm_invalid": None, "chow_p": None,
            "chow_wald_f": None, "chow_wald_p": None, "suest_p": None, "suest_se": None, "published_p": None,
            "published_column": gdif.published_column, "note": "",
        }
        out.append(rec)
        if f1 is None or f0 is None:
            rec["note"] = "split regressions not estimated on this panel"
            continue
        j1, j0 = f1.index("ai"), f0.index("ai")
        rec.update(coef_1=float(f1.coef[j1]), coef_0=float(f0.coef[j0]), se_1=float(f1.se[j1]),
                   se_0=float(f0.se[j0]), n_1=f1.nobs, n_0=f0.nobs, diff=float(f1.coef[j1] - f0.coef[j0]))
        try:
            if grid is None:
                grid = gd.build_grid(panel, "ctfp", x)
            labels = gd.grid_labels(panel, gdif.split, grid)
            pt = gd.permutation_test(grid, labels, reps=permutations, seed=seed + k, level=level)
            rec.update(perm_p_one_sided=pt.p_one_sided, perm_p_two_sided=pt.p_two_sided,
                       perm_p_one_sided_plus1=pt.p_one_sided_plus1, perm_p_two_sided_plus1=pt.p_two_sided_plus1,
                       perm_invalid=pt.n_invalid)
            chow, name = gd.chow_interacted(panel, "ctfp", x, gdif.split)
            rec["chow_p"] = float(chow.p[chow.index(name)])
            rec["chow_wald_f"], rec["chow_wald_p"] = gd.chow_wald(chow, x, gdif.split)
            s1 = fit_ols(split_frame(panel, r1), "ctfp", x, absorb=r1.absorb, cluster=r1.cluster, keep_resid=True)
            s0 = fit_ols(split_frame(panel, r0), "ctfp", x, absorb=r0.absorb, cluster=r0.cluster, keep_resid=True)
            su = gd.suest(s1, s0, panel.loc[s1.rows, "city"].to_numpy(), panel.loc[s0.rows, "city"].to_numpy(),
                          "ai")
            rec["suest_p"], rec["suest_se"] = su["p"], su["se"]
        except CtfpError as err:
            rec["note"] = f"difference tests not run: {err}"
            _say(True, f"{gdif.split}: {rec['note']}")
        _say(progress, f"{gdif.split}: diff {rec['diff']:+.4f}, permutation p (one-sided) "
                       f"{rec['perm_p_one_sided']}, Chow p {rec['chow_p']}, SUEST p {rec['suest_p']}")
    return out


# ------------------------------------------------------------------------------------------------ tables


def _fmt_coef(coef: float | None, n_stars: int | None, t: float | None) -> str:
    if coef is None:
        return ""
    text = f"{coef:.3g}" if 0 < abs(coef) < 1e-3 else f"{coef:.4f}"
    text += "*" * (n_stars or 0)
    if t is not None:
        text += f" ({t:.2f})"
    return text


def _fmt_stat(row: str, v: float | None) -> str:
    if v is None:
        return ""
    if row == "N":
        return f"{v:.0f}"
    return f"{v:.4f}" if row in ("R2", "R2_within", "KP_LM_p", "diff_p") else f"{v:.3f}"


def _agreement(c: dict[str, Any]) -> str:
    if c["replica_coef"] is None:
        return "not estimated" if c["published_coef"] is not None else ""
    if c["published_coef"] is None:
        return "not published"
    if c["kind"] == "coef":
        parts = ["same sign" if c["same_sign"] else "sign differs",
                 "same stars" if c["same_stars"] else "stars differ"]
        return ", ".join(parts)
    if c["row"] == "N":
        return "same N" if int(c["replica_coef"]) == int(c["published_coef"]) else "N differs"
    if c["row"] in ("KP_LM_p", "diff_p"):
        same = (c["replica_coef"] < 0.1) == (c["published_coef"] < 0.1)
        return "same 10% verdict" if same else "10% verdict differs"
    return ""


def _table_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    recs = []
    for c in rows:
        coef = c["kind"] == "coef"
        recs.append({
            "spec": c["spec"], "column": c["column"], "row": c["row"], "variable": c["variable"],
            "published": _fmt_coef(c["published_coef"], c["published_stars"], c["published_t"]) if coef
            else _fmt_stat(c["row"], c["published_coef"]),
            "replica": _fmt_coef(c["replica_coef"], c["replica_stars"], c["replica_t"]) if coef
            else _fmt_stat(c["row"], c["replica_coef"]),
            "agreement": _agreement(c),
            "published_coef": c["published_coef"], "published_t": c["published_t"],
            "replica_coef": c["replica_coef"], "replica_se": c["replica_se"], "replica_t": c["replica_t"],
            "replica_p": c["replica_p"], "nobs": c["nobs"], "note": c["note"],
        })
    return pd.DataFrame(recs)


def _markdown(table: str, rows: list[dict[str, Any]]) -> str:
    frame = _table_frame(rows)
    columns = list(dict.fromkeys(frame["column"]))
    labels = list(dict.fromkeys(frame["row"]))
    head = "| |" + "".join(f" {c} published | {c} replica | {c} agreement |" for c in columns)
    sep = "|---|" + "---|---|---|" * len(columns)
    lines = [f"# Table {table}: published | replica | agreement", "",
             "Coefficients with stars (Stata: *** p<0.01, ** p<0.05, * p<0.1; replica p from t with G−1 df) "
             "and t-values in parentheses. R2 is the overall (LSDV) R² as reghdfe prints it.", "", head, sep]
    for lab in labels:
        line = f"| {lab} |"
        for col in columns:
            hit = frame[(frame["row"] == lab) & (frame["column"] == col)]
            if hit.empty:
                line += " | | |"
            else:
                h = hit.iloc[0]
                line += f" {h['published']} | {h['replica']} | {h['agreement']} |"
        lines.append(line)
    notes = sorted({n for n in frame["note"] if n})
    if notes:
        lines += ["", "Notes:", *(f"- {n}" for n in notes)]
    return "\n".join(lines) + "\n"
