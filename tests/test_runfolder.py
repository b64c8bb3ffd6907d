"""The run-folder schema: atomic artefacts, step fingerprints over outputs, downstream invalidation, --out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ctfp.core.atomic import atomic_path, write_json
from ctfp.core.errors import InputError
from ctfp.core.runfolder import RunFolder, RunRecord, check_out_dir, file_fingerprint, object_fingerprint


def test_step_resume_requires_same_fingerprint_and_unchanged_outputs(tmp_path: Path) -> None:
    rf = RunFolder(tmp_path / "run")
    out = write_json(rf.path("dea", "eff.json"), {"a": 1})
    rf.mark_done("dea-eff", "fp1", [out])
    rec = rf.step_record("dea-eff")
    assert rec is not None and rec.outputs == {"dea/eff.json": file_fingerprint(out)}
    assert rf.step_done("dea-eff", "fp1")
    assert not rf.step_done("dea-eff", "fp2")
    out.write_text('{"a": 2}')  # changed behind the step's back: recompute
    assert not rf.step_done("dea-eff", "fp1")
    out.unlink()
    assert not rf.step_done("dea-eff", "fp1")


def test_a_truncated_posterior_is_never_reused(tmp_path: Path) -> None:
    rf = RunFolder(tmp_path)
    nc = rf.path("bayes", "m", "posterior.nc")
    nc.write_bytes(b"\x89HDF" + bytes(4000))
    rf.mark_done("bayes-m", "fp", [nc])
    assert rf.step_done("bayes-m", "fp")
    nc.write_bytes(nc.read_bytes()[:1000])  # a copy cut short, a disk filled up
    assert not rf.step_done("bayes-m", "fp")


def test_computing_a_step_removes_everything_downstream(tmp_path: Path) -> None:
    rf = RunFolder(tmp_path)
    files = {name: write_json(rf.path(*rel.split("/")), {}) for name, rel in (
        ("data", "panel/derived.json"), ("dea-x", "dea/x.json"), ("analysis", "panel/analysis.json"),
        ("bayes-m", "bayes/m/summary.json"), ("tables", "tables/replicas.json"))}
    rf.mark_done("data", "a", [files["data"]])
    rf.mark_done("dea-x", "b", [files["dea-x"]], upstream=["data"])
    rf.mark_done("analysis", "c", [files["analysis"]], upstream=["data", "dea-x"])
    rf.mark_done("bayes-m", "d", [files["bayes-m"]], upstream=["analysis"])
    rf.mark_done("tables", "e", [files["tables"]], upstream=["analysis"])
    assert sorted(rf.downstream("dea-x")) == ["analysis", "bayes-m", "tables"]
    assert sorted(rf.invalidate_downstream("dea-x")) == ["analysis", "bayes-m", "tables"]
    assert not files["bayes-m"].exists() and not (tmp_path / "bayes" / "m").exists()
    assert not files["tables"].exists() and files["dea-x"].exists() and files["data"].exists()
    assert [r.step for r in rf.recorded_steps()] == ["data", "dea-x"]


def test_record_round_trip_and_an_old_record(tmp_path: Path) -> None:
    rf = RunFolder(tmp_path)
    rf.write_record(RunRecord(study={"a": 1}, study_file="s.toml", data_source="synthetic", inputs={"panel": "x"},
                              unit="state", time="year", measures=["eff"], command=["ctfp", "demo"]))
    rec = json.loads((tmp_path / "run.json").read_text())
    assert rec["synthetic"] is True and rec["data_source"] == "synthetic" and rec["unit"] == "state"
    assert rec["versions"]["numpy"] != "not installed" and rec["command"] == ["ctfp", "demo"]
    back = rf.read_record()
    assert back is not None and back.measures == ["eff"] and back.synthetic
    (tmp_path / "run.json").write_text(json.dumps({"data_source": "user", "spec": {"x": 1}, "inputs": {}}))
    old = rf.read_record()  # written before the study model: the paper's names
    assert old is not None and (old.unit, old.time, old.schema) == ("city", "year", 1)


def test_out_dir_must_be_new_empty_or_a_run_folder(tmp_path: Path) -> None:
    assert check_out_dir(tmp_path / "new") == tmp_path / "new"
    (tmp_path / "empty").mkdir()
    check_out_dir(tmp_path / "empty")
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(InputError, match="--out names an existing file"):
        check_out_dir(tmp_path / "f.txt")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.md").write_text("x")
    with pytest.raises(InputError, match="not empty and not a ctfp run folder"):
        check_out_dir(tmp_path / "other")
    (tmp_path / "other" / "run.json").write_text("{}")
    check_out_dir(tmp_path / "other")


def test_atomic_write_leaves_nothing_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "x.csv"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_object_fingerprint_is_order_free() -> None:
    assert object_fingerprint({"a": 1, "b": [1, 2]}) == object_fingerprint({"b": [1, 2], "a": 1})
    assert object_fingerprint({"a": 1}) != object_fingerprint({"a": 2})
