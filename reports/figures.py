"""The report's figures. Posterior plots use ArviZ 1.x (arviz_plots, matplotlib backend); the frequentist
overlay, CTFP descriptives and the mass-at-1 check are plain matplotlib. Every function returns a Figure."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ctfp.reports.i18n import _, current_language
from ctfp.reports.style import (
    CI_KIND,
    CI_LABEL,
    CI_PROB,
    FRONTIER,
    MPL_RC,
    NEUTRAL,
    POSTERIOR,
    PUBLISHED,
    REPLICA,
    level_label,
    split_label,
)

CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Serif CJK SC", "Source Han Sans SC", "WenQuanYi Zen Hei",
             "SimHei", "Microsoft YaHei", "PingFang SC")


def cjk_font() -> str | None:
    """The first installed font that draws Chinese (matplotlib's font manager, at run time), or None."""
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    found = next((n for n in CJK_FONTS if n in names), None)
    if found is None:  # matplotlib's font cache predates the font's installation: add the files it lacks
        known = {f.fname for f in font_manager.fontManager.ttflist}
        for path in font_manager.findSystemFonts():
            if path not in known and any(k in path for k in ("CJK", "Han", "WenQuanYi", "wqy")):
                font_manager.fontManager.addfont(path)
        names = {f.name for f in font_manager.fontManager.ttflist}
        found = next((n for n in CJK_FONTS if n in names), None)
    return found


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # headless: the report is built on servers and in CI
    import matplotlib.pyplot as plt

    plt.rcParams.update(MPL_RC)
    if current_language() == "zh":  # Chinese labels need a CJK font first in the list; minus signs stay ASCII
        font = cjk_font()
        if font is not None:
            plt.rcParams["font.sans-serif"] = [font, *plt.rcParams["font.sans-serif"]]
            plt.rcParams["font.family"] = "sans-serif"
            plt.rcParams["axes.unicode_minus"] = False
    return plt


def ctfp_distribution(df: pd.DataFrame) -> Any:
    """Histogram of CTFP below 1 and, apart, one bar for the city-years exactly on the frontier."""
    plt = _plt()
    y = df["ctfp"].to_numpy(dtype=float)
    at1 = y >= 1 - 1e-6
    fig, ax = plt.subplots(figsize=(7.5, 3.4), layout="constrained")
    bins = np.linspace(0, 1, 41)
    ax.hist(y[~at1], bins=bins[:-1], color=NEUTRAL, alpha=0.75, label=_("CTFP < 1"))
    width = bins[1] - bins[0]
    ax.bar(1.0 + width, at1.sum(), width=width * 1.6, color=FRONTIER, label=_("CTFP = 1 (frontier)"))
    ax.annotate(_("{n} at 1\n({share})", n=int(at1.sum()), share=f"{at1.mean():.1%}"), (1.0 + width, at1.sum()),
                xytext=(0, 6), textcoords="offset points", ha="center", va="bottom", color=FRONTIER, fontsize=9)
    ax.axvline(y.mean(), color=REPLICA, lw=1.2, ls="--", label=_("mean {v}", v=f"{y.mean():.3f}"))
    ax.set_xlabel(_("CTFP (SBM, undesirable CO2)"))
    ax.set_ylabel(_("number of observations"))
    ax.set_xlim(0, 1.1)
    ax.set_ylim(0, max(ax.get_ylim()[1], at1.sum() * 1.3))
    ax.legend(loc="upper right", bbox_to_anchor=(0.97, 1.0))  # the frontier bar is short: its corner is free
    return fig


def ctfp_ranking(by_city: pd.DataFrame) -> Any:
    """Every city's mean CTFP, ranked; orange for cities on the frontier in at least one year."""
    plt = _plt()
    n = len(by_city)
    fig, ax = plt.subplots(figsize=(7.5, max(3.0, 0.15 * n + 1.0)), layout="constrained")
    order = by_city.iloc[::-1]
    colors = [FRONTIER if e > 0 else NEUTRAL for e in order["years_efficient"]]
    ax.barh(np.arange(n), order["mean_ctfp"], color=colors, height=0.75)
    ax.set_yticks(np.arange(n), order["name"].astype(str), fontsize=7 if n > 40 else 8)
    ax.set_ylim(-0.7, n - 0.3)
    ax.set_xlabel(_("mean CTFP over the years"))
    ax.set_title(_("Ranking by city (orange: on the frontier in some year)"), loc="left")
    ax.grid(axis="y", visible=False)
    return fig


def ctfp_by_year(by_year: pd.DataFrame) -> Any:
    """Mean CTFP by year (± 1 sd) and the share of cities on the frontier by year."""
    plt = _plt()
    from matplotlib.ticker import MaxNLocator, PercentFormatter

    fig, (ay, az_) = plt.subplots(1, 2, figsize=(9, 2.8), layout="constrained")
    ay.plot(by_year["year"], by_year["mean_ctfp"], marker="o", color=REPLICA)
    ay.fill_between(by_year["year"], by_year["mean_ctfp"] - by_year["sd_ctfp"],
                    by_year["mean_ctfp"] + by_year["sd_ctfp"], color=REPLICA, alpha=0.15, label=_("± 1 sd"))
    ay.set_title(_("Mean CTFP by year"), loc="left")
    ay.legend(loc="upper left")
    az_.bar(by_year["year"], by_year["share_efficient"], color=FRONTIER)
    az_.set_title(_("Share of cities on the frontier (CTFP = 1)"), loc="left")
    az_.yaxis.set_major_formatter(PercentFormatter(1.0))
    for a in (ay, az_):
        a.set_xlabel(_("year"))
        a.xaxis.set_major_locator(MaxNLocator(integer=True))
    return fig


def heterogeneity_forest(slopes_tree: Any | None, freq: pd.DataFrame | None) -> Any:
    """All group slopes of all six splits on one forest: posterior (ArviZ plot_forest, 95% ETI thick 50%)
    with the split-sample FE estimate and its 95% CI drawn beside it, and the published coefficient."""
    plt = _plt()
    if slopes_tree is not None:
        import arviz_plots as azp

        n_rows = slopes_tree["posterior"]["slope_group"].sizes["split"] * 2
        pc = azp.plot_forest(
            slopes_tree, var_names=["slope_group"], combined=True, ci_kind=CI_KIND, ci_probs=(0.5, CI_PROB),
            point_estimate="mean", backend="matplotlib",
            visuals={"trunk": {"color": POSTERIOR}, "twig": {"color": POSTERIOR},
                     "point_estimate": {"color": POSTERIOR}},
            figure_kwargs={"figsize": (10, 0.5 * n_rows + 1.4), "width_ratios": [1, 2.6]},
        )
        fig = pc.viz["figure"].item()
        ax = pc.viz["plot"].sel(column="forest").item()
        lab = pc.viz["plot"].sel(column="labels").item()
        lab.set_xticks([])
        lab.grid(False)
        for side in ("bottom", "left"):
            lab.spines[side].set_visible(False)
        ypos = {}
        for s in pc.viz["trunk"]["split"].values:
            for lv in pc.viz["trunk"]["level"].values:
                line = pc.viz["trunk"]["slope_group"].sel(split=s, level=lv).item()
                ypos[str(s), str(lv)] = float(np.mean(line.get_ydata()))
                pc.viz["level_label"]["slope_group"].sel(split=s, level=lv).item().set_text(level_label(s, lv))
            txt = pc.viz["split_label"]["slope_group"].sel(split=s).item()
            txt.set_text(split_label(str(s)))
            txt.set_fontweight("bold")
        pc.viz["variable_label"]["slope_group"].item().set_text("")
    else:
        fig, ax = plt.subplots(figsize=(10, 0.55 * (len(freq) if freq is not None else 2) + 1.6),
                               layout="constrained")
        keys = [] if freq is None else list(zip(freq["split"], freq["level"], strict=True))
        ypos = {k: float(len(keys) - i) for i, k in enumerate(keys)}
        ax.set_yticks(list(ypos.values()), [f"{split_label(s)}: {level_label(s, lv)}" for s, lv in ypos])
    off = 0.28  # frequentist marks sit just below the posterior row they belong to
    if freq is not None:
        for r in freq.itertuples(index=False):
            y = ypos.get((r.split, str(r.level)))
            if y is None:
                continue
            if r.ci_low is not None and r.ci_high is not None and np.isfinite([r.ci_low, r.ci_high]).all():
                ax.plot([r.ci_low, r.ci_high], [y - off] * 2, color=REPLICA, lw=1.4)
            ax.plot(r.coef, y - off, "s", color=REPLICA, ms=5)
            if r.published_coef is not None:
                ax.plot(r.published_coef, y - off, "D", mfc="none", mec=PUBLISHED, ms=6)
    ax.axvline(0, color="k", lw=0.8)
    handles = [
        plt.Line2D([], [], color=POSTERIOR, lw=2.5, marker="o", label=_("posterior mean, 50% and {ci}", ci=_(CI_LABEL))),
        plt.Line2D([], [], color=REPLICA, lw=1.4, marker="s", ms=5, label=_("split-sample FE replica, 95% CI")),
        plt.Line2D([], [], color=PUBLISHED, lw=0, marker="D", mfc="none", label=_("published")),
    ]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.06), ncol=3, fontsize=8)
    ax.set_xlabel(_("effect of the treatment on the outcome"))
    fig.suptitle(_("Effect by group: posterior vs split-sample replica vs published"), x=0.02, ha="left",
                 fontsize=11)
    if slopes_tree is not None:  # ArviZ's figure has no layout engine: leave room for title and legend
        fig.subplots_adjust(top=1 - 0.55 / fig.get_figheight(), bottom=0.9 / fig.get_figheight())
    return fig


