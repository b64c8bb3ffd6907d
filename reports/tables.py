"""Report tables: one `Table` per table of the report, with the printed text of every cell and its number.

Each cell that shows a number carries `key` (a stable id such as `t6.(1).AI.replica_coef`) and `value` (the
unrounded number it prints); the HTML writes them as data attributes so a test can check the page against the
run folder. `frame` holds the same numbers unrounded for tables/<id>.csv.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ctfp.reports import posterior as post
from ctfp.reports.i18n import SPLITS, _
from ctfp.reports.regtable import RegTable, build_regtable
from ctfp.reports.runfolder import RunFolder
from ctfp.reports.style import (
    CI_LABEL,
    fmt_coef,
    fmt_int,
    fmt_interval,
    fmt_num,
    fmt_p,
    fmt_t,
    is_missing,
    level_label,
    mark,
    split_label,
    stars_from_p,
)
from ctfp.reports.tabledata import TableData


@dataclass
class Cell:
    text: str
    key: str | None = None
    value: Any = None
    cls: str = ""
    sub: str = ""  # second line (t-value in parentheses)
    span: int = 1  # colspan


@dataclass
class Table:
    id: str
    caption: str
    columns: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    frame: pd.DataFrame | None = None
    note: str = ""


def _cols(*names: str) -> list[str]:
    """Column headings in the report's language."""
    return [_(n) for n in names]


def num(x: Any) -> float | None:
    return None if is_missing(x) else float(x)


def _c(text: str, key: str | None = None, value: Any = None, cls: str = "num", sub: str = "") -> Cell:
    return Cell(text, key, num(value) if isinstance(value, int | float | np.number) or value is None else value,
                cls, sub)


def _mark_cell(ok: Any, key: str) -> Cell:
    cls = "mark" + ("" if is_missing(ok) else " ok" if ok else " bad")
    return Cell(mark(ok), key, None if is_missing(ok) else bool(ok), cls)


# ---------------------------------------------------------------------------------------------- data
def table1(run: RunFolder) -> Table | None:
    """Table 1 as the pipeline stored it (tables/table1.csv): beside the published one when it has them."""
    cmp = run.table1
    if cmp is None:
        return None
    from ctfp.data.table1 import DEFAULT_TOLERANCE

    if "mean_published" not in cmp.columns:  # a study without published moments: its own statistics
        t = Table("table1", _("Table 1 · Descriptive statistics"), _cols("variable", "N", "mean", "sd", "min", "max"),
                  frame=cmp)
        for r in cmp.itertuples(index=False):
            t.rows.append([Cell(str(r.label), cls="label"), *[
                _c((fmt_int if stat == "N" else fmt_num)(getattr(r, stat)), f"t1.{r.variable}.{stat}",
                   getattr(r, stat)) for stat in ("N", "mean", "sd", "min", "max")]])
        return t
    t = Table("table1", _("Table 1 · Descriptive statistics: published | this panel"),
              _cols("variable", "N pub.", "N", "mean pub.", "mean", "sd pub.", "sd", "min pub.", "min", "max pub.",
                    "max", "agreement"), frame=cmp,
              note=_("agreement ✓ when mean and sd lie within {tol} of the published values.",
                     tol=f"{DEFAULT_TOLERANCE:.0%}"))
    for r in cmp.itertuples(index=False):
        v = r.variable
        row = [Cell(r.label, cls="label")]
        for stat in ("N", "mean", "sd", "min", "max"):
            pub, own = getattr(r, f"{stat}_published"), getattr(r, stat)
            f = fmt_int if stat == "N" else fmt_num
            row += [_c(f(pub), f"t1.{v}.{stat}_published", pub), _c(f(own), f"t1.{v}.{stat}", own)]
        row.append(_mark_cell(not r.flag, f"t1.{v}.agree"))
        t.rows.append(row)
    return t


def panel_facts(run: RunFolder) -> dict[str, Any] | None:
    frame = run.panel if run.panel is not None else run.scores
    if frame is None:
        return None
    n_city, n_year = frame["city"].nunique(), frame["year"].nunique()
    return {"nobs": len(frame), "cities": n_city, "years": n_year, "first": int(frame["year"].min()),
            "last": int(frame["year"].max()), "balanced": len(frame) == n_city * n_year}


