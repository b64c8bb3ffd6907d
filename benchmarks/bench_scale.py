"""Benchmark: SBM DEA in one process vs a local Dask cluster, and a projection to more workers.

Case: SBM with undesirable output, global CRS frontier, 3 inputs, 2 good outputs, 1 bad output, synthetic
firm-like panel (benchmarks/bench_dea.synth), at 20,000 and 100,000 DMUs. Each configuration runs in a fresh
child process so peak memory figures are its own:
  - in-process: `run_dea(...)` (no Dask imported);
  - local:W: `run_dea(..., executor=<LocalCluster of W single-threaded worker processes on 127.0.0.1>)`,
    wall time without and with the cluster's start-up, peak RSS of every worker (getrusage in the worker),
    and every chunk's compute time on its worker (Dask's task stream).
Scores must agree with in-process to 1e-9. Each configuration is solved --repeat times (default 3) in its
process and the best wall time is reported, every one printed.

The projection to 8, 32 and 128 workers is a model, not a measurement: a chunk of c DMUs against n reference
DMUs costs t = c (a + b n) (LP solves + pricing every reference column), with a and b fitted to the measured
chunk times of all runs; the driver's own work (reading, building the problem, merging) is g per DMU, fitted
as the local run's wall time minus its busiest worker's compute time. Projected wall(W, N) = g N + the busiest
worker's share of N/c chunks of c = N/(4W) DMUs (ctfp's default chunking: about 4 tasks per worker).

Then (`--multiverse`, on by default) the paper study's own 24-universe [multiverse] (model sbm | super-sbm x
rts crs | vrs x frontier global | contemporaneous | sequential x weights 1:1 | 1:0.5 of the CTFP measure) on its
embedded synthetic panel, in-process vs local:W, results equal: its table estimands (Table 2 (2) ai, (4) scale);
with `--mv-bayes` also its Bayesian estimand (the headline model, --quick draws: 24 fits per configuration).

    python benchmarks/bench_scale.py                    # 20,000 and 100,000 DMUs, local:2, the multiverse
    python benchmarks/bench_scale.py --sizes 5000 --no-multiverse
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_dea import BAD, GOOD, INPUTS, synth  # noqa: E402


def _panel(n: int):  # noqa: ANN202
    return synth(-(-n // 16), seed=7).iloc[:n].reset_index(drop=True)


def _peak_rss() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # MiB (Linux reports KiB)


def _warm() -> None:
    """Load the compiled solver in a worker (numba cache): once per worker process, outside the timing."""
    from ctfp.models.dea import run_dea

    run_dea(_panel(64), INPUTS, GOOD, BAD)


def child(n: int, workers: int, out: Path, repeat: int = 3) -> None:
    """One configuration in this (fresh) process, solved `repeat` times (the wall time reported is the best, as
    timeit does: on a shared 2-core machine one run can lose a second to a neighbour); writes a JSON record
    with every wall time and the scores."""
    from ctfp.models.dea import run_dea

    df = _panel(n)
    _warm()  # load the compiled code outside the timing
    kw = dict(id_col="city", period_col="year", model="sbm", rts="crs", frontier="global")
    rec: dict[str, object] = {"n": n, "workers": workers, "load_before": os.getloadavg()[0]}
    if workers == 0:
        walls = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            r = run_dea(df, INPUTS, GOOD, BAD, **kw)
            walls.append(time.perf_counter() - t0)
        rec["walls"], rec["wall"] = walls, min(walls)
        rec["peak_rss_mib"] = _peak_rss()
        rec["dask_imported"] = "distributed" in sys.modules
    else:
        from distributed import get_task_stream

        from ctfp.inference.compute import open_executor

        t_start = time.perf_counter()
        with open_executor(f"local:{workers}") as ex:
            client = ex.client  # starts the cluster
            t_warm = time.perf_counter()
            client.run(_warm)
            rec["startup"] = time.perf_counter() - t_start
            rec["warm"] = time.perf_counter() - t_warm
            walls = []
            for _ in range(repeat):  # the chunk times below are the last run's
                with get_task_stream(client) as ts:
                    t0 = time.perf_counter()
                    r = run_dea(df, INPUTS, GOOD, BAD, executor=ex, **kw)
                    walls.append(time.perf_counter() - t0)
            rec["walls"], rec["wall"] = walls, min(walls)
            peaks = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
            rec["worker_peak_rss_mib"] = sorted(float(v) for v in peaks.values())
            chunks, busy = [], {}
            for task in ts.data:
                for ss in task.get("startstops", []):
                    if ss.get("action") == "compute":
                        dt = ss["stop"] - ss["start"]
                        chunks.append(dt)
                        busy[task["worker"]] = busy.get(task["worker"], 0.0) + dt
            rec["chunk_seconds"] = chunks
            rec["busiest_worker_seconds"] = max(busy.values()) if busy else float("nan")
            rec["chunk_size"] = r.attrs["chunk_size"]
            rec["chunks"] = r.attrs["chunks"]
        rec["driver_peak_rss_mib"] = _peak_rss()
    rec["load_after"] = os.getloadavg()[0]
    rec["efficient"] = int(r["efficient"].sum())
    np.save(out.with_suffix(".npy"), r["efficiency"].to_numpy())
    out.write_text(json.dumps(rec))


def run_child(n: int, workers: int, tmp: Path, repeat: int) -> dict:
    out = tmp / f"rec_{n}_{workers}.json"
    subprocess.run([sys.executable, __file__, "--child", str(n), str(workers), str(out), str(repeat)], check=True)
    rec = json.loads(out.read_text())
    rec["scores"] = np.load(out.with_suffix(".npy"))
    return rec


def multiverse_child(workers: int, out: Path, bayes: bool) -> None:
    """The paper study's own [multiverse] (24 universes); its Bayesian estimand only with --mv-bayes (24 fits)."""
    from dataclasses import replace

    from ctfp.core.study_load import load_study, quick
    from ctfp.inference.multiverse import run_multiverse
    from ctfp.studies import study_path

    study = load_study(study_path())
    mv = study.multiverse
    assert mv is not None, "the paper study ships a [multiverse]"
    if bayes:
        study = quick(study)
    else:
        study = replace(study, multiverse=replace(mv, estimands=tuple(e for e in mv.estimands if "model" not in e)))
    t0 = time.perf_counter()
    table = run_multiverse(study, out.parent / f"mv_{workers}", scheduler=f"local:{workers}" if workers else "",
                           progress=False)
    wall = time.perf_counter() - t0
    table.to_csv(out.with_suffix(".csv"), index=False)
    out.write_text(json.dumps({"wall": wall, "universes": table.attrs["summary"]["universes"],
                               "load": os.getloadavg()[0], "summary": table.attrs["summary"]["estimands"]}))


