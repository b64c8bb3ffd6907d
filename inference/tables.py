"""A study's frequentist tables: every `[[tables]]` column estimated from its formula, the difference tests,
the published numbers beside them, and verdicts.

`run_tables(study, frame, rundir)` writes `tables/replicas.csv` (one row per table, column and term),
`tables/columns.csv` (one row per regression), `tables/tests.csv` (one row per difference test) in the schema
of docs/contract.md, and `tables/<id>.md` (each table for the terminal). The fixed effects are projected out
once per (sample, fixed effects) and shared by every column on it (`WithinCache`); the split fits of a
difference test are the columns' own fits (SUEST reads their scores, nothing is refitted).

A column that cannot be estimated on this panel (a regressor of interest absorbed, too few clusters, a
singular design) is kept: its cells have empty estimates and a `note` saying why. A study-file mistake (a
formula naming a column the panel lacks, a sample that selects nothing, a test between columns that do not
exist) is an InputError naming the study file and line.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ctfp.core.atomic import write_csv, write_text
from ctfp.core.errors import CtfpError, InputError
from ctfp.core.study import DiffTest, Study, Table, TableColumn
from ctfp.models.panel import groupdiff as gd
from ctfp.models.panel.estimators import PanelResult, fit_iv, fit_ols, stars
from ctfp.models.panel.formula import FE_JOIN, FormulaError, PanelFormula, parse_formula
from ctfp.models.panel.within import WithinCache

REPLICA_COLUMNS: tuple[str, ...] = (
    "table", "column", "term", "kind", "estimate", "se", "t", "p", "ci_low", "ci_high", "stars", "nobs",
    "published_estimate", "published_se", "published_t", "published_stars", "published_note",
    "sign_agrees", "stars_agree", "published_in_ci", "note")
COLUMN_COLUMNS: tuple[str, ...] = (
    "table", "column", "label", "formula", "estimator", "outcome", "treatment", "fe", "cluster", "sample",
    "nobs", "n_clusters", "r2", "r2_within")
TEST_COLUMNS: tuple[str, ...] = (
    "table", "column_a", "column_b", "term", "method", "estimate_a", "estimate_b", "diff", "p", "p_two_sided",
    "permutations", "level", "seed", "note")
OLS_STATS: tuple[str, ...] = ("N", "R2", "R2_within")
IV_STATS: tuple[str, ...] = ("N", "R2", "R2_within", "KP_LM", "KP_LM_p", "KP_F", "CD_F")
FIRST_STATS: tuple[str, ...] = ("N", "KP_LM", "KP_LM_p", "KP_F", "CD_F")
_LEVELS = {"unit": "city", "obs": "observation"}  # DiffTest.level -> groupdiff's permutation level
_GROUP = "__diff_group__"


@dataclass
class ColumnFit:
    """One estimated (or not estimable) column of a table."""

    table: Table
    column: TableColumn
    formula: PanelFormula
    mask: np.ndarray  # rows of the working frame in the column's sample
    result: PanelResult | None = None
    note: str = ""

    @property
    def estimator(self) -> str:
        if not self.formula.is_iv:
            return "ols"
        return "iv_first" if self.column.stage == "first" else "iv"

    @property
    def terms(self) -> tuple[str, ...]:
        if self.estimator == "iv_first":
            return self.formula.instruments
        return self.formula.regressors


@dataclass
class TablesResult:
    """What `run_tables` computed, as frames the report formats (and the files it wrote)."""

    replicas: pd.DataFrame
    columns: pd.DataFrame
    tests: pd.DataFrame
    markdown: dict[str, str] = field(default_factory=dict)  # table id -> Markdown
    fits: dict[tuple[str, str], PanelResult | None] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)


def _say(progress: bool, msg: str) -> None:
    if progress:
        print(f"ctfp tables: {msg}", file=sys.stderr, flush=True)


def _at(where: object, table: Table, column: TableColumn | None = None) -> str:
    what = f"table {table.id}" + (f" column {column.id}" if column is not None else "")
    return f"{where}: {what}"


# --------------------------------------------------------------------------------------------- checking


def parse_columns(study: Study, frame: pd.DataFrame) -> dict[tuple[str, str], PanelFormula]:
    """Parse every column's formula and check that the columns it names exist (InputError with the line)."""
    have = set(map(str, frame.columns))
    out: dict[tuple[str, str], PanelFormula] = {}
    for t in study.tables:
        ids = [c.id for c in t.columns]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise InputError(f"{_at(t.where, t)}: column id {dup[0]} is used twice; give each column its own id")
        for c in t.columns:
            try:
                f = parse_formula(c.formula)
            except FormulaError as err:
                raise InputError(f"{_at(c.where, t, c)}: {err}") from None
            if c.stage == "first" and not f.is_iv:
                raise InputError(f"{_at(c.where, t, c)}: stage = \"first\" needs an IV formula "
                                 "(y ~ x | fe | endog ~ z)")
            if c.stage == "first" and len(f.endog) != 1:
                raise InputError(f"{_at(c.where, t, c)}: a first stage is reported for one endogenous "
                                 "regressor; write one endog ~ z part")
            for name, role in [*((n, "formula") for n in f.columns), *((n, "cluster") for n in c.cluster)]:
                if name not in have:
                    raise InputError(f"{_at(c.where, t, c)}: the {role} names column '{name}', which the "
                                     f"analysis panel does not have; add it to the panel or [data.derive], or "
                                     f"fix the name")
            for name in (f.outcome, *f.endog, *f.exog, *f.instruments):
                col = frame[name]
                if not (pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col)):
                    present = col.dropna()
                    example = f"e.g. {present.iloc[0]!r}" if len(present) else "no values at all"
                    raise InputError(f"{_at(c.where, t, c)}: column '{name}' of the formula is not numeric "
                                     f"({example}); convert it in the panel or derive a numeric column")
            out[(t.id, c.id)] = f
    return out


