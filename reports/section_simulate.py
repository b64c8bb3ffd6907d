"""The design-analysis section of the report and its figure: coverage, power, type S / M of every estimand over
simulated worlds (`ctfp simulate`, inference/simulate_study.py). It only formats what the run folder holds.

Two sources, in this order:
- `simulate/summary.csv` + `summary.json`: a design analysis run into this folder (`ctfp simulate STUDY --out
  RUNDIR`), with the figure of its intervals;
- `simulate/recorded.json`: the study's shipped summary (`[simulate] recorded`, written by
  benchmarks/bench_simulate.py), copied here by the pipeline with its freshness verdict. A stale one (the
  study's models, estimands or world differ from the recorded run's) is refused: the section says so and shows
  no numbers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ctfp.core.atomic import atomic_path
from ctfp.core.runfolder import read_json
from ctfp.reports.i18n import ZH, _
from ctfp.reports.style import MPL_RC, NEUTRAL, PUBLISHED, REPLICA, fmt_num

ZH_TEXTS = {
    "6b · Design analysis: do the intervals mean what they say?": "6b · 设计分析：区间是否名副其实？",
    "Design analysis: the 95% intervals over simulated worlds": "设计分析：模拟世界中的 95% 区间",
    "Intervals by simulated world": "各模拟世界的区间",
    "Blue: the interval holds the truth (black tick); red: it misses.": "蓝色：区间覆盖真值（黑色刻度）；红色：未覆盖。",
    "Design analysis (RECORDED, not computed in this run)": "设计分析（已记录的结果，非本次运行计算）",
}
ZH.update(ZH_TEXTS)

METRICS = ("coverage", "power", "type_s", "type_m", "mean_width", "sd_over_se", "gate_passed")
COVER, MISS = REPLICA, PUBLISHED  # interval holds the truth / misses it


def draw_intervals(worlds: pd.DataFrame, *, title: str = "", max_worlds: int = 100) -> Any:
    """Interval of every world (one panel per method), blue when it holds the world's truth, red when not; the
    truth as a black tick. Worlds beyond `max_worlds` are left out of the picture (not of the numbers)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update(MPL_RC)
    methods = list(dict.fromkeys(worlds["method"]))
    fig, axs = plt.subplots(len(methods), 1, figsize=(8, 1.9 * len(methods) + 0.6), squeeze=False)
    for ax, m in zip(axs[:, 0], methods, strict=True):
        g = worlds[worlds["method"] == m].sort_values("world").head(max_worlds)
        x = g["world"].to_numpy()
        lo, hi = g["lower"].to_numpy(float), g["upper"].to_numpy(float)
        truth = g["truth"].to_numpy(float)
        cov = (lo <= truth) & (truth <= hi)
        ax.vlines(x, lo, hi, colors=np.where(cov, COVER, MISS), lw=1.4)
        ax.scatter(x, g["estimate"].to_numpy(float), s=6, color=NEUTRAL, zorder=3)
        ax.scatter(x, truth, marker="_", s=40, color="k", zorder=4)
        ax.axhline(0, color=NEUTRAL, lw=0.6, ls=":")
        ax.set_title(f"{m}: {cov.mean():.0%} of {len(g)} intervals hold the truth (red: miss)", fontsize=9)
    axs[-1, 0].set_xlabel("simulated world")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def intervals_figure(worlds: pd.DataFrame, path: str | Path, *, title: str = "") -> Path:
    """`draw_intervals` saved as a PNG at `path` (atomically)."""
    import matplotlib.pyplot as plt

    fig = draw_intervals(worlds, title=title)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", dpi=130)
    plt.close(fig)
    return out


