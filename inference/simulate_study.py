"""The design analysis of a study (`ctfp simulate`): R panels drawn from the study's data-generating process, the
`[simulate]` estimands estimated on each, and how their intervals behave against the known truth.

Worlds. A study on its preset's embedded SYNTHETIC panel draws from the preset's world (the paper world of
`ctfp.models.worlds.paper` for the paper's study: raw panels with a settable true AI effect, run through the
study's own derivations and DEA measures). Any other study draws a parametric bootstrap of its own analysis
panel (`ctfp.models.worlds.bootstrap.UnitBootstrap`): the fitted two-way FE column of the table estimand with
its focal coefficient set to the effect, plus residual vectors resampled by whole unit. The effect is
`--effect`, else `[simulate] effect`, else the published estimate of the table estimand, else the world's
default (the paper world: the published 0.0248; a bootstrap: the fitted coefficient).

Estimands and their truths. The table estimand is the replica column as the tables engine fits it (its
formula, sample and clustering; a t(G-1) interval for clustered columns); its truth is the same column fitted
to the causal signal slope_it * treatment_it (the within-weighted average of the true slopes: what a two-way FE
coefficient estimates when slopes vary). A Bayesian model without group slopes reports its `ame` (truth: that
two-way FE estimand over the model's rows, treatment and controls); with `split` and `level` it reports
`slope_group` (truth: the true slopes averaged with the model's own weights `fe_weight` over the level's rows).
The Bayesian models are refitted on every world through one compiled model per structure
(`ctfp.inference.simulate.StructureFitter`, nutpie on JAX) with `[simulate]`'s shorter chains.

Every world is a task of `ctfp.inference.compute` (in-process, or Dask with `--scheduler`). Results go to the
run folder (`ctfp.core.runfolder`): `simulate/worlds/wNNNN.json` per world with the fingerprint of everything it
was computed from (a rerun reuses finished worlds; a changed study, code, effect or seed recomputes them),
`simulate/worlds.csv` (one row per world and method), `simulate/summary.csv` (per method: coverage, power,
type S, type M, mean width, sd/se; `ctfp.inference.simulate.design_metrics`), `simulate/summary.json` (what was
run, with a model fingerprint) and `figures/simulate_intervals.png`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ctfp.core.atomic import write_csv, write_json
from ctfp.core.errors import InputError, NumericalError
from ctfp.core.study import SimEstimand, Study
from ctfp.inference.simulate import (
    METRIC_COLUMNS,
    RefitConfig,
    StructureFitter,
    design_metrics,
    structure_key,
)

SIM_VERSION = "1"  # bump when a world's records change meaning
WORLD_COLUMNS = ("world", "seed", "method", "kind", "truth", "effect", "estimate", "se", "lower", "upper", "gate",
                 "divergences", "note")
LEVEL = 0.95


@dataclass(frozen=True)
class Setup:
    """What every world task needs (broadcast once to Dask workers)."""

    study: Study  # restricted to what the estimands read
    world: Any  # PaperWorld | UnitBootstrap: draw(seed, effect) -> WorldDraw
    world_kind: str  # "preset world <name>" | "bootstrap"
    effect: float
    effect_source: str
    seed: int
    estimands: tuple[SimEstimand, ...]
    specs: tuple[tuple[str, Any], ...]  # (method, BayesSpec) of each Bayesian estimand
    cfg: RefitConfig


def world_seed(seed: int, world: int) -> int:
    """The seed of world `world` of a design analysis seeded `seed` (independent streams, 31-bit)."""
    return int(np.random.SeedSequence([int(seed), int(world)]).generate_state(1)[0] >> 1)


# ---------------------------------------------------------------------------------------------- setting up
def _published_estimate(study: Study, e: SimEstimand) -> float | None:
    if not study.published.file:
        return None
    from ctfp.data.published_file import read_published

    path = study.resolve(study.published.file)
    pub = read_published(path, label=study.published.file if study.path is None else str(path))
    hit = pub[(pub["table"] == e.table) & (pub["column"] == e.column) & (pub["term"] == e.term)]
    if not len(hit) or not np.isfinite(hit["estimate"].iloc[0]):
        return None
    return float(hit["estimate"].iloc[0])


def _column(study: Study, e: SimEstimand) -> Any:
    return next(c for c in study.table(e.table).columns if c.id == e.column)


def _formula(study: Study, e: SimEstimand) -> Any:
    from ctfp.models.panel.formula import FormulaError, parse_formula

    col = _column(study, e)
    try:
        return parse_formula(col.formula)
    except FormulaError as err:
        raise InputError(f"{col.where}: table {e.table} column {e.column}: {err}") from None


def _spec(study: Study, name: str) -> Any:
    from ctfp.inference.fit import spec_from_dicts

    m = next(x for x in study.bayes.models if x.name == name)
    model: dict[str, Any] = {"name": m.name, "likelihood": m.likelihood, "mundlak": m.mundlak, "by": list(m.by),
                             "serial": m.serial, "error_scale": m.error_scale, "censor_at": m.censor_at}
    if m.instrument:
        model["instrument"] = m.instrument
    if m.priors:
        model["priors"] = dict(m.priors)
    variables = {"outcome": m.outcome, "treatment": m.treatment, "controls": list(m.controls)}
    return spec_from_dicts(variables, model, study.data.unit, study.data.time)


def _needed_measures(study: Study, estimands: tuple[SimEstimand, ...], specs: list[Any]) -> tuple[str, ...]:
    cols: set[str] = set()
    for e in estimands:
        if e.kind == "table":
            cols |= set(_formula(study, e).columns) | set(_column(study, e).cluster)
    for spec in specs:
        cols |= set(spec.columns())
    return tuple(m.name for m in study.measures if m.name in cols)


def _restricted(study: Study, estimands: tuple[SimEstimand, ...], measures: tuple[str, ...]) -> Study:
    """The study with only what the worlds need: the measures the estimands read, the estimand's table column
    (no difference tests), the estimand models; no published file (held once, at setup)."""
    from ctfp.core.study import Published

    table_ids = {e.table for e in estimands if e.kind == "table"}
    tables = tuple(dataclasses.replace(t, tests=(), columns=tuple(c for c in t.columns if any(
        e.kind == "table" and e.table == t.id and e.column == c.id for e in estimands)))
                   for t in study.tables if t.id in table_ids)
    models = tuple(m for m in study.bayes.models if any(e.model == m.name for e in estimands))
    return dataclasses.replace(study, tables=tables, measures=tuple(m for m in study.measures if m.name in measures),
                               bayes=dataclasses.replace(study.bayes, models=models), published=Published(),
                               multiverse=None)


def build_setup(study: Study, *, effect: float | None = None, seed: int | None = None,
                draws: int | None = None, tune: int | None = None, chains: int | None = None,
                serial: str | None = None, error_scale: str | None = None) -> Setup:
    """The design of `study`'s analysis: its world, the effect, the estimands' specs and the refit settings.

    `serial` / `error_scale` override every Bayesian estimand's error model (a benchmark's "before": the iid
    model); None keeps the study's.
    """
    sim = study.simulate
    if sim is None:
        raise InputError(f"{study.label}: the study has no [simulate] section; add one with estimands (docs/study.md, "
                         "\"Design analysis\")")
    estimands = sim.estimands
    focal = next(e for e in estimands if e.kind == "table")
    f = _formula(study, focal)
    if focal.term not in f.regressors:
        raise InputError(f"{focal.where}: [simulate] term '{focal.term}' is not a regressor of {focal.table} "
                         f"{focal.column} ({f.text})")
    specs = []
    for e in estimands:
        if e.kind == "bayes":
            spec = _spec(study, e.model)
            if serial is not None or error_scale is not None:
                from ctfp.models.bayes.spec import resolve_error_model

                s_, e_ = resolve_error_model(spec.likelihood, spec.instrument, serial or spec.serial,
                                             error_scale or spec.error_scale)
                spec = dataclasses.replace(spec, serial=s_, error_scale=e_)
            if spec.instrument is not None:
                raise InputError(f"{e.where}: [simulate] bayes = '{e.model}' is an IV model; the design analysis "
                                 "refits models without an instrument in this version")
            specs.append((e.method, spec))
    measures = _needed_measures(study, estimands, [s for _, s in specs])
    small = _restricted(study, estimands, measures)
    preset = None
    if study.meta.preset:
        from ctfp.core.study_load import get_preset

        preset = get_preset(study.meta.preset)
    world = preset.world_generator() if (preset is not None and study.synthetic_panel) else None
    if world is not None:
        kind = f"preset world '{world.name}'"
        for e, (what, name) in [(focal, ("outcome", f.outcome)), (focal, ("treatment", focal.term))]:
            if name != getattr(world, what):
                raise InputError(f"{e.where}: [simulate] the world '{world.name}' knows the true effect of "
                                 f"{world.treatment} on {world.outcome}; the table estimand has {what} '{name}'")
        for (_, spec), e in zip(specs, [x for x in estimands if x.kind == "bayes"], strict=True):
            if (spec.outcome, spec.treatment) != (world.outcome, world.treatment):
                raise InputError(f"{e.where}: [simulate] model '{e.model}' has outcome {spec.outcome} and treatment "
                                 f"{spec.treatment}; the world '{world.name}' knows the effect of {world.treatment} "
                                 f"on {world.outcome} only")
    else:
        world = _bootstrap_world(study, focal, f)
        kind = "bootstrap"
        for (_, spec), e in zip(specs, [x for x in estimands if x.kind == "bayes"], strict=True):
            if spec.likelihood != "normal":
                raise InputError(f"{e.where}: [simulate] model '{e.model}' has likelihood '{spec.likelihood}'; "
                                 "bootstrap worlds have an unbounded outcome: follow a normal model")
            if (spec.outcome, spec.treatment) != (f.outcome, focal.term):
                raise InputError(f"{e.where}: [simulate] model '{e.model}' must have the table estimand's outcome "
                                 f"'{f.outcome}' and treatment '{focal.term}' (the bootstrap sets that effect)")
    if effect is not None:
        eff, src = float(effect), "--effect"
    elif sim.effect is not None:
        eff, src = float(sim.effect), f"[simulate] effect ({sim.where})"
    else:
        pub = _published_estimate(study, focal)
        if pub is not None:
            eff, src = pub, f"published {focal.table} {focal.column} {focal.term}"
        else:
            eff, src = float(world.default_effect), ("the world's default" if kind != "bootstrap"
                                                     else "the fitted coefficient")
    cfg = RefitConfig(draws=draws or sim.draws, tune=tune or sim.tune, chains=chains or sim.chains,
                      cores=min(chains or sim.chains, 2), target_accept=study.bayes.target_accept,
                      backend=sim.backend)
    return Setup(small, world, kind, eff, src, sim.seed if seed is None else int(seed), estimands, tuple(specs), cfg)


def _bootstrap_world(study: Study, focal: SimEstimand, f: Any) -> Any:
    """The fitted focal column on the study's own analysis panel, as a `UnitBootstrap` world."""
    from ctfp.inference.prepare import load_analysis_panel
    from ctfp.models.worlds.bootstrap import UnitBootstrap

    if f.is_iv:
        raise InputError(f"{focal.where}: [simulate] the bootstrap world refits an OLS column; {focal.table} "
                         f"{focal.column} is an IV column: follow an OLS column (same outcome and treatment)")
    frame = load_analysis_panel(None, study=study).reset_index(drop=True)
    res, mask = _fit_column(study, focal, frame, f, keep_resid=True)
    rows = np.flatnonzero(mask)[np.asarray(res.rows, dtype=np.int64)] if res.rows is not None else np.flatnonzero(mask)
    y = frame[f.outcome].to_numpy(dtype=float)[rows]
    resid = np.asarray(res.resid, dtype=float)
    j = res.names.index(focal.term)
    return UnitBootstrap(frame, f.outcome, focal.term, study.data.unit, study.data.time, rows, y - resid, resid,
                         float(res.coef[j]))