def _sample_mask(study: Study, frame: pd.DataFrame, t: Table, c: TableColumn) -> np.ndarray:
    if not c.sample.strip():
        return np.ones(len(frame), dtype=bool)
    from ctfp.core.expr import evaluate

    values = np.asarray(evaluate(c.sample, frame, unit=study.data.unit, time=study.data.time,
                                 where=_at(c.where, t, c)), dtype=float)
    bad = np.isfinite(values) & (values != 0) & (values != 1)
    if bad.any():
        raise InputError(f"{_at(c.where, t, c)}: sample '{c.sample}' is not a condition (it gives "
                         f"{values[bad][0]:g} on row {int(np.flatnonzero(bad)[0]) + 1}); write a comparison such "
                         "as g == 1")
    mask = values == 1
    if not mask.any():
        raise InputError(f"{_at(c.where, t, c)}: sample '{c.sample}' selects no row of the panel; check the "
                         "condition and the values of the columns it reads")
    return mask


def _working_frame(frame: pd.DataFrame, formulas: Sequence[PanelFormula]) -> pd.DataFrame:
    """The panel with a clean row index and one code column per interacted fixed effect (`a^b`)."""
    work = frame.reset_index(drop=True)
    extra: dict[str, np.ndarray] = {}
    for f in formulas:
        for fe in f.fe:
            if FE_JOIN in fe and fe not in extra and fe not in work.columns:
                parts = fe.split(FE_JOIN)
                keys = work[parts]
                val = keys.groupby(parts, sort=True, dropna=False).ngroup().to_numpy(dtype=float)
                val[keys.isna().any(axis=1).to_numpy()] = np.nan
                extra[fe] = val
    if extra:
        work = pd.concat([work, pd.DataFrame(extra, index=work.index)], axis=1)
    return work


# ---------------------------------------------------------------------------------------------- fitting


def _fit(cf: ColumnFit, work: pd.DataFrame, cache: WithinCache,
         shared: dict[tuple[Any, ...], PanelResult]) -> None:
    f, c = cf.formula, cf.column
    sub = work.loc[cf.mask]
    source = _at(c.where, cf.table, c)
    key = (f.outcome, f.exog, f.fe, f.endog, f.instruments, c.cluster, cf.mask.tobytes())
    if key in shared:  # the first stage and the second stage of one IV are one fit
        cf.result = shared[key]
        return
    robust = not c.cluster
    if f.is_iv:
        res = fit_iv(sub, f.outcome, list(f.endog), list(f.instruments), exog=list(f.exog), absorb=f.fe,
                     cluster=c.cluster, robust=robust, source=source, keep_resid=True, demean=cache)
    else:
        res = fit_ols(sub, f.outcome, list(f.exog), absorb=f.fe, cluster=c.cluster, robust=robust, source=source,
                      keep_resid=True, demean=cache)
    shared[key] = res
    cf.result = res


