"""Design analysis of the paper's study (`ctfp simulate`): coverage of the replica and the Bayesian models over
simulated paper worlds, before and after the calibrated error model became the default.

Runs, into one folder (default runs/bench_simulate; finished worlds are reused on a rerun):

1. the replica T2 (2) alone on --replica-worlds draws (cheap): its calibration (sd / se) and the share of draws
   whose replica has the published sign and stars (0.0248**: positive, p < 0.05, p >= 0.01);
2. the study's [simulate] estimands (replica, headline `ame`, hetero's UA slope) on --worlds draws with the
   study's error model ("after": AR(1) errors + unit-level sds, the default) and with the old iid error model
   ("before": serial = "none", error_scale = "common"), same worlds, same seeds;
2b. (`--stages headline`) the replica and the headline model alone on --worlds draws: the design analysis of the
   normal headline model, timed whole (one compiled structure, its compile included);
3. the replica on --reseed legacy seeds of `synthesize_panel(seed)` (every seed its own world, as
   `ctfp data synth --seed` draws): how often the headline sign flips when the world itself is redrawn.

Prints the coverage table, the wall time per world (the machine's load is printed: heavy jobs here share two
cores) and writes benchmarks/results/simulate.json; with --record, the "after" summary becomes the study's
recorded design analysis (studies/shen_chao_2025/simulate_summary.json) that `ctfp demo`'s report shows.

    /work/heavy .venv/bin/python benchmarks/bench_simulate.py --worlds 100 --record
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--worlds", type=int, default=100, help="draws for the Bayesian comparison (default 100)")
    ap.add_argument("--replica-worlds", type=int, default=100, help="draws for the replica alone (default 100)")
    ap.add_argument("--reseed", type=int, default=30, help="legacy reseeded worlds (default 30)")
    ap.add_argument("--out", default=str(ROOT / "runs" / "bench_simulate"))
    ap.add_argument("--skip-before", action="store_true", help="do not run the iid ('before') error model")
    ap.add_argument("--stages", default="replica,after,before,reseed",
                    help="which stages to run (comma-separated; results of earlier runs are merged in the JSON)")
    ap.add_argument("--record", action="store_true", help="write the after summary as the study's recorded one")
    ap.add_argument("--scheduler", default="",
                    help="where the worlds run (default in-process: the refits use nutpie on numba, compiled once "
                         "per structure, whose chains use both cores; local:N would compile once per worker)")
    args = ap.parse_args(argv)

    from ctfp.core.study_load import load_study
    from ctfp.studies import study_path

    out = Path(args.out)
    study = load_study(study_path())
    sim = study.simulate
    assert sim is not None
    focal = next(e for e in sim.estimands if e.kind == "table")
    print(f"load at start: {load()}", file=sys.stderr)
    stages = set(args.stages.split(","))
    old = ROOT / "benchmarks" / "results" / "simulate.json"
    results: dict = {"load_start": load(), "runs": json.loads(old.read_text()).get("runs", {}) if old.exists() else {}}

    # 1. the replica alone, many draws of the one world
    if "replica" in stages:
        _replica(study, sim, focal, out, args, results)
    # 2. the Bayesian estimands, after and before
    for label, kw in (("after", {}), ("before", {"serial": "none", "error_scale": "common"})):
        if label not in stages or (label == "before" and args.skip_before):
            continue
        _bayes(study, label, kw, out, args, results)
    # 2b. the replica and the headline model alone: the "100 worlds of the normal headline model under 15 minutes"
    # target (one compiled structure; the wall time is the whole run, compile included)
    if "headline" in stages:
        head = next(e for e in sim.estimands if e.kind == "bayes" and not e.split)
        hl_study = dataclasses.replace(study, simulate=dataclasses.replace(sim, estimands=(focal, head)))
        _bayes(hl_study, "headline", {}, out, args, results)
    # 3. legacy reseeding: every seed its own world
    if "reseed" in stages and args.reseed:
        t0 = time.perf_counter()
        results["runs"]["reseed"] = _reseed(study, focal, args.reseed)
        results["runs"]["reseed"]["wall_s"] = time.perf_counter() - t0
        _say("legacy reseeded worlds", results["runs"]["reseed"])

    results["load_end"] = load()
    _save(results)
    print(_table(results))
    return 0


def _replica(study, sim, focal, out: Path, args: argparse.Namespace, results: dict) -> None:
    from ctfp.inference.simulate_study import run_simulate

    rep_study = dataclasses.replace(study, simulate=dataclasses.replace(sim, estimands=(focal,)))
    t0 = time.perf_counter()
    rep = run_simulate(rep_study, out, worlds=args.replica_worlds, progress=True, label="replica",
                       scheduler=args.scheduler)
    w = rep.worlds
    p = _p_values(w)
    results["runs"]["replica"] = {"summary": rep.summary.to_dict("records"), "wall_s": time.perf_counter() - t0,
                                  "computed": rep.meta["computed"],
                                  "published_sign": float((w["estimate"] > 0).mean()),
                                  "published_sign_and_stars": float(((w["estimate"] > 0) & (p < 0.05) & (p >= 0.01)).mean()),
                                  "sign_and_at_least_two_stars": float(((w["estimate"] > 0) & (p < 0.05)).mean())}
    _say("replica alone", results["runs"]["replica"])
    _save(results)


def _bayes(study, label: str, kw: dict, out: Path, args: argparse.Namespace, results: dict) -> None:
    from ctfp.core.atomic import write_json
    from ctfp.inference.simulate_study import build_setup, run_simulate

    setup = build_setup(study, **kw)
    t0 = time.perf_counter()
    res = run_simulate(study, out, worlds=args.worlds, progress=True, setup=setup,
                       label={"after": "simulate", "headline": "simulate_headline"}.get(label, "simulate_iid"),
                       scheduler=args.scheduler)
    wall = time.perf_counter() - t0
    results["runs"][label] = {"summary": res.summary.to_dict("records"), "wall_s": wall,
                              "computed": res.meta["computed"], "meta": res.meta,
                              "s_per_world": wall / max(1, res.meta["computed"]), "load_end": load()}
    _say(label, results["runs"][label])
    _save(results)
    if label == "after" and args.record:
        rec = {**json.loads((out / "simulate" / "summary.json").read_text()),
               "recorded_by": "benchmarks/bench_simulate.py", "load": load()}
        write_json(ROOT / "studies" / "shen_chao_2025" / "simulate_summary.json", rec)
        print("recorded: studies/shen_chao_2025/simulate_summary.json", file=sys.stderr)


def _save(results: dict) -> None:
    """benchmarks/results/simulate.json after every stage (a long run that is stopped keeps what it finished)."""
    from ctfp.core.atomic import write_json

    write_json(ROOT / "benchmarks" / "results" / "simulate.json", {**results, "load_now": load()})


def _p_values(w):  # the replica's two-sided p from its t(G-1) interval: t = est / se, df = 77 (78 cities)
    import numpy as np
    from scipy import stats

    t = (w["estimate"] / w["se"]).to_numpy(float)
    return 2 * stats.t.sf(np.abs(t), 77)


def _reseed(study, focal, n: int) -> dict:
    """T2 (2) on `synthesize_panel(seed)` for seeds 1..n, through the study's own derivations and DEA."""
    import numpy as np

    import ctfp.inference.simulate_study as ss
    from ctfp.models.worlds.draws import WorldDraw
    from ctfp.models.worlds.paper import synthesize_panel

    setup = ss.build_setup(dataclasses.replace(study, simulate=dataclasses.replace(study.simulate,
                                                                                   estimands=(focal,))))
    est, se, truth = [], [], []
    for seed in range(1, n + 1):
        raw, tr = synthesize_panel(seed)
        slope = raw["city"].astype(int).astype(str).map(tr["ctfp_beta_city"]).to_numpy(float)
        frame = ss.analysis_frame(setup, WorldDraw(raw, tr, slope, "ctfp", "ai", "raw", f"seed {seed}"))
        r = ss.replica_record(setup, focal, frame, slope)
        est.append(r["estimate"])
        se.append(r["se"])
        truth.append(r["truth"])
    est, se, truth = np.array(est), np.array(se), np.array(truth)
    from scipy import stats

    p = 2 * stats.t.sf(np.abs(est / se), 77)
    return {"seeds": n, "published_sign": float((est > 0).mean()),
            "published_sign_and_stars": float(((est > 0) & (p < 0.05) & (p >= 0.01)).mean()),
            "sign_and_at_least_two_stars": float(((est > 0) & (p < 0.05)).mean()),
            "truth_positive": float((truth > 0).mean()), "truth_min": float(truth.min()), "truth_max": float(truth.max()),
            "estimate_sd": float(est.std(ddof=1)), "mean_se": float(se.mean())}


def _say(what: str, d: dict) -> None:
    print(f"[{what}] load {load()}: " + json.dumps({k: v for k, v in d.items() if k not in ("summary", "meta")},
                                                  default=float), file=sys.stderr)


def _table(results: dict) -> str:
    lines = ["| run | method | worlds | coverage | power | type S | type M | mean width | sd/se | gate passed |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for label in ("replica", "before", "after", "headline"):
        run = results["runs"].get(label)
        if not run:
            continue
        for r in run["summary"]:
            def f(key: str, digits: int = 2, r: dict = r) -> str:  # sd/se is undefined (None) for one world
                return "n/a" if r[key] is None else f"{r[key]:.{digits}f}"
            lines.append(f"| {label} | {r['method']} | {r['worlds']} | {f('coverage')} | {f('power')} | "
                         f"{f('type_s')} | {f('type_m')} | {f('mean_width', 4)} | {f('sd_over_se')} | "
                         f"{f('gate_passed')} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