# ---------------------------------------------------------------------------------------------- one world
def _sample_mask(study: Study, e: SimEstimand, frame: pd.DataFrame) -> np.ndarray:
    col = _column(study, e)
    if not col.sample.strip():
        return np.ones(len(frame), dtype=bool)
    from ctfp.core.expr import evaluate

    values = np.asarray(evaluate(col.sample, frame, unit=study.data.unit, time=study.data.time,
                                 where=f"{col.where}: table {e.table} column {e.column}"), dtype=float)
    mask = values == 1
    if not mask.any():
        raise InputError(f"{col.where}: table {e.table} column {e.column}: sample '{col.sample}' selects no row")
    return mask


def _fit_column(study: Study, e: SimEstimand, frame: pd.DataFrame, f: Any, *, y: str | None = None,
                keep_resid: bool = False, cluster: bool = True) -> tuple[Any, np.ndarray]:
    """The column as the tables engine fits it (outcome `y` in place of the formula's when given)."""
    from ctfp.models.panel.estimators import fit_iv, fit_ols

    col = _column(study, e)
    mask = _sample_mask(study, e, frame)
    sub = frame.loc[mask].reset_index(drop=True)
    cl = col.cluster if cluster else ()
    src = f"{col.where}: table {e.table} column {e.column}"
    outcome = y or f.outcome
    if f.is_iv:
        res = fit_iv(sub, outcome, list(f.endog), list(f.instruments), exog=list(f.exog), absorb=f.fe, cluster=cl,
                     robust=not cl, source=src, keep_resid=keep_resid)
    else:
        res = fit_ols(sub, outcome, list(f.exog), absorb=f.fe, cluster=cl, robust=not cl, source=src,
                      keep_resid=keep_resid)
    return res, mask


