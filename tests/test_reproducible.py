"""The same seed gives the same posterior whatever the state of the compile cache.

Three processes, each with its own PyTensor base_compiledir, NUMBA_CACHE_DIR and JAX compilation cache: (A) an
empty cache, where a different model is fitted first so the target model is compiled on a partly filled cache (what
the demo's later fits see); (B) an empty cache, target model only; (C) cache A again, now warm. The posterior draws
must be equal bit for bit. With the former default (PyMC's NUTS on numba, whose generated code is compiled with
fastmath flags) the headline model's draws differed between an empty and a warm cache (benchmarks/bench_cold.py:
R-hat 1.0079 cold, 1.0053 warm, same seed; docs/bayes.md, "first run")."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow

SCRIPT = """
import sys, warnings
import numpy as np
warnings.filterwarnings("ignore")
from ctfp.inference.sampling import SamplerConfig, sample_model
from ctfp.models.bayes.builder import build_model
from ctfp.models.bayes.sim import simulate_panel
from ctfp.models.bayes.spec import BayesSpec

out, warm_up_first = sys.argv[1], sys.argv[2] == "1"
cfg = SamplerConfig(draws=40, tune=40, chains=2, cores=2, seed=5)
if warm_up_first:  # fill the cache with another model's pieces first
    other, _ = simulate_panel(10, 5, seed=3, censor=True)
    sample_model(build_model(other, BayesSpec("ctfp", "ai", controls=("pop",), likelihood="censored")), cfg,
                 progress=False, predictive=False)
panel, _ = simulate_panel(10, 5, seed=2)
spec = BayesSpec("ctfp", "ai", controls=("pop", "hum"), splits=("g_ua",))
dt = sample_model(build_model(panel, spec), cfg, progress=False)
post = dt["posterior"]
np.savez(out, **{v: np.asarray(post[v].values) for v in ("beta", "sigma", "ame", "slope_diff")},
         y_rep=np.asarray(dt["posterior_predictive"]["y"].values), ll=np.asarray(dt["log_likelihood"]["y"].values))
"""


def _run(tmp: Path, cache: str, out: str, warm_up_first: bool) -> dict[str, np.ndarray]:
    env = dict(os.environ)
    env["PYTENSOR_FLAGS"] = f"base_compiledir={tmp / cache / 'pytensor'}"
    env["NUMBA_CACHE_DIR"] = str(tmp / cache / "numba")
    env["CTFP_JAX_CACHE"] = str(tmp / cache / "jax")  # XLA's compiled programs: read back on the warm run
    path = tmp / f"{out}.npz"
    subprocess.run([sys.executable, "-c", SCRIPT, str(path), "1" if warm_up_first else "0"], env=env, check=True,
                   capture_output=True, text=True)
    with np.load(path) as f:
        return {k: f[k] for k in f.files}


@pytest.mark.heavy
def test_posterior_is_identical_on_cold_partly_warm_and_warm_caches(tmp_path: Path) -> None:
    partly = _run(tmp_path, "a", "partly_warm", warm_up_first=True)
    cold = _run(tmp_path, "b", "cold", warm_up_first=False)
    warm = _run(tmp_path, "a", "warm", warm_up_first=False)
    assert any((tmp_path / "a" / "jax").glob("*-cache")), "the warm run had no compiled JAX programs to read"
    assert set(cold) == {"beta", "sigma", "ame", "slope_diff", "y_rep", "ll"}
    assert cold["beta"].shape == (2, 40) and np.isfinite(cold["beta"]).all() and cold["beta"].std() > 0
    for name in cold:
        np.testing.assert_array_equal(partly[name], cold[name], err_msg=f"{name}: partly warm vs cold cache")
        np.testing.assert_array_equal(warm[name], cold[name], err_msg=f"{name}: warm vs cold cache")
