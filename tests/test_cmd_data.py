"""`ctfp data check | vars | synth`: exit codes and the exact lines a user sees."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_validate import raw_panel

from ctfp.inference.cli import main


def write(tmp_path: Path, df, name: str = "panel.csv") -> Path:  # noqa: ANN001 - a DataFrame
    path = tmp_path / name
    df.to_csv(path, index=False)
    return path


def test_clean_panel_exits_0_with_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, raw_panel())
    assert main(["data", "check", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"{path}: no errors" in out
    for word in ("rows", "6", "cities", "2006-2008 (3)", "balanced", "yes", "optional present", "gfin"):
        assert word in out


@pytest.mark.parametrize("defect,expected", [
    ("missing", "error: {p}, column energy: required column is missing; add it or map your column onto "
                "'energy' with --mapping"),
    ("text", "error: {p}, row 3, column emp: 'n/a?' is not a number; fix the cell"),
    ("duplicate", "error: {p}, row 8, column year: city 140100, year 2006 duplicates row 2; keep one"),
    ("zero", "error: {p}, row 6, column energy: value 0 is not positive (SBM inputs and outputs must be > 0); "
             "correct the value"),
    ("nan", "error: {p}, row 2, column ai_inv: value is missing; this variable is never interpolated: fill the cell"),
    ("city", "error: {p}, row 5, column city: city code 510100 is not one of the 78 Yellow River Basin cities; "
             "fix the code or pass --allow-other-cities to study another region"),
    ("year", "error: {p}, row 7, column year: year 2030 is outside 2006..2021; fix it or pass --years"),
    ("edge", "error: {p}, row 4, column co2: value is missing after the city's last observed value in 2008, "
             "where interpolation cannot reach; fill the cell"),
    ("fai", "error: {p}, row 7, column fai: value is missing in 2008; FAI may be missing only after 2017 "
            "(extrapolated by growth): fill the cell"),
    ("gap", "error: {p}, row 5, column year: city 140200 has no row for year(s) 2007; deflation and capital "
            "accumulation need consecutive years: add the row(s) (values may be left empty to be interpolated)"),
    ("late", "error: {p}, row 5, column year: city 140200 starts in 2007 but the panel starts in 2006; prices "
             "are chained from the base year 2006: add its rows from 2006"),
    ("tel", "error: {p}, row 7, column tel1984: value 7 differs from 101 in row 5 within city 140200; this "
            "series is one number per city"),
    ("percent", "error: {p}, row 2, column garbage_rate: value 101 exceeds 100 (a percentage); correct the value"),
])
def test_each_defect_exits_1_with_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], defect: str,
                                           expected: str) -> None:
    df = raw_panel()
    if defect == "missing":
        df = df.drop(columns=["energy"])
    elif defect == "text":
        df["emp"] = df["emp"].astype(object)
        df.loc[1, "emp"] = "n/a?"
    elif defect == "duplicate":
        df = df.iloc[[0, 1, 2, 3, 4, 5, 0]]
    elif defect == "zero":
        df.loc[4, "energy"] = 0
    elif defect == "nan":
        df.loc[0, "ai_inv"] = np.nan
    elif defect == "city":
        df.loc[3:, "city"] = 510100
    elif defect == "year":
        df.loc[5, "year"] = 2030
    elif defect == "edge":
        df.loc[2, "co2"] = np.nan
    elif defect == "fai":
        df.loc[5, "fai"] = np.nan
    elif defect == "gap":
        df = df.drop(index=4)
    elif defect == "late":
        df = df.drop(index=3)
    elif defect == "tel":
        df.loc[5, "tel1984"] = 7
    elif defect == "percent":
        df.loc[0, "garbage_rate"] = 101
    path = write(tmp_path, df)
    assert main(["data", "check", str(path)]) == 1
    captured = capsys.readouterr()
    assert expected.format(p=path) in captured.out.splitlines()
    assert "error(s)" in captured.err


def test_warnings_only_exit_0_and_errors_print_first(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    df = raw_panel().drop(index=5)
    path = write(tmp_path, df)
    assert main(["data", "check", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"warning: {path}: the panel is unbalanced: city 140200 has 2 of 3 years (missing 2008)"
    df.loc[0, "co2"] = -1
    path = write(tmp_path, df)
    assert main(["data", "check", str(path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert [s.split(":")[0] for s in out] == ["error", "warning"]


def test_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    df = raw_panel()
    df.loc[3:, "city"] = 510100
    path = write(tmp_path, df)
    assert main(["data", "check", str(path), "--allow-other-cities"]) == 0
    assert main(["data", "check", str(path), "--allow-other-cities", "--years", "2006-2007"]) == 1
    assert main(["data", "check", str(path), "--years", "2006/2007"]) == 1
    err = capsys.readouterr().err
    assert "ctfp: error: --years '2006/2007': write FIRST-LAST, e.g. 2006-2021, or 'any'" in err


def test_mapping_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    df = raw_panel().rename(columns={"emp": "EMP"})
    df.loc[0, "EMP"] = -1
    path = write(tmp_path, df)
    mapping = tmp_path / "map.toml"
    mapping.write_text('EMP = "emp"\n', encoding="utf-8")
    assert main(["data", "check", str(path), "--mapping", str(mapping)]) == 1
    assert (f"error: {path}, row 2, column EMP (emp): value -1 is not positive (SBM inputs and outputs must be "
            "> 0); correct the value") in capsys.readouterr().out.splitlines()


def test_unreadable_panel_is_one_error_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "panel.sav"
    path.write_text("x")
    assert main(["data", "check", str(path)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"ctfp: error: {path}: unknown panel format '.sav'")


def test_vars_listing(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "vars", "--kind", "derived"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("province ") and "co2 " not in out
    assert main(["data", "vars", "--markdown"]) == 0
    assert "| `iv_tel` | derived |" in capsys.readouterr().out


@pytest.mark.slow  # builds the whole synthetic panel (DEA-calibrated)
def test_synth_then_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "synth.csv"
    assert main(["data", "synth", "--seed", "3", "--out", str(path)]) == 0
    assert main(["data", "check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "no errors" in out and "78" in out and "2006-2021 (16)" in out


def test_check_does_not_import_pymc(tmp_path: Path) -> None:
    path = write(tmp_path, raw_panel())
    code = (f"import sys; from ctfp.inference.cli import main; rc = main(['data', 'check', {str(path)!r}]); "
            "sys.exit(10 + rc if any(m in sys.modules for m in ('pymc', 'arviz')) else rc)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0


def test_a_closed_pipe_is_not_a_traceback(tmp_path: Path) -> None:
    """`ctfp data check p.csv | head -1`: the reader leaves early; ctfp stops quietly (exit 141, as a shell
    reports SIGPIPE), never with a BrokenPipeError traceback."""
    import pandas as pd

    df = raw_panel()
    extra = pd.DataFrame({f"unknown_column_{i}": 1.0 for i in range(3000)}, index=df.index)
    path = tmp_path / "wide.csv"
    pd.concat([df, extra], axis=1).to_csv(path, index=False)  # 3000 warning lines: more than a pipe holds
    proc = subprocess.Popen([sys.executable, "-m", "ctfp.inference", "data", "check", str(path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141 and "Traceback" not in err and "BrokenPipe" not in err, err
