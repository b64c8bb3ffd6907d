"""`ctfp fe`, `ctfp iv`, `ctfp replicate`: Stata-exact panel regressions and a study's tables (default: the
paper's Tables 2–6).

Heavy imports (pandas, scipy, rich) happen inside the handlers so `ctfp --help` stays fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:
    fe = sub.add_parser("fe", help="OLS with absorbed fixed effects and clustered SEs (reghdfe conventions)",
                        description="OLS with absorbed fixed effects, matching Stata reghdfe: small-sample factor "
                                    "(N-1)/(N-K-df) G/(G-1), t-tests with G-1 df, FE nested in a cluster not "
                                    "counted.")
    _common(fe)
    fe.add_argument("--x", required=True, help="regressors, comma-separated (first is the one of interest)")
    fe.set_defaults(func=_fe)

    iv = sub.add_parser("iv", help="2SLS with absorbed FEs, first stage and Kleibergen-Paap diagnostics "
                                   "(ivreghdfe conventions)",
                        description="FE-2SLS matching Stata ivreghdfe/ivreg2: first stage, KP rk LM (p), KP rk "
                                    "Wald F, Cragg-Donald F, Stock-Yogo critical values, Hansen J if "
                                    "over-identified.")
    _common(iv)
    iv.add_argument("--endog", required=True, help="the endogenous regressor")
    iv.add_argument("--instruments", required=True, help="excluded instruments, comma-separated")
    iv.add_argument("--exog", default="", help="included exogenous regressors (controls), comma-separated")
    iv.add_argument("--nosmall", action="store_true",
                    help="no small-sample correction, normal p-values (ivreg2 without `small`)")
    iv.set_defaults(func=_iv)

    rep = sub.add_parser("replicate", help="a study's tables beside its published numbers (default: the paper's "
                                           "Tables 2-6)",
                         description="Estimate every [[tables]] column of a study file (default: the shipped "
                                     "Shen & Chao 2025 study) on a panel (default: the study's; for the paper the "
                                     "embedded synthetic panel) and write DIR/tables/replicas.csv, columns.csv, "
                                     "tests.csv and one Markdown file per table.")
    rep.add_argument("panel", nargs="?", default=None, help="panel file (raw or analysis); default: the study's")
    rep.add_argument("--out", required=True, help="output folder (files go to OUT/tables/)")
    rep.add_argument("--study", default=None, help="study file (default: the paper's, studies/shen_chao_2025)")
    rep.add_argument("--permutations", type=int, default=None,
                     help="permutations of every permutation test (default: as the study file says)")
    rep.add_argument("--permutation-level", choices=("unit", "obs"), default=None,
                     help="permute whole units' label paths or single observations (default: as the study says)")
    rep.add_argument("--seed", type=int, default=None,
                     help="seed of the k-th permutation test = SEED + k (default: the study file's seeds)")
    rep.add_argument("--quiet", action="store_true", help="no progress lines")
    rep.set_defaults(func=_replicate)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("data", help="panel file: CSV, Parquet, XLSX or DTA")
    p.add_argument("--y", required=True, help="dependent variable")
    p.add_argument("--absorb", default="", help="fixed effects to absorb, comma-separated (e.g. city,year)")
    p.add_argument("--cluster", default="", help="cluster variable(s), comma-separated (two = two-way)")
    p.add_argument("--robust", action="store_true", help="heteroskedasticity-robust SEs when not clustering")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")


def _read(path: str) -> Any:
    from ctfp.data.readers import read_panel

    return read_panel(path)


def _fe(args: argparse.Namespace) -> int:
    from ctfp.models.panel.estimators import fit_ols

    frame = _read(args.data)
    res = fit_ols(frame, args.y, args.x, absorb=args.absorb, cluster=args.cluster, robust=args.robust,
                  source=args.data)
    _emit(res, args)
    return 0


def _iv(args: argparse.Namespace) -> int:
    from ctfp.models.panel.estimators import fit_iv

    frame = _read(args.data)
    res = fit_iv(frame, args.y, args.endog, args.instruments, exog=args.exog, absorb=args.absorb,
                 cluster=args.cluster, robust=args.robust, small=not args.nosmall, source=args.data)
    _emit(res, args)
    return 0


def _emit(res: Any, args: argparse.Namespace) -> None:
    for w in res.warnings:  # what makes the inference unreliable: on stderr, whatever the output format
        print(f"warning: {args.data}: {w}", file=sys.stderr)
    if args.json:
        print(json.dumps(_clean(res.to_dict()), indent=2))
        return
    from rich.console import Console

    console = Console()
    for part in render(res):  # one renderable per line (notes are never joined)
        console.print(part)


def _clean(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if obj == obj and abs(obj) != float("inf") else None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    return obj


def render(res: Any) -> list[Any]:
    """Rich renderables of a fit laid out like Stata's output."""
    from rich.table import Table
    from rich.text import Text

    lo, hi = res.ci()
    title = ("Linear regression" if res.method == "ols" else "IV (2SLS) regression")
    if res.absorb:
        title += f", absorbing {' '.join(res.absorb)}"
    head = Table.grid(padding=(0, 3))
    head.add_row(title, f"Number of obs = {res.nobs}")
    vce = res.vce if res.vce != "cluster" else f"cluster {' '.join(res.cluster)} ({res.n_clusters} clusters)"
    head.add_row(f"Std. err.: {vce}", f"R-squared = {res.r2_overall:.4f}")
    head.add_row(f"t df: {'normal' if res.df_t == float('inf') else int(res.df_t)}",
                 f"Within R-sq. = {res.r2_within:.4f}")
    tab = Table(show_edge=False)
    tab.add_column(res.y)
    for c in ("Coefficient", "Std. err.", "t", "P>|t|", "[95% conf.", "interval]"):
        tab.add_column(c, justify="right")
    for j, name in enumerate(res.names):
        tab.add_row(name, _f(res.coef[j], ".7g"), _f(res.se[j], ".7g"), _f(res.t[j], ".2f"), _f(res.p[j], ".3f"),
                    _f(lo[j], ".7g"), _f(hi[j], ".7g"))
    out: list[Any] = [head, tab]
    if res.first_stage is not None:
        fs = res.first_stage
        ft = Table(title=f"First stage ({fs.endog}); partial R² = {fs.partial_r2:.4f}", show_edge=False)
        for c in ("instrument", "Coefficient", "Std. err.", "t", "P>|t|"):
            ft.add_column(c, justify="right" if c != "instrument" else "left")
        for j, name in enumerate(fs.names):
            ft.add_row(name, _f(fs.coef[j], ".6g"), _f(fs.se[j], ".6g"), _f(fs.t[j], ".2f"), _f(fs.p[j], ".3f"))
        out.append(ft)
        d = res.diagnostics
        diag = Table.grid(padding=(0, 2))
        diag.add_row("Kleibergen-Paap rk LM (underidentification)",
                     f"{d['kp_rk_lm']:.3f}  Chi-sq({d['kp_rk_lm_df']}) p = {d['kp_rk_lm_p']:.4f}")
        diag.add_row("Kleibergen-Paap rk Wald F (weak identification)", f"{d['kp_rk_wald_f']:.3f}")
        diag.add_row("Cragg-Donald Wald F", f"{d['cragg_donald_f']:.3f}")
        for kind, vals in d.get("stock_yogo", {}).items():
            label = "maximal IV size" if kind == "size" else "maximal IV relative bias"
            diag.add_row(f"Stock-Yogo critical values ({label})",
                         ", ".join(f"{k} {v:.2f}" for k, v in vals.items()))
        if "hansen_j" in d:
            diag.add_row("Hansen J (overidentification)",
                         f"{d['hansen_j']:.3f}  Chi-sq({d['hansen_j_df']}) p = {d['hansen_j_p']:.4f}")
        out.append(diag)
    if res.warnings and any(v != v for v in res.se):
        out.append(Text("n/a: not defined for this fit; the reasons are the warnings on stderr"))
    for note in res.notes:
        out.append(Text(f"note: {note}"))  # plain text: a column name in brackets is not rich markup
    return out


