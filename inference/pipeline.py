"""The pipeline of one study: data -> measures (DEA) -> analysis panel -> tables -> Bayesian models ->
validation -> report. It reads only the typed `Study` (ctfp.core.study).

Each step writes its artefacts atomically into the run folder (`ctfp.core.runfolder`) and records a fingerprint
of what it was computed from plus the SHA-256 of each output; a rerun reuses a step only when both still match.
Computing a step removes every recorded step downstream of it, so nothing stale is ever reported. Everything a
later step needs from the panel (columns, measure domains, formulas, samples) is checked right after the data
step, before any estimation.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
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
from ctfp.core.study import Study

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
                 progress: bool = True, verbose: bool = False) -> None:
        self.study = study
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
        with quiet(self.rf.root, verbose=self.verbose) as self._quiet:
            self._run_steps()
        self._section("report")
        from ctfp.reports import build_report, print_summary

        with quiet(self.rf.root, verbose=self.verbose) as q, q.step("report"):
            path = build_report(self.rf.root)
        print_summary(self.rf.root)
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
        fp_measures = []
        for m in s.measures:
            fp = object_fingerprint([fp_data, semantic(m)])
            fp_measures.append(fp)
            self._step(f"dea-{m.name}", fp, lambda m=m: self._step_dea(m), upstream=("data",))
        fp_analysis = object_fingerprint([fp_data, fp_measures])
        self._step("analysis", fp_analysis, self._step_analysis,
                   upstream=("data", *(f"dea-{m.name}" for m in s.measures)))
        if s.tables:
            fp = object_fingerprint([fp_analysis, semantic(s.tables), semantic(s.published), self._published_sha()])
            self._step("tables", fp, self._step_tables, upstream=("analysis",))
        if s.bayes.run:
            sampler = semantic(dataclasses.replace(s.bayes, models=()))
            for model in s.bayes.models:
                fp = object_fingerprint([fp_analysis, sampler, semantic(model)])
                self._step(f"bayes-{model.name}", fp, lambda m=model: self._step_bayes(m), upstream=("analysis",))
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
        if self.rf.step_done(name, fingerprint):
            self.console.print(f"[dim]✓ {name}: finished earlier with the same inputs, reused[/dim]")
            return
        gone = self.rf.invalidate_downstream(name)
        self.rf.remove_step(name)
        if gone:
            self.console.print(f"[dim]{name} changed: removed the results of {', '.join(gone)}[/dim]")
        self._section(name)
        t0 = time.perf_counter()
        with self._quiet.step(name):
            outputs = fn()
        wall = time.perf_counter() - t0
        self.rf.mark_done(name, fingerprint, outputs, upstream=upstream, wall_s=wall)
        self.console.print(f"✓ {name} ({wall:.1f} s)")

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
                                     progress=self.progress)
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

        return list(run_tables(self.study, self.analysis_frame(), self.rf.root, progress=self.progress).files)

    def _step_bayes(self, model: Any) -> list[Path]:
        from ctfp.inference.fit import fit_from_spec_dict

        s = self.study
        out = self.rf.bayes_dir(model.name)
        if model.formula:
            return self._step_bambi(model)
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
        fit_from_spec_dict(self.analysis_frame(), variables=variables, model=spec, sampler=sampler, out_dir=out,
                           progress=self.progress, unit=s.data.unit, time_col=s.data.time)
        return [self.rf.posterior_nc(model.name), self.rf.summary_json(model.name)]

    def _step_bambi(self, model: Any) -> list[Path]:
        import importlib.util

        s = self.study
        if importlib.util.find_spec("bambi") is None:
            raise InputError(f"{model.where}: [[bayes.models]] '{model.name}' is a bambi formula model, and bambi is "
                             "not installed: pip install bambi (or state the model by outcome/treatment/controls)")
        from ctfp.inference.bambi_models import fit_bambi
        from ctfp.inference.sampling import SamplerConfig

        entry = {k: v for k, v in (("name", model.name), ("formula", model.formula), ("family", model.family),
                                   ("treatment", model.treatment), ("link", model.link)) if v}
        cfg = SamplerConfig(sampler=s.bayes.sampler, draws=s.bayes.draws, tune=s.bayes.tune, chains=s.bayes.chains,
                            seed=s.bayes.seed, target_accept=s.bayes.target_accept)
        fit_bambi(self.analysis_frame(), entry, cfg, self.rf.bayes_dir(model.name), unit=s.data.unit,
                  time_col=s.data.time, progress=self.progress, source=self._source())
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
