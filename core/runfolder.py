"""The run folder: one typed schema of where every artefact of a run lives, shared by every writer and reader.

```
run.json                      RunRecord: the resolved study, versions, inputs, data source, unit/time names
steps/<step>.json             StepRecord: input fingerprint, outputs with their SHA-256, upstream steps
panel/derived.parquet         the panel after the preset's derivations, [data.derive] and [groups]
panel/analysis.parquet|.csv   every column the study uses, measures included
panel/truth.json              the synthetic panel's data-generating truths (synthetic runs only)
dea/<measure>.csv             per measure: unit, time, the score (column = measure name), status, slacks, ...
tables/table1.csv             descriptive statistics (beside the published ones when the preset has them)
tables/replicas.csv           long format (docs/contract.md); columns.csv, tests.csv beside it
replicas/                     the legacy paper replicas (cells.json, group_diffs.json, tableN.csv|md)
bayes/<model>/posterior.nc    the posterior DataTree; summary.json beside it (as `ctfp fit` writes them)
validation.json               verdicts on the preset's claims
simulate/                     the design analysis (`ctfp simulate`): worlds/wNNNN.json (one world's records with
                              the fingerprint they were computed from), worlds.csv, summary.csv, summary.json;
                              recorded.json (a shipped design-analysis summary the report shows, checked fresh)
provenance/<what>.json        derive (imputed cells, skipped groups, entropy weights), groups, dea_<measure>
                              (snapped scores, solver status counts), validation (panel checks, balance)
figures/                      report figures
report.html                   the report
```

Integrity: a step is reused only when its input fingerprint matches *and* every output still has the SHA-256
recorded when it finished (a truncated posterior.nc is never reused). When a step is computed, every recorded
step downstream of it is removed with its artefacts, so a rerun on another panel never reports old results.
"""

from __future__ import annotations

import hashlib
import json
import platform
import shutil
import sys
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from ctfp.core.atomic import write_json
from ctfp.core.errors import InputError

SCHEMA_VERSION = 2
RUN_JSON = "run.json"
# Packages whose versions decide the numbers; recorded in run.json.
RECORDED_PACKAGES = (
    "ctfp", "numpy", "pandas", "scipy", "highspy", "pymc", "pytensor", "nutpie", "jax", "jaxlib", "arviz", "arviz-base",
    "arviz-stats", "arviz-plots", "xarray", "matplotlib", "jinja2", "tomli",
)
# Entries a run folder may hold; a non-empty folder with anything else is not ours to write into.
KNOWN_ENTRIES = ("run.json", "steps", "panel", "dea", "tables", "replicas", "bayes", "validation.json",
                 "provenance", "figures", "report.html", "report.en.html", "report.zh.html", "log.txt",
                 "notes.json", "simulate")


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in RECORDED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def code_fingerprint() -> str:
    """SHA-256 over ctfp's own source and data files: a changed formula invalidates finished steps."""
    import ctfp.core
    import ctfp.data
    import ctfp.inference
    import ctfp.models

    digest = hashlib.sha256()
    for pkg in (ctfp.core, ctfp.data, ctfp.models, ctfp.inference):
        root = Path(pkg.__file__).resolve().parent
        for f in sorted(root.rglob("*")):
            if f.is_file() and f.suffix in {".py", ".csv", ".toml", ".json"}:
                digest.update(f.name.encode())
                digest.update(f.read_bytes())
    return digest.hexdigest()