# ---------------------------------------------------------------------------------------------- CTFP
def ctfp_tables(run: RunFolder) -> dict[str, Table] | None:
    df = run.ctfp_frame()
    if df is None:
        return None
    df = df.assign(efficient=df["ctfp"] >= 1 - post.ONE_TOL)
    name = df["city_name"] if "city_name" in df.columns else df["city"].astype(str)
    df = df.assign(name=name)
    by_city = (df.groupby(["city", "name"], sort=False)
               .agg(mean_ctfp=("ctfp", "mean"), sd_ctfp=("ctfp", "std"), years_efficient=("efficient", "sum"))
               .reset_index().sort_values("mean_ctfp", ascending=False, kind="stable").reset_index(drop=True))
    by_city.insert(0, "rank", np.arange(1, len(by_city) + 1))
    by_year = (df.groupby("year").agg(mean_ctfp=("ctfp", "mean"), sd_ctfp=("ctfp", "std"),
                                      share_efficient=("efficient", "mean"), cities=("city", "nunique"))
               .reset_index())
    eff = df[df["efficient"]].groupby(["city", "name"]).agg(
        years=("year", lambda s: ", ".join(str(int(y)) for y in sorted(s))), n_years=("year", "size"))
    eff = eff.reset_index().sort_values(["n_years", "city"], ascending=[False, True]).reset_index(drop=True)

    part = "" if len(by_city) <= 20 else _(" (top and bottom 10; all in the CSV)")
    rank = Table("ctfp_by_city", _("Mean CTFP by city") + part, _cols("rank", "city", "mean CTFP", "sd",
                                                                        "years at 1"), frame=by_city)
    show = by_city if len(by_city) <= 20 else pd.concat([by_city.head(10), by_city.tail(10)])
    for r in show.itertuples(index=False):
        rank.rows.append([_c(str(r.rank)), Cell(str(r.name), cls="label"),
                          _c(fmt_num(r.mean_ctfp), f"ctfp.city.{r.city}.mean", r.mean_ctfp),
                          _c(fmt_num(r.sd_ctfp), None, r.sd_ctfp), _c(str(int(r.years_efficient)))])
    year = Table("ctfp_by_year", _("CTFP by year"), _cols("year", "cities", "mean CTFP", "sd", "share at 1"),
                 frame=by_year)
    for r in by_year.itertuples(index=False):
        year.rows.append([_c(str(int(r.year))), _c(str(int(r.cities))),
                          _c(fmt_num(r.mean_ctfp), f"ctfp.year.{int(r.year)}.mean", r.mean_ctfp),
                          _c(fmt_num(r.sd_ctfp), None, r.sd_ctfp),
                          _c(f"{r.share_efficient:.1%}", f"ctfp.year.{int(r.year)}.share1", r.share_efficient)])
    effic = Table("efficient_cities", _("Cities on the SBM frontier (CTFP = 1)"),
                  _cols("city", "years at 1", "years"), frame=eff)
    for r in eff.itertuples(index=False):
        effic.rows.append([Cell(str(r.name), cls="label"), _c(str(r.n_years), f"ctfp.eff.{r.city}", r.n_years),
                           Cell(r.years, cls="text")])
    return {"by_city": rank, "by_year": year, "efficient": effic}


def sbm_settings(run: RunFolder) -> Table | None:
    rec = run.run or {}
    spec = rec.get("spec") or {}
    sbm = spec.get("sbm") if isinstance(spec, dict) else None
    sbm = sbm if isinstance(sbm, dict) else rec.get("sbm")
    study = rec.get("study") if isinstance(rec.get("study"), dict) else {}
    measures = [m for m in study.get("measure") or [] if isinstance(m, dict)]
    if not isinstance(sbm, dict) and measures:  # the study's [[measure]] of the score shown (ctfp), else the first
        sbm = next((m for m in measures if m.get("name") == "ctfp"), measures[0])
    if not isinstance(sbm, dict):
        return None
    items = [(k, v) for k, v in sbm.items() if not isinstance(v, dict)]
    t = Table("sbm_settings", _("SBM settings of this run"), _cols("setting", "value"),
              frame=pd.DataFrame(items, columns=["setting", "value"]).astype(str))
    for k, v in items:
        text = ", ".join(map(str, v)) if isinstance(v, list) else str(v)
        t.rows.append([Cell(k, cls="label"), Cell(text, f"sbm.{k}", text, "text")])
    return t


