"""Specification-curve multiverse over one DEA measure's choices (Simonsohn, Simmons & Nelson 2020).

`[multiverse]` names a measure, axes over its options (model, orientation, rts, frontier, weights,
bad_treatment) and the estimands to follow: a table column's coefficient on a term (`{ table, column, term }`)
or a Bayesian model's average effect of its treatment (`{ model, term }`, term = the model's treatment). A
universe is one combination of axis values; the main specification is the measure as the study defines it.
For every universe: the measure's DEA scores (each DEA configuration solved once and shared by all its
estimands), the panel with those scores, the estimand columns of the study's tables estimated on it (the
tables engine `run_tables`, without the difference tests, which no estimand reads) and each followed Bayesian
model fitted on it with the study's `[bayes]` sampler settings and seed (the main run's own code,
`ctfp.inference.pipeline.fit_bayes_model`, so the main universe gives the main run's draws).

Writes `multiverse/results.csv` (one row per universe and estimand: one column per axis named as the axis,
`universe`, `is_main`, `table`, `column`, `bayes_model`, `term`, `estimate`, `ci_low`, `ci_high`, `p`, `p_gt0`,
`nobs`, `note`; a table estimand has `p` (Stata's t(G-1) reference) and no `p_gt0`; a Bayesian one the
posterior mean of the AME, its equal-tailed interval at `[report] ci_prob`, `p_gt0` = P(AME > 0) and no `p`;
`note` says when its convergence gate failed), `multiverse/summary.json` (per estimand: universes, share with
the main specification's sign (and the published sign when the study has published values), share significant
(p < 0.05, or a Bayesian interval that excludes 0), median estimate, range) and
`figures/specification_curve.png` (estimates sorted with their intervals, the choices as an indicator panel
below). Finished universes are kept under `multiverse/universes/` with a fingerprint of their inputs and
reused by a rerun. Universes are independent tasks: in-process or on a Dask cluster (`--scheduler`).
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ctfp.core.atomic import write_csv, write_json
from ctfp.core.errors import InputError
from ctfp.core.study import Measure, Published, Study

RESULT_COLUMNS = ("universe", "is_main", "table", "column", "bayes_model", "term", "estimate", "ci_low", "ci_high", "p",
                  "p_gt0", "nobs", "note")
# an estimand's columns (the `model` axis is an axis column, so a Bayesian estimand's model is `bayes_model`)
ESTIMAND_KEYS = ("table", "column", "bayes_model", "term")  # as ctfp.reports.section_multiverse.ESTIMAND_KEYS


@dataclass(frozen=True)
class Universe:
    key: str  # short hash of the measure's resolved options
    choices: dict[str, Any]  # axis -> value
    measure: Measure
    is_main: bool


def _options(m: Measure) -> dict[str, Any]:
    return {"model": m.model, "orientation": m.orientation, "rts": m.rts, "frontier": m.frontier,
            "weights": list(m.weights), "bad_treatment": m.bad_treatment}


def _key(m: Measure) -> str:
    return hashlib.sha256(json.dumps(_options(m), sort_keys=True).encode()).hexdigest()[:12]


def measure_for(base: Measure, choices: dict[str, Any]) -> Measure:
    """The measure of one universe: `base` with the axis values; a changed model takes its own defaults for
    orientation, rts and bad treatment unless the axes set them (as the study loader validates them)."""
    from ctfp.models.dea import resolve_options

    m = base
    if "model" in choices and choices["model"] != base.model:
        model, orientation, rts = resolve_options(str(choices["model"]), None, None)
        m = replace(m, model=model, orientation=orientation, rts=rts, bad_treatment="")
    for opt, v in choices.items():
        if opt == "model":
            continue
        m = replace(m, **{opt: tuple(v) if opt == "weights" else v})
    return m


def universes(study: Study) -> list[Universe]:
    mv = study.multiverse
    if mv is None:
        raise InputError(f"{study.label}: the study has no [multiverse] section; add one (docs/dea.md)")
    base = study.measure(mv.measure)
    axes = list(mv.axes)
    out: list[Universe] = []
    seen: set[str] = set()
    main_key = _key(base)
    for combo in itertools.product(*(mv.axes[a] for a in axes)):
        choices = dict(zip(axes, combo, strict=True))
        m = measure_for(base, choices)
        k = _key(m)
        if k in seen:  # two combinations that resolve to one measure (e.g. a model's own default) run once
            continue
        seen.add(k)
        out.append(Universe(k, choices, m, k == main_key))
    if not any(u.is_main for u in out):  # the main specification is always a universe
        out.insert(0, Universe(main_key, {a: _axis_value(base, a) for a in axes}, base, True))
    return out


def _axis_value(m: Measure, axis: str) -> Any:
    v = getattr(m, axis)
    return list(v) if isinstance(v, tuple) else v


@dataclass(frozen=True)
class Shared:
    """Sent to every worker once: the study restricted to the estimand tables and the prepared panel."""

    study: Study
    frame: pd.DataFrame  # the prepared panel with every other measure's scores attached
    source: str
    estimands: tuple[dict[str, str], ...]


def _fingerprint(shared: Shared, u: Universe) -> str:
    from ctfp.inference.pipeline import semantic

    h = hashlib.sha256()
    h.update(json.dumps(_options(u.measure), sort_keys=True).encode())
    h.update(repr([(t.id, [(c.id, c.formula, c.sample, c.cluster) for c in t.columns]) for t in shared.study.tables]).encode())
    h.update(repr(shared.estimands).encode())
    if any("model" in e for e in shared.estimands):  # the sampler settings and the followed models' specs
        h.update(json.dumps(semantic(shared.study.bayes), sort_keys=True, default=str).encode())
        h.update(repr(shared.study.report.ci_prob).encode())
    h.update(np.asarray(pd.util.hash_pandas_object(shared.frame, index=False)).tobytes())
    return h.hexdigest()


def _row(u: Universe, e: dict[str, str], **values: Any) -> dict[str, Any]:
    row = {"universe": u.key, "is_main": u.is_main,  # a list value (weights) as JSON: [1.0, 0.5]
           **{a: json.dumps(list(v)) if isinstance(v, list | tuple) else v for a, v in u.choices.items()},
           "table": e.get("table", ""), "column": e.get("column", ""), "bayes_model": e.get("model", ""),
           "term": e["term"]}
    row.update({k: None for k in ("estimate", "ci_low", "ci_high", "p", "p_gt0", "nobs")}, note="")
    row.update(values)
    return row


def _bayes_row(study: Study, frame: pd.DataFrame, source: str, u: Universe, e: dict[str, str]) -> dict[str, Any]:
    """Fit one followed Bayesian model on the universe's panel; its AME's mean, ETI and P(>0)."""
    import tempfile

    import xarray as xr

    from ctfp.inference.pipeline import fit_bayes_model

    model = next(m for m in study.bayes.models if m.name == e["model"])
    prob = study.report.ci_prob
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / model.name
        fit_bayes_model(study, frame, model, out, progress=False, source=source)
        summary = json.loads((out / "summary.json").read_text())
        post = xr.open_datatree(out / "posterior.nc", engine="h5netcdf")["posterior"].to_dataset()
        ame = post["ame"].load()
    q = ame.quantile([(1 - prob) / 2, (1 + prob) / 2], dim=["chain", "draw"]).to_numpy()
    gate = summary.get("gate", {})
    note = "" if gate.get("passed", True) else f"convergence gate failed: {'; '.join(gate.get('messages', []))}"
    return _row(u, e, estimate=summary["treatment"]["mean"], ci_low=float(q[0]), ci_high=float(q[1]),
                p_gt0=summary["treatment"]["p_gt0"], nobs=summary.get("n_obs"), note=note)


def solve_universe(shared: Shared, u: Universe) -> list[dict[str, Any]]:
    """One task: the universe's DEA scores, the panel with them, its estimands; one row per estimand."""
    import tempfile

    from ctfp.inference.prepare import attach_scores, score_measure
    from ctfp.inference.tables import run_tables

    study = shared.study
    scores, _ = score_measure(shared.frame, u.measure, study, shared.source)
    others = {m.name: shared.frame[[study.data.unit, study.data.time, m.name]]
              for m in study.measures if m.name != u.measure.name}
    frame = attach_scores(shared.frame.drop(columns=[u.measure.name], errors="ignore"), study,
                          {**others, u.measure.name: scores})
    frame.attrs = dict(shared.frame.attrs)
    rep = None
    if study.tables:
        with tempfile.TemporaryDirectory() as tmp:
            rep = run_tables(study, frame, Path(tmp), progress=False).replicas
    rows = []
    for e in shared.estimands:
        if "model" in e:
            rows.append(_bayes_row(study, frame, shared.source, u, e))
            continue
        hit = rep[(rep["table"] == e["table"]) & (rep["column"] == e["column"]) & (rep["term"] == e["term"])]
        if not len(hit):
            rows.append(_row(u, e, note=f"term '{e['term']}' not in the column"))
            continue
        r = hit.iloc[0]
        rows.append(_row(u, e, estimate=r["estimate"], ci_low=r["ci_low"], ci_high=r["ci_high"], p=r["p"],
                         nobs=r["nobs"], note=r["note"] or ""))
    return rows


