"""From a study to its analysis panel: read -> (preset) validate and derive -> [data.derive] -> [groups] ->
each [[measure]] (DEA) -> the panel with every score.

Pure functions over the typed `Study`; the pipeline writes what they return into the run folder, and
`load_analysis_panel` (for `ctfp fe` / `ctfp iv`, benchmarks) keeps it in memory.
"""

from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ctfp.core.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

    from ctfp.core.study import Measure, Study


@dataclass
class PreparedPanel:
    frame: pd.DataFrame
    source: str
    data_source: str  # "user" | "synthetic"
    provenance: dict[str, Any] = field(default_factory=dict)  # provenance/<key>.json
    warnings: list[str] = field(default_factory=list)
    truth: dict[str, Any] | None = None


def prepare_panel(study: Study, *, raw_frame: pd.DataFrame | None = None, source: str = "") -> PreparedPanel:
    """The panel after the preset's derivations (if any), [data.derive] and [groups]; every column a later
    step reads is checked to exist (or be made by the study) first.

    `raw_frame`: a raw panel in memory in place of the study's [data] panel (a design analysis' simulated
    world, labelled `source`; synthetic when it carries the `synthetic` marker column)."""
    from ctfp.data import study_panel as sp

    if raw_frame is None:
        raw = sp.read_study_panel(study)
    else:
        synthetic = "synthetic" in raw_frame.columns and bool(raw_frame["synthetic"].astype(bool).all())
        frame = raw_frame.copy()
        frame.attrs = {**raw_frame.attrs, "data_source": "synthetic" if synthetic else "user"}
        raw = sp.RawPanel(frame, source or "simulated panel", "synthetic" if synthetic else "user", None,
                          row_offset=1)
    preset = sp.preset_of(study)
    needed = needed_columns(study)
    prov: dict[str, Any] = {}
    warnings: list[str] = []
    if preset is not None:
        preset.check_columns(raw.frame, needed, raw.source)
        prepared = preset.prepare(raw.frame, study, raw.source)
        prov["derive"] = prepared.provenance
        warnings += prepared.warnings
        frame, report = sp.check_ids(sp.RawPanel(prepared.frame, raw.source, raw.data_source, raw.truth,
                                                 raw.row_offset), study)
    else:
        frame, report = sp.check_ids(raw, study)
        check_available(frame, needed, raw.source)
    warnings += report.warnings
    frame = sp.derive(frame, study)
    frame, groups = sp.apply_groups(frame, study)
    prov["panel"] = {"data_source": raw.data_source, "source": raw.source, **asdict(report)}
    prov["groups"] = groups
    frame.attrs["source"] = raw.source
    frame.attrs["data_source"] = raw.data_source
    return PreparedPanel(frame, raw.source, raw.data_source, prov, warnings, raw.truth)


def score_measure(frame: pd.DataFrame, m: Measure, study: Study, source: str, *, progress: bool = False,
                  ) -> tuple[pd.DataFrame, dict[str, Any]]:
    """One [[measure]]: DEA scores (column = the measure's name) and what the solver reported."""
    from ctfp.data.study_panel import check_measure_domain
    from ctfp.models.dea import run_dea

    check_measure_domain(frame, m, study, source)
    scores = run_dea(frame, list(m.inputs), list(m.good), list(m.bad), id_col=study.data.unit,
                     period_col=study.data.time, model=m.model, orientation=m.orientation, rts=m.rts,
                     frontier=m.frontier, weights=m.weights, progress=progress,
                     bad_treatment=m.bad_treatment or None, source=f"[[measure]] '{m.name}'")
    scores = scores.rename(columns={"efficiency": m.name})
    status = scores["status"].value_counts().to_dict()
    prov = {"measure": m.name, "model": m.model, "orientation": m.orientation, "rts": m.rts,
            "frontier": m.frontier, "weights": list(m.weights), "bad_treatment": m.bad_treatment,
            "solver_status": {str(k): int(v) for k, v in status.items()},
            "attrs": {k: v for k, v in scores.attrs.items() if k != "row_offset"}}
    return scores, prov