def _t_quantile(df: float) -> float:
    from scipy import stats as st

    q = 0.5 + LEVEL / 2
    return float(st.norm.ppf(q) if np.isinf(df) else st.t.ppf(q, df))


def replica_record(setup: Setup, e: SimEstimand, frame: pd.DataFrame, slope: np.ndarray) -> dict[str, Any]:
    f = _formula(setup.study, e)
    res, mask = _fit_column(setup.study, e, frame, f)
    j = res.names.index(e.term)
    est, se = float(res.coef[j]), float(res.se[j])
    q = _t_quantile(res.df_t)
    # the truth: the same column fitted to the causal signal slope * treatment (no noise, no confounding)
    sig = frame.assign(__signal__=slope * frame[e.term].to_numpy(dtype=float))
    tres, _ = _fit_column(setup.study, e, sig, f, y="__signal__", cluster=False)
    truth = float(tres.coef[tres.names.index(e.term)])
    note = "; ".join(res.warnings)
    return {"estimate": est, "se": se, "lower": est - q * se, "upper": est + q * se, "truth": truth, "gate": None,
            "divergences": 0, "note": note}  # gate None: no sampler, no gate


_FITTERS: dict[Any, StructureFitter] = {}  # per process: a Dask worker compiles each structure once too


def bayes_record(setup: Setup, e: SimEstimand, spec: Any, frame: pd.DataFrame, slope_of: pd.Series, seed: int,
           ) -> dict[str, Any]:
    from ctfp.inference.diagnostics import check_gate
    from ctfp.models.bayes.design import make_design
    from ctfp.models.panel.estimators import fit_ols

    design = make_design(frame, spec, "simulated panel")
    key = structure_key(design, spec)
    if key not in _FITTERS:
        _FITTERS[key] = StructureFitter(spec, design, setup.cfg)
    dt = _FITTERS[key].fit(design, seed=seed)
    post = dt["posterior"]
    draws = (post["slope_group"].sel(split=e.split, level=e.level) if e.split else post["ame"]).values.ravel()
    lo, hi = np.quantile(draws, [(1 - LEVEL) / 2, (1 + LEVEL) / 2])
    gate = check_gate(dt, warn=False)
    rows = design.frame
    beta = slope_of.reindex(pd.MultiIndex.from_frame(rows[[spec.unit, spec.time]])).to_numpy(dtype=float)
    if e.split:
        g = design.splits[:, design.split_names.index(e.split)] == int(e.level)
        w = np.asarray(design.fe_weight, dtype=float)
        truth = float(np.sum(w[g] * beta[g]) / np.sum(w[g]))
    else:
        sig = rows.assign(__signal__=beta * rows[spec.treatment].to_numpy(dtype=float))
        tres = fit_ols(sig, "__signal__", [spec.treatment, *spec.controls], absorb=[spec.unit, spec.time],
                       robust=True, source="truth")
        truth = float(tres.coef[0])
    div = int(dt["sample_stats"]["diverging"].sum())
    return {"estimate": float(draws.mean()), "se": float(draws.std()), "lower": float(lo), "upper": float(hi),
            "truth": truth, "gate": bool(gate.passed), "divergences": div, "note": "; ".join(gate.messages)}


