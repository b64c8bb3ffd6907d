"""`ctfp replicate [PANEL] --out DIR`: the paper study's tables (or any study's, `--study`) through run_tables."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ctfp.inference.cli import main

DATA = Path(__file__).parent / "data"


def test_replicate_the_paper_on_an_analysis_panel(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    rc = main(["replicate", str(DATA / "paper_world_analysis.parquet"), "--out", str(tmp_path / "run"),
               "--permutations", "20", "--quiet"])
    assert rc == 0
    out = capsys.readouterr().out
    assert out.startswith("44 of 44 published coefficients replicated") and str(tmp_path / "run" / "tables") in out
    rep = pd.read_csv(tmp_path / "run" / "tables" / "replicas.csv")
    base = pd.read_csv(DATA / "paper_tables_baseline.csv").set_index(["table", "column", "term"])
    got = rep.set_index(["table", "column", "term"])
    # the regressions are the study's, unchanged by the command-line overrides of the tests
    # (to 1e-12: another CPU's BLAS kernels move the last bits, tests/test_tables_paper.py)
    for key in (("T2", "(2)", "ai"), ("T4", "(1)", "KP_F")):
        assert got.loc[key, "estimate"] == pytest.approx(base.loc[key, "estimate"], rel=1e-12, abs=0)
    tests = pd.read_csv(tmp_path / "run" / "tables" / "tests.csv")
    perm = tests[tests["method"] == "permutation"]
    assert (perm["permutations"] == 20).all() and list(perm["seed"]) == list(range(20251201, 20251207))
    assert (tmp_path / "run" / "tables" / "T6.md").is_file()


def test_replicate_with_a_seed_and_level(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    rc = main(["replicate", str(DATA / "paper_world_analysis.parquet"), "--out", str(tmp_path / "run"),
               "--permutations", "10", "--permutation-level", "obs", "--seed", "5", "--quiet"])
    assert rc == 0
    tests = pd.read_csv(tmp_path / "run" / "tables" / "tests.csv")
    perm = tests[tests["method"] == "permutation"]
    assert list(perm["seed"]) == list(range(5, 11)) and set(perm["level"]) == {"obs"}


def test_replicate_any_study(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from tests.test_tables_generic import STUDY, states_panel

    states_panel().to_csv(tmp_path / "produc.csv", index=False)
    (tmp_path / "study.toml").write_text(STUDY)
    (tmp_path / "published.csv").write_text("table,column,term,estimate,stars\nT1,(1),lpcap,-0.2,2\n")
    rc = main(["replicate", "--study", str(tmp_path / "study.toml"), "--out", str(tmp_path / "run"), "--quiet"])
    assert rc == 0
    assert "1 of 1 published coefficients replicated: same sign 0" in capsys.readouterr().out


def test_replicate_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    rc = main(["replicate", "--out", str(tmp_path), "--permutations", "0"])
    err = capsys.readouterr().err
    assert rc == 1 and err.count("\n") == 1 and "--permutations must be at least 1" in err
