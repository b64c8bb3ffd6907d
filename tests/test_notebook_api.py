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
