"""The notebook API: ctfp.Study.load / .run, ctfp.open_run, and a cheap `import ctfp`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import ctfp
from ctfp.core.errors import InputError


def test_import_ctfp_is_cheap_and_subpackages_work() -> None:
    code = ("import sys, ctfp; assert not {'pandas', 'numpy', 'pymc', 'arviz'} & set(sys.modules), "
            "sorted({'pandas', 'numpy', 'pymc', 'arviz'} & set(sys.modules)); "
            "import ctfp.core.study, ctfp.data, ctfp.models.dea, ctfp.inference.cli, ctfp.reports, ctfp.studies; "
            "print(ctfp.Study.__name__, ctfp.open_run.__name__)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["Study", "open_run"]
    with pytest.raises(AttributeError):
        ctfp.nothing  # noqa: B018


@pytest.mark.slow
def test_study_run_and_open_run(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    df = pd.DataFrame({"firm": np.repeat(["a", "b", "c", "d"], 5), "year": np.tile(np.arange(2010, 2015), 4)})
    df["k"] = rng.uniform(1, 2, len(df))
    df["l"] = rng.uniform(1, 2, len(df))
    df["q"] = df["k"] ** 0.4 * df["l"] ** 0.6 * rng.uniform(0.7, 1.0, len(df))
    df.to_csv(tmp_path / "firms.csv", index=False)
    (tmp_path / "s.toml").write_text(
        '[study]\nname = "firms"\n\n[data]\npanel = "firms.csv"\nunit = "firm"\ntime = "year"\n\n'
        '[data.derive]\nlq = "log(q)"\n\n[[measure]]\nname = "te"\ninputs = ["k", "l"]\ngood = ["q"]\n'
        'model = "ccr"\n')
    study = ctfp.Study.load(tmp_path / "s.toml")
    assert study.meta.name == "firms" and study.measures[0].rts == "crs"
    assert "te (ccr)" in study._repr_html_()
    run = study.run(tmp_path / "run")
    assert isinstance(run, ctfp.Run) and run.report_path == tmp_path / "run" / "report.html"
    assert not run.synthetic and run.models == []
    te = run.tables["dea/te"]
    assert te["te"].max() == pytest.approx(1.0) and (te["te"] <= 1 + 1e-9).all()
    np.testing.assert_array_equal(run.panel["lq"], np.log(df["q"]))
    assert set(run.tables) >= {"table1", "dea/te"}
    assert run.provenance("dea_te")["solver_status"] == {"optimal": 20}
    again = ctfp.open_run(tmp_path / "run")
    assert "firm / year" in again._repr_html_()
    with pytest.raises(InputError, match="no posterior for model 'x'"):
        again.posterior("x")
    with pytest.raises(InputError, match="not a ctfp run folder"):
        ctfp.open_run(tmp_path)


def test_round_trip_reads_a_regression_table_and_a_posterior(tmp_path: Path) -> None:
    """Load a tiny study, run it, open the folder again: the table and the posterior are the run's numbers."""
    import xarray as xr

    rng = np.random.default_rng(3)
    df = pd.DataFrame({"unit": np.repeat([f"u{i}" for i in range(12)], 6), "t": np.tile(np.arange(2000, 2006), 12)})
    df["x"] = rng.normal(size=len(df))
    df["y"] = 0.8 * df["x"] + rng.normal(scale=0.5, size=len(df))
    df.to_csv(tmp_path / "p.csv", index=False)
    (tmp_path / "s.toml").write_text(
        '[data]\npanel = "p.csv"\nunit = "unit"\ntime = "t"\n\n[[tables]]\nid = "T1"\n'
        'columns = [ { id = "(1)", formula = "y ~ x | unit + t", cluster = ["unit"] } ]\n\n'
        '[bayes]\ndraws = 200\ntune = 200\nchains = 2\nseed = 3\n\n'
        '[[bayes.models]]\nname = "m"\noutcome = "y"\ntreatment = "x"\nserial = "none"\nerror_scale = "common"\n')
    ctfp.Study.load(tmp_path / "s.toml").run(tmp_path / "run")
    run = ctfp.open_run(tmp_path / "run")
    rep = run.tables["replicas"]
    est = rep.loc[(rep["table"] == "T1") & (rep["term"] == "x"), "estimate"].iloc[0]
    on_disk = pd.read_csv(tmp_path / "run" / "tables" / "replicas.csv")
    assert est == on_disk.loc[on_disk["term"] == "x", "estimate"].iloc[0]
    assert est == pytest.approx(0.8, abs=0.25)
    dt = run.posterior("m")
    assert isinstance(dt, xr.DataTree)
    draws = dt.posterior["beta"].to_numpy()
    assert draws.shape[:2] == (2, 200)
    assert float(draws.mean()) == pytest.approx(est, abs=0.05)  # the posterior mean tracks the two-way FE slope
