"""The report's multiverse section and the specification-curve figure (Simonsohn, Simmons & Nelson 2020).

Formats what `ctfp multiverse` wrote into a run folder (`multiverse/results.csv`, `multiverse/summary.json`;
ctfp.inference.multiverse computes them): per estimand the summary (universes, median estimate and range, share
with the main specification's sign, share with the published sign, share significant) and the curve: the
estimates sorted with their intervals on top, below them which choice each universe made (one row per axis
value). Nothing is estimated here. `specification_curve(table, axes)` is also what `ctfp multiverse` saves as
`figures/specification_curve.png`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ctfp.reports import tables
from ctfp.reports.i18n import ZH, _
from ctfp.reports.style import fmt_num

SIGNIFICANT = 0.05
ESTIMAND_KEYS = ("table", "column", "bayes_model", "term")  # `model` is the axis of that name

ZH.update({
    "Multiverse: every combination of the measure's choices": "多元宇宙：测度各项设定的全部组合",
    "{n} universes over {axes} of measure `{measure}`: each universe scores the panel with its own DEA choices "
    "and re-estimates every followed estimand on it. The curve sorts the estimates, with their intervals; below "
    "it, the choices each universe made. Significant: p < 0.05 for a table coefficient, a posterior interval "
    "that excludes 0 for a Bayesian average effect.":
        "在测度 `{measure}` 的 {axes} 上共 {n} 个宇宙：每个宇宙以各自的 DEA 设定计算效率并重新估计所跟踪的每个估计量。"
        "曲线按估计值排序并给出区间；其下标出每个宇宙所作的选择。显著：表格系数 p < 0.05；贝叶斯平均效应的后验区间不含 0。",
    "Specification curve": "设定曲线",
    "Each dot is one universe's estimate with its interval; the ringed dot is the main specification.":
        "每个点为一个宇宙的估计值及其区间；带圈的点为主设定。",
    "Multiverse summary": "多元宇宙汇总",
    "estimand": "估计量", "universes": "宇宙数", "median": "中位数", "range": "范围",
    "main spec.": "主设定", "main sign": "同主设定符号", "published sign": "同已发表符号",
    "significant": "显著", "gate failed": "收敛检验未通过",
    "model {model}: AME of {term}": "模型 {model}：{term} 的平均边际效应",
    "{table} {column}: {term}": "{table} {column}：{term}",
    "universes, sorted by estimate": "宇宙（按估计值排序）",
    "main specification": "主设定",
    "red: p < 0.05": "红色：p < 0.05", "red: interval excludes 0": "红色：区间不含 0",
    "multiverse/results.csv is unreadable: {err}; rerun `ctfp multiverse STUDY.toml --out {root}`.":
        "multiverse/results.csv 无法读取：{err}；请重新运行 `ctfp multiverse STUDY.toml --out {root}`。",
})


def estimand_label(table: Any, column: Any, model: Any, term: Any) -> str:
    """How an estimand is named in the summary, the figure and the report (in the current language)."""
    if isinstance(model, str) and model:
        return _("model {model}: AME of {term}", model=model, term=term)
    return _("{table} {column}: {term}", table=table, column=column, term=term)


def significant(g: pd.DataFrame) -> pd.Series:
    """p < 0.05 for a table estimand; for a Bayesian one, an interval that excludes 0."""
    p = pd.to_numeric(g["p"], errors="coerce")
    lo = pd.to_numeric(g["ci_low"], errors="coerce")
    hi = pd.to_numeric(g["ci_high"], errors="coerce")
    bayes = g["bayes_model"].fillna("").astype(str).ne("")
    return pd.Series(np.where(bayes, (lo > 0) | (hi < 0), p < SIGNIFICANT), index=g.index)


def estimand_groups(table: pd.DataFrame) -> list[tuple[tuple[str, str, str, str], pd.DataFrame]]:
    """(table, column, model, term) -> its rows, in the order of results.csv."""
    keys = table[list(ESTIMAND_KEYS)].fillna("").astype(str)
    return [(k, table.loc[g.index]) for k, g in keys.groupby(list(ESTIMAND_KEYS), sort=False)]


def axes_of(table: pd.DataFrame) -> list[str]:
    """The axis columns of results.csv: those before `universe`."""
    cols = list(table.columns)
    return cols[: cols.index("universe")]


def specification_curve(table: pd.DataFrame, axes: list[str]) -> Any:
    """One panel pair per estimand: estimates sorted with their intervals (significant in red, the main
    specification ringed) over an indicator panel of the choices (one row per axis value)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    groups = estimand_groups(table)
    levels = [(a, v) for a in axes for v in dict.fromkeys(table[a].astype(str))]
    rows = max(1.2, 0.26 * len(levels))
    fig = plt.figure(figsize=(8.5, (3.3 + rows) * len(groups)), layout="constrained")
    subs = np.atleast_1d(fig.subfigures(len(groups), 1, hspace=0.04))
    for sub, ((t, c, model, term), g) in zip(subs, groups, strict=True):
        top, bottom = sub.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [2.6, rows]})
        g = g.assign(estimate=pd.to_numeric(g["estimate"], errors="coerce")).sort_values("estimate", kind="stable")
        x = np.arange(len(g))
        est = g["estimate"].to_numpy()
        lo = pd.to_numeric(g["ci_low"], errors="coerce").to_numpy()
        hi = pd.to_numeric(g["ci_high"], errors="coerce").to_numpy()
        sig = significant(g).to_numpy(dtype=bool)
        main = g["is_main"].astype(bool).to_numpy()
        colour = np.where(sig, "#c0392b", "#2c7fb8")
        top.vlines(x, lo, hi, colors=colour, lw=1.4, alpha=0.55)
        top.scatter(x, est, c=colour, s=22, zorder=3)
        top.scatter(x[main], est[main], facecolors="none", edgecolors="k", s=90, lw=1.2, zorder=4,
                    label=_("main specification"))
        top.axhline(0, color="k", lw=0.6)
        top.set_xlim(-0.6, len(g) - 0.4)
        what = _("red: interval excludes 0") if model else _("red: p < 0.05")
        top.set_title(f"{estimand_label(t, c, model, term)} ({what})", fontsize=9, loc="left")
        top.tick_params(labelsize=7, labelbottom=False, bottom=False)
        top.legend(fontsize=7, loc="upper left", frameon=False)
        for row, (a, v) in enumerate(levels):
            on = (g[a].astype(str) == v).to_numpy()
            bottom.scatter(x[on], np.full(on.sum(), row), marker="s", s=14, color="0.15")
            bottom.scatter(x[~on], np.full((~on).sum(), row), marker="s", s=14, color="0.88")
        bottom.set_yticks(range(len(levels)), [f"{a} = {_choice(v)}" for a, v in levels], fontsize=7)
        bottom.set_ylim(len(levels) - 0.5, -0.5)
        bottom.set_xlabel(_("universes, sorted by estimate"), fontsize=8)
        bottom.xaxis.set_major_locator(MaxNLocator(integer=True))
        bottom.tick_params(axis="x", labelsize=7)
        for spine in ("top", "right"):
            top.spines[spine].set_visible(False)
            bottom.spines[spine].set_visible(False)
    return fig


