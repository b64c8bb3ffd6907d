"""Run folders: one place for every artefact of a run, with a record that makes it reproducible.

`run.json` holds the resolved specification, package versions, input fingerprints and where the data came
from. Each pipeline step leaves `steps/<name>.json` (its fingerprint and outputs) only after all its outputs
were written atomically, so an interrupted run leaves no corrupt artefact and a rerun with the same inputs
skips every finished step.
"""

from __future__ import annotations

import hashlib
import json
import platform
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from ctfp.core.atomic import write_json

# Packages whose versions decide the numbers; recorded in run.json.
RECORDED_PACKAGES = (
    "ctfp", "numpy", "pandas", "scipy", "highspy", "pymc", "pytensor", "nutpie", "arviz", "arviz-base",
    "arviz-stats", "arviz-plots", "xarray", "matplotlib", "jinja2",
)


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
    import ctfp.data
    import ctfp.inference
    import ctfp.models

    digest = hashlib.sha256()
    for pkg in (ctfp.data, ctfp.models, ctfp.inference):
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
class RunFolder:
    """A run's folder. Steps record completion so reruns resume."""

    root: Path
    fingerprints: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, *parts: str) -> Path:
        p = self.root.joinpath(*parts)
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    # --- the run record -------------------------------------------------------------------------------
    def write_record(self, *, spec: dict[str, Any], data_source: str, inputs: dict[str, str],
                     command: Iterable[str] | None = None) -> None:
        record = {
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "data_source": data_source,
            "synthetic": data_source == "synthetic",
            "command": list(command) if command is not None else sys.argv,
            "inputs": inputs,
            "spec": spec,
            "versions": package_versions(),
        }
        write_json(self.path("run.json"), record)

    # --- step bookkeeping -----------------------------------------------------------------------------
    def _step_file(self, name: str) -> Path:
        return self.path("steps", f"{name}.json")

    def step_done(self, name: str, fingerprint: str) -> bool:
        """True when step `name` finished earlier with the same fingerprint and its outputs still exist."""
        f = self._step_file(name)
        if not f.exists():
            return False
        try:
            rec = json.loads(f.read_text())
        except (OSError, json.JSONDecodeError):
            return False
        if rec.get("fingerprint") != fingerprint:
            return False
        return all((self.root / o).exists() for o in rec.get("outputs", []))

    def mark_done(self, name: str, fingerprint: str, outputs: Iterable[str | Path], **info: Any) -> None:
        rels = [str(Path(o).relative_to(self.root)) if Path(o).is_absolute() else str(o) for o in outputs]
        write_json(self._step_file(name), {
            "step": name, "fingerprint": fingerprint, "outputs": rels,
            "finished": datetime.now(UTC).isoformat(timespec="seconds"), **info,
        })

    def step_info(self, name: str) -> dict[str, Any]:
        f = self._step_file(name)
        return json.loads(f.read_text()) if f.exists() else {}
