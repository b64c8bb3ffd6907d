"""`build_report(run_dir)`: one self-contained HTML report per run folder, in English or Chinese.

The report reads the run folder and formats it; it estimates nothing. Sections appear for what the study has
(a study without Bayesian models has no model-checking section; Table 1 beside the paper only with published
moments); a section the study asks for but the run lacks says what is missing and the command that makes it.
The SYNTHETIC banner shows whenever any input is synthetic and never for user data.

Figures are embedded as base64 PNG data URIs and saved under RUNDIR/figures/ as PNG, SVG and PDF (the same
figure; `<id>.zh.*` for the Chinese report); every table is also written to RUNDIR/tables/report_<id>.csv (the
regression tables are the run's own tables/replicas.csv). The page needs no network: CSS is inline and there is
no script.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ctfp.core.atomic import atomic_path, write_csv, write_text
from ctfp.core.errors import InputError
from ctfp.reports import figures, section_multiverse, section_sensitivity, tables
from ctfp.reports import posterior as post
from ctfp.reports.i18n import _, check_lang, note_text, split_names, use_language
from ctfp.reports.regwriters import HTML_CSS, to_html
from ctfp.reports.runfolder import RunFolder, load_run
from ctfp.reports.section_simulate import simulate_section
from ctfp.reports.style import CI_LABEL, fmt_coef, fmt_interval, fmt_num, fmt_p, fmt_t

FIGURE_FORMATS = ("png", "svg", "pdf")
PAPER_PRESET = "shen-chao-2025"  # the preset whose published Table 1 (descriptive moments) ships with ctfp


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
    regtables: list[tuple[Any, tables.Table | None]] = field(default_factory=list)  # (HTML, verdicts)
    facts: dict[str, Any] = field(default_factory=dict)


class _Writer:
    """Saves the figures and tables of one report into the run folder."""

    def __init__(self, root: Path, lang: str, figure_lang: str) -> None:
        self.root = root
        self.suffix = "" if lang == "en" else f".{lang}"
        self.figure_lang = figure_lang  # "en" when Chinese was asked for but no CJK font is installed

    def figure(self, make: Any, fid: str, title: str, caption: str = "") -> Figure:
        """Draw `make()` in the figure language and save it as PNG, SVG and PDF (one figure, three files)."""
        import matplotlib.pyplot as plt

        with use_language(self.figure_lang):
            fig = make()
        paths = {}
        for ext in FIGURE_FORMATS:
            path = self.root / "figures" / f"{fid}{self.suffix}.{ext}"
            with atomic_path(path) as tmp:
                fig.savefig(tmp, format=ext, bbox_inches="tight", facecolor="white",
                            metadata={"Date": None} if ext in ("svg", "pdf") else None)
            paths[ext] = path
        plt.close(fig)
        data = base64.b64encode(paths["png"].read_bytes()).decode("ascii")
        rel = f"figures/{fid}{self.suffix}"
        return Figure(fid, title, f"data:image/png;base64,{data}", f"{rel}.png · .svg · .pdf", caption)

    def table(self, t: tables.Table | None) -> tables.Table | None:
        if t is not None and t.frame is not None:
            write_csv(self.root / "tables" / f"report_{t.id}{self.suffix}.csv", t.frame)
        return t


# ---------------------------------------------------------------------------------------------- what the study has
def _study(run: RunFolder) -> dict[str, Any] | None:
    """The resolved study recorded in run.json (`study`), or the old pipeline's `spec`; None without run.json."""
    if run.run is None:
        return None
    st = run.run.get("study") if isinstance(run.run.get("study"), dict) else run.run.get("spec")
    return st if isinstance(st, dict) else {}


def study_language(run: RunFolder) -> str:
    """The study's [report] language: run.json's `report` (RunRecord), else the resolved study's; "en"."""
    rec = run.run or {}
    st = _study(run) or {}
    rep = rec.get("report") if isinstance(rec.get("report"), dict) else \
        st.get("report") if isinstance(st.get("report"), dict) else {}
    return str(rep.get("language") or "en")


def _preset(run: RunFolder, st: dict[str, Any]) -> str:
    meta = st.get("study") if isinstance(st.get("study"), dict) else {}
    return str((run.run or {}).get("preset") or meta.get("preset") or st.get("preset") or "")