def fit(records: list[dict]) -> tuple[float, float, float]:
    """a, b (chunk cost c (a + b n)) by least squares over all measured chunks; g (driver s/DMU)."""
    rows, ys = [], []
    for r in records:
        c = r["chunk_size"]
        for t in r["chunk_seconds"]:
            rows.append([c, c * r["n"]])
            ys.append(t)
    (a, b), *_ = np.linalg.lstsq(np.array(rows, float), np.array(ys), rcond=None)
    g = float(np.mean([(r["walls"][-1] - r["busiest_worker_seconds"]) / r["n"] for r in records]))  # same run
    return float(max(a, 0.0)), float(max(b, 0.0)), max(g, 0.0)


def project(a: float, b: float, g: float, n: int, workers: int) -> float:
    c = max(500, math.ceil(n / (4 * workers)))
    k = math.ceil(n / c)
    return g * n + math.ceil(k / workers) * c * (a + b * n)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="20000,100000")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--multiverse", action=argparse.BooleanOptionalAction, default=True,
                    help="also the 24-universe multiverse of the paper's study (default on)")
    ap.add_argument("--mv-bayes", action="store_true",
                    help="the multiverse with its Bayesian estimand too (quick draws; 24 fits per configuration)")
    ap.add_argument("--repeat", type=int, default=3, help="solves per configuration; the best is reported (default 3)")
    ap.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    ap.add_argument("--mv-child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(int(args.child[0]), int(args.child[1]), Path(args.child[2]), int(args.child[3]))
        return 0
    if args.mv_child:
        multiverse_child(int(args.mv_child[0]), Path(args.mv_child[1]), args.mv_child[2] == "1")
        return 0
    import tempfile

    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]  # --sizes "": the multiverse only
    w = args.workers
    print(f"SBM undesirable, global CRS, 3 inputs, 2 good, 1 bad; in-process vs local:{w} "
          f"({os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start)")
    local: list[dict] = []
    rows = []
    with tempfile.TemporaryDirectory() as tmpd:
        tmp = Path(tmpd)
        for n in sizes if sizes else ():
            one = run_child(n, 0, tmp, args.repeat)
            dist = run_child(n, w, tmp, args.repeat)
            diff = float(np.max(np.abs(one["scores"] - dist["scores"])))
            local.append(dist)
            rows.append((n, one, dist, diff))
    bad: list[float] = []
    if sizes:
        print(f"\n{'DMUs':>8} {'in-process s':>13} {'local:' + str(w) + ' s':>10} {'ratio':>7} {'+start-up s':>12} "
              f"{'peak MiB/worker':>16} {'in-proc MiB':>12} {'chunks':>7} {'max |diff|':>11} {'load':>10}")
        for n, one, dist, diff in rows:
            print(f"{n:>8} {one['wall']:>13.2f} {dist['wall']:>10.2f} {dist['wall'] / one['wall']:>6.2f}x "
                  f"{dist['wall'] + dist['startup']:>12.2f} {max(dist['worker_peak_rss_mib']):>16.0f} "
                  f"{one['peak_rss_mib']:>12.0f} {dist['chunks']:>7} {diff:>11.1e} "
                  f"{one['load_before']:>4.1f}/{dist['load_before']:.1f}")
        print(f"best of {args.repeat} solves each; every wall time (s):")
        for n, one, dist, _ in rows:
            print(f"  {n}: in-process {', '.join(f'{t:.2f}' for t in one['walls'])}; "
                  f"local:{w} {', '.join(f'{t:.2f}' for t in dist['walls'])}")
        bad = [d for *_, d in rows if d > 1e-9]
        a, b, g = fit(local)
        print(f"\nmeasured chunk cost fitted as c (a + b n): a = {a * 1e6:.1f} us/DMU (LP solves), "
              f"b = {b * 1e9:.3f} ns/DMU/reference DMU (pricing); driver g = {g * 1e6:.1f} us/DMU")
        print("PROJECTION (model above, not a measurement) of the wall time, global frontier:")
        targets = sorted({*sizes, 1_000_000})
        print(f"{'DMUs':>10}" + "".join(f"{f'{k} workers':>14}" for k in (8, 32, 128)))
        for n in targets:
            print(f"{n:>10}" + "".join(f"{project(a, b, g, n, k):>13.1f}s" for k in (8, 32, 128)))
    if bad:
        print("FAIL: local cluster scores differ from in-process by more than 1e-9", file=sys.stderr)
        return 1
    if args.multiverse:
        import pandas as pd

        with tempfile.TemporaryDirectory() as tmpd:
            recs, tabs = {}, {}
            for k in (0, w):
                out = Path(tmpd) / f"mv_{k}.json"
                subprocess.run([sys.executable, __file__, "--mv-child", str(k), str(out), str(int(args.mv_bayes))],
                               check=True)
                recs[k] = json.loads(out.read_text())
                tabs[k] = pd.read_csv(out.with_suffix(".csv"))
        same = tabs[0].equals(tabs[w])
        print(f"\nmultiverse of the paper's study (synthetic panel), {recs[0]['universes']} universes:")
        print(f"{'':>14}{'seconds':>10}{'load':>7}")
        print(f"{'in-process':>14}{recs[0]['wall']:>10.1f}{recs[0]['load']:>7.1f}")
        print(f"{'local:' + str(w):>14}{recs[w]['wall']:>10.1f}{recs[w]['load']:>7.1f}   "
              f"ratio {recs[w]['wall'] / recs[0]['wall']:.2f}x (cluster start-up included)")
        print(f"results identical: {same}")
        for e in recs[0]["summary"]:
            print(f"  {e['label']}: median {e.get('median_estimate', float('nan')):.4g}, main sign in "
                  f"{e.get('share_main_sign', float('nan')):.0%}, published sign in "
                  f"{e.get('share_published_sign', float('nan')):.0%}, significant in "
                  f"{e.get('share_significant', float('nan')):.0%} of universes")
        if not same:
            print("FAIL: multiverse results differ between in-process and the cluster", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
