"""Sampling, the convergence gate, simulation-based calibration, bambi cross-check and the `ctfp fit` command."""

from __future__ import annotations

import json

import numpy as np
import pymc as pm
import pytest
import xarray as xr
from scipy.stats import chisquare

from ctfp.core.errors import InputError
from ctfp.inference.cli import main
from ctfp.inference.diagnostics import check_gate
from ctfp.inference.sampling import SamplerConfig, check_sampler_available, sample_model, sbc_ranks
from ctfp.models.bayes.builder import build_model
from ctfp.models.bayes.sim import simulate_panel
from ctfp.models.bayes.spec import PAPER_CONTROLS, BayesSpec


def _tree(post: dict[str, np.ndarray], diverging: np.ndarray | None = None) -> xr.DataTree:
    ds = xr.Dataset({k: (("chain", "draw"), v) for k, v in post.items()})
    groups = {"posterior": ds}
    if diverging is not None:
        groups["sample_stats"] = xr.Dataset({"diverging": (("chain", "draw"), diverging)})
    return xr.DataTree.from_dict(groups)


def test_sampler_config_checks() -> None:
    with pytest.raises(InputError, match="sampler 'stan' unknown"):
        SamplerConfig(sampler="stan")
    with pytest.raises(InputError, match="--draws must be at least 1"):
        SamplerConfig(draws=0)
    assert SamplerConfig(seed=3).to_dict()["seed"] == 3
    # the default is nutpie on JAX; each sampler gets its own default backend, a wrong pairing is one line
    assert (SamplerConfig().sampler, SamplerConfig().backend) == ("nutpie", "jax")
    assert SamplerConfig(sampler="pymc").backend == "c" and SamplerConfig(sampler="numpyro").backend == "jax"
    with pytest.raises(InputError, match="backend 'cuda' unknown"):
        SamplerConfig(backend="cuda")
    with pytest.raises(InputError, match="nutpie compiles with backend 'jax' or 'numba'"):
        SamplerConfig(sampler="nutpie", backend="c")
    with pytest.raises(InputError, match="numpyro' runs on backend 'jax' only"):
        SamplerConfig(sampler="numpyro", backend="numba")


def test_numpyro_missing_is_a_clear_input_error(monkeypatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name in ("numpyro", "jax") else real(name, *a))
    with pytest.raises(InputError, match=r"pip install 'ctfp\[numpyro\]'"):
        check_sampler_available("numpyro")


def test_gate_passes_good_chains_and_fails_bad_ones() -> None:
    rng = np.random.default_rng(0)
    good = rng.normal(size=(4, 1000))
    res = check_gate(_tree({"a": good}, np.zeros((4, 1000), bool)), warn=False)
    assert res.passed and res.max_rhat < 1.01 and res.min_ess_bulk > 3000 and res.messages == []

    shifted = good + np.array([[0.0], [0.0], [0.0], [0.5]])  # one chain elsewhere
    res = check_gate(_tree({"a": good, "b": shifted}), warn=False)
    assert not res.passed and res.max_rhat > 1.01 and res.worst_rhat_var == "b"
    assert any("R-hat" in m for m in res.messages)

    div = np.zeros((4, 1000), bool)
    div[1, [3, 50, 700]] = True
    res = check_gate(_tree({"a": good}, div), warn=False)
    assert not res.passed and res.divergences == 3 and "3 divergent" in res.messages[0]

    ar = np.cumsum(rng.normal(size=(2, 100)), axis=1)  # few, autocorrelated draws
    res = check_gate(_tree({"a": ar}), warn=False)
    assert not res.passed and res.min_ess_bulk < 400 and any("bulk ESS" in m for m in res.messages)


def test_failed_gate_is_printed_loudly(capsys) -> None:
    check_gate(_tree({"a": np.zeros((2, 50)) + np.arange(2)[:, None]}), warn=True)
    err = capsys.readouterr().err
    assert "convergence gate FAILED" in err and "R-hat" in err


@pytest.mark.slow
def test_gate_fails_a_learned_variance_over_two_levels() -> None:
    """The trap the design warns about: a hierarchical sd over two groups (centred) gives divergences."""
    rng = np.random.default_rng(1)
    g = np.repeat([0, 1], 4)
    y = rng.normal(0.3 * g, 1.0)
    with pm.Model() as bad:
        tau = pm.HalfCauchy("tau", 5.0)
        a = pm.Normal("a", 0.0, tau, shape=2)
        pm.Normal("y", a[g], 1.0, observed=y)
    dt = pm.sample(draws=400, tune=400, chains=2, random_seed=2, model=bad, progressbar=False)
    res = check_gate(dt, warn=False)
    assert not res.passed
    assert res.divergences > 0


@pytest.mark.slow
@pytest.mark.heavy
def test_simulation_based_calibration_normal_twoway() -> None:
    """20 prior draws refitted with one compiled model: the ranks of the truth are not grossly non-uniform."""
    panel, _ = simulate_panel(8, 5, seed=21)
    # iid errors: the AR(1) default's prior predictive conditions on the observed residuals (tests/test_sbc.py)
    model = build_model(panel, BayesSpec("ctfp", "ai", mundlak=False, serial="none", error_scale="common"))
    ranks = sbc_ranks(model, ["beta_std", "sigma", "alpha"], n_reps=20, draws=200, tune=300, seed=5)
    for name, r in ranks.items():
        assert r.shape == (20,) and r.min() >= 0 and r.max() <= 99
        counts = np.histogram(r, bins=4, range=(0, 100))[0]
        assert chisquare(counts).pvalue > 0.01, (name, counts)
        assert 25 < r.mean() < 75, (name, r)