def _f(x: float, spec: str) -> str:
    """A number as Stata prints it; a statistic that is not defined (NaN) is shown as 'n/a', never as 0."""
    return "n/a" if x != x else format(x, spec)


def _replicate(args: argparse.Namespace) -> int:
    """A study's tables (default: the paper's Tables 2-6) on a panel: `run_tables` and a one-line summary."""
    from pathlib import Path

    from ctfp.core.atomic import check_output_path
    from ctfp.core.errors import InputError
    from ctfp.core.study_load import load_study
    from ctfp.inference.prepare import load_analysis_panel
    from ctfp.inference.tables import run_tables
    from ctfp.studies import study_path

    if args.permutations is not None and args.permutations < 1:
        raise InputError(f"--permutations must be at least 1, got {args.permutations}")
    check_output_path(args.out, "folder")  # before the panel is scored and the tables fitted
    check_output_path(Path(args.out) / "tables", "folder")
    study = load_study(args.study or study_path())
    if not study.tables:
        raise InputError(f"{study.label}: the study has no [[tables]] to replicate; add them (docs/study.md)")
    study = _override_tests(study, args.permutations, args.permutation_level, args.seed)
    panel = load_analysis_panel(args.panel, study=study, progress=not args.quiet)
    res = run_tables(study, panel, Path(args.out), progress=not args.quiet)
    rep = res.replicas
    coef = rep[(rep["kind"] == "coef") & rep["published_estimate"].notna()]
    est = coef[coef["estimate"].notna()]
    print(f"{len(est)} of {len(coef)} published coefficients replicated: same sign "
          f"{int(est['sign_agrees'].fillna(False).sum())}, same stars {int(est['stars_agree'].fillna(False).sum())}, "
          f"published inside the CI {int(est['published_in_ci'].fillna(False).sum())}; "
          f"tables in {Path(args.out) / 'tables'}", file=sys.stdout)
    return 0


def _override_tests(study: Any, permutations: int | None, level: str | None, seed: int | None) -> Any:
    """The study with its permutation tests' settings overridden from the command line (the k-th permutation
    test gets seed SEED + k, as the paper's study numbers its seeds)."""
    from dataclasses import replace

    if permutations is None and level is None and seed is None:
        return study
    k = 0
    tables = []
    for t in study.tables:
        tests = []
        for d in t.tests:
            if d.method == "permutation":
                d = replace(d, permutations=permutations or d.permutations, level=level or d.level,
                            seed=d.seed if seed is None else seed + k)
                k += 1
            tests.append(d)
        tables.append(replace(t, tests=tuple(tests)))
    return replace(study, tables=tuple(tables))