def difference_posteriors(tree: Any, diffs: pd.DataFrame, freq_diffs: pd.DataFrame | None) -> Any:
    """Posterior of each between-group difference (ArviZ plot_dist, 95% ETI) with P(diff > 0) and the
    replica's permutation p."""
    _plt()
    import arviz_plots as azp

    n = tree["posterior"]["slope_diff"].sizes["split"]
    cols = 3 if n > 2 else n
    rows = int(np.ceil(n / cols))
    pc = azp.plot_dist(tree, var_names=["slope_diff"], kind="kde", ci_kind=CI_KIND, ci_prob=CI_PROB,
                       point_estimate="mean", backend="matplotlib", col_wrap=cols,
                       visuals={"dist": {"color": POSTERIOR}, "credible_interval": {"color": POSTERIOR},
                                "point_estimate_text": False, "title": False},
                       figure_kwargs={"figsize": (10.5, 3.0 * rows + 0.7)})
    fig = pc.viz["figure"].item()
    fd = None if freq_diffs is None else freq_diffs.set_index("split")
    for r in diffs.itertuples(index=False):
        ax = pc.get_target("slope_diff", {"split": r.split})
        ax.axvline(0, color="k", lw=0.8)
        text = _("P(diff > 0) = {p}", p=f"{r.p_gt0:.3f}")
        if fd is not None and r.split in fd.index:
            rec = fd.loc[r.split]
            if pd.notna(rec.get("diff")):
                ax.axvline(rec["diff"], color=REPLICA, lw=1.2, ls="--")
            if pd.notna(rec.get("perm_p_one_sided")):
                text += "\n" + _("replica perm. p = {p}", p=f"{rec['perm_p_one_sided']:.3f}")
            if pd.notna(rec.get("published_p")):
                text += " · " + _("published p = {p}", p=f"{rec['published_p']:.3f}")
        ax.set_title(f"{split_label(r.split)}\n{text}", fontsize=9, loc="left")
    fig.suptitle(_("Between-group difference (group 1 − group 0): posterior with {ci} (bar); dashed: replica "
                   "difference", ci=_(CI_LABEL)), x=0.02, ha="left", fontsize=10)
    height = fig.get_figheight()
    fig.subplots_adjust(hspace=0.85, wspace=0.12, left=0.04, right=0.98, top=1 - 1.05 / height,
                        bottom=0.35 / height)
    return fig


