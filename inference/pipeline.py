"""The pipeline of one study: data -> measures (DEA) -> analysis panel -> tables -> Bayesian models ->
validation -> report. It reads only the typed `Study` (ctfp.core.study).

Each step writes its artefacts atomically into the run folder (`ctfp.core.runfolder`) and records a fingerprint
of what it was computed from plus the SHA-256 of each output; a rerun reuses a step only when both still match.
Computing a step removes every recorded step downstream of it, so nothing stale is ever reported. Everything a
later step needs from the panel (columns, measure domains, formulas, samples) is checked right after the data
step, before any estimation.

Scheduling (`scheduler`, else the study's `[compute] scheduler`; `ctfp.inference.compute`): "" runs every step
here, one after another, and imports no Dask. On a cluster the independent work is submitted as tasks: the
measures (two or more pending: one task each; one: its DMUs in chunks, `run_dea(executor=...)`), every pending
Bayesian model (one task each, submitted before the tables so they run beside them), the tables' permutation
batches. The driver keeps the run folder: a task returns its results (frames, file bytes, the warnings it
raised, its printed lines), the driver writes them atomically and records the step with the same fingerprint as
in-process (the scheduler is not part of it: the results are the same), so a run resumed in either mode reuses
the other's steps.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import logging
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from rich.console import Console

from ctfp.core.atomic import atomic_path, write_csv, write_json
from ctfp.core.errors import InputError
from ctfp.core.runfolder import (
    RunFolder,
    RunRecord,
    check_out_dir,
    clear_run_folder,
    code_fingerprint,
    file_fingerprint,
    object_fingerprint,
    package_versions,
)
from ctfp.core.study import BayesModel, Measure, Study

PIPELINE_VERSION = "2"  # bump when a step's meaning changes, so old run folders are recomputed


def semantic(obj: Any) -> Any:
    """A dataclass as plain data without its line numbers: moving a key in the file changes no fingerprint."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: semantic(getattr(obj, f.name)) for f in dataclasses.fields(obj)
                if f.name not in ("where", "lines")}
    if isinstance(obj, list | tuple):
        return [semantic(x) for x in obj]
    if isinstance(obj, dict):
        return {str(k): semantic(v) for k, v in obj.items()}
    return obj


