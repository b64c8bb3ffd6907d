"""Run folders: atomic artefacts, step fingerprints and resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ctfp.core.atomic import atomic_path, write_json
from ctfp.inference.runfolder import RunFolder, file_fingerprint, object_fingerprint


def test_step_resume_requires_same_fingerprint_and_outputs(tmp_path: Path) -> None:
    rf = RunFolder(tmp_path / "run")
    out = write_json(rf.path("dea", "scores.json"), {"a": 1})
    rf.mark_done("dea", "fp1", [out])
    assert rf.step_done("dea", "fp1")
    assert not rf.step_done("dea", "fp2")
    out.unlink()
    assert not rf.step_done("dea", "fp1")


def test_atomic_write_leaves_nothing_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "x.csv"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_record_has_versions_and_source(tmp_path: Path) -> None:
    rf = RunFolder(tmp_path)
    rf.write_record(spec={"a": 1}, data_source="synthetic", inputs={"panel": "x"}, command=["ctfp", "demo"])
    rec = json.loads((tmp_path / "run.json").read_text())
    assert rec["synthetic"] is True and rec["data_source"] == "synthetic"
    assert rec["versions"]["numpy"] != "not installed"
    assert rec["command"] == ["ctfp", "demo"]


def test_fingerprints_are_content_based(tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_bytes(b"abc")
    # sha256("abc"), a published test vector
    assert file_fingerprint(f) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert object_fingerprint({"b": 1, "a": 2}) == object_fingerprint({"a": 2, "b": 1})
    assert object_fingerprint({"a": 1}) != object_fingerprint({"a": 2})


def test_write_json_turns_nan_into_null(tmp_path: Path) -> None:
    import numpy as np

    p = write_json(tmp_path / "n.json", {"x": float("nan"), "y": np.float64(1.5), "z": [np.nan]})
    assert json.loads(p.read_text()) == {"x": None, "y": 1.5, "z": [None]}