def analysis_frame(setup: Setup, draw: Any) -> pd.DataFrame:
    if draw.stage == "analysis":
        return draw.frame.reset_index(drop=True)
    from ctfp.inference.prepare import attach_scores, prepare_panel, score_measure

    study = setup.study
    prep = prepare_panel(study, raw_frame=draw.frame, source=draw.label)
    scores = {m.name: score_measure(prep.frame, m, study, prep.source)[0] for m in study.measures}
    return attach_scores(prep.frame, study, scores).reset_index(drop=True)


def world_task(setup: Setup, world: int) -> list[dict[str, Any]]:
    """Every estimand on world `world`: one record per method (WORLD_COLUMNS)."""
    s = world_seed(setup.seed, world)
    draw = setup.world.draw(s, setup.effect)
    unit, tcol = setup.study.data.unit, setup.study.data.time
    slope_of = pd.Series(np.asarray(draw.slope, dtype=float),
                         index=pd.MultiIndex.from_frame(draw.frame[[unit, tcol]]))
    specs = dict(setup.specs)
    try:
        frame = analysis_frame(setup, draw)
    except NumericalError as err:  # a world the pipeline cannot measure (a DEA LP): counted, never hidden
        return [{"world": world, "seed": s, "method": e.method, "kind": e.kind, "effect": setup.effect,
                 "truth": np.nan, "estimate": np.nan, "se": np.nan, "lower": np.nan, "upper": np.nan,
                 "gate": None if e.kind == "table" else False, "divergences": 0, "note": f"world failed: {err}"}
                for e in setup.estimands]
    slope = slope_of.reindex(pd.MultiIndex.from_frame(frame[[unit, tcol]])).to_numpy(dtype=float)
    out = []
    for e in setup.estimands:
        if e.kind == "table":
            rec = replica_record(setup, e, frame, slope)
        else:
            rec = bayes_record(setup, e, specs[e.method], frame, slope_of, seed=world_seed(s, 7919))
        out.append({"world": world, "seed": s, "method": e.method, "kind": e.kind, "effect": setup.effect, **rec})
    return out