def _t_quantile(q: float, df: float) -> float:
    from scipy import stats as st

    return float(st.norm.ppf(q) if np.isinf(df) else st.t.ppf(q, df))


def _stat(term: str, res: PanelResult) -> float | None:
    d = res.diagnostics
    value = {"N": float(res.nobs), "R2": res.r2_overall, "R2_within": res.r2_within,
             "KP_LM": d.get("kp_rk_lm"), "KP_LM_p": d.get("kp_rk_lm_p"), "KP_F": d.get("kp_rk_wald_f"),
             "CD_F": d.get("cragg_donald_f")}.get(term)
    return None if value is None else float(value)


def _empty_row(table: str, column: str, term: str, kind: str, note: str) -> dict[str, Any]:
    row: dict[str, Any] = {k: None for k in REPLICA_COLUMNS}
    row.update(table=table, column=column, term=term, kind=kind, note=note)
    return row


def _stats_of(cf: ColumnFit) -> tuple[str, ...]:
    return {"ols": OLS_STATS, "iv": IV_STATS, "iv_first": FIRST_STATS}[cf.estimator]


def _column_rows(cf: ColumnFit, ci_prob: float) -> list[dict[str, Any]]:
    t_id, c_id = cf.table.id, cf.column.id
    res = cf.result
    rows: list[dict[str, Any]] = []
    stats_ = _stats_of(cf)
    # what makes the inference unreliable (few clusters, a variance out of range) first, then the design notes
    base_note = cf.note or ("; ".join([*res.warnings, *res.notes]) if res is not None else "")
    for term in cf.terms:
        row = _empty_row(t_id, c_id, term, "coef", base_note)
        rows.append(row)
        if res is None:
            continue
        row["nobs"] = res.nobs
        if cf.estimator == "iv_first":
            fs = res.first_stage
            if fs is None:
                row["note"] = "no first stage (more than one endogenous regressor)"
                continue
            j = fs.names.index(term)
            coef, se, tv, p = float(fs.coef[j]), float(fs.se[j]), float(fs.t[j]), float(fs.p[j])
        else:
            if term not in res.names:
                row["note"] = f"{term} omitted (collinear) in this sample" + (f"; {base_note}" if base_note else "")
                continue
            j = res.index(term)
            coef, se, tv, p = float(res.coef[j]), float(res.se[j]), float(res.t[j]), float(res.p[j])
        q = _t_quantile(0.5 + ci_prob / 2.0, res.df_t)
        row.update(estimate=coef, se=se, t=tv, p=p, stars=stars(p), ci_low=coef - q * se, ci_high=coef + q * se)
    for term in stats_:
        row = _empty_row(t_id, c_id, term, "stat", base_note)
        rows.append(row)
        if res is not None:
            row["nobs"] = res.nobs
            row["estimate"] = _stat(term, res)
    return rows


def _column_record(cf: ColumnFit) -> dict[str, Any]:
    f, c, res = cf.formula, cf.column, cf.result
    return {
        "table": cf.table.id, "column": c.id, "label": c.label, "formula": c.formula, "estimator": cf.estimator,
        "outcome": f.endog[0] if cf.estimator == "iv_first" else f.outcome,
        "treatment": f.regressors[0] if f.regressors else "", "fe": "+".join(f.fe), "cluster": "+".join(c.cluster),
        "sample": c.sample, "nobs": res.nobs if res else None, "n_clusters": res.n_clusters if res else None,
        "r2": res.r2_overall if res and cf.estimator != "iv_first" else None,
        "r2_within": res.r2_within if res and cf.estimator != "iv_first" else None,
    }


# ------------------------------------------------------------------------------------- difference tests


