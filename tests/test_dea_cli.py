"""`ctfp dea`: output columns, and bad inputs give one line, exit 1 and no file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from ctfp.inference.cli import main

DATA = pd.DataFrame({"city": [1, 2, 3, 1, 2, 3], "year": [2006, 2006, 2006, 2007, 2007, 2007],
                     "labor": [1.0, 2, 3, 2, 1, 3], "gdp": [1.0, 2, 1, 2, 2, 1], "co2": [1.0, 1, 2, 1, 2, 2]})
ARGS = ["--inputs", "labor", "--good", "gdp", "--bad", "co2", "--id", "city", "--period", "year"]


@pytest.fixture
def panel(tmp_path: Path) -> Path:
    p = tmp_path / "panel.csv"
    DATA.to_csv(p, index=False)
    return p


def test_writes_scores(panel: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "scores.csv"
    assert main(["dea", str(panel), *ARGS, "--out", str(out)]) == 0
    t = pd.read_csv(out)
    assert list(t.columns[:4]) == ["city", "year", "efficiency", "status"]
    assert {"slack_labor", "slack_gdp", "slack_co2"} <= set(t.columns)
    assert t["efficiency"].between(0, 1).all() and (t["status"] == "optimal").all()
    assert "6 DMUs" in capsys.readouterr().err
    out2 = tmp_path / "super.parquet"
    assert main(["dea", str(panel), *ARGS, "--model", "super-sbm", "--weights", "1:0.5", "--out", str(out2)]) == 0
    s = pd.read_parquet(out2)
    assert (s["efficiency"] >= s["rho"] - 1e-12).all()


def _bad(tmp_path: Path, frame: pd.DataFrame, name: str = "bad.csv") -> Path:
    p = tmp_path / name
    frame.to_csv(p, index=False)
    return p


@pytest.mark.parametrize(
    ("edit", "extra", "needle"),
    [
        (lambda d: d.drop(columns="co2"), [], "column 'co2' not found"),
        (lambda d: d.assign(labor=d["labor"].where(d.index != 2)), [], "column 'labor', row 4 (city=3, year=2006): missing"),
        (lambda d: d.assign(gdp=d["gdp"].where(d.index != 1, -2.0)), [], "column 'gdp', row 3"),
        (lambda d: d.assign(gdp=d["gdp"].astype(object).where(d.index != 0, "abc")), [], "is not a number"),
        (lambda d: pd.concat([d, d.iloc[[0]].assign(year=2008)]), ["--frontier", "contemporaneous"],
         "year=2008 has only 1 DMU"),
        (lambda d: d, ["--model", "dea"], "model 'dea' unknown"),
        (lambda d: d, ["--frontier", "window:4"], "odd"),
        (lambda d: d, ["--orientation", "sideways"], "orientation 'sideways' unknown"),
        (lambda d: d, ["--weights", "1-3"], "--weights '1-3'"),
        (lambda d: d, ["--rts", "irs"], "rts 'irs' unknown"),
    ],
)
def test_bad_input_one_line_exit_1_nothing_written(tmp_path: Path, capsys, edit, extra, needle) -> None:
    src = _bad(tmp_path, edit(DATA.copy()))
    out = tmp_path / "out.csv"
    code = main(["dea", str(src), *ARGS, *extra, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ctfp: error: ") and needle in lines[0]
    assert not out.exists() and list(tmp_path.iterdir()) == [src]


def test_missing_file_and_bad_out_format(tmp_path: Path, capsys) -> None:
    assert main(["dea", str(tmp_path / "nope.csv"), *ARGS, "--out", str(tmp_path / "o.csv")]) == 1
    assert "file not found" in capsys.readouterr().err
    src = _bad(tmp_path, DATA)
    assert main(["dea", str(src), *ARGS, "--out", str(tmp_path / "o.json")]) == 1
    assert "use .csv or .parquet" in capsys.readouterr().err
    assert not (tmp_path / "o.csv").exists() and not (tmp_path / "o.json").exists()


def test_dea_command_does_not_import_pymc_or_arviz(panel: Path, tmp_path: Path) -> None:
    code = (
        "import sys, argparse\n"
        "from ctfp.inference import cmd_dea\n"
        "p = argparse.ArgumentParser(); sub = p.add_subparsers(); cmd_dea.register(sub)\n"
        f"a = p.parse_args(['dea', {str(panel)!r}, *{ARGS!r}, '--out', {str(tmp_path / 'o.csv')!r}])\n"
        "assert a.func(a) == 0\n"
        "heavy = [m for m in ('pymc', 'arviz', 'pytensor') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