def _table(summary: list[dict[str, Any]] | pd.DataFrame) -> Any:
    from ctfp.reports.tables import Cell, Table

    frame = pd.DataFrame(summary)
    heads = ["method", "worlds", "truth", "coverage", "power", "type S", "type M", "mean width", "sd / se",
             "gate passed"]
    t = Table("simulate_summary", _("Design analysis: the 95% intervals over simulated worlds"), heads,
              frame=frame)
    for r in frame.to_dict("records"):
        row = [Cell(str(r["method"]), cls="")]
        row.append(Cell(str(int(r["worlds"])), key=f"sim.{r["method"]}.worlds", value=int(r["worlds"]), cls="num"))
        for k, digits in (("truth", 4), ("coverage", 2), ("power", 2), ("type_s", 2), ("type_m", 2),
                          ("mean_width", 4), ("sd_over_se", 2), ("gate_passed", 0)):
            v = r.get(k)
            ok = v is not None and np.isfinite(float(v))
            text = (f"{float(v):.0%}" if k == "gate_passed" else fmt_num(v, digits)) if ok else "–"
            row.append(Cell(text, key=f"sim.{r["method"]}.{k}", cls="num", value=float(v) if ok else None))
        t.rows.append(row)
    return t


def simulate_section(root: Path, writer: Any, section_cls: Any) -> Any:
    """The section (a `reports.html.Section`), or None when the folder has no design analysis at all."""
    sim = root / "simulate"
    summary = read_json(sim / "summary.json", "design-analysis summary")
    recorded = read_json(sim / "recorded.json", "recorded design-analysis summary")
    if summary is None and recorded is None:
        return None
    s = section_cls("simulate", _("6b · Design analysis: do the intervals mean what they say?"))
    if summary is not None:
        t = _table(summary.get("summary", []))
        t.note = (f"{summary.get('worlds')} worlds ({summary.get('world')}), true effect {summary.get('effect'):.4g} "
                  f"({summary.get('effect_source')}); Bayesian refits {summary.get('refit', {}).get('chains')} × "
                  f"({summary.get('refit', {}).get('tune')} + {summary.get('refit', {}).get('draws')}); coverage = "
                  "share of 95% intervals holding the world's truth; power = share excluding 0; type S / M "
                  "(Gelman & Carlin 2014) among those; sd / se = sd(estimate − truth) / mean(se or posterior sd). "
                  f"Run {summary.get('created')} with ctfp {summary.get('ctfp_version')}, model fingerprint "
                  f"{str(summary.get('model_fingerprint'))[:12]} (rerun `ctfp simulate` after changing the study).")
        s.tables.append(writer.table(t))
        fig = root / "figures" / "simulate_intervals.png"
        worlds = root / "simulate" / "worlds.csv"
        if worlds.is_file():
            frame = pd.read_csv(worlds)
            s.figures.append(writer.figure(lambda: draw_intervals(frame), "simulate_intervals",
                                           _("Intervals by simulated world"),
                                           _("Blue: the interval holds the truth (black tick); red: it misses.")))
        elif fig.is_file():
            s.missing.append(f"{worlds} is missing: rerun `ctfp simulate` to redraw the figure.")
        s.facts["simulate"] = summary
    elif recorded.get("stale"):
        s.missing.append("The study's recorded design analysis is not shown: " + str(recorded.get("why")) +
                         f" ({recorded.get('file')}). Rerun benchmarks/bench_simulate.py, or `ctfp simulate STUDY "
                         "--out RUNDIR` for this study.")
    else:
        t = _table(recorded.get("summary", []))
        t.id = "simulate_recorded"
        t.caption = _("Design analysis (RECORDED, not computed in this run)")
        t.note = (f"Recorded by {recorded.get('recorded_by', 'benchmarks/bench_simulate.py')} on "
                  f"{recorded.get('created')} with ctfp {recorded.get('ctfp_version')}: {recorded.get('worlds')} "
                  f"worlds of {recorded.get('world')}, true effect {float(recorded.get('effect')):.4g}; model "
                  f"fingerprint {str(recorded.get('model_fingerprint'))[:12]} = this study's (checked when the "
                  f"run was made). File: {recorded.get('file')} (SHA-256 {str(recorded.get('sha256'))[:12]}).")
        s.tables.append(writer.table(t))
        s.facts["recorded"] = recorded
    return s
