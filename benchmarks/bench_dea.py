"""Benchmark: the priced DEA engine vs a plain per-DMU scipy.optimize.linprog loop (SBM, undesirable CO2).

Case: 78 cities x 16 years = 1248 DMUs, 3 inputs (labour, capital, energy), 2 good outputs (real GDP, green
coverage), 1 bad output (CO2), global CRS frontier, synthetic data with a fixed seed. The plain loop builds
the full linearised SBM over all n columns for every DMU (the textbook method). Both must agree to 1e-6.
Then the engine alone on growing panels (up to 20,000 DMUs): wall time and peak memory.

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


def engine(df: pd.DataFrame) -> pd.DataFrame:
    return run_dea(df, INPUTS, GOOD, BAD, id_col="city", period_col="year", model="sbm", rts="crs",
                   frontier="global")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    args = ap.parse_args(argv)
    units = 20 if args.quick else 78
    df = synth(units)
    print(f"SBM undesirable, global CRS, {len(df)} DMUs ({units} units x 16 years), 3 inputs, 2 good, 1 bad")
    t0 = time.perf_counter()
    ours = engine(df)
    t_engine = time.perf_counter() - t0
    t0 = time.perf_counter()
    ref = plain_linprog(df)
    t_plain = time.perf_counter() - t0
    diff = float(np.max(np.abs(ours["efficiency"].to_numpy() - ref)))
    print(f"{'method':<34}{'seconds':>10}")
    print(f"{'plain scipy linprog loop':<34}{t_plain:>10.2f}")
    print(f"{'ctfp engine (priced, pooled LPs)':<34}{t_engine:>10.2f}")
    print(f"speed-up {t_plain / t_engine:.1f}x; max |score difference| = {diff:.2e}; "
          f"efficient DMUs {int(ours['efficient'].sum())}; LP solves {ours.attrs['lp_solves']}")
    if diff > 1e-6:
        print("FAIL: scores differ by more than 1e-6", file=sys.stderr)
        return 1

    sizes = [312, 1248, 2496] if args.quick else [1248, 5000, 10000, 20000]
    # Time without tracemalloc (it slows numpy-heavy loops several-fold); memory: the process's peak RSS
    # so far (sizes ascend, so each row's figure is the peak of the largest run yet; includes the
    # interpreter, numpy, pandas and HiGHS), and a tracemalloc pass on the smallest size for Python-side
    # allocations.
    print(f"\n{'DMUs':>8}{'seconds':>10}{'us/DMU':>10}{'peak RSS MiB':>14}{'efficient':>11}{'LP solves':>11}")
    for n in sizes:
        big = synth(-(-n // 16), seed=7).iloc[:n]
        t0 = time.perf_counter()
        r = engine(big)
        dt = time.perf_counter() - t0
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{n:>8}{dt:>10.2f}{dt / n * 1e6:>10.0f}{rss:>14.0f}{int(r['efficient'].sum()):>11}"
              f"{r.attrs['lp_solves']:>11}")
    small = synth(-(-sizes[0] // 16), seed=7).iloc[: sizes[0]]
    tracemalloc.start()
    engine(small)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"tracemalloc peak for {sizes[0]} DMUs: {peak / 2**20:.1f} MiB (Python/numpy allocations only)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
