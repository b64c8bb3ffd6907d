"""`print_summary(run_dir)`: the run's key numbers as rich tables on the terminal (called at the end of a
pipeline run and by `ctfp report`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ctfp.reports import posterior as post
from ctfp.reports import tables
from ctfp.reports.runfolder import RunFolder, load_run
from ctfp.reports.style import fmt_coef, fmt_int, fmt_interval, fmt_num, fmt_p, fmt_t, split_label


def _console(console: Any | None) -> Any:
    from rich.console import Console

    if console is not None:
        return console
    con = Console()
    # Piped output (logs, CI) gets a width the tables fit in instead of rich's 80-column fallback.
    return con if con.is_terminal else Console(width=120)


def _table1(run: RunFolder) -> Any | None:
    """Table 1: the panel's descriptive statistics beside the published ones."""
    from rich.table import Table

    t1 = tables.table1(run)
    if t1 is None or t1.frame is None:
        return None
    if "mean_published" not in t1.frame.columns:  # a study without published moments: its own statistics
        t = Table(title="Table 1 · descriptive statistics", title_justify="left")
        for col in ("variable", "N", "mean", "sd", "min", "max"):
            t.add_column(col, justify="left" if col == "variable" else "right", no_wrap=True)
        for _, r in t1.frame.iterrows():
            t.add_row(str(r["label"]), str(int(r["N"])), *(fmt_num(r[c]) for c in ("mean", "sd", "min", "max")))
        return t
    t = Table(title="Table 1 · published | this panel (✓: mean and sd within 15%)", title_justify="left")
    for col in ("variable", "mean pub.", "mean", "sd pub.", "sd", "min", "max", ""):
        t.add_column(col, justify="left" if col == "variable" else "right", no_wrap=True)
    for _, r in t1.frame.iterrows():
        t.add_row(str(r["label"]), fmt_num(r["mean_published"]), fmt_num(r["mean"]), fmt_num(r["sd_published"]),
                  fmt_num(r["sd"]), fmt_num(r["min"]), fmt_num(r["max"]), "✗" if bool(r["flag"]) else "✓")
    return t


def _replicas(run: RunFolder) -> Any | None:
    from rich.table import Table

    data = run.tables
    if data is None:
        return None
    rep = data.replicas
    coef = rep[(rep["kind"].astype(str) == "coef") & rep["published_estimate"].notna()] \
        if "published_estimate" in rep else rep.iloc[0:0]
    if coef.empty:
        return None
    head = data.headline()
    t = Table(title="Replicas vs published coefficients (agreement counts per table)", title_justify="left")
    for col in ("table", "coef. cells", "same sign", "same stars", "pub. in 95% CI"):
        t.add_column(col, justify="left" if col == "table" else "right", no_wrap=True)
    for tab in data.table_ids:
        recs = coef[coef["table"].astype(str) == tab]
        if recs.empty:
            continue
        t.add_row(tab, str(len(recs)), *(str(int(sum(bool(tables._truth(v)) for v in recs[k])))
                                         for k in ("sign_agrees", "stars_agree", "published_in_ci")))
    if head is not None:
        t.caption = (f"{head['table']} {head['column']} {head['label']}: published "
                     f"{fmt_coef(head.get('published_estimate'), head.get('published_stars'))} "
                     f"{fmt_t(head.get('published_t'))} · replica {fmt_coef(head['estimate'], head.get('stars'))} "
                     f"{fmt_t(head.get('t'))}")
    return t


def _bayes(run: RunFolder) -> Any | None:
    from rich.table import Table

    if not run.models:
        return None
    t = Table(title="Bayesian fits: average effect of AI on E[CTFP] (95% ETI) and the gate", title_justify="left")
    for col in ("model", "likelihood", "AME", "95% ETI", "P(>0)", "max R-hat", "min ESS", "div.", "gate"):
        t.add_column(col, justify="left" if col in ("model", "likelihood") else "right", no_wrap=True)
    for name, fit in sorted(run.models.items()):
        s = fit.summary or {}
        d = s.get("diagnostics") or {}
        ame = post.scalar_summary(fit) if fit.has_posterior else None
        gate = (s.get("gate") or {}).get("passed")
        t.add_row(name, fit.likelihood, fmt_num(ame["mean"]) if ame else "–",
                  fmt_interval(ame["lo"], ame["hi"]) if ame else "–", fmt_p(ame["p_gt0"]) if ame else "–",
                  fmt_num(d.get("max_rhat"), 3), fmt_int(d.get("min_ess_bulk")), fmt_int(d.get("divergences")),
                  "[green]pass[/]" if gate else "[red]FAIL[/]" if gate is not None else "–")
    return t


def _hetero(run: RunFolder) -> Any | None:
    from rich.table import Table

    fit = run.model("hetero")
    diffs = post.slope_diffs(fit) if fit is not None and fit.has_posterior else None
    if diffs is None:
        return None
    tests = tables.split_tests(run)
    perm = {d["split"]: d for d in (tests.to_dict("records") if tests is not None else [])}
    t = Table(title="Group differences (group 1 − group 0)", title_justify="left")
    for col in ("split", "posterior mean", "95% ETI", "P(diff>0)", "replica perm. p", "paper p"):
        t.add_column(col, justify="left" if col == "split" else "right")
    for r in diffs.itertuples(index=False):
        d = perm.get(r.split, {})
        t.add_row(split_label(r.split), fmt_num(r.mean), fmt_interval(r.lo, r.hi), fmt_p(r.p_gt0),
                  fmt_p(d.get("perm_p_one_sided")), fmt_p(d.get("published_p")))
    return t


def _validation(run: RunFolder) -> Any | None:
    from rich.table import Table

    if not run.validation:
        return None
    t = Table(title="Published claims", title_justify="left")
    for col in ("claim", "replica", "posterior"):
        t.add_column(col)
    for r in run.validation:
        t.add_row(str(r["claim"]), str(r["replica_verdict"]), str(r["posterior_verdict"]))
    return t


def print_summary(run_dir: str | Path | RunFolder, console: Any | None = None, report: Path | None = None) -> None:
    """Print the run's headline numbers: data source, replicas, posterior effects and gates, claims."""
    run = load_run(run_dir)
    con = _console(console)
    facts = tables.panel_facts(run)
    source = run.data_source.upper() if run.synthetic else run.data_source
    style = "bold white on dark_orange3" if run.synthetic else "bold"
    size = f"{facts['nobs']} city-years, {facts['cities']} cities × {facts['years']} years" if facts else "no panel"
    con.print(f"[{style}] data: {source} [/] {size} · {run.root}")
    pieces = [_table1(run), _replicas(run), _bayes(run), _hetero(run), _validation(run)]
    for piece in pieces:
        if piece is not None:
            con.print(piece)
    if all(p is None for p in pieces):
        con.print("nothing estimated yet in this run folder (no replicas/, bayes/ or validation.json)")
    report = report if report is not None else run.root / "report.html"
    if report.is_file():
        con.print(f"report: {report}")