def _check_test(study: Study, t: Table, test: DiffTest, fits: dict[str, ColumnFit]) -> tuple[ColumnFit, ColumnFit]:
    at = f"{test.where}: table {t.id} test {test.columns[0]} vs {test.columns[1]}"
    for cid in test.columns:
        if cid not in fits:
            raise InputError(f"{at}: column {cid} is not a column of table {t.id} (it has "
                             f"{', '.join(fits)}); fix the column id")
    a, b = fits[test.columns[0]], fits[test.columns[1]]
    if a.column.id == b.column.id:
        raise InputError(f"{at}: a difference test needs two different columns")
    for cf in (a, b):
        if cf.formula.is_iv:
            raise InputError(f"{at}: column {cf.column.id} is an IV regression; difference tests compare OLS "
                             "columns (split samples)")
        if test.term not in cf.formula.exog:
            raise InputError(f"{at}: '{test.term}' is not a regressor of column {cf.column.id} "
                             f"({cf.formula.text}); name a regressor both columns have")
    if (a.formula.outcome, a.formula.exog, a.formula.fe) != (b.formula.outcome, b.formula.exog, b.formula.fe):
        raise InputError(f"{at}: the two columns must have the same formula on different samples")
    if a.column.cluster != b.column.cluster:
        raise InputError(f"{at}: the two columns must be clustered alike")
    overlap = int((a.mask & b.mask).sum())
    if overlap:
        raise InputError(f"{at}: the samples of {a.column.id} and {b.column.id} share {overlap} row(s); a "
                         "difference test needs disjoint samples (e.g. g == 1 and g == 0)")
    if test.method in ("permutation", "chow"):
        unit, time = study.data.unit, study.data.time
        if test.method == "permutation" and set(a.formula.fe) != {unit, time}:
            raise InputError(f"{at}: the permutation test re-estimates two-way FE regressions; the columns must "
                             f"absorb exactly {unit} + {time} (they absorb {' + '.join(a.formula.fe) or 'nothing'})")
        if test.method == "chow" and not a.formula.fe:
            raise InputError(f"{at}: the interacted Chow test interacts the fixed effects with the group; the "
                             "columns absorb none (add e.g. | unit + year)")
        if test.method == "chow" and len(a.column.cluster) > 1:
            raise InputError(f"{at}: the interacted Chow test takes one cluster variable (or none: robust)")
    if test.method == "suest" and len(a.column.cluster) > 1:
        raise InputError(f"{at}: SUEST needs one cluster variable (or none)")
    if test.method == "permutation" and test.permutations < 1:
        raise InputError(f"{at}: permutations must be at least 1")
    return a, b


def _run_test(study: Study, t: Table, test: DiffTest, a: ColumnFit, b: ColumnFit, work: pd.DataFrame,
              grids: dict[tuple[str, ...], gd.GridDesign], executor: Any = None) -> dict[str, Any]:
    rec: dict[str, Any] = {k: None for k in TEST_COLUMNS}
    rec.update(table=t.id, column_a=a.column.id, column_b=b.column.id, term=test.term, method=test.method,
               note="")
    if test.method == "permutation":
        rec.update(permutations=test.permutations, level=test.level, seed=test.seed)
    ra, rb = a.result, b.result
    if ra is None or rb is None or test.term not in ra.names or test.term not in rb.names:
        rec["note"] = "not run: a column of the test is not estimated on this panel"
        return rec
    ea, eb = float(ra.coef[ra.index(test.term)]), float(rb.coef[rb.index(test.term)])
    rec.update(estimate_a=ea, estimate_b=eb, diff=ea - eb)
    f = a.formula
    x = list(f.exog)
    group = np.full(len(work), np.nan)
    group[a.mask] = 1.0
    group[b.mask] = 0.0
    try:
        if test.method == "permutation":
            unit, time = study.data.unit, study.data.time
            gkey = (f.outcome, *x)
            if gkey not in grids:
                grids[gkey] = gd.build_grid(work, f.outcome, x, unit=unit, time=time, source=str(test.where))
            grid = grids[gkey]
            labels = gd.grid_labels(work.assign(**{_GROUP: group}), _GROUP, grid, unit=unit, time=time)
            pt = gd.permutation_test(grid, labels, reps=test.permutations, seed=test.seed,
                                     level=_LEVELS[test.level], coef=x.index(test.term), executor=executor)
            rec.update(p=pt.p_one_sided, p_two_sided=pt.p_two_sided)
            if pt.n_invalid:
                rec["note"] = f"{pt.n_invalid} permutation(s) not estimable, excluded"
        elif test.method == "chow":
            res, _ = gd.chow_interacted(work.assign(**{_GROUP: group}), f.outcome, x, _GROUP, absorb=f.fe,
                                        cluster=a.column.cluster[0] if a.column.cluster else "")
            name = f"{test.term}__x__{_GROUP}"
            p = float(res.p[res.index(name)])
            rec.update(p=p, p_two_sided=p)
        else:
            if a.column.cluster:
                cl = a.column.cluster[0]
                ga, gb = work.loc[ra.rows, cl].to_numpy(), work.loc[rb.rows, cl].to_numpy()
            else:  # robust: every observation is its own cluster
                ga, gb = np.asarray(ra.rows), np.asarray(rb.rows)
            su = gd.suest(ra, rb, ga, gb, test.term)
            rec.update(p=su["p"], p_two_sided=su["p"])
    except CtfpError as err:
        rec["note"] = f"not run: {err}"
    return rec


