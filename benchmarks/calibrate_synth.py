"""Calibration table of the SYNTHETIC paper-world panel: Table 1 moments, SBM recovery, replicas vs published.

    .venv/bin/python benchmarks/calibrate_synth.py [--seed N] [--no-dea]

synthesize -> derive -> CTFP by the package's SBM (models.dea; global, CRS, non-oriented) -> the replicas
(models.panel_estimators, city-clustered two-way FE; Table 4 by FE-2SLS). Prints the Table 1 comparison, how
far the DEA scores are from the DGP's construction target, and for each published AI coefficient whether it
lies inside the replica's 95% interval with the same sign. Not a test: a diagnostic worth rerunning after any
change to data/synth*.py or the derive/DEA steps. Takes a few seconds.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from ctfp.core.errors import NumericalError
from ctfp.data.derive import derive_analysis_panel
from ctfp.data.synth import DEFAULT_SEED, synthesize_panel
from ctfp.data.table1 import compare_table1
from ctfp.models.panel.estimators import fit_iv, fit_ols

CONTROLS = ["pop", "hum", "lninf", "isu", "trade", "er", "tec"]
FE = ["city", "year"]


def _cell(res, name: str, published: float) -> str:
    i = res.names.index(name)
    b, se = float(res.coef[i]), float(res.se[i])
    lo, hi = b - 1.96 * se, b + 1.96 * se
    ok = lo <= published <= hi and np.sign(b) == np.sign(published)
    return f"{published:+.4f} | {b:+.4f} ({b / se:+.2f}) [{lo:+.4f}, {hi:+.4f}] {'OK' if ok else 'MISS'}"


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
    print("\npublished | replica (t) [95% CI] verdict")
    ctl = CONTROLS
    print("T2 (1) AI      ", _cell(fit_ols(panel, "ctfp", ["ai"], absorb=FE, cluster="city"), "ai", 0.0224))
    print("T2 (2) AI+X    ", _cell(fit_ols(panel, "ctfp", ["ai", *ctl], absorb=FE, cluster="city"), "ai", 0.0248))
    print("T2 (3) scale   ", _cell(fit_ols(panel, "ctfp", ["scale"], absorb=FE, cluster="city"), "scale", 0.0154))
    print("T2 (4) scale+X ", _cell(fit_ols(panel, "ctfp", ["scale", *ctl], absorb=FE, cluster="city"), "scale",
                                   0.0172))
    print("T3 (1) ai_kw1  ", _cell(fit_ols(panel, "ctfp", ["ai_kw1", *ctl], absorb=FE, cluster="city"), "ai_kw1",
                                   0.1384))
    print("T3 (2) scl_kw1 ", _cell(fit_ols(panel, "ctfp", ["scale_kw1", *ctl], absorb=FE, cluster="city"),
                                   "scale_kw1", 0.1035))
    lagged = panel.sort_values(["city", "year"]).copy()
    lagged["l_ai"] = lagged.groupby("city")["ai"].shift(1)
    lagged = lagged.dropna(subset=["l_ai"])
    print("T3 (4) L.AI    ", _cell(fit_ols(lagged, "ctfp", ["l_ai", *ctl], absorb=FE, cluster="city"), "l_ai",
                                   0.0270))
    print("T3 (5) provyear", _cell(fit_ols(panel, "ctfp", ["ai", *ctl], absorb=FE, cluster="provyear"), "ai",
                                   0.0248))
    print("T3 (6) +newinf ", _cell(fit_ols(panel, "ctfp", ["ai", *ctl, "newinf", "gfin"], absorb=FE,
                                           cluster="city"), "ai", 0.0235))
    for z, pub in (("iv_tel", 0.0285), ("iv_res", 0.0530)):
        iv = fit_iv(panel, "ctfp", "ai", z, exog=ctl, absorb=FE, cluster="city")
        fs = iv.first_stage
        print(f"T4 {z}     ", _cell(iv, "ai", pub),
              f"| first stage {fs.coef[0]:.3e} (t {fs.t[0]:.2f}), KP Wald F {fs.f_stat:.1f}")
    for m, pub in (("dig1", 0.0048), ("dig2", 0.0592), ("green1", 0.0621), ("green2", 0.0097)):
        print(f"T5 {m:7s}    ", _cell(fit_ols(panel, m, ["ai", *ctl], absorb=FE, cluster="city"), "ai", pub))
    for g, lvl, pub in (("g_ua", 1, 0.0254), ("g_ua", 0, -0.4827), ("g_resource", 1, -0.1356),
                        ("g_resource", 0, 0.0276)):
        sub = panel[panel[g] == lvl]
        print(f"T6 {g}={lvl}  ", _cell(fit_ols(sub, "ctfp", ["ai", *ctl], absorb=FE, cluster="city"), "ai", pub),
              f"N={len(sub)}")
    if "ctfp_bcc" in panel.columns:
        print("T3 (3) BCC     ", _cell(fit_ols(panel, "ctfp_bcc", ["ai", *ctl], absorb=FE, cluster="city"), "ai",
                                       0.0343))
    print(f"\ntotal {time.time() - t0:.1f} s")


if __name__ == "__main__":
    main()