def file_fingerprint(path: str | Path) -> str:
    """SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def object_fingerprint(obj: Any) -> str:
    """SHA-256 of a JSON-serialisable object in canonical form."""
    text = json.dumps(obj, sort_keys=True, default=str, ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class RunRecord:
    """run.json."""

    study: dict[str, Any]  # the resolved study file (TOML as a dict)
    study_file: str
    data_source: str  # "user" | "synthetic"
    inputs: dict[str, str]
    unit: str
    time: str
    measures: list[str] = field(default_factory=list)
    bayes_models: list[str] = field(default_factory=list)
    report: dict[str, Any] = field(default_factory=dict)  # [report] settings (ci_prob, ci_kind, language)
    preset: str = ""
    command: list[str] = field(default_factory=lambda: list(sys.argv))
    versions: dict[str, str] = field(default_factory=package_versions)
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    schema: int = SCHEMA_VERSION

    @property
    def synthetic(self) -> bool:
        return self.data_source == "synthetic"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["synthetic"] = self.synthetic
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunRecord:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in d.items() if k in known})


@dataclass
class StepRecord:
    """steps/<name>.json: what a finished step was computed from and what it wrote."""

    step: str
    fingerprint: str
    outputs: dict[str, str]  # relative path -> SHA-256
    upstream: list[str] = field(default_factory=list)  # steps whose outputs this one read
    finished: str = ""
    wall_s: float = 0.0


class RunFolder:
    """Paths and readers/writers of one run folder (the layout in the module docstring)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()  # absolute: outputs are recorded relative to it

    # --- paths ----------------------------------------------------------------------------------------
    def path(self, *parts: str) -> Path:
        """A path inside the folder; its parent folder is created."""
        p = self.root.joinpath(*parts)
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    @property
    def run_json(self) -> Path:
        return self.root / RUN_JSON

    @property
    def report_html(self) -> Path:
        return self.root / "report.html"

    @property
    def validation_json(self) -> Path:
        return self.root / "validation.json"

    @property
    def derived_parquet(self) -> Path:
        return self.root / "panel" / "derived.parquet"

    @property
    def analysis_parquet(self) -> Path:
        return self.root / "panel" / "analysis.parquet"

    @property
    def analysis_csv(self) -> Path:
        return self.root / "panel" / "analysis.csv"

    @property
    def truth_json(self) -> Path:
        return self.root / "panel" / "truth.json"

    def dea_csv(self, measure: str) -> Path:
        return self.root / "dea" / f"{measure}.csv"

    @property
    def tables_dir(self) -> Path:
        return self.root / "tables"

    @property
    def table1_csv(self) -> Path:
        return self.tables_dir / "table1.csv"

    @property
    def replicas_csv(self) -> Path:
        return self.tables_dir / "replicas.csv"

    @property
    def columns_csv(self) -> Path:
        return self.tables_dir / "columns.csv"

    @property
    def tests_csv(self) -> Path:
        return self.tables_dir / "tests.csv"

    @property
    def legacy_replicas_dir(self) -> Path:
        return self.root / "replicas"

    def bayes_dir(self, model: str) -> Path:
        return self.root / "bayes" / model

    def posterior_nc(self, model: str) -> Path:
        return self.bayes_dir(model) / "posterior.nc"

    def summary_json(self, model: str) -> Path:
        return self.bayes_dir(model) / "summary.json"

    def provenance_json(self, what: str) -> Path:
        return self.root / "provenance" / f"{what}.json"

    def simulate_path(self, *parts: str) -> Path:
        """simulate/<parts> (the design analysis); its parent folder is created."""
        return self.path("simulate", *parts)

    @property
    def figures_dir(self) -> Path:
        return self.root / "figures"

    def bayes_models(self) -> list[str]:
        """Model folders present under bayes/ (sorted)."""
        d = self.root / "bayes"
        return sorted(p.name for p in d.iterdir() if p.is_dir()) if d.is_dir() else []

    def measures(self) -> list[str]:
        rec = self.read_record()
        if rec is not None:
            return list(rec.measures)
        d = self.root / "dea"
        return sorted(p.stem for p in d.glob("*.csv")) if d.is_dir() else []

    # --- the run record -------------------------------------------------------------------------------
    def write_record(self, record: RunRecord) -> Path:
        return write_json(self.path(RUN_JSON), record.to_dict())

    def read_record(self) -> RunRecord | None:
        d = read_json(self.run_json, "run record")
        if d is None:
            return None
        if not isinstance(d, dict):
            raise InputError(f"{self.run_json}: run record must be a JSON object; rerun `ctfp run`")
        if "unit" not in d:  # a run folder written before the study model (schema 1): the paper's names
            d = {**d, "unit": "city", "time": "year", "study": d.get("spec", {}), "study_file": "", "schema": 1,
                 "measures": ["ctfp"] if (self.root / "dea").is_dir() else []}
        return RunRecord.from_dict(d)

    def read_provenance(self, what: str) -> Any:
        return read_json(self.provenance_json(what), f"provenance of {what}")

    def write_provenance(self, what: str, obj: Any) -> Path:
        return write_json(self.path("provenance", f"{what}.json"), obj)

    # --- steps ----------------------------------------------------------------------------------------
    def _step_file(self, name: str) -> Path:
        return self.root / "steps" / f"{name}.json"

    def step_record(self, name: str) -> StepRecord | None:
        f = self._step_file(name)
        if not f.is_file():
            return None
        try:
            d = json.loads(f.read_text())
            return StepRecord(**d)
        except (OSError, json.JSONDecodeError, TypeError):
            return None

    def recorded_steps(self) -> list[StepRecord]:
        d = self.root / "steps"
        if not d.is_dir():
            return []
        recs = [self.step_record(p.stem) for p in sorted(d.glob("*.json"))]
        return [r for r in recs if r is not None]

    def step_done(self, name: str, fingerprint: str) -> bool:
        """True when `name` finished with this fingerprint and every output is unchanged since (SHA-256)."""
        rec = self.step_record(name)
        if rec is None or rec.fingerprint != fingerprint:
            return False
        for rel, sha in rec.outputs.items():
            p = self.root / rel
            if not p.is_file() or file_fingerprint(p) != sha:
                return False
        return True

    def mark_done(self, name: str, fingerprint: str, outputs: Iterable[str | Path], *,
                  upstream: Iterable[str] = (), wall_s: float = 0.0) -> StepRecord:
        outs: dict[str, str] = {}
        for o in outputs:
            p = Path(o)
            p = p if p.is_absolute() else self.root / p
            outs[str(p.relative_to(self.root))] = file_fingerprint(p)
        rec = StepRecord(step=name, fingerprint=fingerprint, outputs=outs, upstream=list(upstream),
                         finished=datetime.now(UTC).isoformat(timespec="seconds"), wall_s=round(wall_s, 2))
        write_json(self.path("steps", f"{name}.json"), asdict(rec))
        return rec

    def remove_step(self, name: str) -> list[str]:
        """Delete a recorded step's outputs (and bayes model folders left empty) and its record."""
        rec = self.step_record(name)
        removed: list[str] = []
        if rec is not None:
            for rel in rec.outputs:
                p = self.root / rel
                if p.is_file():
                    p.unlink()
                    removed.append(rel)
                parent = p.parent
                if parent != self.root and parent.is_dir() and not any(parent.iterdir()):
                    parent.rmdir()
        self._step_file(name).unlink(missing_ok=True)
        return removed

    def downstream(self, name: str) -> list[str]:
        """Recorded steps that read, directly or through others, the outputs of step `name`."""
        recs = {r.step: r for r in self.recorded_steps()}
        out: list[str] = []
        frontier = [name]
        while frontier:
            cur = frontier.pop()
            for r in recs.values():
                if cur in r.upstream and r.step not in out:
                    out.append(r.step)
                    frontier.append(r.step)
        return out

    def invalidate_downstream(self, name: str) -> list[str]:
        """Remove every recorded step downstream of `name`; returns their names."""
        gone = self.downstream(name)
        for s in gone:
            self.remove_step(s)
        return gone


def check_out_dir(path: str | Path) -> Path:
    """The run folder to write: absent, empty, or a ctfp run folder; anything else is one InputError line."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise InputError(f"{p}: --out names an existing file, not a folder; choose a folder for the run")
    if p.is_dir():
        entries = [e.name for e in p.iterdir()]
        if entries and not (p / RUN_JSON).is_file():
            raise InputError(f"{p}: --out names a folder that is not empty and not a ctfp run folder (no "
                             f"{RUN_JSON}); choose an empty or new folder")
    return p


def clear_run_folder(path: str | Path) -> None:
    """Remove what a run folder holds (only the entries ctfp writes)."""
    p = Path(path)
    for name in KNOWN_ENTRIES:
        q = p / name
        if q.is_dir():
            shutil.rmtree(q)
        elif q.exists():
            q.unlink()


def read_json(path: Path, what: str) -> Any:
    """The JSON in `path`, or None when the file does not exist; unreadable JSON is one InputError line."""
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: {what} is not valid JSON ({err}); rerun the step that writes it") from None