# -------------------------------------------------------------------------------------------- published


def _published(study: Study, keys: set[tuple[str, str, str]]) -> pd.DataFrame | None:
    if not study.published.file:
        return None
    from ctfp.data.published_file import read_published

    path = study.resolve(study.published.file)
    pub = read_published(path, label=study.published.file if study.path is None else str(path))
    problems = []
    tables = {t.id: t for t in study.tables}
    for rec in pub.to_dict("records"):
        key = (rec["table"], rec["column"], rec["term"])
        if key in keys:
            continue
        at = f"{path}, line {rec['line']}"
        t = tables.get(rec["table"])
        if t is None:
            problems.append(f"{at}: table '{rec['table']}' is not a table of the study "
                            f"({', '.join(tables) or 'none'})")
        elif not any(k[:2] == key[:2] for k in keys):
            ids = [c.id for c in t.columns]
            pair = next(((a, rec["column"][len(a) + 1:]) for a in ids if rec["column"].startswith(f"{a}-")), None)
            if pair is not None and pair[1] in ids:
                problems.append(f"{at}: table {rec['table']} has no difference test between {pair[0]} and "
                                f"{pair[1]}; add one to its tests or drop the row")
            else:
                problems.append(f"{at}: table {rec['table']} has no column '{rec['column']}' ({', '.join(ids)}; "
                                "a difference test is 'A-B')")
        else:
            have = sorted({k[2] for k in keys if k[:2] == key[:2]})
            problems.append(f"{at}: {rec['table']} {rec['column']} has no term '{rec['term']}' "
                            f"(it has {', '.join(have)})")
    if problems:
        raise InputError("\n".join(problems))
    return pub


def _attach(rows: pd.DataFrame, pub: pd.DataFrame | None) -> pd.DataFrame:
    out = rows.copy()
    if pub is None or pub.empty:
        return out
    p = pub.set_index(["table", "column", "term"])
    idx = pd.MultiIndex.from_frame(out[["table", "column", "term"]])
    hit = p.reindex(idx)
    out["published_estimate"] = hit["estimate"].to_numpy()
    out["published_se"] = hit["se"].to_numpy()
    out["published_t"] = hit["t"].to_numpy()
    out["published_stars"] = hit["stars"].to_numpy()
    out["published_note"] = hit["note"].to_numpy()
    return out


def _verdicts(out: pd.DataFrame) -> pd.DataFrame:
    out = out.copy()
    est = pd.to_numeric(out["estimate"], errors="coerce")
    pe = pd.to_numeric(out["published_estimate"], errors="coerce")
    lo = pd.to_numeric(out["ci_low"], errors="coerce")
    hi = pd.to_numeric(out["ci_high"], errors="coerce")
    judged = (out["kind"] == "coef") & est.notna() & pe.notna()
    sign = pd.Series(pd.NA, index=out.index, dtype="boolean")
    sign[judged] = np.sign(est[judged]) == np.sign(pe[judged])
    inci = pd.Series(pd.NA, index=out.index, dtype="boolean")
    inci[judged] = (lo[judged] <= pe[judged]) & (pe[judged] <= hi[judged])
    ps = pd.to_numeric(out["published_stars"], errors="coerce")
    st = pd.to_numeric(out["stars"], errors="coerce")
    has_stars = judged & ps.notna()
    star = pd.Series(pd.NA, index=out.index, dtype="boolean")
    star[has_stars] = ps[has_stars] == st[has_stars]
    out["sign_agrees"], out["published_in_ci"], out["stars_agree"] = sign, inci, star
    return out


