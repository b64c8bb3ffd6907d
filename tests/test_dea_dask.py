"""DEA on a real Dask cluster (loopback only): identical scores, a worker killed mid-run, an existing cluster.

Every cluster here listens on 127.0.0.1 and is torn down by the test that starts it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ctfp.inference.cli import main
from ctfp.inference.compute import open_executor
from ctfp.models.dea import run_dea
from ctfp.models.dea.score import score_chunk

IDENTICAL = 1e-9
BIN = Path(sys.executable).parent


def _panel(units: int = 60, periods: int = 8, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    size = rng.lognormal(0, 0.9, (units, 1))
    df = pd.DataFrame({c: (size * rng.lognormal(0, 0.35, (units, periods))).ravel()
                       for c in ("x1", "x2", "x3", "yg1", "yg2", "yb")})
    df["id"] = np.repeat(np.arange(units), periods)
    df["t"] = np.tile(np.arange(periods), units)
    return df


def _run(df: pd.DataFrame, **kw) -> pd.DataFrame:
    return run_dea(df, ["x1", "x2", "x3"], ["yg1", "yg2"], ["yb"], id_col="id", period_col="t", **kw)


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    np.testing.assert_allclose(a["efficiency"], b["efficiency"], atol=IDENTICAL, rtol=0)
    assert (a["status"] == b["status"]).all()
    assert (a["efficient"] == b["efficient"]).all()
    assert a["peers"].ne("").sum() == b["peers"].ne("").sum()


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return _panel()


@pytest.fixture(scope="module")
def cluster():
    with open_executor("local:2") as ex:
        yield ex


@pytest.mark.parametrize(
    "kw",
    [dict(model="sbm"), dict(model="super-sbm", rts="vrs"), dict(model="sbm", frontier="sequential"),
     dict(model="sbm", orientation="output", frontier="window:3"), dict(model="bcc", orientation="input")],
    ids=["sbm", "super-vrs", "sequential", "output-window", "bcc"],
)
def test_cluster_scores_equal_in_process(panel, cluster, kw) -> None:
    here = _run(panel, **kw)
    there = _run(panel, executor=cluster, chunk_size=70, **kw)
    _same(here, there)
    assert there.attrs["chunks"] > 2 and "local Dask cluster, 2 worker" in there.attrs["scheduler"]
    assert there.attrs["lp_solves"] > 0


def test_a_worker_killed_mid_run_still_gives_complete_identical_results(panel, cluster, tmp_path, monkeypatch) -> None:
    # the third task kills its own worker process the first time it runs (a crash mid-run, not a clean exit);
    # the nanny restarts the worker, the lost task runs again, the run completes
    import ctfp.models.dea as dea

    marker = str(tmp_path / "killed-once")
    chunk = 40
    third = 2 * chunk

    def crashing(shared, item):
        if item[1][0] == third and not os.path.exists(marker):
            open(marker, "w").close()
            os._exit(1)
        return score_chunk(shared, item)

    # wait on observable state, never on time: both workers up before (an earlier test may have left one
    # restarting) and after (the nanny has replaced the dead one, so later tests get the full cluster)
    cluster.client.wait_for_workers(2, timeout=300)
    monkeypatch.setattr(dea, "score_chunk", crashing)  # what the dispatcher submits
    there = _run(panel, executor=cluster, chunk_size=chunk)
    monkeypatch.undo()
    assert os.path.exists(marker)  # the crash did happen
    # complete and identical, however the lost task came back (the scheduler's own retry or ours)
    _same(_run(panel), there)
    assert there["status"].eq("optimal").all() and len(there) == len(panel)
    assert there.attrs["chunks"] == -(-len(panel) // chunk)
    cluster.client.wait_for_workers(2, timeout=300)


def _worker_settings() -> tuple[str | None, bool]:
    import dask

    return os.environ.get("MALLOC_TRIM_THRESHOLD_"), bool(dask.config.get("distributed.worker.profile.enabled"))


def test_workers_ctfp_starts_run_without_malloc_trimming_or_the_profiler(cluster) -> None:
    # Dask's defaults (trim threshold 65536 in the environment, a 10 ms stack sampler) cost DEA chunks 7% of
    # their time; the workers of a cluster ctfp starts, restarted ones included (the killed-worker test above
    # restarts one), get neither
    cluster.client.wait_for_workers(2, timeout=300)
    seen = cluster.client.run(_worker_settings)
    assert len(seen) == 2 and set(seen.values()) == {(None, False)}


def test_shared_parts_sent_early_or_late_survive_a_killed_worker(cluster, tmp_path) -> None:
    # a tuple `shared`: one part broadcast early through share(), one with the tasks; a task kills its worker
    # once, taking both parts' copies on that worker with it; every task still ends with both parts intact
    marker = str(tmp_path / "killed-once")
    early = cluster.share(np.arange(1000.0))
    late = {"offset": 7.0}

    def task(shared, item):
        big, small = shared
        if item == 3 and not os.path.exists(marker):
            open(marker, "w").close()
            os._exit(1)
        return float(big.sum() + small["offset"] * item)

    cluster.client.wait_for_workers(2, timeout=300)
    got = cluster.map(task, (early, late), list(range(8)))
    assert os.path.exists(marker)
    assert got == [499500.0 + 7.0 * i for i in range(8)]
    cluster.client.wait_for_workers(2, timeout=300)


def test_unreachable_scheduler_fails_fast_with_one_line(tmp_path, capsys) -> None:
    p = tmp_path / "p.csv"
    _panel(5, 2).to_csv(p, index=False)
    t0 = time.perf_counter()
    rc = main(["dea", str(p), "--inputs", "x1,x2,x3", "--good", "yg1,yg2", "--bad", "yb", "--id", "id", "--period",
               "t", "--scheduler", "tcp://127.0.0.1:1", "--out", str(tmp_path / "s.csv")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1 and len(err) == 1 and err[0].startswith("ctfp: error: --scheduler tcp://127.0.0.1:1")
    assert time.perf_counter() - t0 < 10 and not (tmp_path / "s.csv").exists()


def test_dea_command_without_scheduler_imports_no_dask(tmp_path) -> None:
    p = tmp_path / "p.csv"
    _panel(5, 2).to_csv(p, index=False)
    code = ("import sys\nfrom ctfp.inference.cli import main\n"
            f"rc = main(['dea', {str(p)!r}, '--inputs', 'x1,x2', '--good', 'yg1', '--out', {str(tmp_path / 's.csv')!r}])\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed', 'pymc', 'arviz'))\n"
            "print(rc, bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "0 []", out.stdout + out.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_existing_cluster_started_as_separate_processes(panel, tmp_path) -> None:
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = dict(os.environ, DASK_DISTRIBUTED__WORKER__DAEMON="False")
    logs = [open(tmp_path / "scheduler.log", "w"), open(tmp_path / "worker.log", "w")]
    procs = [subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--no-dashboard"], stdout=logs[0], stderr=subprocess.STDOUT, env=env)]
    try:
        deadline = time.monotonic() + 60
        while True:  # the scheduler listens
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or procs[0].poll() is not None:
                    pytest.fail(f"dask scheduler did not start: {(tmp_path / 'scheduler.log').read_text()}")
                time.sleep(0.3)
        procs.append(subprocess.Popen([str(BIN / "dask"), "worker", address, "--host", "127.0.0.1", "--nworkers",
                                       "2", "--nthreads", "1", "--no-dashboard"], stdout=logs[1],
                                      stderr=subprocess.STDOUT, env=env))
        data = tmp_path / "p.csv"
        panel.to_csv(data, index=False)
        out = tmp_path / "s.csv"
        args = ["dea", str(data), "--inputs", "x1,x2,x3", "--good", "yg1,yg2", "--bad", "yb", "--id", "id",
                "--period", "t", "--frontier", "contemporaneous", "--chunk-size", "100", "--out", str(out)]
        run = subprocess.run([str(BIN / "ctfp"), *args, "--scheduler", address], capture_output=True, text=True,
                             timeout=240)
        assert run.returncode == 0, run.stderr
        assert f"tasks on Dask cluster at {address}" in run.stderr
        there = pd.read_csv(out)
        _same(_run(panel, frontier="contemporaneous"), there)
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in reversed(procs):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)
        for f in logs:
            f.close()


@pytest.mark.parametrize(("text", "kind", "needle"), [
    ("", "inprocess", None), ("local:3", "local", None), ("tcp://127.0.0.1:8786", "tcp", None),
    ("local:0", None, "local:N with N >= 1"), ("local:x", None, "local:N with N >= 1"),
    ("tcp://127.0.0.1", None, "tcp://HOST:PORT"), ("dask", None, "unknown; use"),
])
def test_scheduler_text(text, kind, needle) -> None:
    from ctfp.core.errors import InputError
    from ctfp.inference.compute import parse_scheduler

    if kind is None:
        with pytest.raises(InputError, match=needle):
            parse_scheduler(text)
    else:
        s = parse_scheduler(text)
        assert s.kind == kind and s.text == text


# --- `ctfp run` with its steps as tasks -------------------------------------------------------------------

RUN_STUDY = """\
[study]
name = "steps as tasks"