def _has(run: RunFolder) -> dict[str, bool]:
    """Which sections the study asks for. Without run.json nothing is known: every section is shown with what
    is missing (Table 1 beside the paper is not: no published moments are known). The old pipeline (`spec` in
    run.json) ran only the reference study, which has them all."""
    keys = ("moments", "measure", "tables", "bayes", "hetero", "claims")
    st = _study(run)
    if st is None:
        return dict.fromkeys(keys, True) | {"moments": False}
    if "study" not in (run.run or {}):
        return dict.fromkeys(keys, True)
    bayes = st.get("bayes") if isinstance(st.get("bayes"), dict) else {}
    models = [m for m in bayes.get("models") or [] if isinstance(m, dict)] if bayes.get("run", True) else []
    measures = st.get("measure") or st.get("measures") or []
    published = st.get("published") if isinstance(st.get("published"), dict) else {}
    paper = _preset(run, st) == PAPER_PRESET
    return {"moments": paper, "measure": bool(measures) or paper, "tables": bool(st.get("tables")),
            "bayes": bool(models), "hetero": any(m.get("by") for m in models),
            "claims": bool(published.get("file")) or paper}


def _default_path(run: RunFolder, lang: str) -> Path:
    return run.root / ("report.html" if lang == study_language(run) else f"report.{lang}.html")


# ---------------------------------------------------------------------------------------------- sections
def _data_section(run: RunFolder, w: _Writer, has: dict[str, bool]) -> Section:
    s = Section("data", _("1 · Data"))
    facts = tables.panel_facts(run)
    s.facts["panel"] = facts
    s.facts["source"] = run.data_source
    inputs = (run.run or {}).get("inputs")
    if isinstance(inputs, dict) and isinstance(inputs.get("panel"), str) and not run.synthetic:
        s.facts["input"] = inputs["panel"]
    if run.run is None:
        s.missing.append(_("run.json is missing, so the data source is unknown: rebuild the run with "
                           "`ctfp run STUDY.toml --out {root}`.", root=run.root))
    if facts is None:
        s.missing.append(_("panel/analysis.csv is missing: produce it with `ctfp run STUDY.toml --out {root}`.",
                           root=run.root))
        return s
    # Table 1 as the pipeline stored it: beside the published moments when the study has them (their columns
    # are in tables/table1.csv), else the panel's own descriptive statistics.
    t1 = w.table(tables.table1(run))
    if t1 is not None:
        s.tables.append(t1)
        if run.table1 is not None and "N_published" in run.table1.columns and run.table1["N_published"].notna().any():
            s.facts["paper"] = {"nobs": int(run.table1["N_published"].dropna().iloc[0])}
    elif has["moments"]:
        s.missing.append(_("tables/table1.csv is missing: `ctfp run STUDY.toml --out {root}` writes it.",
                           root=run.root))
    source = _("SYNTHETIC panel") if run.synthetic else _("your panel") if run.data_source == "user" \
        else _(run.data_source)
    lead = _sentence(_("Source: {source}{input}. Panel: {nobs} observations, {units} units × {periods} periods "
                       "({first}–{last}), {balanced}."),
                     source=_markup("strong", source), input=_markup("code", s.facts["input"], "({})")
                     if "input" in s.facts else "", nobs=_keyed("panel.nobs", facts["nobs"]),
                     units=_keyed("panel.cities", facts["cities"]), periods=_keyed("panel.years", facts["years"]),
                     first=facts["first"], last=facts["last"],
                     balanced=_("balanced") if facts["balanced"] else _("unbalanced"))
    if "paper" in s.facts:
        lead += " " + _sentence(_("The paper: {n} observations."), n=s.facts["paper"]["nobs"])
    s.facts["lead"] = lead
    return s


def _markup(tag: str, text: object, wrap: str = "{}") -> Any:
    from markupsafe import Markup, escape

    return Markup(wrap.format(f"<{tag}>{escape(text)}</{tag}>"))


def _keyed(key: str, value: object, text: str | None = None) -> Any:
    """A number on the page with its data-key / data-value (what the page tests read)."""
    from markupsafe import Markup, escape

    shown = escape(text if text is not None else value)
    return Markup(f'<span data-key="{escape(key)}" data-value="{escape(value)}">{shown}</span>')


