"""Calibration table of the SYNTHETIC paper-world panel: Table 1 moments, SBM recovery, replicas vs published.

    .venv/bin/python benchmarks/calibrate_synth.py [--seed N] [--no-dea]

synthesize -> derive -> CTFP by the package's SBM (models.dea; global, CRS, non-oriented) -> the paper study's
Tables 2-6 (`run_tables` on studies/shen_chao_2025/study.toml). Prints the Table 1 comparison, how
far the DEA scores are from the DGP's construction target, and for each published AI coefficient whether it
lies inside the replica's 95% interval with the same sign. Not a test: a diagnostic worth rerunning after any
change to models/worlds/paper*.py or the derive/DEA steps. Takes a few seconds.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd

from ctfp.core.errors import NumericalError
from ctfp.core.expr import evaluate
from ctfp.core.study_load import load_study
from ctfp.data.derive import derive_analysis_panel
from ctfp.data.table1 import compare_table1
from ctfp.inference.tables import run_tables
from ctfp.models.worlds.paper import DEFAULT_SEED, synthesize_panel
from ctfp.studies import study_path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--no-dea", action="store_true", help="use the DGP's target scores instead of running DEA")
    args = ap.parse_args()
    t0 = time.time()
    raw, truth = synthesize_panel(args.seed)
    print(f"synthesize: {time.time() - t0:.1f} s; {len(truth['anchors'])} anchors; "
          f"capital scaled in {truth['capital_multiple']['cities_scaled']} cities")
    panel = derive_analysis_panel(raw.drop(columns=["synthetic"]))
    target = pd.DataFrame(truth["ctfp"]).rename(columns={"value": "ctfp_target"})
    panel = panel.merge(target, on=["city", "year"], how="left", validate="one_to_one")
    if args.no_dea:
        panel["ctfp"] = panel["ctfp_target"]
    else:
        from ctfp.models.dea import run_dea

        t1 = time.time()
        sc = run_dea(panel, ["labor", "capital", "energy"], ["rgdp", "green"], ["co2"], id_col="city",
                     period_col="year", model="sbm", orientation="none", rts="crs", frontier="global")
        panel = panel.merge(sc[["city", "year", "efficiency"]].rename(columns={"efficiency": "ctfp"}),
                            on=["city", "year"], how="left", validate="one_to_one")
        try:
            bcc = run_dea(panel, ["labor", "capital", "energy"], ["rgdp", "green"], ["co2"], id_col="city",
                          period_col="year", model="bcc", orientation="input", frontier="global",
                          bad_treatment="negative_normalisation")
            panel = panel.merge(bcc[["city", "year", "efficiency"]].rename(columns={"efficiency": "ctfp_bcc"}),
                                on=["city", "year"], how="left", validate="one_to_one")
        except NumericalError as exc:  # reported, not hidden: the robustness score is then missing
            print(f"BCC robustness score failed: {exc}")
        gap = (panel["ctfp"] - panel["ctfp_target"]).abs()
        print(f"DEA: {time.time() - t1:.1f} s; |DEA score - DGP target|: max {gap.max():.2e}, "
              f"mean {gap.mean():.2e}, > 1e-4 in {(gap > 1e-4).sum()} rows")
    t1 = compare_table1(panel)
    print("\nTable 1 (published | synthetic), relative gaps")
    for _, r in t1.iterrows():
        print(f"  {r['variable']:6s} mean {r['mean_published']:8.4f} | {r['mean']:8.4f} ({r['mean_rel_diff']:+.2f})"
              f"  sd {r['sd_published']:7.4f} | {r['sd']:7.4f} ({r['sd_rel_diff']:+.2f})  max {r['max_published']:7.3f}"
              f" | {r['max']:7.3f}{'  FLAG' if r['flag'] else ''}")
    print(f"\ntruth: ctfp_beta_ai {truth['ctfp_beta_ai']:+.4f}; split estimands {truth['ctfp_beta_split_estimand']}")
    print("\npublished | replica (t) [95% CI] verdict (the paper study's tables, 100 permutations per test)")
    panel = panel.assign(l_ai=evaluate("lag(ai)", panel, unit="city", time="year"))  # the study's derive
    study = load_study(study_path())
    study = replace(study, tables=tuple(replace(t, tests=tuple(replace(d, permutations=100) for d in t.tests))
                                        for t in study.tables))
    with tempfile.TemporaryDirectory() as tmp:
        rep = run_tables(study, panel, Path(tmp), progress=False).replicas
    coef = rep[(rep["kind"] == "coef") & rep["published_estimate"].notna()]
    for r in coef.itertuples(index=False):
        if pd.isna(r.estimate):
            print(f"{r.table} {r.column:5s} {r.term:9s} {r.published_estimate:+.4g} | not estimated: {r.note}")
            continue
        ok = bool(r.sign_agrees) and bool(r.published_in_ci)
        print(f"{r.table} {r.column:5s} {r.term:9s} {r.published_estimate:+.4g} | {r.estimate:+.4g} ({r.t:+.2f}) "
              f"[{r.ci_low:+.4g}, {r.ci_high:+.4g}] {'OK' if ok else 'MISS'}  N={r.nobs}")
    print(f"\ntotal {time.time() - t0:.1f} s")


if __name__ == "__main__":
    main()