class Pipeline:
    """Runs the steps of one study into one run folder."""

    def __init__(self, study: Study, out_dir: str | Path, *, console: Console | None = None,
                 progress: bool = True, verbose: bool = False, scheduler: str | None = None) -> None:
        from ctfp.inference.compute import check_reachable, parse_scheduler

        self.study = study
        # --scheduler overrides [compute] scheduler; either is checked here, before any work
        where = "--scheduler" if scheduler is not None else f"{study.where('compute', 'scheduler')}: [compute] scheduler"
        self.scheduler = parse_scheduler(scheduler if scheduler is not None else study.compute.scheduler,
                                         where=where)
        check_reachable(self.scheduler)
        self.ex: Any = None  # the cluster's executor while a run is on one; None: in-process
        self.rf = RunFolder(check_out_dir(out_dir))
        self.console = console or Console(stderr=True)
        self.progress = progress
        self.verbose = verbose  # third-party warnings raw; otherwise log.txt and one plain note per kind
        from ctfp.data.study_panel import preset_of

        self.preset = preset_of(study)
        self.data_source = "synthetic" if study.synthetic_panel else "user"
        self._frame: Any = None

    # ------------------------------------------------------------------------------------------------
    def run(self) -> Path:
        from ctfp.inference.quiet import quiet

        self.rf.root.mkdir(parents=True, exist_ok=True)
        from ctfp.inference.compute import open_executor

        with quiet(self.rf.root, verbose=self.verbose) as self._quiet, open_executor(self.scheduler) as ex:
            self.ex = None if self.scheduler.kind == "inprocess" else ex
            try:
                self._run_steps()
            finally:
                self.ex = None
        self._section("report")
        from ctfp.reports import build_report, print_summary
        from ctfp.reports.runfolder import load_run

        with quiet(self.rf.root, verbose=self.verbose) as q, q.step("report"):
            run = load_run(self.rf.root)  # read once: the page and the terminal summary share its posteriors
            path = build_report(run)
        print_summary(run)
        return path

    def _run_steps(self) -> None:
        s = self.study
        old = self.rf.read_record() if self.rf.run_json.is_file() else None
        if old is not None and old.schema < 2:  # an old layout: start afresh rather than mix artefacts
            clear_run_folder(self.rf.root)
        self.inputs = self._input_fingerprints()
        self._record()
        base = [PIPELINE_VERSION, self.inputs, package_versions(), code_fingerprint()]
        fp_data = object_fingerprint([base, semantic(s.meta), semantic(s.data), semantic(s.groups)])
        self._forget_steps_outside_the_study()

        self._step("data", fp_data, self._step_data, upstream=())
        prov = self.rf.read_provenance("panel") or {}
        if prov.get("data_source", self.data_source) != self.data_source:
            self.data_source = prov["data_source"]  # learnt by a finished data step (a synthetic file)
            self._record()
        self._preflight()
        fp_measures = [object_fingerprint([fp_data, semantic(m)]) for m in s.measures]
        measure_steps = [(f"dea-{m.name}", fp, m) for m, fp in zip(s.measures, fp_measures, strict=True)]
        self._as_tasks: set[str] = set()  # steps this run computed as tasks on the cluster
        if self.ex is not None:
            self._measures_as_tasks(measure_steps)
        for name, fp, m in measure_steps:
            if name not in self._as_tasks:
                self._step(name, fp, lambda m=m: self._step_dea(m), upstream=("data",))
        fp_analysis = object_fingerprint([fp_data, fp_measures])
        self._step("analysis", fp_analysis, self._step_analysis,
                   upstream=("data", *(f"dea-{m.name}" for m in s.measures)))
        bayes_steps: list[tuple[str, str, BayesModel]] = []
        if s.bayes.run:
            sampler = semantic(dataclasses.replace(s.bayes, models=()))
            bayes_steps = [(f"bayes-{model.name}", object_fingerprint([fp_analysis, sampler, semantic(model)]), model)
                           for model in s.bayes.models]
        # on a cluster the Bayesian models are submitted first and sample while the tables are estimated here
        pending = self._submit_bayes(bayes_steps) if self.ex is not None else None
        if s.tables:
            fp = object_fingerprint([fp_analysis, semantic(s.tables), semantic(s.published), self._published_sha()])
            self._step("tables", fp, self._step_tables, upstream=("analysis",))
        if pending is not None:
            self._collect_bayes(*pending)
        for name, fp, model in bayes_steps:
            if name not in self._as_tasks:
                self._step(name, fp, lambda m=model: self._step_bayes(m), upstream=("analysis",))
        self._validation()
        self._recorded_design()

    # ------------------------------------------------------------------------------------------------
    def _record(self) -> None:
        s = self.study
        self.rf.write_record(RunRecord(
            study=s.raw, study_file=str(s.path.resolve()) if s.path else "", data_source=self.data_source,
            inputs=self.inputs,
            unit=s.data.unit, time=s.data.time, measures=[m.name for m in s.measures],
            bayes_models=[m.name for m in s.bayes.models], report=semantic(s.report), preset=s.meta.preset))

    def _input_fingerprints(self) -> dict[str, str]:
        s = self.study
        if s.synthetic_panel:
            if self.preset is None:
                raise InputError(f"{s.where('data', 'panel')}: [data] panel is empty and the study has no preset; "
                                 "name the panel file")
            return {"panel": self.preset.synthetic_label}
        path = s.resolve(s.data.panel)
        if not path.is_file():
            raise InputError(f"{s.where('data', 'panel')}: panel file {path} not found; fix [data] panel "
                             "(relative to the study file) or pass --panel")
        out = {"panel": str(path), "sha256": file_fingerprint(path)}
        if s.published.file:
            out["published"] = str(s.resolve(s.published.file))
        return out

    def _published_sha(self) -> str:
        return file_fingerprint(self.study.resolve(self.study.published.file)) if self.study.published.file else ""

    def _forget_steps_outside_the_study(self) -> None:
        """Recorded steps the study no longer has (a removed measure or model) go, with their artefacts."""
        s = self.study
        known = {"data", "analysis", "tables", *(f"dea-{m.name}" for m in s.measures),
                 *(f"bayes-{m.name}" for m in s.bayes.models)}
        for rec in self.rf.recorded_steps():
            if rec.step not in known:
                self.rf.remove_step(rec.step)

    def _section(self, title: str) -> None:
        self.console.rule(f"[bold]{title}")

    def _step(self, name: str, fingerprint: str, fn: Callable[[], list[Path]], *, upstream: tuple[str, ...]) -> None:
        if not self._begin(name, fingerprint):
            return
        self._section(name)
        t0 = time.perf_counter()
        with self._quiet.step(name):
            outputs = fn()
        self._done(name, fingerprint, outputs, upstream, time.perf_counter() - t0)

    def _begin(self, name: str, fingerprint: str) -> bool:
        """False (and said) when the step finished earlier with the same inputs; else clear it and what follows."""
        if self.rf.step_done(name, fingerprint):
            self.console.print(f"[dim]✓ {name}: finished earlier with the same inputs, reused[/dim]")
            return False
        gone = self.rf.invalidate_downstream(name)
        self.rf.remove_step(name)
        if gone:
            self.console.print(f"[dim]{name} changed: removed the results of {', '.join(gone)}[/dim]")
        return True

    def _done(self, name: str, fingerprint: str, outputs: list[Path], upstream: tuple[str, ...], wall: float) -> None:
        self.rf.mark_done(name, fingerprint, outputs, upstream=upstream, wall_s=wall)
        self.console.print(f"✓ {name} ({wall:.1f} s)")

    # --- steps as tasks (a cluster) -------------------------------------------------------------------
    def _measures_as_tasks(self, steps: list[tuple[str, str, Measure]]) -> None:
        """Two or more pending measures: one task each (a single one is chunked by run_dea in `_step_dea`)."""
        todo = [(name, fp, m) for name, fp, m in steps if not self.rf.step_done(name, fp)]
        if len(todo) < 2:
            return
        for name, fp, _ in todo:
            self._begin(name, fp)
        self._section(f"measures ({len(todo)} tasks)")
        self.console.print(f"[dim]measures {', '.join(m.name for *_, m in todo)}: one task each on "
                           f"{self.ex.description}[/dim]", soft_wrap=True)
        shared = TaskShared(self.study, self._read(self.rf.derived_parquet), self._source())
        results = self.ex.map(measure_task, shared, [m for *_, m in todo], label=f"measures: {len(todo)} tasks",
                              progress=self.progress)
        for (name, fp, m), res in zip(todo, results, strict=True):
            with self._quiet.step(name):
                res.replay()
                scores, prov = res.value
                outputs = [write_csv(self.rf.path("dea", f"{m.name}.csv"), scores),
                           self.rf.write_provenance(f"dea_{m.name}", prov)]
            self._done(name, fp, outputs, ("data",), res.wall)
            self._as_tasks.add(name)

    def _submit_bayes(self, steps: list[tuple[str, str, BayesModel]]) -> tuple[list[Any], Any] | None:
        todo = [(name, fp, m) for name, fp, m in steps if not self.rf.step_done(name, fp)]
        if not todo:
            return None
        for name, fp, _ in todo:
            self._begin(name, fp)
        self.console.print(f"[dim]Bayesian models {', '.join(m.name for *_, m in todo)}: one task each on "
                           f"{self.ex.description}, sampling while the tables run[/dim]", soft_wrap=True)
        shared = TaskShared(self.study, self.analysis_frame(), self._source())
        batch = self.ex.submit(bayes_task, shared, [m for *_, m in todo], label=f"bayes: {len(todo)} models",
                               progress=self.progress)
        return todo, batch

    def _collect_bayes(self, todo: list[tuple[str, str, BayesModel]], batch: Any) -> None:
        self._section(f"bayes ({len(todo)} tasks)")
        for (name, fp, m), res in zip(todo, batch.result(), strict=True):
            with self._quiet.step(name):
                res.replay()
            out = self.rf.bayes_dir(m.name)
            for rel, data in res.value.items():
                target = out / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                with atomic_path(target) as tmp:
                    Path(tmp).write_bytes(data)
            self._done(name, fp, [self.rf.posterior_nc(m.name), self.rf.summary_json(m.name)], ("analysis",), res.wall)
            self._as_tasks.add(name)

    # --- steps ----------------------------------------------------------------------------------------
    def _step_data(self) -> list[Path]:
        from ctfp.inference.prepare import prepare_panel

        prep = prepare_panel(self.study)
        self.data_source = prep.data_source
        self._record()
        for w in prep.warnings:
            self.console.print(w, style="yellow", markup=False)
        outs = [self._write_parquet(prep.frame, self.rf.derived_parquet)]
        outs += [self.rf.write_provenance(k, v) for k, v in prep.provenance.items()]
        if prep.truth is not None:
            outs.append(write_json(self.rf.truth_json, prep.truth))
        return outs

    def _step_dea(self, m: Any) -> list[Path]:
        from ctfp.inference.prepare import score_measure

        scores, prov = score_measure(self._read(self.rf.derived_parquet), m, self.study, self._source(),
                                     progress=self.progress, executor=self.ex)
        return [write_csv(self.rf.path("dea", f"{m.name}.csv"), scores),
                self.rf.write_provenance(f"dea_{m.name}", prov)]

    def _step_analysis(self) -> list[Path]:
        import pandas as pd

        from ctfp.inference.prepare import attach_scores

        s = self.study
        frame = self._read(self.rf.derived_parquet)
        scores = {m.name: pd.read_csv(self.rf.dea_csv(m.name), dtype={s.data.unit: frame[s.data.unit].dtype})
                  for m in s.measures}
        frame = attach_scores(frame, s, scores)
        outs = [self._write_parquet(frame, self.rf.analysis_parquet), write_csv(self.rf.analysis_csv, frame)]
        outs.append(write_csv(self.rf.table1_csv, self._table1(frame)))
        return outs

    def _table1(self, frame: Any) -> Any:
        """Table 1, computed once here (the report only formats it): the preset's (beside the published
        numbers) or N / mean / sd / min / max of every numeric column the study uses."""
        import pandas as pd

        from ctfp.data.table1 import describe_table1
        from ctfp.inference.prepare import needed_columns

        if self.preset is not None:
            t = self.preset.table1(frame)
            if t is not None:
                return t
        names = [n for n, _ in needed_columns(self.study, include_made=True)]
        names = [n for n in dict.fromkeys(names) if n in frame.columns and pd.api.types.is_numeric_dtype(frame[n])
                 and n not in (self.study.data.unit, self.study.data.time)]
        if not names:  # nothing numeric to describe: the header alone
            return pd.DataFrame(columns=["variable", "label", "N", "mean", "sd", "min", "max"])
        return describe_table1(frame, names)

    def _step_tables(self) -> list[Path]:
        from ctfp.inference.tables import run_tables

        return list(run_tables(self.study, self.analysis_frame(), self.rf.root, progress=self.progress,
                               executor=self.ex).files)

    def _step_bayes(self, model: Any) -> list[Path]:
        fit_bayes_model(self.study, self.analysis_frame(), model, self.rf.bayes_dir(model.name),
                        progress=self.progress, source=self._source())
        return [self.rf.posterior_nc(model.name), self.rf.summary_json(model.name)]

    def _validation(self) -> None:
        claims = self.preset.claims() if self.preset is not None else ()
        if not claims:
            self.rf.validation_json.unlink(missing_ok=True)
            return
        self._section("validation against the published claims")
        from ctfp.inference.validate import validate_run

        validate_run(self.rf.root, claims)

    def _recorded_design(self) -> None:
        """The study's shipped design-analysis summary ([simulate] recorded), with its freshness verdict, for the
        report (inference/simulate_study.py: a summary of other models is marked stale and not shown)."""
        from ctfp.inference.simulate_study import recorded_summary

        rec = recorded_summary(self.study)
        target = self.rf.root / "simulate" / "recorded.json"
        if rec is None:
            target.unlink(missing_ok=True)
            return
        write_json(self.rf.simulate_path("recorded.json"), rec)

    def _preflight(self) -> None:
        from ctfp.inference.prepare import preflight

        preflight(self.study, self._read(self.rf.derived_parquet))

    # --- helpers --------------------------------------------------------------------------------------
    def _source(self) -> str:
        prov = self.rf.read_provenance("panel") or {}
        return str(prov.get("source") or "the panel")

    def _write_parquet(self, frame: Any, target: Path) -> Path:
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(target) as tmp:
            frame.to_parquet(tmp, index=False)
        return target

    def _read(self, path: Path) -> Any:
        import pandas as pd

        frame = pd.read_parquet(path)
        frame.attrs["data_source"] = self.data_source
        frame.attrs["source"] = self._source()
        return frame

    def analysis_frame(self) -> Any:
        if self._frame is None:
            self._frame = self._read(self.rf.analysis_parquet)
        return self._frame