def _sentence(template: str, **fields: object) -> Any:
    """A translated sentence with HTML pieces in it: the sentence is escaped, Markup fields are kept."""
    from markupsafe import Markup, escape

    return Markup(escape(template)).format(**fields)


def _published_mean(run: RunFolder, variable: str) -> float | None:
    """The published mean of `variable` as tables/table1.csv records it (studies with published moments)."""
    t1 = run.table1
    if t1 is None or "mean_published" not in t1.columns or variable not in set(t1["variable"]):
        return None
    v = t1.set_index("variable").loc[variable, "mean_published"]
    return None if tables.is_missing(v) else float(v)


def _ctfp_section(run: RunFolder, w: _Writer, has: dict[str, bool]) -> Section | None:
    s = Section("ctfp", _("2 · Carbon TFP (SBM-DEA)"))
    ct = tables.ctfp_tables(run)
    if ct is None and not has["measure"]:
        return None
    settings = w.table(tables.sbm_settings(run))
    if ct is None:
        s.missing.append(_("No CTFP scores: dea/scores.csv is missing and the panel has no `ctfp` column; score the "
                           "panel with `ctfp run STUDY.toml --out {root}` (its [[measure]]).", root=run.root))
    else:
        df = run.ctfp_frame()
        assert df is not None
        at1 = df["ctfp"] >= 1 - post.ONE_TOL
        s.facts.update(n=len(df), n_at1=int(at1.sum()), share_at1=float(at1.mean()), mean=float(df["ctfp"].mean()),
                       n_eff_cities=len(ct["efficient"].frame))
        lead = _sentence(_("CTFP is Tone's SBM with CO2 as an undesirable output. Of {n} observations, {k} ({share}) "
                           "lie on the frontier (CTFP = 1), in {units} units; mean CTFP {mean}."),
                         n=_keyed("ctfp.n", len(df)), k=_keyed("ctfp.n_at1", int(at1.sum())),
                         share=f"{at1.mean():.1%}", units=len(ct["efficient"].frame),
                         mean=_keyed("ctfp.mean", float(df["ctfp"].mean()), f"{df['ctfp'].mean():.4f}"))
        paper_mean = _published_mean(run, "ctfp")
        if paper_mean is not None:
            lead += " " + _sentence(_("(paper: {m})"), m=f"{paper_mean:.4f}")
        s.facts["lead"] = lead
        s.figures.append(w.figure(lambda: figures.ctfp_distribution(df), "ctfp_distribution",
                                  _("Distribution of CTFP"),
                                  _("The orange bar, set apart at the right, counts the observations exactly on the "
                                    "frontier (CTFP = 1): the mass a bounded likelihood has to reproduce.")))
        s.figures.append(w.figure(lambda: figures.ctfp_by_year(ct["by_year"].frame), "ctfp_by_year",
                                  _("CTFP by year")))
        s.figures.append(w.figure(lambda: figures.ctfp_ranking(ct["by_city"].frame), "ctfp_ranking",
                                  _("Ranking of cities by mean CTFP")))
        s.tables += [w.table(ct["efficient"]), w.table(ct["by_city"]), w.table(ct["by_year"])]
    if settings is not None:
        s.tables.insert(0, settings)
    return s


def _replica_section(run: RunFolder, w: _Writer, has: dict[str, bool], lang: str) -> Section | None:
    from markupsafe import Markup

    s = Section("replicas", _("3 · Frequentist replicas"))
    if run.tables is None:
        if not has["tables"]:
            return None
        s.missing.append(_("tables/replicas.csv is missing: run the study's [[tables]] with "
                           "`ctfp run STUDY.toml --out {root}`.", root=run.root))
        return s
    reps, tally = tables.replica_tables(run.tables, lang)
    for r in reps:
        s.regtables.append((Markup(to_html(r.layout)), w.table(r.verdicts)))
    s.facts["tally"] = tally
    s.facts["published"] = tally["coef_cells"] > 0
    return s