# ---------------------------------------------------------------------------------------------- replicas
@dataclass
class ReplicaTable:
    """One table of the study: the paper layout (published | replica pairs) and, where the study has published
    values, the verdict of every published cell."""

    layout: RegTable
    verdicts: Table | None


def _fmt_stat(term: str, v: Any) -> str:
    if is_missing(v):
        return "–"
    if term == "N":
        return fmt_int(v)
    if term.endswith("_p"):
        return fmt_p(v)
    return fmt_num(v, 4 if term.startswith("R2") else 3)


def _printed_digits(term: str) -> int:
    return 0 if term == "N" else 4 if term.startswith("R2") or term.endswith("_p") else 3


def replica_tables(data: TableData | None, lang: str) -> tuple[list[ReplicaTable], dict[str, int]]:
    """Every table of the run in the paper layout, with its published cells judged (sign, stars, inside the
    replica's 95% CI; statistics: equal to the printed precision). Reads the run's tables only."""
    tally = {"coef_cells": 0, "same_sign": 0, "same_stars": 0, "in_ci": 0}
    out: list[ReplicaTable] = []
    if data is None:
        return out, tally
    for tab in data.table_ids:
        layout = build_regtable(data.replicas, data.columns_for(lang), tab, tests=data.tests, lang=lang,
                                labels=data.labels, title=data.title(tab, lang), note=data.notes.get(tab, ""),
                                unit=data.unit, time=data.time)
        rep = data.replicas[data.replicas["table"].astype(str) == tab]
        pub = rep[rep["published_estimate"].notna()] if "published_estimate" in rep else rep.iloc[0:0]
        if pub.empty:
            out.append(ReplicaTable(layout, None))
            continue
        notes = "note" in pub and pub["note"].astype("string").fillna("").str.strip().ne("").any()
        t = Table(f"verdicts_{tab}", _("{table}: every published cell against the replica", table=layout.title),
                  _cols("column", "row", "published", "replica", "replica 95% CI", "sign", "stars", "pub. in CI")
                  + (_cols("note") if notes else []), frame=pub.reset_index(drop=True))
        coef = pub[pub["kind"].astype(str) == "coef"]
        for r in pub.to_dict("records"):
            key = f"{tab}.{r['column']}.{r['term']}"
            label = data.labels.get(str(r["term"]), str(r["term"]))
            if str(r["kind"]) == "stat":
                pv, rv = r.get("published_estimate"), r.get("estimate")
                close = None
                if not (is_missing(pv) or is_missing(rv)):
                    close = abs(float(rv) - float(pv)) <= 0.5 * 10 ** -_printed_digits(str(r["term"])) + 1e-12
                verdict = _mark_cell(close, f"{key}.close")
                verdict.text += (" " + _("equal as printed")) if close else (" " + _("differs from print")) \
                    if close is not None else ""
                verdict.span = 3
                row = [Cell(str(r["column"]), cls="label"), Cell(label, cls="label"),
                       _c(_fmt_stat(str(r["term"]), pv), f"{key}.v_published", pv),
                       _c(_fmt_stat(str(r["term"]), rv), f"{key}.v_estimate", rv), Cell("", cls="num"), verdict]
            else:
                tally["coef_cells"] += 1
                for flag, name in (("sign_agrees", "same_sign"), ("stars_agree", "same_stars"),
                                   ("published_in_ci", "in_ci")):
                    tally[name] += bool(_truth(r.get(flag)))
                row = [Cell(str(r["column"]), cls="label"), Cell(label, cls="label"),
                       _c(fmt_coef(r["published_estimate"], r.get("published_stars")), f"{key}.v_published",
                          r["published_estimate"], sub=fmt_t(r.get("published_t"))),
                       _c(fmt_coef(r["estimate"], r.get("stars")), f"{key}.v_estimate", r["estimate"],
                          sub=fmt_t(r.get("t"))),
                       _c(fmt_interval(r.get("ci_low"), r.get("ci_high")), f"{key}.v_ci_low", r.get("ci_low")),
                       _mark_cell(_truth(r.get("sign_agrees")), f"{key}.sign_agrees"),
                       _mark_cell(_truth(r.get("stars_agree")), f"{key}.stars_agree"),
                       _mark_cell(_truth(r.get("published_in_ci")), f"{key}.published_in_ci")]
            if notes:
                row.append(Cell(str(r.get("note") or "") if not is_missing(r.get("note")) else "", cls="text small"))
            t.rows.append(row)
        if len(coef):
            n = len(coef)
            t.caption += _(" — same sign {a}/{n}, same stars {b}/{n}, published in CI {c}/{n}",
                           a=int(sum(bool(_truth(v)) for v in coef["sign_agrees"])),
                           b=int(sum(bool(_truth(v)) for v in coef["stars_agree"])),
                           c=int(sum(bool(_truth(v)) for v in coef["published_in_ci"])), n=n)
        out.append(ReplicaTable(layout, t))
    return out, tally