# ---------------------------------------------------------------------------------------------- the run
def design_fingerprint(setup: Setup) -> str:
    """Everything a world's records depend on except the world's index."""
    from ctfp.core.runfolder import code_fingerprint, object_fingerprint, package_versions
    from ctfp.inference.pipeline import semantic

    s = setup.study
    return object_fingerprint([SIM_VERSION, code_fingerprint(), package_versions(), model_fingerprint(setup),
                               setup.effect, setup.seed, semantic(s.meta), semantic(s.data), semantic(s.groups),
                               semantic(s.measures)])


def model_fingerprint(setup: Setup) -> str:
    """The structure a design analysis measured: world, estimands (columns, model specs) and refit settings.
    A recorded summary is shown only for a study whose model fingerprint is the same."""
    from ctfp.core.runfolder import object_fingerprint
    from ctfp.inference.pipeline import semantic

    cols = [semantic(_column(setup.study, e)) for e in setup.estimands if e.kind == "table"]
    return object_fingerprint([semantic(list(setup.estimands)), cols, [(m, sp.to_dict()) for m, sp in setup.specs],
                               dataclasses.asdict(setup.cfg), setup.world.structure()])


@dataclass
class SimResult:
    worlds: pd.DataFrame
    summary: pd.DataFrame
    meta: dict[str, Any]
    files: list[Path]


