"""Benchmark of the panel replicas (plain script; prints figures, asserts nothing about speed).

1. All of the paper study's Tables 2–6 (`run_tables`) with 6 splits × 1000 city-level permutations on a 78 × 16
   panel (target < 30 s on 2 cores).
2. The permutation step on the same 100 permutations of one split: the core's batched refits beside a loop of
   pyfixest calls (two `feols` per permutation), with the permuted differences checked equal (target ≥ 10×).

Uses the simulated panel of `ctfp.models.panel.sim` (contract column names, 78 × 16); `--synthetic` uses the
embedded paper-world panel instead, which first runs the DEA step (minutes, not part of the timing).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ctfp.core.expr import evaluate
from ctfp.core.study_load import load_study
from ctfp.inference.tables import run_tables
from ctfp.models.panel import groupdiff as gd
from ctfp.models.panel.sim import CONTROLS, simulate_analysis_panel
from ctfp.studies import study_path


def _panel(synthetic: bool) -> tuple[pd.DataFrame, str]:
    if synthetic:  # builds the paper-world panel and scores it by DEA first (minutes): opt-in
        from ctfp.inference.prepare import load_analysis_panel

        return load_analysis_panel(None), "embedded synthetic paper-world panel"
    return simulate_analysis_panel(seed=2025), "simulated panel with the contract's columns (models.panel.sim)"


def main() -> int:
    panel, what = _panel("--synthetic" in sys.argv[1:])
    n_c, n_t = panel["city"].nunique(), panel["year"].nunique()
    print(f"panel: {what}, {n_c} cities x {n_t} years, N = {len(panel)}")

    if "l_ai" not in panel.columns:  # the study's [data.derive] l_ai = "lag(ai)"
        panel = panel.assign(l_ai=evaluate("lag(ai)", panel, unit="city", time="year"))
    study = load_study(study_path())
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        run_tables(study, panel, Path(tmp), progress=False)
        t_all = time.perf_counter() - t0
    print(f"Tables 2-6 incl. 6 splits x 1000 city-level permutations: {t_all:.2f} s (target < 30 s)")

    x = ["ai", *CONTROLS]
    split = "g_ua"
    grid = gd.build_grid(panel, "ctfp", x)
    labels = gd.grid_labels(panel, split, grid)
    reps = 100
    masks = gd.permutation_masks(labels, reps, np.random.default_rng(7), "city")

    t0 = time.perf_counter()
    b = gd.split_coefs(grid, masks.reshape(2 * reps, *labels.shape))[:, 0].reshape(reps, 2)
    core = b[:, 0] - b[:, 1]
    t_core = time.perf_counter() - t0

    import pyfixest as pf

    cell_city = {c: i for i, c in enumerate(grid.units)}
    cell_year = {t: j for j, t in enumerate(grid.times)}
    ci = panel["city"].map(cell_city).to_numpy()
    ti = panel["year"].map(cell_year).to_numpy()
    fml = f"ctfp ~ {' + '.join(x)} | city + year"
    t0 = time.perf_counter()
    ref = np.empty(reps)
    for r in range(reps):
        coefs = []
        for g in (0, 1):
            sub = panel.loc[masks[r, g][ci, ti]]
            coefs.append(pf.feols(fml, sub, vcov="iid").coef()["ai"])
        ref[r] = coefs[0] - coefs[1]
    t_pf = time.perf_counter() - t0
    gap = float(np.max(np.abs(core - ref)))
    print(f"permutation step, {reps} permutations of {split} (2 two-way FE fits each):")
    print(f"  ctfp batched FWL  {t_core:8.3f} s")
    print(f"  pyfixest loop     {t_pf:8.3f} s")
    print(f"  speed-up          {t_pf / t_core:8.1f} x (target >= 10 x); max |diff gap| = {gap:.2e}")
    return 0 if gap < 1e-8 else 1


if __name__ == "__main__":
    sys.exit(main())