def _truth(v: Any) -> bool | None:
    """A verdict read from CSV: True/False, "True"/"False", 1/0, or missing."""
    if is_missing(v):
        return None
    if isinstance(v, str):
        return {"true": True, "false": False, "1": True, "0": False, "1.0": True, "0.0": False}.get(v.lower())
    return bool(v)


# ---------------------------------------------------------------------------------------------- posterior effects
def ame_table(run: RunFolder) -> Table | None:
    """The average effect of AI on E[CTFP] of every fit, beside the published and replica Table 2 col (2)."""
    rows = []
    for name, fit in sorted(run.models.items()):
        res = post.scalar_summary(fit) if fit.has_posterior else None
        if res is not None:
            rows.append({"model": name, "likelihood": fit.likelihood, **res})
    if not rows:
        return None
    frame = pd.DataFrame(rows)
    ref = run.tables.headline() if run.tables is not None else None
    t = Table("ame", _("Average effect of AI on E[CTFP] by fit: posterior mean, {ci}, P(> 0)", ci=_(CI_LABEL)),
              _cols("model", "likelihood", "posterior mean", "sd", "95% ETI", "P(AME > 0)"), frame=frame)
    if ref is not None:
        t.note = _("{table} {column}, {label}: published {pub} {pub_t}, replica {rep} {rep_t}, 95% CI {ci}. Censored "
                   "and ordered-beta effects are average marginal effects on E[CTFP], comparable with the linear "
                   "coefficients.", table=ref["table"], column=ref["column"], label=ref["label"],
                   pub=fmt_coef(ref.get("published_estimate"), ref.get("published_stars")),
                   pub_t=fmt_t(ref.get("published_t")), rep=fmt_coef(ref["estimate"], ref.get("stars")),
                   rep_t=fmt_t(ref.get("t")), ci=fmt_interval(ref.get("ci_low"), ref.get("ci_high")))
        ar1 = [n for n, f in sorted(run.models.items()) if ((f.summary or {}).get("spec") or {}).get("serial") == "ar1"]
        if ar1:
            t.note += " " + _("{models}: AR(1) errors within unit, so the posterior weights the observations as "
                              "feasible GLS does (quasi-differenced within each unit, noisy units weighing less) "
                              "while the replica is OLS with clustered standard errors. Both estimate the slope, "
                              "with different weights: their point estimates may differ by more than their "
                              "precision suggests without the data disagreeing, and the posterior sd may be smaller "
                              "than the clustered SE. Compare signs and intervals, not digits.",
                              models=", ".join(ar1))
    for r in rows:
        k = f"ame.{r['model']}"
        t.rows.append([Cell(r["model"], cls="label"), Cell(r["likelihood"], cls="text"),
                       _c(fmt_num(r["mean"]), f"{k}.mean", r["mean"]), _c(fmt_num(r["sd"]), f"{k}.sd", r["sd"]),
                       _c(fmt_interval(r["lo"], r["hi"]), f"{k}.lo", r["lo"]),
                       _c(fmt_p(r["p_gt0"]), f"{k}.p_gt0", r["p_gt0"])])
    return t


# ---------------------------------------------------------------------------------------------- heterogeneity
def split_frequentist(run: RunFolder) -> pd.DataFrame | None:
    """split, level, column, coef, t, stars, ci_low, ci_high, published_coef, published_t, published_stars of the
    treatment in every model estimated on a `<split> == 0|1` sample (columns.csv), for the heterogeneity
    section; the first table holding such models."""
    data = run.tables
    splits = data.split_columns() if data is not None else None
    if data is None or splits is None:
        return None
    first = splits["table"].iloc[0]
    rep = data.replicas.set_index(["table", "column", "term"])
    rows = []
    for r in splits[splits["table"] == first].itertuples(index=False):
        key = (r.table, r.column, r.treatment)
        if key not in rep.index:
            continue
        c = rep.loc[key]
        rows.append({"column": r.column, "split": r.split, "level": str(r.level), "coef": num(c["estimate"]),
                     "t": num(c.get("t")), "stars": c.get("stars"), "ci_low": num(c.get("ci_low")),
                     "ci_high": num(c.get("ci_high")), "published_coef": num(c.get("published_estimate")),
                     "published_t": num(c.get("published_t")), "published_stars": c.get("published_stars")})
    return pd.DataFrame(rows) if rows else None