[data]
panel = "p.csv"
unit = "id"
time = "t"

[data.derive]
lx1 = "log(x1)"
lx2 = "log(x2)"
south = "id >= 30"

[[measure]]
name = "eff"
inputs = ["x1", "x2", "x3"]
good = ["yg1", "yg2"]
bad = ["yb"]
frontier = "contemporaneous"

[[measure]]
name = "eff_vrs"
inputs = ["x1", "x2", "x3"]
good = ["yg1", "yg2"]
rts = "vrs"

[[tables]]
id = "T1"
columns = [
  { id = "(1)", formula = "eff ~ lx1 + lx2 | id + t", cluster = ["id"] },
  { id = "(2)", formula = "eff ~ lx1 + lx2 | id + t", cluster = ["id"], sample = "south == 1" },
  { id = "(3)", formula = "eff ~ lx1 + lx2 | id + t", cluster = ["id"], sample = "south == 0" },
  { id = "(4)", formula = "eff_vrs ~ lx1 + lx2 | id + t", cluster = ["id"] },
]
tests = [ { columns = ["(2)", "(3)"], term = "lx1", method = "permutation", permutations = 600, seed = 5 } ]

[bayes]
draws = 60
tune = 60
chains = 2
seed = 11

[[bayes.models]]
name = "small"
outcome = "eff"
treatment = "lx1"
controls = ["lx2"]
serial = "none"        # iid errors: where the model runs is the point, not its error model
error_scale = "common"
"""


@pytest.fixture(scope="module")
def run_study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("runstudy")
    _panel(60, 8, seed=9).to_csv(root / "p.csv", index=False)
    (root / "study.toml").write_text(RUN_STUDY)
    return root


@pytest.mark.slow
def test_run_on_a_local_cluster_equals_in_process(run_study: Path, capsys) -> None:
    import xarray as xr

    here, there = run_study / "here", run_study / "there"
    assert main(["run", str(run_study / "study.toml"), "--out", str(here), "--no-progress"]) == 0
    assert main(["run", str(run_study / "study.toml"), "--out", str(there), "--no-progress",
                 "--scheduler", "local:2"]) == 0
    err = " ".join(capsys.readouterr().err.split())
    # the two measures went as one task each, the Bayesian model sampled on a worker beside the tables
    assert "measures eff, eff_vrs: one task each on local Dask cluster, 2 worker processes" in err
    assert "Bayesian models small: one task each on local Dask cluster" in err
    for rel in ("tables/replicas.csv", "tables/columns.csv", "tables/tests.csv"):
        a, b = pd.read_csv(here / rel), pd.read_csv(there / rel)
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    tests = pd.read_csv(there / "tables/tests.csv")
    assert tests["permutations"].iloc[0] == 600 and np.isfinite(tests["p"].iloc[0])
    for m in ("eff", "eff_vrs"):
        a, b = pd.read_csv(here / "dea" / f"{m}.csv"), pd.read_csv(there / "dea" / f"{m}.csv")
        np.testing.assert_allclose(a[m], b[m], atol=IDENTICAL, rtol=0)
        assert (a["status"] == b["status"]).all()
    # same seed, same draws: the worker samples the same chains as this process
    pa = xr.open_datatree(here / "bayes/small/posterior.nc", engine="h5netcdf")["posterior"].to_dataset()
    pb = xr.open_datatree(there / "bayes/small/posterior.nc", engine="h5netcdf")["posterior"].to_dataset()
    assert set(pa.data_vars) == set(pb.data_vars) and pa["ame"].size == 120
    for v in pa.data_vars:
        np.testing.assert_array_equal(pa[v].values, pb[v].values, err_msg=v)
    sa = json.loads((here / "bayes/small/summary.json").read_text())
    sb = json.loads((there / "bayes/small/summary.json").read_text())
    assert sa["treatment"] == sb["treatment"]
    # a rerun in-process reuses every step the cluster computed (the fingerprints do not name the scheduler)
    assert main(["run", str(run_study / "study.toml"), "--out", str(there), "--no-progress"]) == 0
    again = " ".join(capsys.readouterr().err.split())
    for step in ("dea-eff", "dea-eff_vrs", "analysis", "tables", "bayes-small"):
        assert f"✓ {step}: finished earlier with the same inputs, reused" in again


@pytest.mark.slow
def test_run_with_one_measure_chunks_its_dmus(run_study: Path, tmp_path: Path, capsys) -> None:
    second = '[[measure]]\nname = "eff_vrs"\ninputs = ["x1", "x2", "x3"]\ngood = ["yg1", "yg2"]\nrts = "vrs"\n\n'
    col4 = '  { id = "(4)", formula = "eff_vrs ~ lx1 + lx2 | id + t", cluster = ["id"] },\n'
    assert second in RUN_STUDY and col4 in RUN_STUDY
    study = RUN_STUDY.replace(second, "").replace(col4, "").split("[bayes]")[0]
    (tmp_path / "study.toml").write_text(study)
    (tmp_path / "p.csv").write_bytes((run_study / "p.csv").read_bytes())
    (tmp_path / "study2.toml").write_text(study + "\n[compute]\nscheduler = \"local:2\"\n")
    assert main(["run", str(tmp_path / "study.toml"), "--out", str(tmp_path / "a"), "--no-progress"]) == 0
    assert main(["run", str(tmp_path / "study2.toml"), "--out", str(tmp_path / "b"), "--no-progress",
                 "--no-bayes"]) == 0
    prov = json.loads((tmp_path / "b/provenance/dea_eff.json").read_text())
    assert "local Dask cluster, 2 worker" in prov["attrs"]["scheduler"] and prov["attrs"]["chunks"] >= 1
    a, b = pd.read_csv(tmp_path / "a/dea/eff.csv"), pd.read_csv(tmp_path / "b/dea/eff.csv")
    np.testing.assert_allclose(a["eff"], b["eff"], atol=IDENTICAL, rtol=0)
    # chunks start from their own warm pools: scores agree to 1e-9, not to the last bit, and so do the tables
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "a/tables/replicas.csv"),
                                  pd.read_csv(tmp_path / "b/tables/replicas.csv"), check_exact=False, rtol=1e-9,
                                  atol=1e-12)


def test_run_scheduler_mistakes_are_one_line(run_study: Path, tmp_path: Path, capsys) -> None:
    rc = main(["run", str(run_study / "study.toml"), "--out", str(tmp_path / "r"), "--no-progress",
               "--scheduler", "tcp://127.0.0.1:1"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1 and len(err) == 1 and err[0].startswith("ctfp: error: --scheduler tcp://127.0.0.1:1"), err
    bad = tmp_path / "bad.toml"
    bad.write_text(RUN_STUDY.replace("[[measure]]", "[compute]\nscheduler = \"local:zero\"\n\n[[measure]]", 1))
    (tmp_path / "p.csv").write_bytes((run_study / "p.csv").read_bytes())
    rc = main(["run", str(bad), "--out", str(tmp_path / "r2"), "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1 and len(err) == 1 and "scheduler" in err[0] and "bad.toml, line" in err[0], err


def test_run_without_scheduler_imports_no_dask(run_study: Path, tmp_path: Path) -> None:
    code = ("import sys\nfrom ctfp.inference.cli import main\n"
            f"rc = main(['run', {str(run_study / 'study.toml')!r}, '--out', {str(tmp_path / 'r')!r}, '--no-bayes', "
            "'--no-progress'])\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed'))\n"
            "print(rc, bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.stdout.strip().splitlines()[-1] == "0 []", out.stdout + out.stderr


@pytest.mark.parametrize("level", ["city", "observation"])
def test_permutation_batches_on_the_cluster_equal_the_loop(cluster, level) -> None:
    from ctfp.models.panel import groupdiff as gd
    from ctfp.models.panel.sim import simulate_analysis_panel

    df = simulate_analysis_panel(seed=9, beta_diff=0.05)
    grid = gd.build_grid(df, "ctfp", ["ai", "pop"])
    lab = gd.grid_labels(df, "g_ua", grid)
    here = gd.permutation_test(grid, lab, reps=600, seed=3, level=level)  # 3 batches of 256, 256, 88
    there = gd.permutation_test(grid, lab, reps=600, seed=3, level=level, executor=cluster)
    np.testing.assert_array_equal(here.perm_diffs, there.perm_diffs)
    assert here.p_one_sided == there.p_one_sided and here.p_two_sided == there.p_two_sided


@pytest.mark.parametrize("rts", ["crs", "vrs"])
def test_problem_broadcast_carries_data_only_and_rebuilds_identically(rts) -> None:
    """What a cluster receives: data and options (not the derived stacks), rebuilt bit-identically."""
    import pickle

    from ctfp.models.dea.data import build_data
    from ctfp.models.dea.radial import RadialProblem
    from ctfp.models.dea.sbm import SbmProblem

    df = _panel()
    data = build_data(df, ["x1", "x2", "x3"], ["yg1", "yg2"], ["yb"], source="t", id_col="id", period_col="t")
    for prob in (SbmProblem(data, rts, "none", (1.0, 0.5)), RadialProblem(data, rts, "input")):
        blob = pickle.dumps(prob, protocol=5)
        assert len(blob) < 1.5 * len(pickle.dumps(data, protocol=5))
        back = pickle.loads(blob)
        for k, v in vars(prob).items():
            if isinstance(v, np.ndarray):
                assert np.array_equal(getattr(back, k), v), k
            elif k != "data":
                assert getattr(back, k) == v, k


def test_the_broadcast_rebuilds_each_pricing_index_bit_for_bit_from_the_problem() -> None:
    """What every worker receives (pickled) leaves out each index's copy of the reference columns and rebuilds it:
    every array of every index equal to the sender's, and the message smaller by about that copy."""
    import pickle

    captured = {}

    class Capture:  # an executor that runs the chunks here and keeps the broadcast
        n_workers, description, resubmitted = 2, "capture", 0

        def share(self, obj):  # noqa: ANN001, ANN202
            return obj

        def map(self, fn, shared, items, label="", progress=None):  # noqa: ANN001, ANN202, ARG002
            captured["shared"] = shared
            return [fn(shared, item) for item in items]

    df = _panel(units=600, periods=8)  # 4,800 DMUs under a global frontier: one group with a pricing index
    chunked = _run(df, frontier="global", executor=Capture())
    problem, warm = captured["shared"]
    assert warm.indexes and warm.indexes[0] is not None
    received_problem = pickle.loads(pickle.dumps(problem))
    sent = pickle.dumps(warm)
    received = pickle.loads(sent)
    assert received.indexes[0].ref is None  # not sent: rebuilt on first use
    for gi, a in enumerate(warm.indexes):
        b = received.index(gi, received_problem)
        for name in a.__dataclass_fields__:
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    whole = pickle.dumps(dict(vars(warm)))  # a plain dict of every field: the index copies included
    assert len(whole) - len(sent) > 0.9 * warm.indexes[0].ref.nbytes
    first = score_chunk((received_problem, received), (0, problem.references[0][:500]))
    np.testing.assert_allclose(first.rho, chunked["efficiency"].to_numpy()[:500], atol=IDENTICAL, rtol=0)