def run_simulate(study: Study, out_dir: str | Path, *, worlds: int | None = None, effect: float | None = None,
                 seed: int | None = None, scheduler: str = "", progress: bool | None = None,
                 setup: Setup | None = None, label: str = "simulate") -> SimResult:
    """Worlds 0..R-1 of the study's design analysis into `out_dir` (a run folder or a new folder)."""
    from ctfp.core.progress import progress_bar
    from ctfp.core.runfolder import RunFolder, read_json
    from ctfp.inference.compute import open_executor, parse_scheduler

    t0 = time.perf_counter()
    sch = parse_scheduler(scheduler or study.compute.scheduler)
    setup = setup or build_setup(study, effect=effect, seed=seed)
    n = int(worlds if worlds is not None else study.simulate.worlds)  # type: ignore[union-attr]
    if n < 1:
        raise InputError(f"--worlds {n}: give at least 1 world")
    rf = RunFolder(out_dir)
    base = design_fingerprint(setup)
    records: dict[int, list[dict[str, Any]]] = {}
    todo = []
    for w in range(n):
        rec = read_json(rf.simulate_path(*_world_parts(label, w)), "a simulated world")
        if isinstance(rec, dict) and rec.get("fingerprint") == f"{base}:{w}":
            records[w] = rec["records"]
        else:
            todo.append(w)
    reused = n - len(todo)
    with open_executor(sch) as ex, progress_bar(n, progress, f"{label}: worlds") as advance:
        advance(reused)
        step = max(1, int(getattr(ex, "n_workers", 1)))  # a chunk per round: finished worlds are kept at once
        for i in range(0, len(todo), step):
            chunk = todo[i:i + step]
            for w, recs in zip(chunk, ex.map(world_task, setup, chunk, label=label, progress=False), strict=True):
                records[w] = recs
                write_json(rf.simulate_path(*_world_parts(label, w)), {"fingerprint": f"{base}:{w}", "records": recs})
            advance(len(chunk))
    table = pd.DataFrame([r for w in range(n) for r in records[w]], columns=list(WORLD_COLUMNS))
    done = table[np.isfinite(table["estimate"].to_numpy(dtype=float))]
    summary = pd.DataFrame(design_metrics(done.to_dict("records"), LEVEL), columns=list(METRIC_COLUMNS))
    summary["divergent_fits"] = [int((done.loc[done["method"] == m, "divergences"] > 0).sum())
                                 for m in summary["method"]]
    summary["failed_worlds"] = [int((table["method"] == m).sum() - (done["method"] == m).sum())
                                for m in summary["method"]]
    meta = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"), "worlds": n, "computed": len(todo),
        "reused": reused, "effect": setup.effect, "effect_source": setup.effect_source, "seed": setup.seed,
        "world": setup.world_kind, "world_label": getattr(setup.world, "label", ""), "level": LEVEL,
        "refit": dataclasses.asdict(setup.cfg), "scheduler": sch.text or "in-process",
        "estimands": [e.method for e in setup.estimands],
        "specs": {m: {"serial": sp.serial, "error_scale": sp.error_scale, "likelihood": sp.likelihood,
                      "by": list(sp.splits)} for m, sp in setup.specs},
        "model_fingerprint": model_fingerprint(setup), "ctfp_version": _version(),
        "study": study.meta.name, "wall_s": round(time.perf_counter() - t0, 1),
    }
    files = [write_csv(rf.simulate_path(*_parts(label, "worlds.csv")), table),
             write_csv(rf.simulate_path(*_parts(label, "summary.csv")), summary),
             write_json(rf.simulate_path(*_parts(label, "summary.json")), {**meta, "summary": summary.to_dict("records")})]
    from ctfp.reports.section_simulate import intervals_figure

    files.append(intervals_figure(table, rf.path("figures", f"{label}_intervals.png"),
                                  title=f"{study.meta.name or study.label}: {n} simulated worlds"))
    return SimResult(table, summary, meta, files)


def _world_parts(label: str, w: int) -> tuple[str, ...]:
    return _parts(label, "worlds", f"w{w:04d}.json")


def _parts(label: str, *name: str) -> tuple[str, ...]:
    """Under simulate/: the default analysis at the top, a labelled one (a benchmark's variant) in its folder."""
    return (*(() if label == "simulate" else (label,)), *name)


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("ctfp")
    except metadata.PackageNotFoundError:
        return "unknown"


# ---------------------------------------------------------------------------------------------- the recorded one
def record_fingerprint(study: Study) -> str | None:
    """The model fingerprint of `study`'s design analysis as set up now (None without [simulate]); building
    the setup of a paper-world study reads no panel."""
    if study.simulate is None:
        return None
    setup = build_setup(study)
    return model_fingerprint(setup)


def recorded_summary(study: Study) -> dict[str, Any] | None:
    """The shipped design-analysis summary named by `[simulate] recorded`, with `stale` = its model fingerprint
    differs from the study's (then the report refuses its numbers), or None when the study names none."""
    sim = study.simulate
    if sim is None or not sim.recorded:
        return None
    path = study.resolve(sim.recorded)
    if not path.is_file():
        return {"file": str(path), "stale": True, "why": f"{path} not found: run benchmarks/bench_simulate.py"}
    rec = json.loads(path.read_text(encoding="utf-8"))
    want = record_fingerprint(study) if study.synthetic_panel else None
    stale = want is None or rec.get("model_fingerprint") != want
    why = "" if not stale else ("the study's models, estimands or world differ from the recorded run's" if want
                                else "the recorded run is of the embedded panel's world; this study reads another panel")
    return {**rec, "file": str(path), "sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "stale": stale,
            "why": why}
