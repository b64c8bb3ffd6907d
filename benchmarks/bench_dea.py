"""Benchmark: ctfp's DEA engines vs a plain per-DMU scipy.optimize.linprog loop (SBM, undesirable CO2).

Case: 78 cities x 16 years = 1248 DMUs, 3 inputs (labour, capital, energy), 2 good outputs (real GDP, green
coverage), 1 bad output (CO2), global CRS frontier, synthetic data with a fixed seed. The plain loop builds
the full linearised SBM over all n columns for every DMU (the textbook method). Engines: "batch" (default:
compiled dense simplex over a candidate pool, every solution certified by pricing all columns) and "highs"
(the previous engine: one warm HiGHS model, priced pool). All must agree with the loop to 1e-9.
Then the growth table (1,248 / 5,000 / 20,000 / 50,000 DMUs): wall time, time per DMU, peak RSS.
The batch engine's first call in a process loads its compiled code (numba cache; compiled once per machine):
that one-off cost is printed separately, the ratios use warm calls.

    python benchmarks/bench_dea.py            # full run (the linprog loop takes ~20 s on a quiet machine)
    python benchmarks/bench_dea.py --quick    # small run for a smoke test
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc

import numpy as np
import pandas as pd

from ctfp.models.dea import run_dea

INPUTS = ["labor", "capital", "energy"]
GOOD = ["rgdp", "green"]
BAD = ["co2"]


def synth(units: int, years: int = 16, seed: int = 20251201) -> pd.DataFrame:
    """City-like panel: size heterogeneity, capital deepening, Cobb-Douglas output with inefficiency."""
    rng = np.random.default_rng(seed)
    size = rng.lognormal(0.0, 0.8, units)[:, None]
    t = np.arange(years)[None, :]
    labor = 50 * size * np.exp(rng.normal(0, 0.1, (units, years)) + 0.005 * t)
    capital = 2000 * size * np.exp(rng.normal(0, 0.25, (units, years)) + 0.09 * t)
    energy = 800 * size * np.exp(rng.normal(0, 0.2, (units, years)) + 0.03 * t)
    tfp = np.exp(0.02 * t + rng.normal(0, 0.15, (units, 1)))
    ineff = np.exp(-np.abs(rng.normal(0, 0.3, (units, years))))
    rgdp = 3.0 * tfp * ineff * labor**0.35 * capital**0.45 * energy**0.2
    green = np.clip(36 + rng.normal(0, 4, (units, 1)) + 0.3 * t + rng.normal(0, 1.5, (units, years)), 15, 60)
    co2 = energy * 2.4 * np.exp(rng.normal(0, 0.15, (units, years)) - 0.01 * t)
    return pd.DataFrame({
        "city": np.repeat(np.arange(units), years), "year": np.tile(2006 + np.arange(years), units),
        "labor": labor.ravel(), "capital": capital.ravel(), "energy": energy.ravel(),
        "rgdp": rgdp.ravel(), "green": green.ravel(), "co2": co2.ravel(),
    })


def plain_linprog(df: pd.DataFrame) -> np.ndarray:
    """Textbook loop: one dense linearised SBM LP over all n columns per DMU (scipy/HiGHS), mean-scaled."""
    from scipy.optimize import linprog

    x = (df[INPUTS] / df[INPUTS].mean()).to_numpy().T
    yg = (df[GOOD] / df[GOOD].mean()).to_numpy().T
    yb = (df[BAD] / df[BAD].mean()).to_numpy().T
    m, s1, s2 = len(x), len(yg), len(yb)
    s, n = s1 + s2, x.shape[1]
    # variables: t, Lambda (n), S- (m), Sg (s1), Sb (s2)
    nv = 1 + n + m + s1 + s2
    scores = np.empty(n)
    for o in range(n):
        c = np.zeros(nv)
        c[0] = 1.0
        c[1 + n : 1 + n + m] = -1.0 / (m * x[:, o])
        a = np.zeros((1 + m + s1 + s2, nv))
        b = np.zeros(1 + m + s1 + s2)
        a[0, 0] = 1.0
        a[0, 1 + n + m : 1 + n + m + s1] = 1.0 / (s * yg[:, o])
        a[0, 1 + n + m + s1 :] = 1.0 / (s * yb[:, o])
        b[0] = 1.0
        a[1 : 1 + m, 0] = x[:, o]
        a[1 : 1 + m, 1 : 1 + n] = -x
        a[1 : 1 + m, 1 + n : 1 + n + m] = -np.eye(m)
        a[1 + m : 1 + m + s1, 0] = yg[:, o]
        a[1 + m : 1 + m + s1, 1 : 1 + n] = -yg
        a[1 + m : 1 + m + s1, 1 + n + m : 1 + n + m + s1] = np.eye(s1)
        a[1 + m + s1 :, 0] = yb[:, o]
        a[1 + m + s1 :, 1 : 1 + n] = -yb
        a[1 + m + s1 :, 1 + n + m + s1 :] = -np.eye(s2)
        res = linprog(c, A_eq=a, b_eq=b, bounds=(0, None), method="highs")
        if res.status != 0:
            raise RuntimeError(f"linprog failed for DMU {o}: {res.message}")
        scores[o] = res.fun
    return scores


def engine(df: pd.DataFrame, kind: str = "batch") -> pd.DataFrame:
    return run_dea(df, INPUTS, GOOD, BAD, id_col="city", period_col="year", model="sbm", rts="crs",
                   frontier="global", engine=kind)


def load() -> str:
    """The 1-minute load average and core count: figures on a shared machine are noisy, ratios less so."""
    import os

    return f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    args = ap.parse_args(argv)
    units = 20 if args.quick else 78
    df = synth(units)
    print(f"SBM undesirable, global CRS, {len(df)} DMUs ({units} units x 16 years), 3 inputs, 2 good, 1 bad; {load()}")
    t0 = time.perf_counter()
    engine(synth(4))
    t_first = time.perf_counter() - t0
    if not args.quick:
        engine(synth(260))  # 4,160 DMUs: also loads the pruned pricing (used from 4,000 reference DMUs)
    t0 = time.perf_counter()
    ours = engine(df)
    t_engine = time.perf_counter() - t0
    t0 = time.perf_counter()
    highs = engine(df, "highs")
    t_highs = time.perf_counter() - t0
    t0 = time.perf_counter()
    ref = plain_linprog(df)
    t_plain = time.perf_counter() - t0
    diff = float(np.max(np.abs(ours["efficiency"].to_numpy() - ref)))
    diff_h = float(np.max(np.abs(highs["efficiency"].to_numpy() - ref)))
    print(f"{'method':<44}{'seconds':>10}{'ratio to loop':>15}")
    print(f"{'plain scipy linprog loop':<44}{t_plain:>10.3f}{1.0:>14.1f}x")
    print(f"{'ctfp highs engine (warm HiGHS, priced pool)':<44}{t_highs:>10.3f}{t_plain / t_highs:>14.1f}x")
    print(f"{'ctfp batch engine (default)':<44}{t_engine:>10.3f}{t_plain / t_engine:>14.1f}x")
    print(f"batch engine first call in this process (loads compiled code): {t_first:.2f} s, once")
    print(f"max |score difference| vs loop: batch {diff:.1e}, highs {diff_h:.1e}; efficient DMUs "
          f"{int(ours['efficient'].sum())}; LP solves {ours.attrs['lp_solves']}; HiGHS fallbacks "
          f"{ours.attrs['highs_fallback']}")
    if max(diff, diff_h) > 1e-9:
        print("FAIL: scores differ by more than 1e-9", file=sys.stderr)
        return 1

    sizes = [312, 1248, 2496] if args.quick else [1248, 5000, 20000, 50000]
    # Time without tracemalloc (it slows numpy-heavy loops several-fold); memory: the process's peak RSS
    # so far (sizes ascend, so each row's figure is the peak of the largest run yet; includes the
    # interpreter, numpy, pandas and HiGHS), and a tracemalloc pass on the smallest size for Python-side
    # allocations.
    print(f"\ngrowth, batch engine ({load()}); highs engine beside it up to 20,000 DMUs")
    print(f"{'DMUs':>8}{'seconds':>10}{'us/DMU':>10}{'peak RSS MiB':>14}{'efficient':>11}{'LP solves':>11}"
          f"{'highs s':>10}{'ratio':>8}")
    for n in sizes:
        big = synth(-(-n // 16), seed=7).iloc[:n]
        t0 = time.perf_counter()
        r = engine(big)
        dt = time.perf_counter() - t0
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        hs, ratio = "", ""
        if n <= 20000:
            t0 = time.perf_counter()
            h = engine(big, "highs")
            th = time.perf_counter() - t0
            assert float(np.max(np.abs(h["efficiency"].to_numpy() - r["efficiency"].to_numpy()))) < 1e-9
            hs, ratio = f"{th:.2f}", f"{th / dt:.1f}x"
        print(f"{n:>8}{dt:>10.2f}{dt / n * 1e6:>10.0f}{rss:>14.0f}{int(r['efficient'].sum()):>11}"
              f"{r.attrs['lp_solves']:>11}{hs:>10}{ratio:>8}")
    small = synth(-(-sizes[0] // 16), seed=7).iloc[: sizes[0]]
    tracemalloc.start()
    engine(small)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"tracemalloc peak for {sizes[0]} DMUs: {peak / 2**20:.1f} MiB (Python/numpy allocations only)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
