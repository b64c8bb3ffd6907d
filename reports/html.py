"""`build_report(run_dir)`: one self-contained HTML report per run folder.

Figures are embedded as base64 PNG data URIs and also saved under RUNDIR/figures/; every table is also written
to RUNDIR/tables/<id>.csv. The page needs no network: CSS is inline and there is no script.
"""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ctfp.core.atomic import atomic_path, write_csv, write_text
from ctfp.reports import figures, tables
from ctfp.reports import posterior as post
from ctfp.reports.runfolder import RunFolder, load_run
from ctfp.reports.style import CI_LABEL, fmt_coef, fmt_interval, fmt_num, fmt_p, fmt_t

SPLITS_ARG = "g_ua,g_resource,g_attention,g_envinv,g_hum,g_gcons"


@dataclass
class Figure:
    id: str
    title: str
    src: str  # data URI
    path: str  # relative to the run folder
    caption: str = ""


@dataclass
class Section:
    id: str
    title: str
    missing: list[str] = field(default_factory=list)
    tables: list[tables.Table] = field(default_factory=list)
    lead_tables: list[tables.Table] = field(default_factory=list)  # shown before the figures
    figures: list[Figure] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)


class _Writer:
    """Saves figures and tables of one report into the run folder."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def figure(self, fig: Any, fid: str, title: str, caption: str = "") -> Figure:
        import matplotlib.pyplot as plt

        path = self.root / "figures" / f"{fid}.png"
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", bbox_inches="tight", facecolor="white")
        plt.close(fig)
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        return Figure(fid, title, f"data:image/png;base64,{data}", f"figures/{fid}.png", caption)

    def table(self, t: tables.Table | None) -> tables.Table | None:
        from ctfp.core.runfolder import RunFolder as Schema

        schema = Schema(self.root)
        computed = {schema.table1_csv, schema.replicas_csv, schema.columns_csv, schema.tests_csv}
        target = self.root / "tables" / f"{t.id}.csv" if t is not None else None
        # the pipeline's own tables (computed once, fingerprinted) are never rewritten by the report
        if t is not None and t.frame is not None and target not in computed:
            write_csv(target, t.frame)
        return t


def _data_section(run: RunFolder, w: _Writer) -> Section:
    s = Section("data", "1 · Data")
    facts = tables.panel_facts(run)
    s.facts["panel"] = facts
    s.facts["source"] = run.data_source
    inputs = (run.run or {}).get("inputs")
    if isinstance(inputs, dict) and isinstance(inputs.get("panel"), str) and not run.synthetic:
        s.facts["input"] = inputs["panel"]
    if run.run is None:
        s.missing.append("run.json is missing, so the data source is unknown: rebuild the run with "
                         f"`ctfp demo --out {run.root}` (synthetic) or `ctfp run STUDY --out {run.root}` (your panel).")
    if facts is None:
        s.missing.append(f"panel/analysis.csv is missing: produce it with `ctfp run STUDY --out {run.root}`.")
        return s
    t1 = w.table(tables.table1(run))
    if t1 is None:
        s.missing.append(f"tables/table1.csv is missing: the pipeline computes Table 1 with the analysis panel "
                         f"(`ctfp run STUDY --out {run.root}`).")
    else:
        s.tables.append(t1)
    return s


def _ctfp_section(run: RunFolder, w: _Writer) -> Section:
    s = Section("ctfp", "2 · Carbon TFP (SBM-DEA)")
    settings = w.table(tables.sbm_settings(run))
    ct = tables.ctfp_tables(run)
    if ct is None:
        s.missing.append(f"No CTFP scores: dea/scores.csv is missing and the panel has no `ctfp` column; score the "
                         f"panel with `ctfp dea PANEL --inputs labor,capital,energy --good rgdp,green --bad co2 "
                         f"--id city --period year --out {run.root / 'dea' / 'scores.csv'}`.")
    else:
        df = run.ctfp_frame()
        assert df is not None
        at1 = df["ctfp"] >= 1 - post.ONE_TOL
        s.facts.update(n=len(df), n_at1=int(at1.sum()), share_at1=float(at1.mean()), mean=float(df["ctfp"].mean()),
                       n_eff_cities=len(ct["efficient"].frame))
        s.figures.append(w.figure(figures.ctfp_distribution(df), "ctfp_distribution", "Distribution of CTFP",
                                  "The orange bar, set apart at the right, counts the city-years exactly on the "
                                  "frontier (CTFP = 1): the mass a bounded likelihood has to reproduce."))
        s.figures.append(w.figure(figures.ctfp_by_year(ct["by_year"].frame), "ctfp_by_year", "CTFP by year"))
        s.figures.append(w.figure(figures.ctfp_ranking(ct["by_city"].frame), "ctfp_ranking",
                                  "Ranking of cities by mean CTFP"))
        s.tables += [w.table(ct["efficient"]), w.table(ct["by_city"]), w.table(ct["by_year"])]
    if settings is None:
        s.missing.append("The SBM settings are not recorded (run.json has no spec.sbm).")
    else:
        s.tables.insert(0, settings)
    return s


def _replica_section(run: RunFolder, w: _Writer) -> Section:
    s = Section("replicas", "3 · Frequentist replicas (Tables 2–6)")
    if run.cells is None:
        s.missing.append(f"replicas/cells.json is missing: run `ctfp replicate PANEL --out {run.root / 'replicas'}`.")
        return s
    tabs, tally = tables.replica_tables(run)
    s.tables = [w.table(t) for t in tabs]
    s.facts["tally"] = tally
    return s


def _hetero_section(run: RunFolder, w: _Writer) -> Section:
    s = Section("heterogeneity", "4 · Posterior heterogeneity across city groups")
    fit = run.model("hetero")
    tree = fit.tree if fit is not None and fit.has_posterior else None
    has_slopes = tree is not None and "slope_group" in tree["posterior"].data_vars
    has_diff = tree is not None and "slope_diff" in tree["posterior"].data_vars
    if not has_slopes:
        s.missing.append(f"No posterior group slopes (bayes/hetero/posterior.nc with `slope_group`): fit them with "
                         f"`ctfp fit PANEL --outcome ctfp --treatment ai --unit city --time year --by {SPLITS_ARG} "
                         f"--out {run.root / 'bayes' / 'hetero'}`.")
    freq = tables.table6_frequentist(run)
    if freq is None:
        s.missing.append(f"No split-sample replicas (Table 6 rows of replicas/cells.json): run `ctfp replicate "
                         f"PANEL --out {run.root / 'replicas'}`.")
    if run.diffs is None:
        s.missing.append("replicas/group_diffs.json is missing (permutation tests of the differences): run "
                         f"`ctfp replicate PANEL --out {run.root / 'replicas'}`.")
    if has_slopes or freq is not None:
        s.figures.append(w.figure(
            figures.heterogeneity_forest(tree if has_slopes else None, freq), "heterogeneity_forest",
            "AI effect for every group of every split",
            f"Green: posterior mean with 50% (thick) and {CI_LABEL} (thin) of the hetero model. Blue squares "
            "below each row: the split-sample two-way FE estimate with its 95% confidence interval (city-clustered, "
            "t with G−1 df). Red diamonds: the published Table 6 coefficient."))
    tabs = tables.hetero_tables(run)
    ame = w.table(tables.ame_table(run))
    if has_diff:
        diffs = post.slope_diffs(fit)
        freq_d = None
        if run.diffs:
            import pandas as pd

            freq_d = pd.DataFrame(run.diffs)
        s.figures.append(w.figure(figures.difference_posteriors(tree, diffs, freq_d), "group_differences",
                                  "Posterior of each between-group difference",
                                  "P(diff > 0) is the posterior share of draws where group 1's slope exceeds group "
                                  "0's; the permutation p is the replica's one-sided Fisher test (Table 6's p = "
                                  "0.001 for urban agglomeration)."))
    s.lead_tables = [ame] if ame is not None else []
    s.tables = [w.table(t) for t in tabs.values()]
    return s


def _checking_section(run: RunFolder, w: _Writer) -> Section:
    s = Section("checking", "5 · Model checking")
    if not run.models:
        s.missing.append(f"No Bayesian fits in {run.root / 'bayes'}: fit one with `ctfp fit PANEL --outcome ctfp "
                         f"--treatment ai --unit city --time year --out {run.root / 'bayes' / 'headline'}`.")
        return s
    diag = w.table(tables.diagnostics_table(run))
    if diag is not None:
        s.tables.append(diag)
        s.facts["gates"] = [bool((f.summary or {}).get("gate", {}).get("passed")) for f in run.models.values()
                            if f.summary is not None]
    ppc_t, stats = tables.ppc_table(run)
    if ppc_t is None:
        s.missing.append("No posterior predictive draws of `y` in any posterior.nc: refit with `ctfp fit` (it "
                         "stores posterior_predictive).")
    else:
        s.tables.append(w.table(ppc_t))
        s.figures.append(w.figure(figures.ppc_mass_at_one(stats), "ppc_mass_at_one",
                                  "Posterior predictive check of CTFP, including the mass at 1",
                                  "A normal likelihood puts no replicated city-year exactly at 1 and spills above "
                                  "1; a censored or ordered-beta likelihood should reproduce the observed share."))
    loo_t, skipped = tables.loo_report_table(run)
    if loo_t is None:
        s.missing.append("No log_likelihood group in any posterior.nc: LOO needs `pm.compute_log_likelihood` after "
                         "sampling (ctfp fit does this).")
    else:
        s.tables.append(w.table(loo_t))
    s.facts["loo_skipped"] = skipped
    return s


def _validation_section(run: RunFolder, w: _Writer) -> Section:
    s = Section("validation", "6 · Validation summary")
    t = w.table(tables.validation_table(run))
    if t is None:
        s.missing.append("validation.json is missing: `ctfp demo` / `ctfp run` write it once replicas and fits exist.")
    else:
        s.tables.append(t)
    return s


def _glance(run: RunFolder, sections: dict[str, Section]) -> list[dict[str, str]]:
    """The few lines a reviewer reads first."""
    lines: list[dict[str, str]] = []
    head = run.model("headline")
    ame = post.scalar_summary(head) if head is not None and head.has_posterior else None
    cell = next((c for c in run.cells or [] if str(c["table"]) == "2" and c["column"] == "(2)" and c["row"] == "AI"),
                None)
    if cell is not None:
        lines.append({"label": "AI effect, Table 2 col (2)", "key": "glance.t2c2",
                      "value": f"published {fmt_coef(cell['published_coef'], cell.get('published_stars'))} "
                               f"{fmt_t(cell.get('published_t'))} · replica "
                               f"{fmt_coef(cell['replica_coef'], cell.get('replica_stars'))} {fmt_t(cell.get('replica_t'))}"})
    if ame is not None:
        lines.append({"label": "AI effect, posterior (headline model)", "key": "glance.ame",
                      "value": f"{fmt_num(ame['mean'])}, 95% ETI {fmt_interval(ame['lo'], ame['hi'])}, "
                               f"P(> 0) = {fmt_p(ame['p_gt0'])}"})
    tally = sections["replicas"].facts.get("tally")
    if tally and tally["coef_cells"]:
        n = tally["coef_cells"]
        lines.append({"label": "Replica vs published coefficients", "key": "glance.tally",
                      "value": f"same sign {tally['same_sign']}/{n} · same stars {tally['same_stars']}/{n} · "
                               f"published inside the replica's 95% CI {tally['in_ci']}/{n}"})
    hetero = run.model("hetero")
    diffs = post.slope_diffs(hetero) if hetero is not None and hetero.has_posterior else None
    if diffs is not None and "g_ua" in set(diffs["split"]):
        d = diffs.set_index("split").loc["g_ua"]
        lines.append({"label": "UA minus non-UA cities", "key": "glance.ua",
                      "value": f"posterior {fmt_num(d['mean'])}, P(diff > 0) = {fmt_p(d['p_gt0'])} (paper: p = 0.001)"})
    if run.validation:
        n = len(run.validation)
        rep = sum(str(c["replica_verdict"]).lower().startswith("supported") for c in run.validation)
        pos = sum(str(c["posterior_verdict"]).lower().startswith("supported") for c in run.validation)
        lines.append({"label": "Published claims supported", "key": "glance.claims",
                      "value": f"by the replica {rep}/{n} · by the posterior {pos}/{n}"})
    gates = sections["checking"].facts.get("gates")
    if gates:
        lines.append({"label": "Sampler gate", "key": "glance.gate",
                      "value": f"{sum(gates)} of {len(gates)} fits passed" + ("" if all(gates) else
                                                                                 " — see Model checking")})
    return lines


def _code(text: str) -> Any:
    """Escape `text` and show its `backticked` commands as <code>."""
    import re

    from markupsafe import Markup, escape

    return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", str(escape(text))))


def build_report(run_dir: str | Path) -> Path:
    """Build RUNDIR/report.html (plus figures/*.png and tables/*.csv) from whatever the run folder holds."""
    import jinja2

    run = load_run(run_dir)
    w = _Writer(run.root)
    sections = {}
    for make in (_data_section, _ctfp_section, _replica_section, _hetero_section, _checking_section,
                 _validation_section):
        sec = make(run, w)
        sections[sec.id] = sec
    env = jinja2.Environment(loader=jinja2.PackageLoader("ctfp.reports", "templates"),
                             autoescape=jinja2.select_autoescape(["html", "j2"]), trim_blocks=True,
                             lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    env.filters["code"] = _code
    study = (((run.run or {}).get("spec") or {}).get("study") or {}).get("name") if isinstance(run.run, dict) else None
    html = env.get_template("report.html.j2").render(
        run=run, sections=list(sections.values()), glance=_glance(run, sections), study=study,
        ci_label=CI_LABEL, built=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        created=(run.run or {}).get("created", ""),
    )
    return write_text(run.root / "report.html", html)
