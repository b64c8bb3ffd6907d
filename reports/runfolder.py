"""Read the pieces of a run folder for the report, through the run-folder schema (`ctfp.core.runfolder`).

A piece that is absent is `None` (its section says what is missing and how to produce it); a piece that is
present but unreadable raises one `InputError` line naming the file and what to do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from ctfp.core.errors import InputError
from ctfp.core.runfolder import RunFolder as Schema
from ctfp.core.runfolder import read_json
from ctfp.reports.tabledata import TableData, load_table_data, read_csv

DIFF_KEYS = ("split", "coef_1", "coef_0", "diff")
CLAIM_KEYS = ("claim_id", "claim", "replica_verdict", "posterior_verdict")
# Likelihoods that put probability mass at exactly CTFP = 1; LOO compares only these among themselves.
BOUNDED_LIKELIHOODS = ("censored", "tobit", "ordbeta", "ordered-beta", "oneinflated", "zoib", "one-inflated-beta")


def _records(obj: Any, path: Path, what: str, keys: tuple[str, ...]) -> list[dict[str, Any]] | None:
    if obj is None:
        return None
    if not isinstance(obj, list):
        raise InputError(f"{path}: {what} must be a JSON list of records, got {type(obj).__name__}")
    for i, rec in enumerate(obj):
        if not isinstance(rec, dict):
            raise InputError(f"{path}: record {i} of {what} is not an object")
        missing = [k for k in keys if k not in rec]
        if missing:
            raise InputError(f"{path}: record {i} of {what} lacks key(s) {', '.join(missing)}")
    return obj


@dataclass
class ModelFit:
    """One `bayes/<name>/` folder: its summary.json and (lazily) its posterior.nc."""

    name: str
    folder: Path
    summary: dict[str, Any] | None

    @property
    def likelihood(self) -> str:
        return str((self.summary or {}).get("likelihood") or ("normal" if self.name in ("headline", "hetero") else "?"))

    @property
    def bounded(self) -> bool:
        return self.likelihood.lower() in BOUNDED_LIKELIHOODS

    @property
    def has_posterior(self) -> bool:
        return (self.folder / "posterior.nc").is_file()

    @cached_property
    def tree(self) -> Any:
        """The posterior DataTree (None without posterior.nc); a corrupt file is one InputError line."""
        import xarray as xr

        path = self.folder / "posterior.nc"
        if not path.is_file():
            return None
        try:
            dt = xr.open_datatree(path, engine="h5netcdf")
            if "posterior" not in dt.children:
                raise InputError(f"{path}: has no `posterior` group; refit with `ctfp fit`")
            # Only the posterior is read now; predictive draws and log-likelihoods (the bulk of a full run's
            # files) are read when a section needs them.
            dt["posterior"].load()
        except InputError:
            raise
        except Exception as err:  # h5py/netCDF raise many types; all mean "unreadable file"
            raise InputError(f"{path}: posterior cannot be read ({type(err).__name__}); refit with `ctfp fit`") from None
        return dt

    def group(self, name: str) -> Any:
        dt = self.tree
        return None if dt is None or name not in dt.children else dt[name].to_dataset()


@dataclass
class RunFolder:
    """Everything the report reads from one run folder; absent pieces are None."""

    root: Path
    run: dict[str, Any] | None
    panel: pd.DataFrame | None
    scores: pd.DataFrame | None
    tables: TableData | None  # tables/replicas.csv, columns.csv, tests.csv (or an old replicas/cells.json)
    diffs: list[dict[str, Any]] | None
    validation: list[dict[str, Any]] | None
    models: dict[str, ModelFit] = field(default_factory=dict)
    table1: pd.DataFrame | None = None  # tables/table1.csv, computed once by the pipeline

    @property
    def data_source(self) -> str:
        return str((self.run or {}).get("data_source") or "unknown")

    @property
    def synthetic(self) -> bool:
        """Any input synthetic: the run's data source, or an input recorded as synthetic."""
        run = self.run or {}
        inputs = run.get("inputs") if isinstance(run.get("inputs"), dict) else {}
        flagged = any(isinstance(v, dict) and v.get("synthetic") for v in inputs.values())
        return self.data_source.lower() == "synthetic" or bool(run.get("synthetic")) or flagged

    def ctfp_frame(self) -> pd.DataFrame | None:
        """city, year, ctfp (+ city_name, province when the panel has them): DEA scores first, else the panel."""
        base = self.scores if self.scores is not None else self.panel
        if base is None or "ctfp" not in base.columns:
            return None
        out = base[["city", "year", "ctfp"]].copy()
        if self.panel is not None:
            extra = [c for c in ("city_name", "province") if c in self.panel.columns]
            if extra:
                names = self.panel.drop_duplicates("city").set_index("city")[extra]
                out = out.join(names, on="city")
        return out

    def model(self, name: str) -> ModelFit | None:
        return self.models.get(name)


def load_run(run_dir: str | Path | RunFolder) -> RunFolder:
    """Read a run folder; raises InputError when it does not exist or a present file is corrupt. A RunFolder
    already read is returned as it is (the report and the terminal summary of one command share it, so each
    posterior file is opened once).

    The report still speaks of cities and years: the study's unit and time columns are shown under those
    names, and `ctfp` is the measure of that name (dea/ctfp.csv).
    """
    if isinstance(run_dir, RunFolder):
        return run_dir
    root = Path(run_dir)
    if not root.is_dir():
        raise InputError(f"{root}: no such run folder; create one with `ctfp demo --out {root}`")
    schema = Schema(root)
    run = read_json(schema.run_json, "run record")
    if run is not None and not isinstance(run, dict):
        raise InputError(f"{schema.run_json}: run record must be a JSON object")
    rec = schema.read_record()
    unit, time = (rec.unit, rec.time) if rec is not None else ("city", "year")
    panel = read_csv(schema.analysis_csv, "analysis panel", (unit, time))
    as_paper = {k: v for k, v in ((unit, "city"), (time, "year"))
                if k != v and (panel is None or v not in panel.columns)}
    if panel is not None:
        panel = panel.rename(columns=as_paper)
    scores = read_csv(schema.dea_csv("ctfp"), "DEA scores", (unit, time, "ctfp"))
    if scores is not None:
        scores = scores.rename(columns=as_paper)
    table1 = read_csv(schema.table1_csv, "Table 1", ("variable",))
    diffs_path = schema.legacy_replicas_dir / "group_diffs.json"
    val_path = schema.validation_json
    tables = load_table_data(root)
    diffs = _records(read_json(diffs_path, "group differences"), diffs_path, "group differences", DIFF_KEYS)
    validation = _records(read_json(val_path, "validation"), val_path, "validation", CLAIM_KEYS)
    models: dict[str, ModelFit] = {}
    for name in schema.bayes_models():
        folder = schema.bayes_dir(name)
        summary = read_json(schema.summary_json(name), "fit summary")
        if summary is not None and not isinstance(summary, dict):
            raise InputError(f"{schema.summary_json(name)}: fit summary must be a JSON object")
        if summary is not None or schema.posterior_nc(name).is_file():
            models[name] = ModelFit(name, folder, summary)
    return RunFolder(root, run, panel, scores, tables, diffs, validation, models, table1)
