"""Fit one Bayesian spec on a panel and write a model folder: posterior.nc and summary.json.

summary.json keys (architecture.md, docs/contract.md): treatment (mean, sd, 95% HDI and ETI of the average
marginal effect `ame` on E[outcome]), by (per split and level, the difference with p_gt0), diagnostics
(max_rhat, min_ess_bulk, min_ess_tail, divergences), model, likelihood, priors, sampler, seed, wall_s, gate.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

from ctfp.core.atomic import atomic_path, write_json
from ctfp.core.errors import InputError, NumericalError
from ctfp.inference.sampling import SamplerConfig
from ctfp.models.bayes.spec import BayesSpec, PriorScales

SERIAL_NOTES = {
    "none": "iid errors: posterior sds can be narrower than city-clustered SEs (serial correlation not modelled)",
    "ar1": "city-level AR(1) errors: each row conditioned on the previous year's residual",
    "random_slopes": "city random treatment slopes (zero-sum around the average slope)",
}
SCALE_NOTE = "unit-level error sds (log-normal around sigma): noisy units weigh less"


def fit_spec(
    panel: pd.DataFrame,
    spec: BayesSpec,
    sampler_cfg: SamplerConfig,
    out_dir: str | Path,
    progress: bool = True,
    *,
    require_gate: bool = False,
    source: str = "panel",
) -> dict[str, Any]:
    """Build, sample, check, summarise and write `out_dir`/{posterior.nc, summary.json}; return the summary.

    With `require_gate` a failed gate raises NumericalError after the files are written (so they can be read).
    """
    from ctfp.inference.contrasts import (
        add_loo,
        by_dict,
        effect_summary,
        group_contrasts,
        instrument_strength,
    )
    from ctfp.inference.diagnostics import check_gate
    from ctfp.inference.sampling import drop_log_prior, sample_model
    from ctfp.models.bayes.builder import build_from_design
    from ctfp.models.bayes.design import make_design

    t0 = time.perf_counter()
    design = make_design(panel, spec, source)
    for note in design.notes:  # e.g. rows dropped for missing values: said, not only recorded
        print(f"warning: {source}: {note}", file=sys.stderr)
    model = build_from_design(design, spec)
    dt = sample_model(model, sampler_cfg, progress=progress)
    gate = check_gate(dt, warn=True)

    summary: dict[str, Any] = {
        "model": spec.model_kind,
        "likelihood": spec.likelihood,
        "spec": spec.to_dict(),
        "priors": spec.priors_dict(),
        "sampler": sampler_cfg.to_dict(),
        "seed": sampler_cfg.seed,
        "n_obs": design.n,
        "n_units": len(design.units),
        "n_periods": len(design.times),
        "dropped_rows": design.dropped_rows,
        "notes": [*design.notes, SERIAL_NOTES[spec.serial], *([SCALE_NOTE] if spec.error_scale == "unit" else [])],
        "treatment": effect_summary(dt, "ame"),
        "coefficient": effect_summary(dt, "beta"),
        "by": by_dict(group_contrasts(dt)) if spec.splits else {},
        **gate.summary_entries(),
    }
    if spec.likelihood != "normal":
        summary["notes"].append("`coefficient` is on the latent (censored) or logit (ordbeta) scale; `treatment` is on E[y]")
    if spec.instrument is not None:
        summary["instrument"] = instrument_strength(dt)
    try:  # power-scaling prior sensitivity (inference/psense.py); like LOO an extra that must not lose a fit
        from ctfp.inference.psense import prior_sensitivity

        summary["prior_sensitivity"] = prior_sensitivity(dt, spec)
    except Exception as err:
        summary["prior_sensitivity"] = {"error": f"{type(err).__name__}: {err}"}
    drop_log_prior(dt)
    try:
        summary["loo"] = add_loo(dt)
    except Exception as err:  # LOO is a report extra: its failure must not lose a finished fit
        summary["loo"] = {"error": f"{type(err).__name__}: {err}"}
    summary["wall_s"] = round(time.perf_counter() - t0, 3)
    summary["sampling_wall_s"] = dt.attrs.get("wall_s")

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "posterior.nc") as tmp:
        dt.to_netcdf(tmp, engine="h5netcdf")
    write_json(out / "summary.json", summary)
    if require_gate and not gate.passed:
        raise NumericalError(
            f"convergence gate failed ({'; '.join(gate.messages)}); results kept in {out}; "
            "rerun with more draws or --allow-failed-gate"
        )
    return summary


def spec_from_dicts(
    variables: dict[str, Any], model: dict[str, Any], unit: str = "city", time_col: str = "year"
) -> BayesSpec:
    """A BayesSpec from a study's [variables] table and one [[bayes.models]] entry."""
    known = {"name", "likelihood", "mundlak", "by", "instrument", "serial", "error_scale", "priors", "censor_at",
             "centred"}
    extra = sorted(set(model) - known)
    if extra:
        raise InputError(f"bayes model '{model.get('name', '?')}': unknown key(s) {', '.join(extra)}")
    if "treatment" not in variables:
        raise InputError("[variables] has no 'treatment'")
    return BayesSpec(
        outcome=variables.get("outcome", "ctfp"),
        treatment=variables["treatment"],
        unit=unit,
        time=time_col,
        controls=tuple(variables.get("controls", ())),
        splits=tuple(model.get("by", ())),
        likelihood=model.get("likelihood", "normal"),
        instrument=model.get("instrument"),
        mundlak=bool(model.get("mundlak", True)),
        serial=model.get("serial") or "auto",
        error_scale=model.get("error_scale") or "auto",
        censor_at=float(model.get("censor_at", 1.0)),
        centred=tuple(model["centred"]) if "centred" in model else None,
        priors=PriorScales(**model.get("priors", {})),
    )


def fit_from_spec_dict(
    panel: pd.DataFrame,
    *,
    variables: dict[str, Any],
    model: dict[str, Any],
    sampler: dict[str, Any],
    out_dir: str | Path,
    progress: bool = True,
    unit: str = "city",
    time_col: str = "year",
) -> dict[str, Any]:
    """Pipeline entry: a [variables] table, one [[bayes.models]] entry and the [bayes] sampler settings.

    A failed gate is recorded in summary.json and printed loudly; the pipeline carries on.
    """
    keys = ("sampler", "draws", "tune", "chains", "seed", "target_accept", "backend")
    cfg = SamplerConfig(**{k: sampler[k] for k in keys if k in sampler})
    if model.get("formula"):  # any bambi formula (inference/bambi_models.py)
        from ctfp.inference.bambi_models import fit_bambi

        return fit_bambi(panel, model, cfg, out_dir, unit=unit, time_col=time_col, progress=progress,
                         source=str(panel.attrs.get("source", "panel")))
    spec = spec_from_dicts(variables, model, unit, time_col)
    return fit_spec(panel, spec, cfg, out_dir, progress=progress, source=str(panel.attrs.get("source", "panel")))