def split_tests(run: RunFolder) -> pd.DataFrame | None:
    """The between-group difference tests as the heterogeneity section reads them: replicas/group_diffs.json of
    old run folders, else tables/tests.csv mapped to splits through the models' samples."""
    if run.diffs:
        return pd.DataFrame(run.diffs)
    data = run.tables
    splits = data.split_columns() if data is not None else None
    if data is None or data.tests is None or splits is None:
        return None
    where = {(r.table, r.column): r.split for r in splits.itertuples(index=False)}
    rows = []
    for r in data.tests.to_dict("records"):
        split = where.get((str(r["table"]), str(r["column_a"])))
        if split is None or str(r.get("method", "permutation")) != "permutation":
            continue
        rows.append({"split": split, "diff": num(r.get("diff")), "perm_p_one_sided": num(r.get("p")),
                     "perm_p_two_sided": num(r.get("p_two_sided")), "published_p": num(r.get("published_p"))})
    return pd.DataFrame(rows) if rows else None


def _split_order(frame: pd.DataFrame, *, with_level: bool) -> pd.DataFrame:
    """The paper's order of splits (Table 6 columns), group 1 before group 0; unknown splits last."""
    order = {s: i for i, s in enumerate(dict.fromkeys(SPLITS))}
    key = frame["split"].map(lambda s: order.get(s, len(order)))
    frame = frame.assign(_k=key, _l=frame["level"].astype(str) != "1" if with_level else 0)
    return frame.sort_values(["_k", "_l", "split"], kind="stable").drop(columns=["_k", "_l"]).reset_index(drop=True)


def hetero_tables(run: RunFolder) -> dict[str, Table]:
    out: dict[str, Table] = {}
    fit = run.model("hetero")
    slopes = post.group_slopes(fit) if fit is not None else None
    freq = split_frequentist(run)
    if slopes is not None or freq is not None:
        base = slopes if slopes is not None else freq[["split", "level"]]
        merged = base.merge(freq, on=["split", "level"], how="outer") if (slopes is not None and freq is not None) \
            else base if freq is None else freq
        merged = _split_order(merged, with_level=True)
        t = Table("group_slopes", _("AI effect by group: posterior (mean, {ci}) | replica | published",
                                    ci=_(CI_LABEL)),
                  _cols("split", "group", "posterior mean", "posterior 95% ETI", "replica", "replica 95% CI",
                        "published"), frame=merged)
        for r in merged.to_dict("records"):
            k = f"slope.{r['split']}.{r['level']}"
            t.rows.append([
                Cell(split_label(r["split"]), cls="label"), Cell(level_label(r["split"], r["level"]), cls="label"),
                _c(fmt_num(r.get("mean")), f"{k}.mean", r.get("mean")),
                _c(fmt_interval(r.get("lo"), r.get("hi")), f"{k}.lo", r.get("lo")),
                _c(fmt_coef(r.get("coef"), r.get("stars")), f"{k}.replica_coef", r.get("coef"), sub=fmt_t(r.get("t"))),
                _c(fmt_interval(r.get("ci_low"), r.get("ci_high")), f"{k}.replica_ci_low", r.get("ci_low")),
                _c(fmt_coef(r.get("published_coef"), r.get("published_stars")), f"{k}.published_coef",
                   r.get("published_coef"), sub=fmt_t(r.get("published_t")))])
        out["slopes"] = t
    diffs = post.slope_diffs(fit) if fit is not None else None
    freq_d = split_tests(run)
    if diffs is not None or freq_d is not None:
        if diffs is not None and freq_d is not None:
            merged = diffs.merge(freq_d, on="split", how="outer", suffixes=("", "_replica"))
        else:
            merged = diffs if diffs is not None else freq_d
        merged = _split_order(merged, with_level=False)
        t = Table("group_differences",
                  _("Between-group difference (group 1 − group 0): posterior ({ci}) | replica permutation test",
                    ci=_(CI_LABEL)),
                  _cols("split", "posterior mean", "posterior 95% ETI", "P(diff > 0)", "replica diff",
                        "perm. p (1-sided)", "perm. p (2-sided)", "published p"), frame=merged)
        for r in merged.to_dict("records"):
            k = f"diff.{r['split']}"
            rep_diff = r.get("diff")
            t.rows.append([
                Cell(split_label(r["split"]), cls="label"),
                _c(fmt_num(r.get("mean")), f"{k}.mean", r.get("mean")),
                _c(fmt_interval(r.get("lo"), r.get("hi")), f"{k}.lo", r.get("lo")),
                _c(fmt_p(r.get("p_gt0")), f"{k}.p_gt0", r.get("p_gt0"), cls="num strong"),
                _c(fmt_coef(rep_diff, stars_from_p(r.get("perm_p_two_sided"))), f"{k}.replica_diff", rep_diff),
                _c(fmt_p(r.get("perm_p_one_sided")), f"{k}.perm_p_one_sided", r.get("perm_p_one_sided")),
                _c(fmt_p(r.get("perm_p_two_sided")), f"{k}.perm_p_two_sided", r.get("perm_p_two_sided")),
                _c(fmt_p(r.get("published_p")), f"{k}.published_p", r.get("published_p"))])
        out["diffs"] = t
    return out


