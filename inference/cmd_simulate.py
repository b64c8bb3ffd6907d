"""`ctfp simulate STUDY --worlds R [--effect X] [--seed S] [--scheduler ...] --out DIR`: the design analysis.

Draws R panels from the study's data-generating process (its preset's world on the embedded panel, else a
parametric bootstrap of its own fitted table column), runs the [simulate] estimands on each and reports
coverage, power, type S / M, mean width and sd / se per method (inference/simulate_study.py).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "simulate", help="design analysis: coverage, power, type S / M of every estimand over simulated worlds",
        description="Draw R panels from the study's data-generating process with a known true effect, estimate the "
        "study's [simulate] estimands on each, and write simulate/worlds.csv, simulate/summary.csv and "
        "figures/simulate_intervals.png under --out. Finished worlds are reused on a rerun.")
    p.add_argument("study", help="study file (.toml) with a [simulate] section")
    p.add_argument("--worlds", type=int, default=None, metavar="R",
                   help="number of simulated panels (default: [simulate] worlds)")
    p.add_argument("--effect", type=float, default=None, metavar="X",
                   help="the true effect of the table estimand's term (default: [simulate] effect, else the "
                        "published estimate, else the world's default)")
    p.add_argument("--seed", type=int, default=None, metavar="S", help="seed of the worlds (default: [simulate] seed)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (may be a run folder)")
    p.add_argument("--panel", help="panel file; replaces [data] panel of the study (then: a bootstrap world)")
    p.add_argument("--scheduler", default="", metavar="WHERE",
                   help="\"\" in-process (default; else the study's [compute] scheduler), local:N or tcp://HOST:PORT")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar on stderr, counting worlds (default: only when stderr is a terminal)")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from ctfp.core.errors import InputError
    from ctfp.core.study_load import load_study, with_panel
    from ctfp.inference.compute import parse_scheduler
    from ctfp.inference.quiet import quiet
    from ctfp.inference.simulate_study import run_simulate

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: is a file; give a folder")
    if args.worlds is not None and args.worlds < 1:
        raise InputError(f"--worlds {args.worlds}: give at least 1 world")
    if args.effect is not None and not math.isfinite(args.effect):
        raise InputError(f"--effect {args.effect}: give a finite number")
    if args.seed is not None and args.seed < 0:
        raise InputError(f"--seed {args.seed}: give a non-negative whole number")
    parse_scheduler(args.scheduler)
    study = load_study(args.study)
    if args.panel:
        study = with_panel(study, args.panel)
    out.mkdir(parents=True, exist_ok=True)
    with quiet(out, verbose=False):
        res = run_simulate(study, out, worlds=args.worlds, effect=args.effect, seed=args.seed,
                           scheduler=args.scheduler, progress=args.progress)
    m = res.meta
    print(f"ctfp simulate: {m['worlds']} worlds ({m['computed']} computed, {m['reused']} reused; {m['world']}, true "
          f"effect {m['effect']:.4g} from {m['effect_source']}) -> {out / 'simulate' / 'summary.csv'}",
          file=sys.stderr)
    for r in res.summary.to_dict("records"):
        gate = "no gate" if r["gate_passed"] != r["gate_passed"] else f"gate passed {r['gate_passed']:.0%}"  # NaN
        print(f"  {r['method']}: coverage {r['coverage']:.2f}, power {r['power']:.2f}, type S {r['type_s']:.2f}, "
              f"type M {r['type_m']:.2f}, mean width {r['mean_width']:.4g}, sd/se {r['sd_over_se']:.2f}, {gate}",
              file=sys.stderr)
    return 0