def run_multiverse(study: Study, out_dir: str | Path, *, scheduler: str = "", progress: bool | None = None,
                   ) -> pd.DataFrame:
    """Every universe of `study.multiverse`; writes the files of the module docstring and returns results."""
    from ctfp.inference.compute import check_reachable, open_executor, parse_scheduler
    from ctfp.inference.prepare import attach_scores, prepare_panel, score_measure

    mv = study.multiverse
    if mv is None:
        raise InputError(f"{study.label}: the study has no [multiverse] section; add one (docs/dea.md)")
    if not mv.estimands:
        raise InputError(f"{mv.where}: [multiverse] has no estimands; add e.g. "
                         "estimands = [ { table = \"T1\", column = \"(1)\", term = \"x\" } ]")
    sch = parse_scheduler(scheduler or study.compute.scheduler)
    check_reachable(sch)  # an unreachable cluster is said before the panel is prepared
    out = Path(out_dir)
    us = universes(study)
    prep = prepare_panel(study)
    frame = prep.frame
    # every measure other than the multiverse's is solved once, here, and shipped with the panel
    others = {}
    for m in study.measures:
        if m.name != mv.measure:
            others[m.name], _ = score_measure(frame, m, study, prep.source)
    if others:
        keep = [m for m in study.measures if m.name in others]
        frame = attach_scores(frame, replace(study, measures=tuple(keep)), others)
    needed = {e["table"] for e in mv.estimands if "table" in e}
    tables = tuple(replace(t, tests=()) for t in study.tables if t.id in needed)
    models = {e["model"] for e in mv.estimands if "model" in e}
    bayes = replace(study.bayes, models=tuple(m for m in study.bayes.models if m.name in models))
    # the published values are read once here (for the sign summary); the tables engine would check the
    # published file against the restricted study's tables and refuse rows of the other tables
    frame.attrs["source"] = prep.source
    shared = Shared(replace(study, tables=tables, published=Published(), bayes=bayes), frame, prep.source,
                    tuple(mv.estimands))
    published = _published_estimates(study)
    cache = out / "multiverse" / "universes"
    rows: dict[str, list[dict[str, Any]]] = {}
    todo: list[Universe] = []
    prints: dict[str, str] = {}
    for u in us:
        fp = prints[u.key] = _fingerprint(shared, u)
        f = cache / f"{u.key}.json"
        if f.is_file():
            rec = json.loads(f.read_text())
            if rec.get("fingerprint") == fp:
                rows[u.key] = rec["rows"]
                continue
        todo.append(u)
    reused = len(us) - len(todo)
    if todo:
        with open_executor(sch) as ex:
            results = ex.map(solve_universe, shared, todo, label=f"multiverse: {len(todo)} universes",
                             progress=progress)
        for u, r in zip(todo, results, strict=True):
            rows[u.key] = r
            write_json(cache / f"{u.key}.json", {"fingerprint": prints[u.key], "rows": r})
    table = pd.DataFrame([r for u in us for r in rows[u.key]])
    axes = list(mv.axes)
    cols = [*axes, *RESULT_COLUMNS]
    table = table[cols]
    write_csv(out / "multiverse" / "results.csv", table)
    summary = summarise(table, published)
    summary.update(measure=mv.measure, universes=len(us), reused=reused, computed=len(todo), scheduler=sch.text or "in-process",
                   axes={a: [_jsonable(v) for v in mv.axes[a]] for a in axes})
    write_json(out / "multiverse" / "summary.json", summary)
    save_specification_curve(table, axes, out / "figures" / "specification_curve.png")
    table.attrs["summary"] = summary
    return table