# ---------------------------------------------------------------------------------------------- model checking
def diagnostics_table(run: RunFolder) -> Table | None:
    rows = []
    for name, fit in sorted(run.models.items()):
        s = fit.summary or {}
        d, gate = s.get("diagnostics") or {}, s.get("gate") or {}
        rows.append({"model": name, "likelihood": fit.likelihood, "max_rhat": num(d.get("max_rhat")),
                     "min_ess_bulk": num(d.get("min_ess_bulk")), "min_ess_tail": num(d.get("min_ess_tail")),
                     "divergences": num(d.get("divergences")), "gate_passed": gate.get("passed"),
                     "gate_messages": "; ".join(gate.get("messages") or [])})
    if not rows:
        return None
    frame = pd.DataFrame(rows)
    t = Table("diagnostics", _("Sampler diagnostics and the gate (R-hat ≤ 1.01, bulk and tail ESS ≥ 400, no "
                                 "divergences)"),
              _cols("model", "likelihood", "max R-hat", "min ESS bulk", "min ESS tail", "divergences", "gate", "why"),
              frame=frame)
    for r in rows:
        k = f"diag.{r['model']}"
        t.rows.append([Cell(r["model"], cls="label"), Cell(r["likelihood"], cls="text"),
                       _c(fmt_num(r["max_rhat"], 3), f"{k}.max_rhat", r["max_rhat"]),
                       _c(fmt_int(r["min_ess_bulk"]), f"{k}.min_ess_bulk", r["min_ess_bulk"]),
                       _c(fmt_int(r["min_ess_tail"]), f"{k}.min_ess_tail", r["min_ess_tail"]),
                       _c(fmt_int(r["divergences"]), f"{k}.divergences", r["divergences"]),
                       _mark_cell(r["gate_passed"], f"{k}.gate"), Cell(r["gate_messages"], cls="text small")])
    return t


def ppc_table(run: RunFolder) -> tuple[Table | None, dict[str, dict[str, Any]]]:
    stats: dict[str, dict[str, Any]] = {}
    for name, fit in sorted(run.models.items()):
        res = post.ppc_ones(fit)
        if res is not None:
            stats[name] = res
    if not stats:
        return None, stats
    frame = pd.DataFrame([{"model": n, "likelihood": run.models[n].likelihood, "observed_share1": s["observed"],
                           "replicated_share1_mean": s["mean"], "replicated_share1_lo": s["lo"],
                           "replicated_share1_hi": s["hi"], "share_above1": s["above_one"]}
                          for n, s in stats.items()])
    t = Table("ppc_mass_at_one", _("Posterior predictive check: share of observations with CTFP = 1"),
              _cols("model", "likelihood", "observed", "replicated (mean)", "replicated 95% interval",
                    "replicated > 1"), frame=frame)
    for r in frame.to_dict("records"):
        k = f"ppc.{r['model']}"
        t.rows.append([Cell(r["model"], cls="label"), Cell(r["likelihood"], cls="text"),
                       _c(f"{r['observed_share1']:.3f}", f"{k}.observed", r["observed_share1"]),
                       _c(f"{r['replicated_share1_mean']:.3f}", f"{k}.mean", r["replicated_share1_mean"]),
                       _c(f"[{r['replicated_share1_lo']:.3f}, {r['replicated_share1_hi']:.3f}]", f"{k}.lo",
                          r["replicated_share1_lo"]),
                       _c(f"{r['share_above1']:.3f}", f"{k}.above1", r["share_above1"])])
    return t, stats


