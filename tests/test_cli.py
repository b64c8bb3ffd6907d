"""The command line itself: `--version` looked up only when asked, and `ctfp fit --backend` validated before any
work and carried into the fit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ctfp.inference.cli import main


def test_building_the_parser_does_not_read_package_metadata() -> None:
    """`ctfp --help`, `ctfp fe`, `ctfp dea` start without importlib.metadata (about 30 ms, measured in README);
    `ctfp --version` still prints the installed version."""
    code = ("import sys\nfrom ctfp.inference.cli import build_parser\nbuild_parser()\n"
            "print('importlib.metadata' in sys.modules)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "False"
    res = subprocess.run([sys.executable, "-m", "ctfp.inference", "--version"], capture_output=True, text=True,
                         timeout=120, check=False)
    from importlib.metadata import version

    assert res.returncode == 0 and res.stdout.strip() == f"ctfp {version('ctfp')}"


@pytest.mark.parametrize(("args", "message"), [
    (["--sampler", "nutpie", "--backend", "c"], "nutpie compiles with backend 'jax' or 'numba', not 'c'"),
    (["--sampler", "numpyro", "--backend", "numba"], "sampler 'numpyro' runs on backend 'jax' only"),
    (["--cores", "0"], "--cores must be at least 1"),
])
def test_fit_refuses_an_impossible_backend_before_reading_the_panel(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    missing = tmp_path / "no_such_panel.csv"  # never read: the backend is refused first
    rc = main(["fit", str(missing), "--outcome", "y", "--treatment", "x", "--out", str(tmp_path / "fit"), *args])
    err = capsys.readouterr().err
    assert rc == 1 and err.count("\n") == 1 and err.startswith("ctfp: error: ") and message in err, err
    assert not (tmp_path / "fit").exists()


def test_fit_backend_choices_are_argparse_checked(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["fit", "p.csv", "--outcome", "y", "--treatment", "x", "--out", "o", "--backend", "cuda"])
    assert exc.value.code == 2 and "invalid choice: 'cuda'" in capsys.readouterr().err


@pytest.mark.slow
def test_fit_samples_with_the_backend_asked_for(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """PyMC's NUTS on a JAX-compiled log-density (its default is C): the fit runs, and summary.json records the
    backend it ran on; the slope is recovered (truth 0.8, 60 unit-years). `--cores 1`: the two chains in turn in
    this process (two chain processes would each import PyMC and compile the model again)."""
    rng = np.random.default_rng(4)
    df = pd.DataFrame({"city": np.repeat(np.arange(10), 6), "year": np.tile(np.arange(2000, 2006), 10)})
    df["x"] = rng.normal(size=len(df))
    df["y"] = 0.8 * df["x"] + rng.normal(0, 0.3, 10)[df["city"]] + rng.normal(scale=0.3, size=len(df))
    df.to_csv(tmp_path / "p.csv", index=False)
    out = tmp_path / "fit"
    rc = main(["fit", str(tmp_path / "p.csv"), "--outcome", "y", "--treatment", "x", "--sampler", "pymc",
               "--backend", "jax", "--serial", "none", "--error-scale", "common", "--draws", "100", "--tune", "100",
               "--chains", "2", "--cores", "1", "--seed", "4", "--allow-failed-gate", "--quiet", "--out", str(out)])
    assert rc == 0, capsys.readouterr().err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["sampler"]["sampler"] == "pymc" and summary["sampler"]["backend"] == "jax"
    assert summary["treatment"]["mean"] == pytest.approx(0.8, abs=0.15)
