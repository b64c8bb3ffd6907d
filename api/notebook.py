"""The notebook API: `ctfp.Study.load(path)`, `Study.run(out) -> Run`, `ctfp.open_run(dir) -> Run`.

Thin objects over the study model (`ctfp.core.study`) and the run-folder schema (`ctfp.core.runfolder`):
nothing is computed here that the pipeline does not compute, and nothing is read that it does not write.
"""

from __future__ import annotations

import html
from functools import cached_property
from pathlib import Path
from typing import Any

from ctfp.core import study as model
from ctfp.core.errors import InputError
from ctfp.core.runfolder import RunFolder, RunRecord


class Study:
    """A validated study file. Attributes of the typed model (`data`, `measures`, `tables`, `bayes`, ...) are
    read through; `model` is the `ctfp.core.study.Study` itself."""

    def __init__(self, study: model.Study) -> None:
        self.model = study

    @classmethod
    def load(cls, path: str | Path) -> Study:
        from ctfp.core.study_load import load_study

        return cls(load_study(path))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.model, name)

    def run(self, out: str | Path, *, panel: str | Path | None = None, bayes: bool = True, quick: bool = False,
            progress: bool = False) -> Run:
        """Run the study into folder `out` (finished steps with the same inputs are reused)."""
        from rich.console import Console

        from ctfp.core.study_load import quick as make_quick
        from ctfp.core.study_load import with_panel, without_bayes
        from ctfp.inference.pipeline import Pipeline

        s = self.model
        if panel is not None:
            s = with_panel(s, panel)
        if quick:
            s = make_quick(s)
        if not bayes:
            s = without_bayes(s)
        Pipeline(s, out, console=Console(stderr=True, quiet=not progress), progress=progress).run()
        return open_run(out)

    def __repr__(self) -> str:
        s = self.model
        return (f"<ctfp.Study {s.meta.name or s.label!r}: {len(s.measures)} measure(s), {len(s.tables)} table(s), "
                f"{len(s.bayes.models)} Bayesian model(s)>")

    def _repr_html_(self) -> str:
        s = self.model
        rows = [("study file", s.label), ("preset", s.meta.preset or "none"),
                ("panel", s.data.panel or "embedded SYNTHETIC panel"), ("unit / time", f"{s.data.unit} / {s.data.time}"),
                ("derive", ", ".join(n for n, _ in s.data.derive) or "none"),
                ("groups", ", ".join(g.name for g in s.groups) or "none"),
                ("measures", ", ".join(f"{m.name} ({m.model})" for m in s.measures) or "none"),
                ("tables", ", ".join(t.id for t in s.tables) or "none"),
                ("Bayesian models", ", ".join(m.name for m in s.bayes.models) or "none")]
        return _html_table(s.meta.name or "ctfp study", rows)


class Run:
    """A run folder, read through its schema: tables as DataFrames, posteriors as DataTrees."""

    def __init__(self, root: str | Path) -> None:
        self.folder = RunFolder(root)
        rec = self.folder.read_record()
        if rec is None:
            raise InputError(f"{root}: not a ctfp run folder (no run.json); run a study into it first")
        self.record: RunRecord = rec

    @property
    def root(self) -> Path:
        return self.folder.root

    @property
    def report_path(self) -> Path | None:
        p = self.folder.report_html
        return p if p.is_file() else None

    @property
    def synthetic(self) -> bool:
        return self.record.synthetic

    @cached_property
    def panel(self) -> Any:
        """The analysis panel (panel/analysis.parquet)."""
        import pandas as pd

        p = self.folder.analysis_parquet
        return pd.read_parquet(p) if p.is_file() else None

    @cached_property
    def tables(self) -> dict[str, Any]:
        """Every CSV under tables/ by file stem (table1, replicas, columns, tests), plus dea/<measure>."""
        import pandas as pd

        out: dict[str, Any] = {}
        if self.folder.tables_dir.is_dir():
            for f in sorted(self.folder.tables_dir.glob("*.csv")):
                out[f.stem] = pd.read_csv(f)
        for m in self.record.measures:
            f = self.folder.dea_csv(m)
            if f.is_file():
                out[f"dea/{m}"] = pd.read_csv(f)
        return out

    @property
    def models(self) -> list[str]:
        return [m for m in self.folder.bayes_models() if self.folder.summary_json(m).is_file()]

    def summary(self, name: str) -> dict[str, Any]:
        from ctfp.core.runfolder import read_json

        s = read_json(self.folder.summary_json(name), "fit summary")
        if s is None:
            raise InputError(f"{self.root}: no Bayesian model '{name}' (models: {', '.join(self.models) or 'none'})")
        return s

    def posterior(self, name: str) -> Any:
        """The model's posterior DataTree (bayes/<name>/posterior.nc)."""
        import xarray as xr

        p = self.folder.posterior_nc(name)
        if not p.is_file():
            raise InputError(f"{p}: no posterior for model '{name}' (models: {', '.join(self.models) or 'none'})")
        return xr.open_datatree(p, engine="h5netcdf")

    def provenance(self, what: str) -> Any:
        return self.folder.read_provenance(what)

    def __repr__(self) -> str:
        return f"<ctfp.Run {self.root} ({self.record.data_source} data)>"

    def _repr_html_(self) -> str:
        rows = [("folder", str(self.root)), ("data", self.record.data_source.upper() if self.synthetic
                                             else self.record.data_source),
                ("unit / time", f"{self.record.unit} / {self.record.time}"),
                ("measures", ", ".join(self.record.measures) or "none"),
                ("tables", ", ".join(k for k in self.tables if not k.startswith("dea/")) or "none"),
                ("Bayesian models", ", ".join(self.models) or "none"),
                ("report", str(self.report_path) if self.report_path else "not built")]
        title = "ctfp run" + (" — SYNTHETIC data" if self.synthetic else "")
        return _html_table(title, rows)


def open_run(root: str | Path) -> Run:
    """A finished (or partial) run folder."""
    return Run(root)


def _html_table(title: str, rows: list[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
                   for k, v in rows)
    return f"<div><strong>{html.escape(title)}</strong><table>{body}</table></div>"