# --- what runs on a worker ------------------------------------------------------------------------------


def fit_bayes_model(study: Study, frame: Any, model: BayesModel, out: Path, *, progress: bool, source: str) -> None:
    """One [[bayes.models]] entry fitted on `frame`; writes `out`/{posterior.nc, summary.json}."""
    s = study
    if model.formula:
        import importlib.util

        if importlib.util.find_spec("bambi") is None:
            raise InputError(f"{model.where}: [[bayes.models]] '{model.name}' is a bambi formula model, and bambi is "
                             "not installed: pip install bambi (or state the model by outcome/treatment/controls)")
        from ctfp.inference.bambi_models import fit_bambi
        from ctfp.inference.sampling import SamplerConfig

        entry = {k: v for k, v in (("name", model.name), ("formula", model.formula), ("family", model.family),
                                   ("treatment", model.treatment), ("link", model.link)) if v}
        cfg = SamplerConfig(sampler=s.bayes.sampler, draws=s.bayes.draws, tune=s.bayes.tune, chains=s.bayes.chains,
                            seed=s.bayes.seed, target_accept=s.bayes.target_accept)
        fit_bambi(frame, entry, cfg, out, unit=s.data.unit, time_col=s.data.time, progress=progress, source=source)
        return
    from ctfp.inference.fit import fit_from_spec_dict

    variables = {"outcome": model.outcome, "treatment": model.treatment, "controls": list(model.controls)}
    spec: dict[str, Any] = {"name": model.name, "likelihood": model.likelihood, "mundlak": model.mundlak,
                            "by": list(model.by), "serial": model.serial, "error_scale": model.error_scale,
                            "censor_at": model.censor_at}
    if model.instrument:
        spec["instrument"] = model.instrument
    if model.priors:
        spec["priors"] = dict(model.priors)
    sampler = {"sampler": s.bayes.sampler, "draws": s.bayes.draws, "tune": s.bayes.tune,
               "chains": s.bayes.chains, "seed": s.bayes.seed, "target_accept": s.bayes.target_accept}
    fit_from_spec_dict(frame, variables=variables, model=spec, sampler=sampler, out_dir=out,
                       progress=progress, unit=s.data.unit, time_col=s.data.time)


