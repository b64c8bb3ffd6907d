"""Specification-curve multiverse over one DEA measure's choices (Simonsohn, Simmons & Nelson 2020).

`[multiverse]` names a measure, axes over its options (model, orientation, rts, frontier, weights,
bad_treatment) and the estimands to follow (a table column's coefficient on a term). A universe is one
combination of axis values; the main specification is the measure as the study defines it. For every
universe: the measure's DEA scores (each DEA configuration solved once and shared by all its estimands),
the panel with those scores, and the estimand columns of the study's tables estimated on it (the tables
engine `run_tables`, without the difference tests, which no estimand reads).

Writes `multiverse/results.csv` (one row per universe and estimand: one column per axis named as the axis,
`universe`, `is_main`, `table`, `column`, `term`, `estimate`, `ci_low`, `ci_high`, `p`, `nobs`, `note`),
`multiverse/summary.json` (per estimand: universes, share with the main specification's sign (and the
published sign when the study has published values), share significant at 5%, median estimate, range) and
`figures/specification_curve.png` (estimates sorted with their intervals, the choices as an indicator panel
below). Finished universes are kept under `multiverse/universes/` with a fingerprint of their inputs and
reused by a rerun. Universes are independent tasks: in-process or on a Dask cluster (`--scheduler`).
Bayesian estimands ({ bayes = name }) are not estimated per universe in this version: the run refuses them
with one line rather than reporting them without posterior draws.
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

RESULT_COLUMNS = ("universe", "is_main", "table", "column", "term", "estimate", "ci_low", "ci_high", "p", "nobs",
                  "note")
SIGNIFICANT = 0.05


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
    h = hashlib.sha256()
    h.update(json.dumps(_options(u.measure), sort_keys=True).encode())
    h.update(repr([(t.id, [(c.id, c.formula, c.sample, c.cluster) for c in t.columns]) for t in shared.study.tables]).encode())
    h.update(repr(shared.estimands).encode())
    h.update(np.asarray(pd.util.hash_pandas_object(shared.frame, index=False)).tobytes())
    return h.hexdigest()


def solve_universe(shared: Shared, u: Universe) -> list[dict[str, Any]]:
    """One task: the universe's DEA scores, the panel with them, the estimand columns; one row per estimand."""
    import tempfile

    from ctfp.inference.prepare import attach_scores, score_measure
    from ctfp.inference.tables import run_tables

    study = shared.study
    scores, _ = score_measure(shared.frame, u.measure, study, shared.source)
    others = {m.name: shared.frame[[study.data.unit, study.data.time, m.name]]
              for m in study.measures if m.name != u.measure.name}
    frame = attach_scores(shared.frame.drop(columns=[u.measure.name], errors="ignore"), study,
                          {**others, u.measure.name: scores})
    with tempfile.TemporaryDirectory() as tmp:
        res = run_tables(study, frame, Path(tmp), progress=False)
    rep = res.replicas
    rows = []
    for e in shared.estimands:
        hit = rep[(rep["table"] == e["table"]) & (rep["column"] == e["column"]) & (rep["term"] == e["term"])]
        r = hit.iloc[0] if len(hit) else None
        rows.append({
            "universe": u.key, "is_main": u.is_main, **{a: json.dumps(v) if isinstance(v, list) else v
                                                        for a, v in u.choices.items()},
            "table": e["table"], "column": e["column"], "term": e["term"],
            "estimate": None if r is None else r["estimate"], "ci_low": None if r is None else r["ci_low"],
            "ci_high": None if r is None else r["ci_high"], "p": None if r is None else r["p"],
            "nobs": None if r is None else r["nobs"],
            "note": f"term '{e['term']}' not in the column" if r is None else (r["note"] or ""),
        })
    return rows