def loo_report_table(run: RunFolder) -> tuple[Table | None, list[str]]:
    frame, skipped = post.loo_table(run)
    if frame is None:
        return None, skipped
    t = Table("loo", _("LOO (PSIS) expected log predictive density; az.compare among bounded likelihoods only"),
              _cols("model", "likelihood", "mass at 1", "elpd_loo", "se", "p_loo", "k̂ > 0.7", "rank", "Δelpd",
                    "dse", "weight"), frame=frame,
              note=_("A normal likelihood is a density on the real line while the censored and ordered-beta "
                     "likelihoods put probability mass at CTFP = 1: their log scores are on different measures, so "
                     "only the bounded models are ranked against each other; the normal model's elpd is shown "
                     "for reference, not ranked."))
    if (frame["compared"] == "density").any():
        t.note += " " + _("Formula (bambi) models are ranked against the built-in models with iid normal errors "
                          "(Δelpd within that set); a model with AR(1) errors is not: its pointwise terms are "
                          "densities given the previous year's observation.")
    for r in frame.to_dict("records"):
        k = f"loo.{r['model']}"
        ranked = bool(r["compared"]) and not is_missing(r["rank"])
        t.rows.append([Cell(r["model"], cls="label"), Cell(r["likelihood"], cls="text"),
                       Cell(_("yes") if r["bounded"] else _("no"), f"{k}.bounded", bool(r["bounded"]), "text"),
                       _c(f"{r['elpd']:.1f}", f"{k}.elpd", r["elpd"]), _c(f"{r['se']:.1f}", f"{k}.se", r["se"]),
                       _c(f"{r['p_loo']:.1f}", f"{k}.p_loo", r["p_loo"]),
                       _c(str(r["bad_k"]), f"{k}.bad_k", r["bad_k"]),
                       _c(str(int(r["rank"]) + 1) if ranked else _("not ranked"), f"{k}.rank",
                          r["rank"] if ranked else None),
                       _c(f"{r['elpd_diff']:.1f}" if ranked else "–", f"{k}.elpd_diff", r["elpd_diff"] if ranked else None),
                       _c(f"{r['dse']:.1f}" if ranked else "–", None, r["dse"] if ranked else None),
                       _c(f"{r['weight']:.2f}" if ranked else "–", f"{k}.weight", r["weight"] if ranked else None)])
    return t, skipped


# ---------------------------------------------------------------------------------------------- validation
def _verdict_cls(v: Any) -> str:
    s = str(v or "").lower()
    if s.startswith(("not run", "not assessed", "n/a")) or "fail" in s:
        return "verdict mid"  # nothing judged, or judged on a fit that failed its gate
    if s.startswith(("not", "contradict", "reject")):
        return "verdict bad"
    if s.startswith(("support", "confirm", "replicat", "pass", "yes")):
        return "verdict ok"
    return "verdict mid"


def validation_table(run: RunFolder) -> Table | None:
    if not run.validation:
        return None
    frame = pd.DataFrame(run.validation)
    t = Table("validation", _("Published claims: the verdict of the replica and of the posterior"),
              _cols("claim", "published", "replica evidence", "replica verdict", "posterior evidence",
                    "posterior verdict"), frame=frame)
    for r in run.validation:
        k = f"claim.{r['claim_id']}"
        t.rows.append([Cell(str(r["claim"]), cls="label wide"), Cell(str(r.get("published", "")), cls="text"),
                       Cell(str(r.get("replica_evidence", "")), cls="text"),
                       Cell(str(r["replica_verdict"]), f"{k}.replica_verdict", str(r["replica_verdict"]),
                            _verdict_cls(r["replica_verdict"])),
                       Cell(str(r.get("posterior_evidence", "")), cls="text"),
                       Cell(str(r["posterior_verdict"]), f"{k}.posterior_verdict", str(r["posterior_verdict"]),
                            _verdict_cls(r["posterior_verdict"]))])
    return t