def _hetero_section(run: RunFolder, w: _Writer, has: dict[str, bool]) -> Section | None:
    s = Section("heterogeneity", _("4 · Heterogeneity across groups"))
    fit = run.model("hetero")
    tree = fit.tree if fit is not None and fit.has_posterior else None
    has_slopes = tree is not None and "slope_group" in tree["posterior"].data_vars
    has_diff = tree is not None and "slope_diff" in tree["posterior"].data_vars
    freq = tables.split_frequentist(run)
    freq_d = tables.split_tests(run)
    ame = w.table(tables.ame_table(run))
    if not (has_slopes or freq is not None or ame is not None or has["hetero"]):
        return None
    if not has_slopes and has["hetero"]:
        s.missing.append(_("No posterior group slopes (bayes/hetero/posterior.nc with `slope_group`): fit the study's "
                           "Bayesian model with `by` groups with `ctfp run STUDY.toml --out {root}`.", root=run.root))
    if freq is None and has["hetero"] and has["tables"]:
        s.missing.append(_("No split-sample replicas (models estimated on `group == 1` / `group == 0` samples in "
                           "tables/columns.csv): add them to the study's [[tables]] and rerun `ctfp run`."))
    if freq_d is None and has["hetero"] and has["tables"]:
        s.missing.append(_("No between-group difference tests (tables/tests.csv): add `tests` to the study's "
                           "[[tables]] and rerun `ctfp run`."))
    if has_slopes or freq is not None:
        s.figures.append(w.figure(
            lambda: figures.heterogeneity_forest(tree if has_slopes else None, freq), "heterogeneity_forest",
            _("Treatment effect for every group of every split"),
            _("Green: posterior mean with 50% (thick) and {ci} (thin) of the hetero model. Blue squares below each "
              "row: the split-sample two-way FE estimate with its 95% confidence interval (clustered, t with G−1 "
              "df). Red diamonds: the published coefficient.", ci=_(CI_LABEL))))
    tabs = tables.hetero_tables(run)
    if has_diff:
        diffs = post.slope_diffs(fit)
        s.figures.append(w.figure(lambda: figures.difference_posteriors(tree, diffs, freq_d), "group_differences",
                                  _("Posterior of each between-group difference"),
                                  _("P(diff > 0) is the posterior share of draws where group 1's slope exceeds group "
                                    "0's; the permutation p is the replica's one-sided Fisher test.")))
    s.lead_tables = [ame] if ame is not None else []
    s.tables = [w.table(t) for t in tabs.values()]
    return s


def _checking_section(run: RunFolder, w: _Writer, has: dict[str, bool]) -> Section | None:
    s = Section("checking", _("5 · Model checking"))
    if not run.models:
        if not has["bayes"]:
            return None
        s.missing.append(_("No Bayesian fits in {folder}: run the study's [bayes] models with "
                           "`ctfp run STUDY.toml --out {root}`.", folder=run.root / "bayes", root=run.root))
        return s
    diag = w.table(tables.diagnostics_table(run))
    if diag is not None:
        s.tables.append(diag)
        s.facts["gates"] = [bool((f.summary or {}).get("gate", {}).get("passed")) for f in run.models.values()
                            if f.summary is not None]
    ppc_t, stats = tables.ppc_table(run)
    if ppc_t is None:
        s.missing.append(_("No posterior predictive draws of `y` in any posterior.nc: refit with `ctfp fit` (it "
                           "stores posterior_predictive)."))
    else:
        s.tables.append(w.table(ppc_t))
        s.figures.append(w.figure(lambda: figures.ppc_mass_at_one(stats), "ppc_mass_at_one",
                                  _("Posterior predictive check of CTFP, including the mass at 1"),
                                  _("A normal likelihood puts no replicated observation exactly at 1 and spills "
                                    "above 1; a censored or ordered-beta likelihood should reproduce the observed "
                                    "share.")))
    loo_t, skipped = tables.loo_report_table(run)
    if loo_t is None:
        s.missing.append(_("No log_likelihood group in any posterior.nc: LOO needs `pm.compute_log_likelihood` "
                           "after sampling (ctfp fit does this)."))
    else:
        s.tables.append(w.table(loo_t))
        s.facts["bad_k"] = [(r["model"], int(r["bad_k"])) for r in loo_t.frame.to_dict("records") if r["bad_k"]]
    s.facts["loo_skipped"] = skipped
    return s


def _sensitivity_section(run: RunFolder, w: _Writer) -> Section | None:
    part = section_sensitivity.sensitivity_part(run)
    if part is None:
        return None
    return Section("sensitivity", _("Prior sensitivity"), missing=part.missing,
                   tables=[t for t in map(w.table, part.tables) if t is not None], facts={"lead": part.lead, **part.facts})