def ppc_mass_at_one(stats: dict[str, dict[str, Any]]) -> Any:
    """Per model: observed CTFP histogram against replicated ones, and the replicated share of exact 1s."""
    plt = _plt()
    from matplotlib.ticker import PercentFormatter

    names = list(stats)
    fig, axes = plt.subplots(len(names), 2, figsize=(10, 2.6 * len(names) + 0.4), layout="constrained",
                             squeeze=False, gridspec_kw={"width_ratios": [1.6, 1]})
    rng = np.random.default_rng(0)
    for (ax_d, ax_s), name in zip(axes, names, strict=True):
        s = stats[name]
        y, rep = s["y"], s["rep"]
        lo = min(0.0, float(np.quantile(rep, 0.001)))
        hi = max(1.05, float(np.quantile(rep, 0.999)))
        bins = np.linspace(lo, hi, 45)
        for i in rng.choice(len(rep), size=min(40, len(rep)), replace=False):
            ax_d.hist(rep[i], bins=bins, histtype="step", color=POSTERIOR, alpha=0.15, density=True)
        ax_d.hist(y, bins=bins, histtype="step", color="k", lw=1.6, density=True)
        ax_d.axvline(1.0, color=FRONTIER, lw=1, ls=":")
        ax_d.set_title(_("{name}: observed (black) vs 40 replicated panels (green)", name=name), loc="left", fontsize=9)
        shares = s["shares"]
        if np.ptp(shares) > 0:
            ax_s.hist(shares, bins=25, color=POSTERIOR, alpha=0.6)
        else:
            ax_s.bar([shares[0]], [len(shares)], width=0.01, color=POSTERIOR, alpha=0.6)
        ax_s.axvline(s["observed"], color="k", lw=1.6)
        ax_s.set_xlim(-0.01, max(0.05, s["observed"] * 2, float(shares.max()) * 1.1))
        ax_s.set_title(_("share of CTFP = 1: observed {o}, replicated {r}", o=f"{s['observed']:.3f}", r=f"{s['mean']:.3f}"),
                       loc="left", fontsize=9)
        ax_s.xaxis.set_major_formatter(PercentFormatter(1.0))
    return fig
