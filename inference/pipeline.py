"""The analysis pipeline: read → validate → derive → CTFP → replicas → Bayesian fits → validation → report.

Each step writes its artefacts atomically into the run folder and records a fingerprint of what it was
computed from; a rerun with the same inputs skips finished steps (an interrupted run resumes where it stopped).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console

from ctfp.core.atomic import write_csv, write_json
from ctfp.core.errors import InputError
from ctfp.inference.runfolder import (
    RunFolder,
    code_fingerprint,
    file_fingerprint,
    object_fingerprint,
    package_versions,
)
from ctfp.inference.spec import AnalysisSpec

PIPELINE_VERSION = "1"  # bump when a step's meaning changes, so old run folders are recomputed


class Pipeline:
    """Runs the steps of one analysis specification into one run folder."""

    def __init__(self, spec: AnalysisSpec, out_dir: str | Path, *, console: Console | None = None,
                 progress: bool = True) -> None:
        self.spec = spec
        self.rf = RunFolder(Path(out_dir))
        self.console = console or Console(stderr=True)
        self.progress = progress
        panel = spec["data"].get("panel") or ""
        self.panel_path: Path | None = Path(panel) if panel else None
        if self.panel_path is not None and spec.path is not None and not self.panel_path.is_absolute():
            self.panel_path = (spec.path.parent / self.panel_path).resolve()
        self.data_source = "user" if self.panel_path else "synthetic"
        self._panel = None

    # ------------------------------------------------------------------------------------------------
    def run(self) -> Path:
        v = self.spec.values
        inputs = self._input_fingerprints()
        self._inputs = inputs
        self._record()
        base = [PIPELINE_VERSION, inputs, package_versions(), code_fingerprint()]
        fp_data = object_fingerprint([base, v["data"], v["variables"]])
        fp_dea = object_fingerprint([fp_data, v["sbm"]])
        fp_rep = object_fingerprint([fp_dea, v["replicas"], v["variables"]])
        self._step("data", fp_data, self._step_data)
        src = self.rf.path("panel", "source.json")
        if src.exists() and json.loads(src.read_text())["data_source"] != self.data_source:
            self.data_source = json.loads(src.read_text())["data_source"]  # learnt by a finished data step
            self._record()
        self._step("dea", fp_dea, self._step_dea)
        if v["replicas"].get("run", True):
            self._step("replicas", fp_rep, self._step_replicas)
        if v["bayes"].get("run", True):
            sampler = {k: v["bayes"][k] for k in ("sampler", "draws", "tune", "chains", "seed", "target_accept")
                       if k in v["bayes"]}
            for model in v["bayes"].get("models", []):
                fp = object_fingerprint([fp_dea, v["variables"], sampler, model])
                self._step(f"bayes-{model['name']}", fp, lambda m=model, s=sampler: self._step_bayes(m, s))
        self._section("validation against the published claims")
        from ctfp.inference.validate import validate_run

        validate_run(self.rf.root)
        self._section("report")
        from ctfp.reports import build_report, print_summary

        path = build_report(self.rf.root)
        print_summary(self.rf.root)
        return path

    # ------------------------------------------------------------------------------------------------
    def _record(self) -> None:
        self.rf.write_record(spec=self.spec.values, data_source=self.data_source, inputs=self._inputs)

    def _input_fingerprints(self) -> dict[str, str]:
        if self.panel_path is None:
            from ctfp.inference.prepare import SYNTH_SEED

            return {"panel": f"embedded synthetic paper-world panel, seed {SYNTH_SEED}"}
        if not self.panel_path.is_file():
            raise InputError(f"{self.spec.where('panel')}: panel file {self.panel_path} not found; "
                             "fix [data] panel")
        return {"panel": str(self.panel_path), "sha256": file_fingerprint(self.panel_path)}

    def _section(self, title: str) -> None:
        self.console.rule(f"[bold]{title}")

    def _step(self, name: str, fingerprint: str, fn: Callable[[], list[Path]]) -> None:
        if self.rf.step_done(name, fingerprint):
            self.console.print(f"[dim]✓ {name}: finished earlier with the same inputs, reused[/dim]")
            return
        self._section(name)
        t0 = time.perf_counter()
        outputs = fn()
        wall = time.perf_counter() - t0
        self.rf.mark_done(name, fingerprint, outputs, wall_s=round(wall, 2))
        self.console.print(f"✓ {name} ({wall:.1f} s)")

    # --- steps ----------------------------------------------------------------------------------------
    def _step_data(self) -> list[Path]:
        from ctfp.inference.prepare import derive_checked, read_raw_panel

        data = self.spec["data"]
        raw = read_raw_panel(self.panel_path, mapping=data.get("mapping") or None)
        if "synthetic" in raw.columns and bool(raw["synthetic"].astype(bool).all()):
            # the synthetic panel passed as a file is still synthetic: the report must say so
            self.data_source = "synthetic"
            self._record()
        self._check_spec_columns(raw)
        source = str(self.panel_path) if self.panel_path else "synthetic panel"
        panel, warnings = derive_checked(raw, source, data)
        for w in warnings:
            self.console.print(w.line(), style="yellow", markup=False)
        outs = [self._write_panel(panel, "derived"), write_json(self.rf.path("panel", "source.json"),
                                                                {"data_source": self.data_source})]
        if "truth" in raw.attrs:
            outs.append(write_json(self.rf.path("panel", "truth.json"), raw.attrs["truth"]))
        return outs

    def _step_dea(self) -> list[Path]:
        from ctfp.inference.prepare import compute_ctfp

        panel = self._read_panel("derived")
        panel, scores = compute_ctfp(panel, self.spec["sbm"], progress=self.progress)
        outs = [write_csv(self.rf.path("dea", "scores.csv"), scores), self._write_panel(panel, "analysis")]
        outs.append(write_csv(self.rf.path("panel", "analysis.csv"), panel))
        from ctfp.data.table1 import compare_table1

        outs.append(write_csv(self.rf.path("tables", "table1.csv"), compare_table1(panel)))
        return outs

    def _step_replicas(self) -> list[Path]:
        from ctfp.inference.replicate import run_replicas

        rep = self.spec["replicas"]
        run_replicas(self.analysis_panel(), self.rf.path("replicas", "x").parent,
                     permutations=int(rep.get("permutations", 1000)), seed=int(rep.get("seed", 0)),
                     progress=self.progress)
        return [self.rf.path("replicas", "cells.json")]

    def _step_bayes(self, model: dict[str, Any], sampler: dict[str, Any]) -> list[Path]:
        from ctfp.inference.fit import fit_from_spec_dict

        out = self.rf.path("bayes", model["name"], "x").parent
        fit_from_spec_dict(self.analysis_panel(), variables=self.spec["variables"], model=model,
                           sampler=sampler, out_dir=out, progress=self.progress)
        return [out / "posterior.nc", out / "summary.json"]

    # --- helpers --------------------------------------------------------------------------------------
    def _write_panel(self, panel: Any, name: str) -> Path:
        from ctfp.core.atomic import atomic_path

        target = self.rf.path("panel", f"{name}.parquet")
        with atomic_path(target) as tmp:
            panel.to_parquet(tmp, index=False)
        return target

    def _read_panel(self, name: str) -> Any:
        import pandas as pd

        panel = pd.read_parquet(self.rf.path("panel", f"{name}.parquet"))
        panel.attrs["data_source"] = self.data_source
        return panel

    def analysis_panel(self) -> Any:
        if self._panel is None:
            self._panel = self._read_panel("analysis")
        return self._panel

    def _check_spec_columns(self, raw: Any) -> None:
        """Every variable the spec names must be derivable from the panel: name the variable and the line."""
        from ctfp.data.lineage import raw_sources

        v = self.spec["variables"]
        names: list[tuple[str, str]] = []
        for key in ("treatment",):
            names.append((key, v[key]))
        for key in ("controls", "instruments", "mechanisms", "splits"):
            names += [(key, n) for n in v.get(key, [])]
        for key in ("inputs", "good", "bad"):
            names += [(key, n) for n in self.spec["sbm"].get(key, [])]
        mapping = self.spec["data"].get("mapping") or {}
        inverse = {ctfp_name: user for user, ctfp_name in mapping.items()}
        for key, name in names:
            needed = raw_sources(name)
            absent = [c for c in needed if c not in raw.columns]
            if absent:
                user_names = ", ".join(f"'{inverse.get(c, c)}'" for c in absent)
                raise InputError(
                    f"{self.spec.where(key, name)}: {key} names '{name}', which needs column(s) {user_names} "
                    f"that {self.panel_path or 'the panel'} does not have; add the column, map your own name to "
                    f"it in [data.mapping], or remove '{name}' from the spec")
