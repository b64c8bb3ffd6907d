"""The demo's Bayesian fits with an EMPTY compile cache beside the same fits with a warm one, in one run.

For each candidate (sampler:backend, e.g. pymc:c, pymc:numba, nutpie:numba, numpyro:jax) the script makes a
fresh PyTensor base_compiledir (which also holds PyTensor's numba cache) and a fresh NUMBA_CACHE_DIR, runs the
fits in a subprocess (cold), then runs them again in a second subprocess on the same, now warm, directories. Per
model it prints build, compile (sampler call minus the draws), draws and post-processing (log-likelihood and
posterior predictive, which compile their own functions) times, wall, min bulk/tail ESS per second of wall, the
gate (R-hat <= 1.01, bulk and tail ESS >= 400, 0 divergences) and the CPU seconds the fit used; then the totals
and the cold/warm ratio.

The machine may be shared: the load average is printed before and after; compare ratios, not seconds. CPU
seconds do not grow with other people's load: on an idle machine a fit's wall time is at most its CPU time.

Run: .venv/bin/python benchmarks/bench_cold.py [--candidates pymc:c,pymc:numba] [--models headline,iv]
     [--draws 1000 --tune 1000 --chains 4] [--panel runs/demo/panel/analysis.parquet] [--no-warm]
Targets on 2 cores: every first fit < 60 s including compilation; the five fits well inside `ctfp demo` < 4 min.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve()
DEMO_MODELS = ("headline", "censored", "ordbeta", "hetero", "iv")


def _load() -> str:
    a, b, c = os.getloadavg()
    return f"load average {a:.1f} {b:.1f} {c:.1f} on {os.cpu_count()} cores"


def demo_panel(path: str | None) -> Path:
    """The demo's analysis panel: the given file, or one made by `ctfp demo --no-bayes` in a temp folder."""
    if path:
        return Path(path)
    out = Path(tempfile.mkdtemp(prefix="ctfp-bench-panel-"))
    subprocess.run([sys.executable, "-m", "ctfp.inference", "demo", "--no-bayes", "--no-progress", "--out",
                    str(out / "run")], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return out / "run" / "panel" / "analysis.parquet"


def _cpu() -> float:
    """CPU seconds of this process (all threads) and of its finished children (PyMC's chain processes)."""
    import resource

    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + kids.ru_utime + kids.ru_stime


def worker(args: argparse.Namespace) -> None:
    """One process: fit the chosen demo models with one candidate; print one RESULT line per model."""
    warnings.filterwarnings("ignore")
    t_imp = time.perf_counter()
    import pandas as pd

    from ctfp.core.study_load import load_study
    from ctfp.inference.diagnostics import check_gate
    from ctfp.inference.fit import spec_from_dicts
    from ctfp.inference.sampling import SamplerConfig, sample_model
    from ctfp.models.bayes.builder import build_from_design
    from ctfp.models.bayes.design import make_design
    from ctfp.studies import study_path

    print(f"RESULT {json.dumps({'import_s': time.perf_counter() - t_imp})}", flush=True)
    study = load_study(study_path())  # the demo's study
    panel = pd.read_parquet(args.panel) if args.panel.endswith(".parquet") else pd.read_csv(args.panel)
    sampler, backend = args.candidate.split(":")
    cfg = SamplerConfig(sampler=sampler, backend=backend, draws=args.draws, tune=args.tune, chains=args.chains,
                        seed=args.seed, target_accept=study.bayes.target_accept)
    models = {m.name: m for m in study.bayes.models}
    for name in args.models.split(","):
        t0, c0 = time.perf_counter(), _cpu()
        m = models[name]  # as the pipeline's bayes step maps a study model onto a spec
        entry = {"name": m.name, "likelihood": m.likelihood, "mundlak": m.mundlak, "by": list(m.by),
                 "serial": m.serial, "error_scale": m.error_scale, "censor_at": m.censor_at, **({"instrument": m.instrument} if m.instrument else {}),
                 **({"priors": dict(m.priors)} if m.priors else {})}
        variables = {"outcome": m.outcome, "treatment": m.treatment, "controls": list(m.controls)}
        bspec = spec_from_dicts(variables, entry, study.data.unit, study.data.time)
        design = make_design(panel, bspec)
        model = build_from_design(design, bspec)
        t_build = time.perf_counter() - t0
        dt = sample_model(model, cfg, progress=False)
        wall = time.perf_counter() - t0
        gate = check_gate(dt, warn=False)
        row = {
            "model": name, "build_s": t_build, "compile_s": dt.attrs["compile_s"], "draws_s": dt.attrs["draws_s"],
            "post_s": dt.attrs["postprocess_s"], "wall_s": wall, "min_ess_bulk": gate.min_ess_bulk,
            "min_ess_tail": gate.min_ess_tail, "max_rhat": gate.max_rhat, "divergences": gate.divergences,
            "gate": gate.passed, "ame": float(dt["posterior"]["ame"].mean()), "cpu_s": _cpu() - c0,
        }
        print(f"RESULT {json.dumps(row)}", flush=True)


def run_candidate(candidate: str, args: argparse.Namespace, panel: Path, cache: Path, label: str) -> list[dict]:
    env = dict(os.environ)
    flags = [f"base_compiledir={cache / 'pytensor'}"]
    if args.pytensor_flags:
        flags.append(args.pytensor_flags)
    env["PYTENSOR_FLAGS"] = ",".join(flags)
    env["NUMBA_CACHE_DIR"] = str(cache / "numba")
    env["CTFP_JAX_CACHE"] = str(cache / "jax")  # XLA's compiled programs: empty on the cold pass, filled on the warm
    cmd = [sys.executable, str(HERE), "--worker", "--candidate", candidate, "--panel", str(panel), "--models",
           args.models, "--draws", str(args.draws), "--tune", str(args.tune), "--chains", str(args.chains),
           "--seed", str(args.seed)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    total = time.perf_counter() - t0
    if proc.returncode != 0:
        print(f"{candidate} ({label}) failed:\n{proc.stderr[-3000:]}", file=sys.stderr)
        return []
    rows = [json.loads(line[7:]) for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    head = rows.pop(0)
    for r in rows:
        r.update(candidate=candidate, cache=label)
    rows.append({"candidate": candidate, "cache": label, "model": "TOTAL (process)", "wall_s": total,
                 "import_s": head["import_s"]})
    return rows


def print_rows(rows: list[dict]) -> None:
    head = (f"{'candidate':<14}{'cache':<6}{'model':<17}{'build':>7}{'compile':>9}{'draws':>7}{'post':>7}{'wall':>8}"
            f"{'ESS/s b':>9}{'ESS/s t':>9}{'R-hat':>8}{'div':>5}{'cpu s':>7}  gate")
    print(head)
    print("-" * len(head))
    for r in rows:
        if r["model"].startswith("TOTAL"):
            print(f"{r['candidate']:<14}{r['cache']:<6}{r['model']:<17}{'':>30}{r['wall_s']:>8.1f}"
                  f"   (imports {r['import_s']:.1f} s)")
            continue
        print(f"{r['candidate']:<14}{r['cache']:<6}{r['model']:<17}{r['build_s']:>7.1f}{r['compile_s']:>9.1f}"
              f"{r['draws_s']:>7.1f}{r['post_s']:>7.1f}{r['wall_s']:>8.1f}{r['min_ess_bulk'] / r['wall_s']:>9.1f}"
              f"{r['min_ess_tail'] / r['wall_s']:>9.1f}{r['max_rhat']:>8.4f}{r['divergences']:>5d}"
              f"{r.get('cpu_s', float('nan')):>7.1f}  "
              f"{'pass' if r['gate'] else 'FAIL'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--candidates", default="pymc:c,pymc:numba")
    ap.add_argument("--models", default=",".join(DEMO_MODELS))
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--tune", type=int, default=1000)
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--seed", type=int, default=20251201)
    ap.add_argument("--panel", help="analysis panel (.parquet/.csv); default: made by `ctfp demo --no-bayes`")
    ap.add_argument("--pytensor-flags", default="", help="extra PYTENSOR_FLAGS for every candidate")
    ap.add_argument("--no-warm", action="store_true", help="cold runs only")
    ap.add_argument("--json", help="also write the rows to this file")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--candidate", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args)
        return
    panel = demo_panel(args.panel)
    print(f"panel {panel}; {args.chains} chains x ({args.tune} + {args.draws}); before: {_load()}", flush=True)
    rows: list[dict] = []
    for cand in args.candidates.split(","):
        with tempfile.TemporaryDirectory(prefix="ctfp-cold-") as tmp:
            cold = run_candidate(cand, args, panel, Path(tmp), "cold")
            warm = [] if args.no_warm else run_candidate(cand, args, panel, Path(tmp), "warm")
        rows += cold + warm
        print_rows(cold + warm)
        if cold and warm:
            c, w = cold[-1]["wall_s"], warm[-1]["wall_s"]
            print(f"{cand}: cold {c:.1f} s, warm {w:.1f} s, cold/warm {c / w:.2f}; {_load()}\n", flush=True)
    if len(args.candidates.split(",")) > 1:
        print("== all candidates")
        print_rows(rows)
    print(f"after: {_load()}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