# ----------------------------------------------------------------------------------------------- driver


def run_tables(study: Study, frame: pd.DataFrame, rundir: Path, *, progress: bool = True,
               executor: Any = None) -> TablesResult:
    """Estimate every column of `study.tables` on `frame`, run the tests, write `rundir/tables/`.
    `executor` (ctfp.inference.compute): the permutation tests' batches run as its tasks (same numbers)."""
    formulas = parse_columns(study, frame)
    work = _working_frame(frame, list(formulas.values()))
    cache = WithinCache(work)
    # variables worth demeaning together: those of the columns on the same sample and fixed effects
    together: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for t in study.tables:
        for c in t.columns:
            f = formulas[(t.id, c.id)]
            together.setdefault((c.sample.strip(), f.fe), []).extend((f.outcome, *f.endog, *f.exog, *f.instruments))
    shared: dict[tuple[Any, ...], PanelResult] = {}
    per_table: dict[str, dict[str, ColumnFit]] = {}
    all_fits: list[ColumnFit] = []
    for t in study.tables:
        per_table[t.id] = {}
        for c in t.columns:
            cf = ColumnFit(t, c, formulas[(t.id, c.id)], _sample_mask(study, work, t, c))
            per_table[t.id][c.id] = cf
            all_fits.append(cf)
    checked = [(t, test, *_check_test(study, t, test, per_table[t.id])) for t in study.tables for test in t.tests]
    # every (table, column, term) the run will write, known before fitting: a published-file mistake is
    # reported before minutes of permutations, not after
    keys = {(cf.table.id, cf.column.id, term) for cf in all_fits for term in (*cf.terms, *_stats_of(cf))}
    keys |= {(t.id, f"{a.column.id}-{b.column.id}", "diff_p") for t, _, a, b in checked}
    published = _published(study, keys)
    for cf in all_fits:
        cache.companions = tuple(dict.fromkeys(together[(cf.column.sample.strip(), cf.formula.fe)]))
        try:
            _fit(cf, work, cache, shared)
        except CtfpError as err:
            cf.note = f"not estimated: {err}"
            _say(True, f"{cf.table.id} {cf.column.id}: {cf.note}")
            continue
        for w in cf.result.warnings if cf.result is not None else ():
            _say(True, f"warning: {cf.table.id} {cf.column.id}: {w}")
    n_est = sum(cf.result is not None for cf in all_fits)
    _say(progress, f"{n_est} of {len(all_fits)} columns estimated ({cache.demeaned} demeaning pass(es) shared by "
                   f"{len(shared)} fit(s)); {len(checked)} difference test(s)")
    rows = [r for cf in all_fits for r in _column_rows(cf, study.report.ci_prob)]
    grids: dict[tuple[str, ...], gd.GridDesign] = {}
    tests = []
    seen_pairs: set[tuple[str, str, str, str]] = set()
    for t, test, a, b in checked:
        rec = _run_test(study, t, test, a, b, work, grids, executor)
        tests.append(rec)
        pair = (t.id, a.column.id, b.column.id, test.term)
        if pair not in seen_pairs:  # the first test of a pair answers the pair's printed p-value
            seen_pairs.add(pair)
            row = _empty_row(t.id, f"{a.column.id}-{b.column.id}", "diff_p", "stat",
                             rec["note"] or _test_label(test))
            row["estimate"] = rec["p"]
            if a.result is not None and b.result is not None:
                row["nobs"] = a.result.nobs + b.result.nobs
            rows.append(row)
        if progress and rec["p"] is not None:
            _say(True, f"{t.id} {a.column.id} vs {b.column.id} {test.method}: diff {rec['diff']:+.4g}, "
                       f"p {rec['p']:.4g}")
    replicas = pd.DataFrame(rows, columns=list(REPLICA_COLUMNS))
    replicas = _integers(_verdicts(_attach(replicas, published)), ("stars", "nobs", "published_stars"))
    columns = _integers(pd.DataFrame([_column_record(cf) for cf in all_fits], columns=list(COLUMN_COLUMNS)),
                        ("nobs", "n_clusters"))
    tests_df = _integers(pd.DataFrame(tests, columns=list(TEST_COLUMNS)), ("permutations", "seed"))
    out = Path(rundir) / "tables"
    files = [write_csv(out / "replicas.csv", replicas), write_csv(out / "columns.csv", columns),
             write_csv(out / "tests.csv", tests_df)]
    markdown = {t.id: render_markdown(t, replicas[replicas["table"] == t.id]) for t in study.tables}
    files += [write_text(out / f"{tid}.md", text) for tid, text in markdown.items()]
    _say(progress, f"wrote {len(files)} files to {out}")
    fits = {(cf.table.id, cf.column.id): cf.result for cf in all_fits}
    return TablesResult(replicas, columns, tests_df, markdown, fits, files)