def run_multiverse(study: Study, out_dir: str | Path, *, scheduler: str = "", progress: bool | None = None,
                   ) -> pd.DataFrame:
    """Every universe of `study.multiverse`; writes the files of the module docstring and returns results."""
    from ctfp.inference.compute import open_executor, parse_scheduler
    from ctfp.inference.prepare import attach_scores, prepare_panel, score_measure

    mv = study.multiverse
    if mv is None:
        raise InputError(f"{study.label}: the study has no [multiverse] section; add one (docs/dea.md)")
    bayes = [e["bayes"] for e in mv.estimands if "bayes" in e]
    if bayes:
        raise InputError(f"{mv.where}: [multiverse] estimand bayes = '{bayes[0]}': Bayesian estimands are not "
                         "estimated per universe in this version; follow a table column (table, column, term)")
    if not mv.estimands:
        raise InputError(f"{mv.where}: [multiverse] has no estimands; add e.g. "
                         "estimands = [ { table = \"T1\", column = \"(1)\", term = \"x\" } ]")
    sch = parse_scheduler(scheduler or study.compute.scheduler)
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
    needed = {e["table"] for e in mv.estimands}
    tables = tuple(replace(t, tests=()) for t in study.tables if t.id in needed)
    # the published values are read once here (for the sign summary); the tables engine would check the
    # published file against the restricted study's tables and refuse rows of the other tables
    shared = Shared(replace(study, tables=tables, published=Published()), frame, prep.source, tuple(mv.estimands))
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
    summary.update(universes=len(us), reused=reused, computed=len(todo), scheduler=sch.text or "in-process",
                   axes={a: [_jsonable(v) for v in mv.axes[a]] for a in axes})
    write_json(out / "multiverse" / "summary.json", summary)
    specification_curve(table, axes, out / "figures" / "specification_curve.png")
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
    out: dict[str, Any] = {"estimands": []}
    for (t, c, term), g in table.groupby(["table", "column", "term"], sort=False):
        est = pd.to_numeric(g["estimate"], errors="coerce")
        p = pd.to_numeric(g["p"], errors="coerce")
        main = est[g["is_main"].astype(bool)]
        rec: dict[str, Any] = {"table": t, "column": c, "term": term, "universes": int(len(g)),
                               "estimated": int(est.notna().sum())}
        ok = est.notna()
        if ok.any():
            rec["median_estimate"] = float(est[ok].median())
            rec["min_estimate"], rec["max_estimate"] = float(est[ok].min()), float(est[ok].max())
            rec["share_significant"] = float((p[ok] < SIGNIFICANT).mean())
            if len(main) and np.isfinite(main.iloc[0]):
                rec["main_estimate"] = float(main.iloc[0])
                rec["share_main_sign"] = float((np.sign(est[ok]) == np.sign(main.iloc[0])).mean())
            pub = (published or {}).get((t, c, term))
            if pub is not None:
                rec["published_estimate"] = float(pub)
                rec["share_published_sign"] = float((np.sign(est[ok]) == np.sign(pub)).mean())
        out["estimands"].append(rec)
    return out


def specification_curve(table: pd.DataFrame, axes: list[str], path: Path) -> Path:
    """Estimates sorted with their intervals (one panel per estimand), the choices as an indicator panel below."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    from ctfp.core.atomic import atomic_path

    groups = list(table.groupby(["table", "column", "term"], sort=False))
    levels = [(a, v) for a in axes for v in dict.fromkeys(table[a].astype(str))]
    fig, axs = plt.subplots(2 * len(groups), 1, figsize=(8, 2.2 * len(groups) + 0.35 * len(levels) * len(groups)),
                            gridspec_kw={"height_ratios": [3, max(1, 0.35 * len(levels))] * len(groups)},
                            squeeze=False)
    for k, ((t, c, term), g) in enumerate(groups):
        g = g.assign(estimate=pd.to_numeric(g["estimate"], errors="coerce")).sort_values("estimate", kind="stable")
        x = np.arange(len(g))
        top, bottom = axs[2 * k, 0], axs[2 * k + 1, 0]
        lo = pd.to_numeric(g["ci_low"], errors="coerce").to_numpy()
        hi = pd.to_numeric(g["ci_high"], errors="coerce").to_numpy()
        est = g["estimate"].to_numpy()
        sig = pd.to_numeric(g["p"], errors="coerce").to_numpy() < SIGNIFICANT
        top.vlines(x, lo, hi, color="0.6", lw=1)
        top.scatter(x, est, c=np.where(sig, "C3", "C0"), s=18, zorder=3)
        main = g["is_main"].astype(bool).to_numpy()
        top.scatter(x[main], est[main], facecolors="none", edgecolors="k", s=70, zorder=4, label="main specification")
        top.axhline(0, color="k", lw=0.6)
        top.set_title(f"{t} {c}: {term} (red: p < {SIGNIFICANT:g})", fontsize=9)
        top.set_xticks([])
        top.legend(fontsize=7, loc="best")
        for row, (a, v) in enumerate(levels):
            on = (g[a].astype(str) == v).to_numpy()
            bottom.scatter(x[on], np.full(on.sum(), row), marker="|", s=60, color="k")
        bottom.set_yticks(range(len(levels)), [f"{a} = {v}" for a, v in levels], fontsize=7)
        bottom.set_ylim(-0.5, len(levels) - 0.5)
        bottom.invert_yaxis()
        bottom.set_xlim(top.get_xlim())
        bottom.set_xlabel("universes, sorted by estimate", fontsize=8)
        bottom.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=130)
    plt.close(fig)
    return path