def _published_estimates(study: Study) -> dict[tuple[str, str, str], float]:
    if not study.published.file:
        return {}
    from ctfp.data.published_file import read_published

    path = study.resolve(study.published.file)
    pub = read_published(path, label=study.published.file if study.path is None else str(path))
    return {(r["table"], r["column"], r["term"]): r["estimate"] for r in pub.to_dict("records")
            if r.get("estimate") is not None and np.isfinite(r["estimate"])}


def _jsonable(v: Any) -> Any:
    return list(v) if isinstance(v, tuple) else v


def summarise(table: pd.DataFrame, published: dict[tuple[str, str, str], float] | None = None) -> dict[str, Any]:
    from ctfp.reports.section_multiverse import estimand_groups, estimand_label, significant

    out: dict[str, Any] = {"estimands": []}
    for (t, c, model, term), g in estimand_groups(table):
        est = pd.to_numeric(g["estimate"], errors="coerce")
        main = est[g["is_main"].astype(bool)]
        rec: dict[str, Any] = {"table": t, "column": c, "bayes_model": model, "term": term,
                               "label": estimand_label(t, c, model, term), "universes": int(len(g)),
                               "estimated": int(est.notna().sum())}
        ok = est.notna()
        if ok.any():
            rec["median_estimate"] = float(est[ok].median())
            rec["min_estimate"], rec["max_estimate"] = float(est[ok].min()), float(est[ok].max())
            rec["share_significant"] = float(significant(g)[ok].mean())
            if len(main) and np.isfinite(main.iloc[0]):
                rec["main_estimate"] = float(main.iloc[0])
                rec["share_main_sign"] = float((np.sign(est[ok]) == np.sign(main.iloc[0])).mean())
            pub = (published or {}).get((t, c, term)) if not model else None
            if pub is not None:
                rec["published_estimate"] = float(pub)
                rec["share_published_sign"] = float((np.sign(est[ok]) == np.sign(pub)).mean())
            if model:
                rec["gate_failed"] = int(g["note"].fillna("").astype(str).str.startswith("convergence gate").sum())
        out["estimands"].append(rec)
    return out


def save_specification_curve(table: pd.DataFrame, axes: list[str], path: Path) -> Path:
    """The report's specification curve (ctfp.reports.section_multiverse), saved as one PNG."""
    import matplotlib.pyplot as plt

    from ctfp.core.atomic import atomic_path
    from ctfp.reports.section_multiverse import specification_curve

    fig = specification_curve(table, axes)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=130, facecolor="white")
    plt.close(fig)
    return path
