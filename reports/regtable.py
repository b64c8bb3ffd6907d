"""Regression tables in the layout papers print (Stata esttab/outreg2, pyfixest `etable`).

`build_regtable(replicas, columns, table)` is a pure function from the run folder's `tables/replicas.csv` and
`tables/columns.csv` (docs/contract.md, "The study model and the tables schema") to a `RegTable`: models as
columns, each coefficient with Stata stars and its t (or se) in parentheses beneath, then a block of rows for
hidden controls ("Controls: Yes"), fixed effects, clustering, N, R², Kleibergen-Paap statistics, and the note
line. A table whose cells carry published values shows each model as a "Published | Replica" column pair.
The writers (`ctfp.reports.regwriters`: LaTeX, Word, Markdown, HTML) only render a `RegTable`; the report uses
the same object. Nothing is estimated here: every number is read from the frames.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from ctfp.reports.i18n import check_lang, dimension, tr

Beneath = Literal["t", "se"]
STAT_TERMS = ("N", "R2", "R2_within", "KP_LM", "KP_LM_p", "KP_F", "CD_F", "diff_p")
INTERCEPTS = ("Intercept", "_cons", "const", "(Intercept)")


@dataclass(frozen=True)
class LCell:
    """One printed cell. `text` is the number (or word) without stars; `stars` is "", "*", "**" or "***".
    `key`/`value` identify the number for tests and the HTML's data attributes (value: unrounded)."""

    text: str = ""
    stars: str = ""
    span: int = 1
    key: str | None = None
    value: float | str | None = None
    kind: Literal["num", "paren", "bracket", "word", "head"] = "num"


@dataclass
class LRow:
    label: str
    cells: list[LCell]
    kind: Literal["coef", "beneath", "info", "stat"]
    term: str = ""
    rule_above: bool = False  # a horizontal rule starts a new block here (booktabs \midrule)