def attach_scores(frame: pd.DataFrame, study: Study, scores: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The panel with each measure's score as a column (in [[measure]] order)."""
    unit, time = study.data.unit, study.data.time
    for m in study.measures:
        if m.name in frame.columns:
            frame = frame.drop(columns=[m.name])
        attrs = dict(frame.attrs)
        frame = frame.merge(scores[m.name][[unit, time, m.name]], on=[unit, time], how="left", validate="one_to_one")
        frame.attrs = attrs
        if frame[m.name].isna().any():
            n = int(frame[m.name].isna().sum())
            raise InputError(f"{m.where}: [[measure]] '{m.name}' returned no score for {n} rows; see the DEA "
                             "scores' status column")
    return frame


def load_analysis_panel(path: str | Path | None, *, study: Study | None = None, progress: bool = False,
                        ) -> pd.DataFrame:
    """The analysis panel of `study` (default: the demo study) on `path` (None = the study's own panel).

    A panel that already has every measure's column is used as it is (an analysis panel a run wrote).
    """
    from ctfp.core.study_load import load_study, with_panel

    if study is None:
        from ctfp.studies import study_path

        study = load_study(study_path())
    if path is not None:
        study = with_panel(study, path)
        from ctfp.data.readers import read_panel

        head = read_panel(study.resolve(study.data.panel))
        if study.measures and all(m.name in head.columns for m in study.measures):
            head.attrs.setdefault("data_source", "user")
            return head
    prep = prepare_panel(study)
    scores = {m.name: score_measure(prep.frame, m, study, prep.source, progress=progress)[0]
              for m in study.measures}
    return attach_scores(prep.frame, study, scores)


# --- what the study reads, checked before any estimation ---------------------------------------------------
def needed_columns(study: Study, *, include_made: bool = False) -> list[tuple[str, str]]:
    """(column, "FILE, line N: what reads it") for every column a group, measure, table or model reads;
    without `include_made`, the columns the study makes itself (derive, groups, measures) and the unit and
    time are left out."""
    from ctfp.core.expr import parse

    s = study
    made = {n for n, _ in s.data.derive} | {g.name for g in s.groups} | {m.name for m in s.measures}
    out: list[tuple[str, str]] = []
    for g in s.groups:
        cols = (g.value,) if g.kind in ("median", "column") else parse(g.value).columns
        out += [(c, f"{g.where}: [groups] '{g.name}'") for c in cols]
    for i, m in enumerate(s.measures):
        for key in ("inputs", "good", "bad"):
            out += [(c, f"{s.where('measure', i, key)}: [[measure]] '{m.name}' {key}") for c in getattr(m, key)]
    for i, t in enumerate(s.tables):
        for j, c in enumerate(t.columns):
            at = f"[[tables]] '{t.id}' column '{c.id}'"
            where = f"{s.where('tables', i, 'columns', j, 'formula')}: {at} formula '{c.formula}'"
            out += [(n, where) for n in formula_names(c.formula, where)]
            out += [(n, f"{s.where('tables', i, 'columns', j, 'cluster')}: {at} cluster") for n in c.cluster]
    for i, b in enumerate(s.bayes.models):
        if b.formula:  # a bambi formula: the names it reads (group terms' factors included)
            out += [(c, f"{s.where('bayes', 'models', i, 'formula')}: [[bayes.models]] '{b.name}' formula")
                    for c in dict.fromkeys([*_bambi_names(b.formula), *([b.treatment] if b.treatment else [])])]
            continue
        for key in ("outcome", "treatment", "controls", "by", "instrument"):
            v = getattr(b, key)
            path = ("bayes", "models", i, key)
            where = s.where(*path) if path in s.lines else (
                s.where("bayes", key) if ("bayes", key) in s.lines else b.where)
            out += [(c, f"{where}: [[bayes.models]] '{b.name}' {key}")
                    for c in ((v,) if isinstance(v, str) else v) if c]
    if include_made:
        return out
    return [(n, w) for n, w in out if n not in made and n not in (s.data.unit, s.data.time)]


def check_available(frame: pd.DataFrame, needed: list[tuple[str, str]], source: str) -> None:
    have = set(frame.columns)
    for name, where in needed:
        if name not in have:
            close = difflib.get_close_matches(name, sorted(have), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise InputError(f"{where} names column '{name}', which {source} does not have{hint}; add it, "
                             "derive it in [data.derive], or map your name onto it in [data.mapping]")


def preflight(study: Study, frame: pd.DataFrame) -> None:
    """On the prepared panel, before any estimation: every formula's columns exist, every sample selects rows,
    every Bayesian model's columns exist."""
    from ctfp.core.expr import parse

    s = study
    measures = {m.name for m in s.measures}
    have = set(frame.columns) | measures
    for i, t in enumerate(s.tables):
        for j, c in enumerate(t.columns):
            at = f"[[tables]] '{t.id}' column '{c.id}'"
            for name in [*formula_names(c.formula, f"{s.where('tables', i, 'columns', j, 'formula')}: {at}"),
                         *c.cluster]:
                if name not in have:
                    close = difflib.get_close_matches(name, sorted(have), n=1)
                    hint = f" (did you mean '{close[0]}'?)" if close else ""
                    raise InputError(f"{s.where('tables', i, 'columns', j, 'formula')}: {at}: formula "
                                     f"'{c.formula}' names column '{name}', which the panel does not have{hint}; "
                                     "fix the formula or derive the column in [data.derive]")
            if c.sample:
                where = s.where("tables", i, "columns", j, "sample")
                e = parse(c.sample, where=f"{where}: {at} sample")
                e.check_columns(have)
                if not set(e.columns) & measures:  # a filter on a DEA score is checked by the tables step
                    sel = e.evaluate(frame, unit=s.data.unit, time=s.data.time)
                    if not (sel == 1).any():
                        raise InputError(f"{where}: {at}: sample '{c.sample}' selects no row of the panel; "
                                         "fix the filter")
    for col, where in needed_columns(s, include_made=True):
        if col not in have:
            raise InputError(f"{where} names column '{col}', which the panel does not have; fix the name or "
                             "derive the column in [data.derive]")




def formula_names(formula: str, where: str = "") -> list[str]:
    """Column names a fixest-style formula reads (the tables engine's parser); InputError at `where` when the
    formula is not one it can estimate."""
    from ctfp.models.panel.formula import FormulaError, parse_formula

    try:
        return list(parse_formula(formula).columns)
    except FormulaError as err:
        raise InputError(f"{where}: {err}" if where else str(err)) from None


def _bambi_names(formula: str) -> list[str]:
    """Names a bambi formula reads: identifiers that are not called as functions (`(1|firm)` gives firm)."""
    import re

    funcs = set(re.findall(r"\b([A-Za-z_][A-Za-z0-9_]*)\s*\(", formula))
    return [t for t in dict.fromkeys(re.findall(r"\b[A-Za-z_][A-Za-z0-9_]*\b", formula)) if t not in funcs]