def _validation_section(run: RunFolder, w: _Writer, has: dict[str, bool]) -> Section | None:
    s = Section("validation", _("6 · Validation summary"))
    t = w.table(tables.validation_table(run))
    if t is None:
        if not has["claims"]:
            return None
        s.missing.append(_("validation.json is missing: `ctfp run` writes it once replicas and fits exist."))
    else:
        s.tables.append(t)
    return s


def _notes_section(run: RunFolder, sections: dict[str, Section], lang: str, fig_note: str) -> Section | None:
    """What the run's steps had to say (notes.json of ctfp.inference.quiet) and what the report itself found,
    each in one plain sentence; the messages themselves are in log.txt."""
    s = Section("notes", _("7 · Notes on this run"))
    lines: list[str] = []
    checking = sections.get("checking")
    precise = {model for model, _n in (checking.facts.get("bad_k", []) if checking else [])}
    path = run.root / "notes.json"
    if path.is_file():
        try:
            notes = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise InputError(f"{path}: run notes are not valid JSON ({err}); rerun the run") from None
        for n in notes if isinstance(notes, list) else []:
            # ArviZ's generic Pareto-k warning of a fit is replaced by the LOO table's count for that model
            if isinstance(n, dict) and n.get("kind") == "pareto_k" and \
                    str(n.get("step", "")).removeprefix("bayes-") in precise:
                continue
            if isinstance(n, dict) and "kind" in n:
                lines.append(note_text(str(n["kind"]), lang, dict(n.get("fields") or {}), int(n.get("count") or 1)))
    for model, n in (checking.facts.get("bad_k", []) if checking else []):
        lines.append(note_text("loo_bad_k", lang, {"model": model, "k": "0.7"}, n))
    if fig_note:
        lines.append(fig_note)
    if not lines:
        return None
    s.facts["lines"] = list(dict.fromkeys(lines))
    s.facts["log"] = (run.root / "log.txt").is_file()
    return s


def _glance(run: RunFolder, sections: dict[str, Section]) -> list[dict[str, str]]:
    """The few lines a reviewer reads first."""
    lines: list[dict[str, str]] = []
    head = run.model("headline")
    ame = post.scalar_summary(head) if head is not None and head.has_posterior else None
    ref = run.tables.headline() if run.tables is not None else None
    if ref is not None:
        value = _("replica {rep} {t}", rep=fmt_coef(ref["estimate"], ref.get("stars")), t=fmt_t(ref.get("t")))
        if not tables.is_missing(ref.get("published_estimate")):
            value = _("published {pub} {t}", pub=fmt_coef(ref["published_estimate"], ref.get("published_stars")),
                      t=fmt_t(ref.get("published_t"))) + " · " + value
        lines.append({"label": _("{label}, {table} {column}", label=ref["label"], table=ref["table"],
                                 column=ref["column"]), "key": "glance.headline", "value": value})
    if ame is not None:
        lines.append({"label": _("Average effect, posterior (headline model)"), "key": "glance.ame",
                      "value": _("{mean}, 95% ETI {ci}, P(> 0) = {p}", mean=fmt_num(ame["mean"]),
                                 ci=fmt_interval(ame["lo"], ame["hi"]), p=fmt_p(ame["p_gt0"]))})
    rep = sections.get("replicas")
    tally = rep.facts.get("tally") if rep else None
    if tally and tally["coef_cells"]:
        n = tally["coef_cells"]
        lines.append({"label": _("Replica vs published coefficients"), "key": "glance.tally",
                      "value": _("same sign {a}/{n} · same stars {b}/{n} · published inside the replica's 95% CI "
                                 "{c}/{n}", a=tally["same_sign"], b=tally["same_stars"], c=tally["in_ci"], n=n)})
    hetero = run.model("hetero")
    diffs = post.slope_diffs(hetero) if hetero is not None and hetero.has_posterior else None
    if diffs is not None and len(diffs):
        d = diffs.iloc[0]
        names = split_names(str(d["split"]))
        label = f"{names[1]} − {names[2]}" if names else f"{d['split']}: 1 − 0"
        lines.append({"label": label, "key": "glance.split",
                      "value": _("posterior {mean}, P(diff > 0) = {p}", mean=fmt_num(d["mean"]), p=fmt_p(d["p_gt0"]))})
    if run.validation:
        n = len(run.validation)
        rep_n = sum(str(c["replica_verdict"]).lower().startswith("supported") for c in run.validation)
        pos_n = sum(str(c["posterior_verdict"]).lower().startswith("supported") for c in run.validation)
        lines.append({"label": _("Published claims supported"), "key": "glance.claims",
                      "value": _("by the replica {a}/{n} · by the posterior {b}/{n}", a=rep_n, b=pos_n, n=n)})
    checking = sections.get("checking")
    gates = checking.facts.get("gates") if checking else None
    if gates:
        lines.append({"label": _("Sampler gate"), "key": "glance.gate",
                      "value": _("{a} of {n} fits passed", a=sum(gates), n=len(gates))
                      + ("" if all(gates) else _(" — see Model checking"))})
    sens = sections.get("sensitivity")
    if sens and sens.facts.get("n"):
        flagged = sens.facts.get("flagged") or []
        lines.append({"label": _("Prior sensitivity"), "key": "glance.psense",
                      "value": _("{a} of {n} reported quantities flagged", a=len(flagged), n=sens.facts["n"])
                      + (": " + ", ".join(flagged) if flagged else "")})
    return lines