def _choice(v: str) -> str:
    """An axis value as a label: weights [1.0, 0.5] read as 1:0.5 (good : bad)."""
    if v.startswith("[") and v.endswith("]"):
        try:
            parts = json.loads(v)
        except ValueError:
            return v
        return ":".join(f"{float(p):g}" for p in parts)
    return v


def _pct(x: Any) -> str:
    return "–" if x is None or (isinstance(x, float) and not np.isfinite(x)) else f"{float(x):.0%}"


def summary_table(summary: dict[str, Any]) -> tables.Table:
    cols = [_("estimand"), _("universes"), _("median"), _("range"), _("main spec."), _("main sign"),
            _("published sign"), _("significant"), _("gate failed")]
    rows, recs = [], []
    for e in summary.get("estimands", []):
        label = estimand_label(e.get("table"), e.get("column"), e.get("bayes_model"), e.get("term"))
        rng = (f"[{fmt_num(e['min_estimate'])}, {fmt_num(e['max_estimate'])}]" if "min_estimate" in e else "–")
        vals = [label, f"{e.get('estimated', 0)} / {e.get('universes', 0)}", fmt_num(e.get("median_estimate")), rng,
                fmt_num(e.get("main_estimate")), _pct(e.get("share_main_sign")), _pct(e.get("share_published_sign")),
                _pct(e.get("share_significant")), str(e["gate_failed"]) if "gate_failed" in e else "–"]
        rows.append([tables.Cell(v, cls="" if i == 0 else "num") for i, v in enumerate(vals)])
        recs.append(dict(zip(["estimand", "universes", "median", "range", "main", "share_main_sign",
                              "share_published_sign", "share_significant", "gate_failed"], vals, strict=True)))
    return tables.Table("multiverse_summary", _("Multiverse summary"), cols, rows, pd.DataFrame(recs))


def section(root: Path, writer: Any) -> dict[str, Any] | None:
    """The multiverse section of a run folder as keyword arguments of the report's `Section` (id, title,
    figures, tables, facts with `lead`), or None when the folder holds no multiverse."""
    folder = Path(root) / "multiverse"
    res, summ = folder / "results.csv", folder / "summary.json"
    if not res.is_file():
        return None
    title = _("Multiverse: every combination of the measure's choices")
    try:
        table = pd.read_csv(res, dtype={"table": str, "column": str, "bayes_model": str, "term": str})
        summary = json.loads(summ.read_text()) if summ.is_file() else {}
        axes = axes_of(table)
    except (ValueError, OSError) as err:
        return {"id": "multiverse", "title": title,
                "missing": [_("multiverse/results.csv is unreadable: {err}; rerun `ctfp multiverse STUDY.toml "
                              "--out {root}`.", err=err, root=root)]}
    lead = _("{n} universes over {axes} of measure `{measure}`: each universe scores the panel with its own DEA "
             "choices and re-estimates every followed estimand on it. The curve sorts the estimates, with their "
             "intervals; below it, the choices each universe made. Significant: p < 0.05 for a table coefficient, "
             "a posterior interval that excludes 0 for a Bayesian average effect.",
             n=summary.get("universes", table["universe"].nunique()), axes=" × ".join(axes),
             measure=summary.get("measure", "?"))
    fig = writer.figure(lambda: specification_curve(table, axes), "specification_curve", _("Specification curve"),
                        _("Each dot is one universe's estimate with its interval; the ringed dot is the main "
                          "specification."))
    return {"id": "multiverse", "title": title, "figures": [fig], "lead_tables": [writer.table(summary_table(summary))],
            "facts": {"lead": lead, "summary": summary}}