def _integers(frame: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    """Counts as nullable integers (1248, not 1248.0; empty where absent)."""
    for n in names:
        frame[n] = pd.to_numeric(frame[n], errors="coerce").astype("Int64")
    return frame


def _test_label(test: DiffTest) -> str:
    if test.method == "permutation":
        return f"Fisher permutation, {test.permutations} {test.level}-level, one-sided, seed {test.seed}"
    return {"chow": "interacted Chow t-test", "suest": "SUEST z-test"}[test.method]


# ------------------------------------------------------------------------------------------------ render


def _fmt(v: Any, kind: str, term: str, n_stars: Any = None, t: Any = None) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)) or v is pd.NA:
        return ""
    v = float(v)
    if kind == "stat":
        if term == "N":
            return f"{v:.0f}"
        return f"{v:.4f}" if term in ("R2", "R2_within", "KP_LM_p", "diff_p") else f"{v:.3f}"
    text = f"{v:.3g}" if 0 < abs(v) < 1e-3 else f"{v:.4f}"
    if n_stars is not None and n_stars is not pd.NA and np.isfinite(float(n_stars)):
        text += "*" * int(n_stars)
    if t is not None and t is not pd.NA and np.isfinite(float(t)):
        text += f" ({float(t):.2f})"
    return text


def _agreement(r: dict[str, Any]) -> str:
    if r["published_estimate"] is None or pd.isna(r["published_estimate"]):
        return ""
    if r["estimate"] is None or pd.isna(r["estimate"]):
        return "not estimated"
    if r["kind"] == "coef":
        parts = ["same sign" if r["sign_agrees"] else "sign differs"]
        if not pd.isna(r["stars_agree"]):
            parts.append("same stars" if r["stars_agree"] else "stars differ")
        parts.append("in CI" if r["published_in_ci"] else "outside CI")
        return ", ".join(parts)
    if r["term"] == "N":
        return "same N" if int(r["estimate"]) == int(r["published_estimate"]) else "N differs"
    if r["term"] in ("KP_LM_p", "diff_p"):
        return ("same 10% verdict" if (r["estimate"] < 0.1) == (r["published_estimate"] < 0.1)
                else "10% verdict differs")
    return ""


def render_markdown(table: Table, rows: pd.DataFrame) -> str:
    """One table for the terminal: published | replica | agreement per column, terms as rows."""
    recs = rows.to_dict("records")
    cols = list(dict.fromkeys(r["column"] for r in recs))
    terms = list(dict.fromkeys(r["term"] for r in recs))
    by = {(r["column"], r["term"]): r for r in recs}
    title = f"# {table.id}" + (f": {table.title}" if table.title else "")
    lines = [title, "", "Coefficients with stars (*** p<0.01, ** p<0.05, * p<0.1 on t with G-1 df when clustered) "
             "and t in parentheses; R2 is the overall (LSDV) R-squared as reghdfe prints it.", "",
             "| term |" + "".join(f" {c} published | {c} replica | {c} agreement |" for c in cols),
             "|---|" + "---|---|---|" * len(cols)]
    for term in terms:
        line = f"| {term} |"
        for c in cols:
            r = by.get((c, term))
            if r is None:
                line += " | | |"
                continue
            pub = _fmt(r["published_estimate"], r["kind"], term, r["published_stars"], r["published_t"])
            rep = _fmt(r["estimate"], r["kind"], term, r["stars"], r["t"])
            line += f" {pub} | {rep} | {_agreement(r)} |"
        lines.append(line)
    notes = sorted({str(r["note"]) for r in recs if r["note"]})
    if table.note:
        lines += ["", table.note]
    if notes:
        lines += ["", "Notes:", *(f"- {n}" for n in notes)]
    return "\n".join(lines) + "\n"