def _extra(parts: dict[str, Any] | None) -> Section | None:
    """A section another module formats (its Section fields as a dict; None: the run has nothing for it)."""
    return None if parts is None else Section(**parts)


def _code(text: str) -> Any:
    """Escape `text` and show its `backticked` commands as <code>."""
    import re

    from markupsafe import Markup, escape

    return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", str(escape(text))))


def default_report_path(run_dir: str | Path | RunFolder, lang: str) -> Path:
    """RUNDIR/report.html in the study's language; RUNDIR/report.<lang>.html in another one."""
    run = load_run(run_dir)
    return _default_path(run, lang)


def build_report(run_dir: str | Path | RunFolder, *, lang: str | None = None, out: str | Path | None = None) -> Path:
    """Build the report of a run folder (plus figures/*.png|svg|pdf and tables/report_*.csv) from whatever it
    holds. lang: "en" | "zh" (default: the study's [report] language). out: default `default_report_path`."""
    import jinja2

    run = load_run(run_dir)
    lang = check_lang(lang or study_language(run))
    path = Path(out) if out is not None else _default_path(run, lang)
    fig_lang, fig_note = lang, ""
    with use_language(lang):
        if lang != "en" and figures.cjk_font() is None:
            fig_lang = "en"
            fig_note = _("Figure labels are in English: no Chinese font is installed (Debian: fonts-noto-cjk).")
        w = _Writer(run.root, lang, fig_lang)
        has = _has(run)
        sections: dict[str, Section] = {}
        for sec in (_data_section(run, w, has), _ctfp_section(run, w, has), _replica_section(run, w, has, lang),
                    _hetero_section(run, w, has), _checking_section(run, w, has), _sensitivity_section(run, w),
                    _validation_section(run, w, has), simulate_section(run.root, w, Section),
                    _extra(section_multiverse.section(run.root, w))):
            if sec is not None:
                sections[sec.id] = sec
        notes = _notes_section(run, sections, lang, fig_note)
        if notes is not None:
            sections[notes.id] = notes
        env = jinja2.Environment(loader=jinja2.PackageLoader("ctfp.reports", "templates"),
                                 autoescape=jinja2.select_autoescape(["html", "j2"]), trim_blocks=True,
                                 lstrip_blocks=True, undefined=jinja2.StrictUndefined)
        env.filters["code"] = _code
        env.globals["_"] = _
        st = _study(run) or {}
        meta = st.get("study") if isinstance(st.get("study"), dict) else {}
        html = env.get_template("report.html.j2").render(
            run=run, sections=list(sections.values()), glance=_glance(run, sections), study=meta.get("name"),
            lang=lang, ci_label=_(CI_LABEL), regtable_css=HTML_CSS,
            built=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), created=(run.run or {}).get("created", ""),
            published=bool(sections.get("replicas") and sections["replicas"].facts.get("published")),
        )
    return write_text(path, html)
