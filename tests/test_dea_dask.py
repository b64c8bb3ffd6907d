"""DEA on a real Dask cluster (loopback only): identical scores, a worker killed mid-run, an existing cluster.

Every cluster here listens on 127.0.0.1 and is torn down by the test that starts it.
"""

from __future__ import annotations

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

    monkeypatch.setattr(dea, "score_chunk", crashing)  # what the dispatcher submits
    there = _run(panel, executor=cluster, chunk_size=chunk)
    monkeypatch.undo()
    assert os.path.exists(marker)  # the crash did happen
    _same(_run(panel), there)
    assert there["status"].eq("optimal").all() and len(there) == len(panel)


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