@dataclass
class RegTable:
    id: str
    title: str
    stub: str  # heading of the label column ("Variable" / "变量")
    header: list[list[LCell]]  # header rows; the spans of each row add up to n_leaf
    rows: list[LRow]
    notes: list[str]
    n_leaf: int
    lang: str
    pairs: bool  # every model is a (published, replica) column pair
    columns: list[str] = field(default_factory=list)  # model ids, in order
    caption: str = ""  # the study's title alone (LaTeX numbers its own floats)
    number: str = ""  # "2" for T2

    def _repr_html_(self) -> str:
        """Jupyter shows the table as the report does."""
        from ctfp.reports.regwriters import HTML_CSS, to_html

        return f"<style>{HTML_CSS}</style>" + to_html(self)

    def panels(self, max_leaf: int = 12) -> list[RegTable]:
        """The table cut into panels of whole models with at most `max_leaf` number columns each (Table 6's
        twelve models print as two panels of six), for pages that cannot hold it; notes stay with the last."""
        width = 2 if self.pairs else 1
        n_models = len(self.columns)
        if self.n_leaf <= max_leaf or n_models < 2:
            return [self]
        n_panels = -(-self.n_leaf // max_leaf)
        per = -(-n_models // n_panels)
        out: list[RegTable] = []
        for k in range(0, n_models, per):
            lo, hi = k * width, min(n_models, k + per) * width
            out.append(RegTable(self.id, self.title, self.stub, [_slice(h, lo, hi) for h in self.header],
                                [LRow(r.label, _slice(r.cells, lo, hi), r.kind, r.term, r.rule_above)
                                 for r in self.rows], self.notes if hi == n_models * width else [],
                                hi - lo, self.lang, self.pairs, self.columns[k:k + per], self.caption, self.number))
        return out

    def numbers(self) -> dict[str, float]:
        """key -> unrounded value of every numeric cell (what a test compares with replicas.csv)."""
        out: dict[str, float] = {}
        for row in self.rows:
            for c in row.cells:
                if c.key and isinstance(c.value, int | float) and not isinstance(c.value, bool):
                    out[c.key] = float(c.value)
        return out


def _slice(cells: list[LCell], lo: int, hi: int) -> list[LCell]:
    """The cells covering leaf columns [lo, hi); a span crossing a cut is shortened to its part inside."""
    out: list[LCell] = []
    pos = 0
    for c in cells:
        a, b = max(pos, lo), min(pos + c.span, hi)
        if a < b:
            out.append(LCell(c.text, c.stars, b - a, c.key, c.value, c.kind))
        pos += c.span
    return out


# ---------------------------------------------------------------------------------------------- formatting
def _missing(x: Any) -> bool:
    if x is None:
        return True
    try:
        return bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


def _num(x: Any) -> float | None:
    if _missing(x):
        return None
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def fmt_est(x: float, digits: int = 4) -> str:
    """Coefficients with 4 decimals; magnitudes too small for them in scientific notation (3.54e-09)."""
    if x != 0 and round(x, digits) == 0:  # would print as 0.0000
        return f"{x:.2e}"
    if abs(x) >= 1e6:
        return f"{x:.3e}"
    return f"{x:.{digits}f}"


def _stars(n: Any) -> str:
    v = _num(n)
    return "" if v is None else "*" * int(v)


def _split(v: Any) -> list[str]:
    if _missing(v):
        return []
    return [p.strip() for p in re.split(r"[+;,]", str(v)) if p.strip()]


def table_number(table_id: str) -> str:
    """`T2` -> `2` (the number papers print); other ids as they are."""
    m = re.fullmatch(r"[Tt](\d+[A-Za-z]?)", str(table_id))
    return m.group(1) if m else str(table_id)


# ---------------------------------------------------------------------------------------------- the builder
def build_regtable(
    replicas: pd.DataFrame,
    columns: pd.DataFrame | None,
    table: str,
    *,
    tests: pd.DataFrame | None = None,
    lang: str = "en",
    beneath: Beneath = "t",
    keep: Sequence[str] | None = None,
    labels: Mapping[str, str] | None = None,
    title: str = "",
    note: str = "",
    unit: str = "",
    time: str = "",
    pairs: bool | None = None,
) -> RegTable:
    """The paper layout of one table of `replicas` (and its models' facts in `columns`).

    keep: the coefficient rows to show, in order; None = the terms that have a published value when the table
    has any (the rest are "Controls: Yes"), else every coefficient. labels: term -> printed label (default: the
    term). unit/time: the study's unit and period columns (their FE rows come first, named "City FE", "Year FE").
    pairs: published | replica column pairs; None = when any cell of the table has a published value.
    """
    lang = check_lang(lang)
    if beneath not in ("t", "se"):
        raise ValueError(f"beneath must be 't' or 'se', not {beneath!r}")
    labels = dict(labels or {})
    rep = replicas[replicas["table"].astype(str) == str(table)].copy()
    cols_meta = None
    if columns is not None and len(columns):
        cols_meta = columns[columns["table"].astype(str) == str(table)].copy()
    if rep.empty and (cols_meta is None or cols_meta.empty):
        raise KeyError(table)
    if "kind" not in rep.columns:
        rep["kind"] = ["stat" if t in STAT_TERMS else "coef" for t in rep["term"]]
    rep["term"] = rep["term"].astype(str)
    rep["column"] = rep["column"].astype(str)

    # Model columns: the order of columns.csv (the study's), then any only in replicas.csv.
    order: list[str] = [] if cols_meta is None else [str(c) for c in cols_meta["column"]]
    for c in rep["column"]:
        if c not in order:
            order.append(c)
    meta = {} if cols_meta is None else {str(r["column"]): r for _, r in cols_meta.iterrows()}
    # Difference-test p-values in replicas.csv (old run folders key them "(1)-(2)") go to the notes.
    stray = rep[rep["term"] == "diff_p"]
    rep = rep[rep["term"] != "diff_p"]
    present = set(rep["column"])
    model_cols = [c for c in order if (c in meta if meta else c in present)]

    has_pub = "published_estimate" in rep.columns and rep["published_estimate"].notna().any()
    pairs = has_pub if pairs is None else bool(pairs and has_pub)
    width = 2 if pairs else 1
    n_leaf = width * len(model_cols)
    cell_at = {(r.column, r.term): r for r in rep.itertuples(index=False)}

    coef = rep[rep["kind"].astype(str) == "coef"]
    all_terms = list(dict.fromkeys(coef["term"]))
    if keep is not None:
        missing = [k for k in keep if k not in all_terms]
        if missing:
            raise KeyError(", ".join(missing))
        shown = list(keep)
    elif has_pub:  # the published rows, and every model's treatment (a model the paper lacks still shows it)
        treatments = {str(meta[c].get("treatment")) for c in model_cols if c in meta and "treatment" in meta[c]}
        shown = [t for t in all_terms if t in treatments or
                 coef.loc[coef["term"] == t, "published_estimate"].notna().any()]
    else:
        shown = [t for t in all_terms if t not in INTERCEPTS]
    intercept = [t for t in all_terms if t in INTERCEPTS and t not in shown and keep is None and not has_pub]
    hidden_by_col = {}
    for c in model_cols:  # regressors of the column not shown: in replicas.csv or named by its formula
        in_rep = list(coef.loc[coef["column"] == c, "term"])
        in_formula = formula_terms(meta[c].get("formula"), str(meta[c].get("estimator", ""))) if c in meta else []
        hidden_by_col[c] = [t for t in dict.fromkeys([*in_rep, *in_formula])
                            if t not in shown and t not in INTERCEPTS]

    header = _header(model_cols, meta, pairs, lang)
    rows: list[LRow] = []
    for label, terms in _row_groups([*shown, *intercept], labels, model_cols, cell_at, lang):
        top, sub = [], []
        for c in model_cols:
            term = next((t for t in terms if (c, t) in cell_at), terms[0])
            r = cell_at.get((c, term))
            key = f"{table}.{c}.{term}"
            if pairs:
                top.append(_coef_cell(r, "published_estimate", "published_stars", f"{key}.published_estimate"))
                sub.append(_beneath_cell(r, beneath, published=True, key=f"{key}.published_{beneath}"))
            top.append(_coef_cell(r, "estimate", "stars", f"{key}.estimate"))
            sub.append(_beneath_cell(r, beneath, published=False, key=f"{key}.{beneath}"))
        rows.append(LRow(label, top, "coef", "+".join(terms)))
        rows.append(LRow("", sub, "beneath", "+".join(terms)))

    info: list[LRow] = []
    if any(hidden_by_col.values()):
        info.append(LRow(tr("reg.controls", lang),
                         [LCell(tr("reg.yes", lang) if hidden_by_col[c] else tr("reg.no", lang), span=width,
                                kind="word") for c in model_cols], "info"))
    fe_names: list[str] = []
    for c in model_cols:
        for f in _split(meta[c]["fe"]) if c in meta and "fe" in meta[c] else []:
            if f not in fe_names:
                fe_names.append(f)
    fe_names.sort(key=lambda f: (0 if f == unit else 1 if f == time else 2))
    for f in fe_names:
        info.append(LRow(tr("reg.fe", lang, name=dimension(f, lang)),
                         [LCell(tr("reg.yes", lang) if f in _split(meta[c]["fe"]) else tr("reg.no", lang),
                                span=width, kind="word") for c in model_cols], "info"))
    clusters = {c: _split(meta[c]["cluster"]) if c in meta and "cluster" in meta[c] else None for c in model_cols}
    distinct = {tuple(v) for v in clusters.values() if v is not None}
    if meta and len(distinct) > 1:  # one clustering for every model is said once, in the note
        info.append(LRow(tr("reg.cluster", lang),
                         [LCell(" × ".join(dimension(x, lang) for x in v) if v else
                                tr("reg.robust", lang) if v is not None else "", span=width, kind="word")
                          for c, v in clusters.items()], "info"))
    if info:
        info[0].rule_above = True
    rows += info

    stats = _stat_rows(table, model_cols, meta, cell_at, pairs, lang)
    if stats:
        stats[0].rule_above = True
    rows += stats

    notes = _notes(table, model_cols, meta, stray, tests, hidden_by_col, labels, lang, beneath, pairs, stats,
                   note, labels.get(shown[0], shown[0]) if shown else "")
    head = tr("reg.table", lang, id=table_number(table))
    return RegTable(id=str(table), title=f"{head}  {title}".strip() if title else head,
                    stub=tr("reg.variable", lang), header=header, rows=rows, notes=notes, n_leaf=n_leaf,
                    lang=lang, pairs=pairs, columns=model_cols, caption=title, number=table_number(table))


def formula_terms(formula: Any, estimator: str = "") -> list[str]:
    """The regressors a fixest-style formula names: `y ~ x1 + x2 | fe | endog ~ z` -> x1, x2, endog (a first
    stage, estimator `iv_first`: x1, x2, z). Only used to tell which regressors a table hides."""
    if _missing(formula) or "~" not in str(formula):
        return []
    parts = [p.strip() for p in str(formula).split("|")]
    rhs = parts[0].split("~", 1)[1]
    terms = [t.strip() for t in rhs.split("+")]
    if len(parts) >= 3 and "~" in parts[-1]:
        endog, inst = parts[-1].split("~", 1)
        terms += [t.strip() for t in (inst if estimator == "iv_first" else endog).split("+")]
    return [t for t in terms if t and t not in ("0", "1", "-1")]


def _row_groups(terms: list[str], labels: Mapping[str, str], model_cols: list[str],
                cell_at: dict[tuple[str, str], Any], lang: str) -> list[tuple[str, list[str]]]:
    """One row per printed label: terms sharing a label (a paper's "AI" row holding `ai` in one column and
    `ai_kw1` in another, as esttab's rename()) share a row when no column has two of them."""
    groups: dict[str, list[str]] = {}
    for t in terms:
        label = tr("reg.constant", lang) if t in INTERCEPTS else labels.get(t, t)
        groups.setdefault(label, []).append(t)
    out: list[tuple[str, list[str]]] = []
    for label, ts in groups.items():
        clash = any(sum((c, t) in cell_at for t in ts) > 1 for c in model_cols)
        if clash:
            out += [(f"{label} ({t})", [t]) for t in ts]
        else:
            out.append((label, ts))
    return out


def _header(model_cols: list[str], meta: dict[str, Any], pairs: bool, lang: str) -> list[list[LCell]]:
    width = 2 if pairs else 1
    header: list[list[LCell]] = []
    labels = [str(meta[c]["label"]) if c in meta and "label" in meta[c] and not _missing(meta[c]["label"])
              else "" for c in model_cols]
    if any(labels):  # adjacent models with the same label share one spanning heading (esttab mgroups)
        row: list[LCell] = []
        for lab in labels:
            if row and row[-1].text == lab and lab:
                row[-1] = LCell(lab, span=row[-1].span + width, kind="head")
            else:
                row.append(LCell(lab, span=width, kind="head"))
        header.append(row)
    outcomes = [str(meta[c]["outcome"]) if c in meta and "outcome" in meta[c] and not _missing(meta[c]["outcome"])
                else "" for c in model_cols]
    if len(set(outcomes)) > 1 and not any(labels):  # models of different outcomes: name them (esttab depvars)
        header.append([LCell(o, span=width, kind="head") for o in outcomes])
    header.append([LCell(c, span=width, kind="head") for c in model_cols])
    if pairs:
        header.append([LCell(tr(k, lang), kind="head") for _ in model_cols
                       for k in ("reg.published", "reg.replica")])
    return header


def _coef_cell(r: Any, col: str, stars_col: str, key: str) -> LCell:
    v = _num(getattr(r, col, None)) if r is not None else None
    if v is None:
        return LCell()
    return LCell(fmt_est(v), _stars(getattr(r, stars_col, None)), key=key, value=v)


def _beneath_cell(r: Any, beneath: Beneath, *, published: bool, key: str) -> LCell:
    if r is None:
        return LCell()
    col = f"published_{beneath}" if published else beneath
    v = _num(getattr(r, col, None))
    if v is None:
        return LCell()
    return LCell(f"({v:.2f})" if beneath == "t" else f"({fmt_est(v)})", key=key, value=v, kind="paren")


STAT_SPECS: tuple[tuple[str, str, str], ...] = (
    # term, label key, format ("int" | "r2" | "stat")
    ("N", "reg.n", "int"),
    ("R2", "reg.r2", "r2"),
    ("R2_within", "reg.r2_within", "r2"),
    ("KP_LM", "reg.kp_lm", "stat"),
    ("KP_F", "reg.kp_f", "stat"),
    ("CD_F", "reg.cd_f", "stat"),
)


def _fmt_stat(v: float, how: str) -> str:
    if how == "int":
        return f"{int(round(v))}"
    return f"{v:.4f}" if how == "r2" else f"{v:.3f}"


def _stat_rows(table: str, model_cols: list[str], meta: dict[str, Any], cell_at: dict[tuple[str, str], Any],
               pairs: bool, lang: str) -> list[LRow]:
    meta_col = {"N": "nobs", "R2": "r2", "R2_within": "r2_within"}
    rows: list[LRow] = []
    have_r2 = any((c, "R2") in cell_at or (c in meta and _num(meta[c].get("r2")) is not None) for c in model_cols)
    for term, label_key, how in STAT_SPECS:
        if term == "R2_within" and have_r2:
            continue  # papers print one R²; the within R² is in replicas.csv for whoever wants it
        cells: list[LCell] = []
        any_value = False
        for c in model_cols:
            r = cell_at.get((c, term))
            key = f"{table}.{c}.{term}"
            rep_v = _num(getattr(r, "estimate", None)) if r is not None else None
            if rep_v is None and c in meta and term in meta_col:
                rep_v = _num(meta[c].get(meta_col[term]))
            pub_v = _num(getattr(r, "published_estimate", None)) if r is not None else None
            values = [(pub_v, f"{key}.published_estimate", "published_"), (rep_v, f"{key}.estimate", "")] if pairs \
                else [(rep_v, f"{key}.estimate", "")]
            for v, k, prefix in values:
                if v is None:
                    cells.append(LCell())
                    continue
                any_value = True
                text = _fmt_stat(v, how)
                if term == "KP_LM":  # the paper prints the LM statistic with its p-value in brackets
                    pr = cell_at.get((c, "KP_LM_p"))
                    p = _num(getattr(pr, f"{prefix}estimate", None)) if pr is not None else None
                    if p is not None:
                        text += f" [{p:.4f}]"
                cells.append(LCell(text, key=k, value=v))
        if any_value:
            rows.append(LRow(tr(label_key, lang), cells, "stat", term))
    return rows


def _notes(table: str, model_cols: list[str], meta: dict[str, Any], stray: pd.DataFrame,
           tests: pd.DataFrame | None, hidden: dict[str, list[str]], labels: Mapping[str, str], lang: str,
           beneath: Beneath, pairs: bool, stats: list[LRow], study_note: str, first_term: str) -> list[str]:
    sep, end = tr("reg.sep", lang), tr("reg.end", lang)
    first = [tr("reg.note_stars", lang), tr("reg.note_t" if beneath == "t" else "reg.note_se", lang)]
    if any(r.term == "KP_LM" and any("[" in c.text for c in r.cells) for r in stats):
        first.append(tr("reg.note_kp", lang))
    clusters = {" × ".join(dimension(x, lang) for x in _split(meta[c]["cluster"]))
                for c in model_cols if c in meta and "cluster" in meta[c]}
    if len(clusters) == 1:
        what = next(iter(clusters))
        what = what.lower() if lang == "en" else what
        first.append(tr("reg.note_cluster", lang, what=what) if what else tr("reg.note_robust", lang))
    notes = [tr("reg.note_prefix", lang) + sep.join(first) + end]
    hidden_terms = list(dict.fromkeys(t for c in model_cols for t in hidden[c]))
    if hidden_terms:
        notes.append(tr("reg.note_hidden", lang, terms=", ".join(labels.get(t, t) for t in hidden_terms)) + end)
    if pairs:
        notes.append(tr("reg.note_pairs", lang) + end)
    for line in _diff_notes(table, stray, tests, labels, lang, first_term):
        notes.append(line + end)
    if study_note:
        notes.append(study_note)
    return notes


def _diff_notes(table: str, stray: pd.DataFrame, tests: pd.DataFrame | None, labels: Mapping[str, str],
                lang: str, first_term: str) -> list[str]:
    out: list[str] = []
    if tests is not None and len(tests):
        for r in tests[tests["table"].astype(str) == str(table)].itertuples(index=False):
            p = _num(getattr(r, "p", None))
            method = str(getattr(r, "method", "permutation"))
            key = f"reg.method.{method}"
            out.append(tr("reg.note_diff", lang, term=labels.get(str(r.term), str(r.term)), a=r.column_a,
                          b=r.column_b, method=tr(key, lang) if key in _METHOD_KEYS else method,
                          p="–" if p is None else f"{p:.3f}"))
    elif stray is not None and len(stray):  # old run folders: a "(1)-(2)" row of diff_p
        for r in stray.itertuples(index=False):
            a, _, b = str(r.column).partition("-")
            b = b or "?"
            p, pub = _num(getattr(r, "estimate", None)), _num(getattr(r, "published_estimate", None))
            line = tr("reg.note_diff", lang, term=first_term, a=a, b=b,
                      method=tr("reg.method.permutation", lang), p="–" if p is None else f"{p:.3f}")
            if pub is not None:
                line += tr("reg.note_diff_pub", lang, p=f"{pub:.3f}")
            out.append(line)
    return out


_METHOD_KEYS = {"reg.method.permutation", "reg.method.chow", "reg.method.suest"}