@dataclasses.dataclass(frozen=True)
class TaskShared:
    """Sent to every worker once per batch: the study and the frame the tasks read."""

    study: Study
    frame: Any
    source: str


@dataclasses.dataclass
class TaskResult:
    """A task's value with what it said on the worker: warnings and library log records (replayed into the
    driver's quiet block, so log.txt and the notes are as in-process) and its printed lines."""

    value: Any
    wall: float
    warned: list[tuple[type[Warning], str, str, int]]
    logged: list[tuple[str, int, str]]
    printed: str

    def replay(self) -> None:
        import sys

        for category, message, filename, lineno in self.warned:
            warnings.warn_explicit(message, category, filename, lineno)
        for name, level, message in self.logged:
            logging.getLogger(name).log(level, "%s", message)
        if self.printed:
            sys.stderr.write(self.printed)


@contextlib.contextmanager
def _captured() -> Iterator[TaskResult]:
    from ctfp.inference.quiet import LIBRARY_LOGGERS

    res = TaskResult(None, 0.0, [], [], "")

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            res.logged.append((record.name, record.levelno, record.getMessage()))

    handler = Keep(logging.INFO)
    saved = []
    for name in LIBRARY_LOGGERS:
        lg = logging.getLogger(name)
        saved.append((lg, list(lg.handlers), lg.propagate))
        lg.handlers, lg.propagate = [handler], False
    text = io.StringIO()
    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stderr(text), \
                contextlib.redirect_stdout(text):
            warnings.simplefilter("always")
            yield res
    finally:
        for lg, handlers, propagate in saved:
            lg.handlers, lg.propagate = handlers, propagate
    res.wall = time.perf_counter() - t0
    res.warned = [(w.category, str(w.message), w.filename, w.lineno) for w in caught]
    res.printed = text.getvalue()


def measure_task(shared: TaskShared, m: Measure) -> TaskResult:
    """One measure's DEA scores and provenance, on a worker."""
    from ctfp.inference.prepare import score_measure

    with _captured() as res:
        res.value = score_measure(shared.frame, m, shared.study, shared.source)
    return res


def bayes_task(shared: TaskShared, model: BayesModel) -> TaskResult:
    """One Bayesian model fitted on a worker; the value is its output files' bytes (relative path -> bytes), so
    the worker needs no access to the run folder."""
    with _captured() as res, tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / model.name
        fit_bayes_model(shared.study, shared.frame, model, out, progress=False, source=shared.source)
        res.value = {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    return res
