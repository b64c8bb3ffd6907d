"""core.atomic: writes keep the user's umask; --out conflicts are refused before any work (issue 11, item 8)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pandas as pd
import pytest

from ctfp.core.atomic import atomic_path, check_output_path, current_umask, write_csv, write_json, write_text
from ctfp.core.errors import InputError
from ctfp.inference.cli import main


@pytest.fixture
def umask():  # noqa: ANN201 - yields a setter; the process umask is restored afterwards
    old = os.umask(0o022)
    os.umask(old)

    def set_(mask: int) -> None:
        os.umask(mask)

    yield set_
    os.umask(old)


def mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077, 0o027])
def test_files_keep_the_umask(tmp_path: Path, umask, mask: int) -> None:  # noqa: ANN001
    umask(mask)
    assert current_umask() == mask
    write_text(tmp_path / "a.txt", "x")
    write_json(tmp_path / "b.json", {"a": 1})
    write_csv(tmp_path / "sub" / "c.csv", pd.DataFrame({"a": [1]}))
    with atomic_path(tmp_path / "d.bin") as tmp:
        tmp.write_bytes(b"\0")
    for name in ("a.txt", "b.json", "sub/c.csv", "d.bin"):
        assert mode(tmp_path / name) == 0o666 & ~mask, name
    assert mode(tmp_path / "sub") == 0o777 & ~mask  # folders made on the way: as mkdir makes them
    plain = tmp_path / "plain.txt"
    plain.write_text("x")  # what open() gives: the reference the atomic write must match
    assert mode(plain) == mode(tmp_path / "a.txt")


def test_failed_write_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "x.txt"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_cli_output_is_not_private(tmp_path: Path, umask) -> None:  # noqa: ANN001
    """Issue 11: every artefact was written with mode 0600 regardless of the umask."""
    umask(0o022)
    rows = [{"city": c, "year": 2006, "x": 1.0 + c, "y": 2.0 + c % 3} for c in range(4)]
    panel = write_csv(tmp_path / "d.csv", pd.DataFrame(rows))
    out = tmp_path / "scores.csv"
    assert main(["dea", str(panel), "--inputs", "x", "--good", "y", "--id", "city", "--out", str(out)]) == 0
    assert mode(out) == 0o644 and mode(panel) == 0o644


# --------------------------------------------------------------------------------------- check_output_path


def test_file_output_paths(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    (tmp_path / "file.csv").write_text("x")
    assert check_output_path(tmp_path / "new.csv", "file") == tmp_path / "new.csv"
    assert check_output_path(tmp_path / "file.csv", "file") == tmp_path / "file.csv"  # replaced atomically
    assert check_output_path(tmp_path / "a" / "b" / "new.csv", "file")  # folders are made on the way
    with pytest.raises(InputError, match=r"^--out .*dir: is a folder, but a file is written here; name a file"):
        check_output_path(tmp_path / "dir", "file")
    with pytest.raises(InputError, match=r"file\.csv is a file, not a folder; choose another path$"):
        check_output_path(tmp_path / "file.csv" / "x.csv", "file")
    with pytest.raises(InputError, match=r"ends with a slash"):
        check_output_path(f"{tmp_path}/new/", "file")
    assert list((tmp_path).iterdir()) and not any(p.name.startswith(".ctfp") for p in tmp_path.iterdir())


def test_folder_output_paths(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    assert check_output_path(tmp_path / "run", "folder") == tmp_path / "run"
    assert not (tmp_path / "run").exists()  # checking creates nothing
    with pytest.raises(InputError, match=r"^--out .*file: is a file, but a folder is written here"):
        check_output_path(tmp_path / "file", "folder")
    with pytest.raises(InputError, match=r"file is a file, not a folder"):
        check_output_path(tmp_path / "file" / "run", "folder")
    with pytest.raises(InputError, match="--out: empty path"):
        check_output_path("", "folder")


def test_unwritable_parent() -> None:
    """/proc/1 exists and is a folder, but no one (not even root) can create a file in it."""
    with pytest.raises(InputError, match=r"^--out /proc/1/x/out\.csv: cannot write in /proc/1 \("):
        check_output_path("/proc/1/x/out.csv", "file")


# ------------------------------------------------------------------------- the commands check before work


def test_synth_out_conflicts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "d.csv").mkdir()
    assert main(["data", "synth", "--out", str(tmp_path / "d.csv")]) == 1
    assert capsys.readouterr().err == (f"ctfp: error: --out {tmp_path / 'd.csv'}: is a folder, but a file is "
                                       f"written here; name a file (e.g. {tmp_path / 'd.csv' / 'out.csv'}) or "
                                       "remove the folder\n")
    (tmp_path / "p.csv.truth.json").mkdir()
    assert main(["data", "synth", "--out", str(tmp_path / "p.csv")]) == 1
    assert "p.csv.truth.json: is a folder" in capsys.readouterr().err
    assert not (tmp_path / "p.csv").exists()  # nothing written: the sidecar was checked first
    assert main(["data", "synth", "--out", str(tmp_path / "p.xls")]) == 1
    assert "unknown panel format .xls" in capsys.readouterr().err


def test_fit_out_conflicts_before_sampling(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    panel = tmp_path / "no-panel-needed.csv"  # never read: the --out check comes first
    (tmp_path / "run").write_text("x")
    args = ["fit", str(panel), "--outcome", "ctfp", "--treatment", "ai", "--out"]
    assert main([*args, str(tmp_path / "run")]) == 1
    assert capsys.readouterr().err.startswith(f"ctfp: error: --out {tmp_path / 'run'}: is a file, but a folder")
    (tmp_path / "run2" / "posterior.nc").mkdir(parents=True)
    assert main([*args, str(tmp_path / "run2")]) == 1
    assert "posterior.nc: is a folder, but a file is written here" in capsys.readouterr().err


def test_replicate_out_conflicts_before_work(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "run").write_text("x")
    assert main(["replicate", "--out", str(tmp_path / "run"), "--quiet"]) == 1
    assert capsys.readouterr().err.startswith(f"ctfp: error: --out {tmp_path / 'run'}: is a file, but a folder")
    (tmp_path / "run2").mkdir()
    (tmp_path / "run2" / "tables").write_text("x")
    assert main(["replicate", "--out", str(tmp_path / "run2"), "--quiet"]) == 1
    assert "tables: is a file, but a folder is written here" in capsys.readouterr().err
