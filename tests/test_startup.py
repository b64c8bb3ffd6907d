"""Start-up: a frequentist command imports what it needs, not scipy.stats (about 0.5 s of CPU) or the Bayesian
stack (PyMC, PyTensor, ArviZ, JAX: seconds)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_fe_and_iv_do_not_import_scipy_stats_or_the_bayesian_stack(tmp_path: Path) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    n_units, n_years = 12, 6
    df = pd.DataFrame({"city": np.repeat(np.arange(n_units), n_years), "year": np.tile(np.arange(n_years), n_units)})
    df["z"] = rng.normal(size=len(df))
    df["x"] = df["z"] + rng.normal(size=len(df))
    df["y"] = 0.5 * df["x"] + rng.normal(size=len(df))
    path = tmp_path / "p.csv"
    df.to_csv(path, index=False)
    for args in (["fe", str(path), "--y", "y", "--x", "x", "--absorb", "city,year", "--cluster", "city"],
                 ["iv", str(path), "--y", "y", "--endog", "x", "--instruments", "z", "--absorb", "city,year",
                  "--cluster", "city"]):
        code = (f"import sys; from ctfp.inference.cli import main; rc = main({args!r}); "
                "heavy = [m for m in ('scipy.stats', 'pymc', 'pytensor', 'arviz', 'jax') if m in sys.modules]; "
                "print(heavy); sys.exit(rc or (3 if heavy else 0))")
        res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
        assert res.returncode == 0, (args[0], res.stdout[-500:], res.stderr[-500:])