@pytest.mark.slow
@pytest.mark.heavy
def test_bambi_agrees_with_the_hand_written_model() -> None:
    import bambi as bmb

    panel, _ = simulate_panel(30, 8, seed=17)
    panel = panel.assign(city=panel["city"].astype(str), year=panel["year"].astype(str))
    formula = "ctfp ~ ai + " + " + ".join(PAPER_CONTROLS) + " + (1|city) + (1|year)"
    bm = bmb.Model(formula, panel, family="gaussian")
    bdt = bm.fit(draws=1000, tune=500, chains=2, random_seed=3, progressbar=False)
    spec = BayesSpec("ctfp", "ai", controls=PAPER_CONTROLS, mundlak=False, serial="none", error_scale="common")
    dt = sample_model(build_model(panel, spec), SamplerConfig(draws=1000, tune=500, chains=2, seed=3), progress=False)
    b_bambi = bdt["posterior"]["ai"]
    b_ours = dt["posterior"]["beta"]
    assert abs(float(b_bambi.mean()) - float(b_ours.mean())) < 0.1 * float(b_ours.std())
    assert abs(float(b_bambi.std()) / float(b_ours.std()) - 1) < 0.15


def test_cli_bad_column_is_one_line(tmp_path, capsys) -> None:
    panel, _ = simulate_panel(5, 4, seed=1)
    path = tmp_path / "p.csv"
    panel.to_csv(path, index=False)
    code = main(["fit", str(path), "--outcome", "ctfp", "--treatment", "AI", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1
    assert err[0].startswith("ctfp: error: ") and "AI" in err[0] and "not found" in err[0]
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_cli_fit_fails_the_gate_with_too_few_draws(tmp_path, capsys) -> None:
    panel, _ = simulate_panel(10, 5, seed=1)
    path = tmp_path / "p.csv"
    panel.to_csv(path, index=False)
    out = tmp_path / "fit"
    args = ["fit", str(path), "--outcome", "ctfp", "--treatment", "ai", "--controls", "pop,hum", "--by", "g_ua",
            "--draws", "30", "--tune", "30", "--chains", "2", "--seed", "4", "--quiet", "--out", str(out)]
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2 and "convergence gate failed" in err and "--allow-failed-gate" in err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["gate"]["passed"] is False and summary["gate"]["messages"]
    assert summary["diagnostics"]["min_ess_bulk"] < 400
    assert summary["seed"] == 4 and summary["sampler"]["draws"] == 30
    assert set(summary["by"]["g_ua"]) == {"1", "0", "diff"}
    dt = xr.open_datatree(out / "posterior.nc", engine="h5netcdf")
    assert dt["posterior"]["ame"].shape == (2, 30)


@pytest.mark.slow
def test_fit_says_when_rows_are_dropped(tmp_path, capsys) -> None:
    """Rows with missing values leave the model with a warning on stderr and a count in summary.json."""
    import json

    from ctfp.inference.fit import fit_spec
    from ctfp.models.bayes.sim import simulate_panel
    from ctfp.models.bayes.spec import BayesSpec

    panel, _ = simulate_panel(12, 6, seed=3)
    panel.loc[[4, 9, 30], "ai"] = np.nan
    cfg = SamplerConfig(draws=100, tune=100, chains=1, seed=5)
    fit_spec(panel, BayesSpec("ctfp", "ai", mundlak=False), cfg, tmp_path / "fit", progress=False)
    err = capsys.readouterr().err
    assert "3 rows with missing values in the model's columns were dropped" in err
    assert json.loads((tmp_path / "fit" / "summary.json").read_text())["dropped_rows"] == 3


def _tiny_model() -> pm.Model:
    with pm.Model() as model:
        mu = pm.Normal("mu", 0.0, 10.0)
        pm.Normal("y", mu, 1.0, observed=np.linspace(-1.0, 3.0, 20))
    return model


def _pymc_draws(queue) -> None:  # noqa: ANN001 - the body of a daemonic process, as a Dask worker's task is
    cfg = SamplerConfig(sampler="pymc", draws=30, tune=30, chains=2, cores=2, seed=3)
    queue.put(sample_model(_tiny_model(), cfg, progress=False, predictive=False)["posterior"]["mu"].values)


def test_pymc_chains_run_in_turn_inside_a_daemonic_process() -> None:
    """A Dask worker is a daemonic process, which may not start the child processes PyMC's chains run in: there
    the chains run one after the other, and give the draws they give in their own processes (seeds per chain)."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    worker = ctx.Process(target=_pymc_draws, args=(queue,), daemon=True)
    worker.start()
    inside = queue.get(timeout=120)  # (a child that crashed puts nothing)
    worker.join(60)
    assert worker.exitcode == 0
    cfg = SamplerConfig(sampler="pymc", draws=30, tune=30, chains=2, cores=1, seed=3)
    here = sample_model(_tiny_model(), cfg, progress=False, predictive=False)["posterior"]["mu"].values
    assert inside.shape == (2, 30)
    np.testing.assert_array_equal(inside, here)


@pytest.mark.parametrize("bad", ["a-file", "a-file/below"])
def test_an_unusable_jax_cache_folder_is_one_line(tmp_path, monkeypatch, bad) -> None:
    from ctfp.core.errors import InputError
    from ctfp.inference.sampling import use_jax_cache

    (tmp_path / "a-file").write_text("not a folder")
    monkeypatch.setenv("CTFP_JAX_CACHE", str(tmp_path / bad))
    with pytest.raises(InputError, match=r"^CTFP_JAX_CACHE=.*: cannot keep JAX's compiled programs there \(.+\); "
                                         r"point it at a writable folder, or set it empty for no cache$"):
        use_jax_cache()
    monkeypatch.setenv("CTFP_JAX_CACHE", "")  # empty: no cache, nothing checked
    use_jax_cache()
