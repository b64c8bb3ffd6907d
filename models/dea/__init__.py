"""DEA facade: `run_dea` scores every DMU with SBM, super-SBM or radial CCR/BCC and returns a tidy table.

One row per DMU: id (and period), `efficiency`, `status`, `efficient`, one `slack_<col>` and `target_<col>`
per variable, `peers` (reference set "id:lambda;..."), `residual` (largest relative residual of the solution
checked against the unscaled data) and `zero_adjusted` (variables hit by the zero rule). The resolved options
are in `result.attrs`. See docs/dea.md for the models and options.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ctfp.core.errors import InputError, NumericalError
from ctfp.core.progress import progress_bar
from ctfp.models.dea import frontier as dea_frontier
from ctfp.models.dea.data import ZERO_OUTPUT_DIVISOR, DeaData, build_data, check_columns
from ctfp.models.dea.radial import DEFAULT_TRANSLATION, RadialProblem, negative_normalise
from ctfp.models.dea.run import blas_single_thread
from ctfp.models.dea.sbm import SbmProblem
from ctfp.models.dea.score import (
    CHECK_TOL as CHECK_TOL,
)
from ctfp.models.dea.score import (
    EFFICIENT_TOL,
    ENGINES,
    ROUNDOFF_TOL,
    ChunkProblem,
    group_pool,
    prepare_warmth,
    score_chunk,
    score_radial_group,
    score_sbm_group,
)

MODELS = ("sbm", "super-sbm", "ccr", "bcc", "super-ccr", "super-bcc")
RADIAL = ("ccr", "bcc", "super-ccr", "super-bcc")
# statuses reported per DMU with efficiency NaN (any other non-optimal status raises NumericalError)
REPORTED_STATUSES = ("super_infeasible", "super_unbounded", "ill_scaled", "zero_efficiency")
ORIENTATIONS = ("none", "input", "output")


def resolve_options(model: str, orientation: str | None, rts: str | None) -> tuple[str, str, str]:
    """Validate and fill defaults: SBM -> non-oriented CRS; CCR -> CRS; BCC -> VRS; radial -> input."""
    model = model.lower()
    if model not in MODELS:
        raise InputError(f"model {model!r} unknown; use one of {', '.join(MODELS)}")
    radial = model in RADIAL
    if orientation is None:
        orientation = "input" if radial else "none"
    if orientation not in ORIENTATIONS:
        raise InputError(f"orientation {orientation!r} unknown; use none, input or output")
    if radial and orientation == "none":
        raise InputError(f"model {model} is radial: choose --orientation input (recommended) or output")
    implied = {"ccr": "crs", "bcc": "vrs", "super-ccr": "crs", "super-bcc": "vrs"}.get(model)
    if rts is None:
        rts = implied or "crs"
    if rts not in ("crs", "vrs"):
        raise InputError(f"rts {rts!r} unknown; use crs or vrs")
    if implied and rts != implied:
        raise InputError(f"model {model} means rts={implied}; drop --rts or use the other radial model")
    return model, orientation, rts


def run_dea(
    frame: pd.DataFrame,
    inputs: Sequence[str],
    good: Sequence[str],
    bad: Sequence[str] = (),
    *,
    id_col: str | None = None,
    period_col: str | None = None,
    model: str = "sbm",
    orientation: str | None = None,
    rts: str | None = None,
    frontier: str = "global",
    weights: tuple[float, float] = (1.0, 1.0),
    progress: bool | None = False,
    bad_treatment: str | None = None,
    translation: float = DEFAULT_TRANSLATION,
    source: str = "data",
    row_offset: int = 1,
    pricing: bool = True,
    engine: str = "batch",
    executor: Any = None,
    chunk_size: int | None = None,
) -> pd.DataFrame:
    """Score every row of `frame` as a DMU. See the module docstring and docs/dea.md.

    orientation/rts None take the model's default. `bad_treatment`: "undesirable" (SBM family, default) or
    "negative_normalisation" (radial, default): b' = (max b - b)/(max b - min b) + `translation`.
    `source` and `row_offset` (row number of the first row: 2 for a file with a header) name bad cells in
    errors. `engine`: "batch" (compiled simplex over a candidate pool, every solution certified by pricing;
    radial models use "highs"), "highs" (warm HiGHS with a priced pool) or "plain" (HiGHS over all reference
    columns per DMU, the textbook method, for checks); `pricing=False` is the same as engine="plain".
    `executor`: None scores in this process; an object with `map(fn, shared, items, label=, progress=)`,
    `share(obj)` and `n_workers` (ctfp.inference.compute) gets the problem once and chunks of `chunk_size`
    DMUs as tasks.
    """
    model, orientation, rts = resolve_options(model, orientation, rts)
    if engine not in ENGINES:
        raise InputError(f"engine {engine!r} unknown; use one of {', '.join(ENGINES)}")
    if not pricing:
        engine = "plain"
    radial = model in RADIAL
    inputs, good, bad = list(inputs), list(good), list(bad)
    if not inputs or not (good or bad):
        raise InputError(f"{source}: DEA needs at least one input and one output (--inputs, --good/--bad)")
    names = [*inputs, *good, *bad]
    dup = sorted({c for c in names if names.count(c) > 1})
    if dup:
        raise InputError(f"{source}: column {dup[0]!r} is listed twice among inputs/outputs; list it once")
    treatment = bad_treatment or ("negative_normalisation" if radial else "undesirable")
    if treatment not in ("undesirable", "negative_normalisation"):
        raise InputError(f"bad_treatment {treatment!r} unknown; use undesirable or negative_normalisation")
    if treatment == "undesirable" and radial and bad:
        raise InputError("radial models take bad outputs only with bad_treatment='negative_normalisation'")
    if len(weights) != 2 or min(weights) <= 0 or not np.all(np.isfinite(weights)):
        raise InputError(f"weights {weights!r}: give two positive numbers GOOD:BAD, e.g. 1:1")
    keys = [c for c in (id_col, period_col) if c is not None]
    check_columns(frame, [*keys, *names], source)
    kind, _ = dea_frontier.parse_frontier(frontier)
    if kind != "global" and period_col is None:
        raise InputError(f"frontier {frontier!r} needs the period column (--period COL)")
    frame = frame.reset_index(drop=True)
    frame.attrs = {"row_offset": row_offset}
    _check_keys(frame, id_col, period_col, source)
    if len(frame) < 2:
        raise InputError(f"{source}: DEA needs at least 2 DMUs (rows); got {len(frame)}")
    data = build_data(frame, inputs, good, bad, source=source, id_col=id_col, period_col=period_col)
    periods = frame[period_col].to_numpy() if period_col else None
    if periods is not None and pd.isna(periods).any():
        raise InputError(f"{source}: column {period_col!r} has missing periods; fill them")
    order = None
    if periods is not None:
        order = dea_frontier.period_positions(frame[period_col], needs_order=kind in dea_frontier.ORDERED_KINDS,
                                              column=period_col, source=source, why=f"a {frontier} frontier")
    groups = dea_frontier.groups(data.n, periods, frontier, period_col=period_col, source=source, order=order)
    tiny, tiny_why = data.ill_scaled(include_bad=treatment == "undesirable")
    if tiny.any():  # such a DMU's own LP is meaningless at the solver's tolerances: not solved, flagged
        groups = [dea_frontier.Group(g.label, g.evaluate[~tiny[g.evaluate]], g.reference) for g in groups]
    ids = frame[id_col].to_numpy() if id_col else np.arange(1, data.n + 1)

    if radial:
        out, info = _run_radial(data, model, treatment, translation, rts, orientation, groups, ids, progress,
                                engine, executor, chunk_size)
    else:
        out, info = _run_sbm(data, model, rts, orientation, weights, groups, ids, progress, engine,
                             executor, chunk_size)

    head = {}
    head[id_col or "dmu"] = ids
    if period_col:
        head[period_col] = periods
    table = pd.concat([pd.DataFrame(head), pd.DataFrame(out)], axis=1)
    table["zero_adjusted"] = data.zero_log
    if tiny.any():
        table.loc[tiny, "status"] = "ill_scaled"
        table.loc[tiny, "efficient"] = False
    bad_status = table["status"].isin(["optimal", *REPORTED_STATUSES])
    if not bad_status.all():
        first = int(np.flatnonzero(~bad_status.to_numpy())[0])
        raise NumericalError(
            f"{source}: DEA LP for row {first + row_offset} ({id_col or 'dmu'}={ids[first]}) ended with status "
            f"{table['status'].iloc[first]!r} (residual {table['residual'].iloc[first]:.2g}); data too ill-conditioned?"
        )
    # An LP optimum of 1 comes back as 1 +- 1e-14; report it as exactly 1 so "mass at 1" means what it says
    # (bounded likelihoods downstream test y == 1). Only round-off is snapped, far inside EFFICIENT_TOL.
    eff = table["efficiency"].to_numpy(dtype=float)
    near_one = np.abs(eff - 1.0) <= ROUNDOFF_TOL
    table["efficiency"] = np.where(near_one, 1.0, eff)
    info["roundoff_snapped_to_1"] = int(near_one.sum())
    if "rho" in table:
        rho = table["rho"].to_numpy(dtype=float)
        table["rho"] = np.where(np.abs(rho - 1.0) <= ROUNDOFF_TOL, 1.0, rho)
    info["ill_scaled"] = [f"row {int(i) + row_offset} ({id_col or 'dmu'}={ids[i]}): {tiny_why[i]}"
                          for i in np.flatnonzero(tiny)]
    table.attrs.update(
        model=model, orientation=orientation, rts=rts, frontier=frontier, inputs=inputs, good=good, bad=bad,
        bad_treatment=treatment if bad else None, efficient_tol=EFFICIENT_TOL,
        zero_rule=f"zero input: slack term dropped (m-1); zero output: ratio denominator = min positive/{ZERO_OUTPUT_DIVISOR:g}",
        scaling={c: float(v) for c, v in zip(names, np.concatenate([data.mu_x, data.mu_g, data.mu_b]), strict=True)},
        **info,
    )
    return table


def _check_keys(frame: pd.DataFrame, id_col: str | None, period_col: str | None, source: str) -> None:
    keys = [c for c in (id_col, period_col) if c is not None]
    if not keys:
        return
    off = int(frame.attrs.get("row_offset", 1))
    for c in keys:
        miss = np.flatnonzero(frame[c].isna().to_numpy())
        if miss.size:
            raise InputError(f"{source}: column {c!r}, row {miss[0] + off}: missing identifier; fill it or drop the row")
    # without an id column rows cannot repeat a DMU: only (id[, period]) pairs are checked
    dup = frame.duplicated(keys, keep="first").to_numpy() if id_col else np.zeros(len(frame), bool)
    if dup.any():
        r = int(np.flatnonzero(dup)[0])
        vals = ", ".join(f"{c}={frame[c].iloc[r]}" for c in keys)
        raise InputError(f"{source}: row {r + off} repeats ({vals}); each DMU{'-period' if period_col else ''} must appear once")


def _columns(n: int, names: Sequence[str]) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {"efficiency": np.full(n, np.nan)}
    for c in names:
        out[f"slack_{c}"] = np.full(n, np.nan)
    for c in names:
        out[f"target_{c}"] = np.full(n, np.nan)
    return out


def _dispatch(
    kind: str, prob: SbmProblem | RadialProblem, model: str, groups: list[dea_frontier.Group], ids: np.ndarray,
    engine: str, progress: bool | None, executor: Any, chunk_size: int | None, label: str,
) -> tuple[list[Any], dict[str, object]]:
    """Score every group: in this process (groups in turn, each group's pool seeding the next) or as chunks
    of DMUs on `executor` (the problem broadcast once, each chunk an independent task with its own pool)."""
    n_good = prob.s1 if kind == "sbm" else prob.s  # type: ignore[union-attr]
    groups = [g for g in groups if len(g.evaluate)]
    if executor is None:
        results: list[Any] = []
        carried: list[int] = []
        total = sum(len(g.evaluate) for g in groups)
        with progress_bar(total, progress, label) as advance, blas_single_thread():
            for g in groups:
                pool = group_pool(prob.ref, prob.m, n_good, g.reference, carried)
                if kind == "sbm":
                    r = score_sbm_group(prob, model, g.reference, g.evaluate, ids, init_pool=pool,  # type: ignore[arg-type]
                                        engine=engine, advance=advance)
                else:
                    r = score_radial_group(prob, g.reference, g.evaluate, ids, init_pool=pool,  # type: ignore[arg-type]
                                           engine=engine, advance=advance, super_=model.startswith("super-"))
                results.append(r)
                carried = r.pool
        return results, {"scheduler": "in-process", "chunks": len(groups)}
    workers = max(1, int(getattr(executor, "n_workers", 1)))
    total = sum(len(g.evaluate) for g in groups)
    size = chunk_size or max(500, -(-total // (4 * workers)))
    items = [(gi, g.evaluate[s : s + size]) for gi, g in enumerate(groups) for s in range(0, len(g.evaluate), size)]
    problem = ChunkProblem.of(kind, prob, model, ids, engine, [g.reference for g in groups])
    sent = executor.share(problem)  # on Dask the broadcast starts now and overlaps the warm-up below
    warm = prepare_warmth(problem, [g.evaluate for g in groups])
    results = executor.map(score_chunk, (sent, warm), items, label=f"{label}: chunks of {size} DMUs",
                           progress=progress)
    return results, {"scheduler": executor.description, "chunks": len(items), "chunk_size": size,
                     "tasks_resubmitted": int(getattr(executor, "resubmitted", 0))}


def _run_sbm(
    data: DeaData, model: str, rts: str, orientation: str, weights: tuple[float, float],
    groups: list[dea_frontier.Group], ids: np.ndarray, progress: bool | None, engine: str,
    executor: Any = None, chunk_size: int | None = None,
) -> tuple[dict[str, object], dict[str, object]]:
    prob = SbmProblem(data, rts, orientation, (float(weights[0]), float(weights[1])))
    names = [*data.inputs, *data.good, *data.bad]
    n, m, s1 = data.n, prob.m, prob.s1
    out = _columns(n, names)
    status = np.full(n, "", dtype=object)
    peers = np.full(n, "", dtype=object)
    resid = np.full(n, np.nan)
    rho = np.full(n, np.nan)
    sup = np.full(n, np.nan)
    slacks = np.full((len(names), n), np.nan)
    results, run_info = _dispatch("sbm", prob, model, groups, ids, engine, progress, executor, chunk_size,
                                  f"{model} ({rts}, {orientation})")
    for r in results:
        rho[r.rows], sup[r.rows], status[r.rows] = r.rho, r.sup, r.status
        slacks[:, r.rows], peers[r.rows], resid[r.rows] = r.slacks, r.peers, r.resid
    obs = np.vstack([data.x, data.yg, data.yb])
    direction = np.concatenate([-np.ones(m), np.ones(s1), -np.ones(prob.s2)])
    for k, c in enumerate(names):
        out[f"slack_{c}"] = slacks[k]
        out[f"target_{c}"] = obs[k] + direction[k] * slacks[k]
    eff = rho.copy()
    if model == "super-sbm":
        eff = np.where(rho >= 1 - EFFICIENT_TOL, sup, rho)
    out["efficiency"] = eff
    res: dict[str, object] = {
        "efficiency": eff, "status": status, "efficient": rho >= 1 - EFFICIENT_TOL,
    }
    if model == "super-sbm":
        res.update(rho=rho, super_efficiency=sup)
    res.update({k: v for k, v in out.items() if k != "efficiency"})
    res.update(peers=peers, residual=resid)
    info = {
        "weights": {"good": prob.wg.tolist(), "bad": prob.wb.tolist(), "ratio": list(weights)},
        "lp_solves": sum(r.solves for r in results), "engine": engine,
        "highs_fallback": sum(r.fallback for r in results),
        "relaxed_tolerance_solves": sum(r.relaxed for r in results), **run_info,
    }
    return res, info


def _run_radial(
    data: DeaData, model: str, treatment: str, translation: float, rts: str, orientation: str,
    groups: list[dea_frontier.Group], ids: np.ndarray, progress: bool | None, engine: str,
    executor: Any = None, chunk_size: int | None = None,
) -> tuple[dict[str, object], dict[str, object]]:
    names = [*data.inputs, *data.good, *data.bad]
    bounds: list[tuple[float, float]] = []
    if data.bad:
        try:
            yb2 = np.vstack([negative_normalise(b, translation) for b in data.yb])
        except ValueError as err:
            raise InputError(f"bad output: {err}") from err
        bounds = [(float(b.min()), float(b.max())) for b in data.yb]
        yg = np.vstack([data.yg, yb2])
        data = DeaData(data.inputs, [*data.good, *data.bad], [], data.x, yg, np.empty((0, data.n)),
                       data.mu_x, yg.mean(axis=1), np.empty(0), data.zero_log)
    prob = RadialProblem(data, rts, orientation)
    n = data.n
    status = np.full(n, "", dtype=object)
    peers = np.full(n, "", dtype=object)
    resid, raw, eff = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    efficient = np.zeros(n, dtype=bool)
    slacks, targets = np.full((len(names), n), np.nan), np.full((len(names), n), np.nan)
    results, run_info = _dispatch("radial", prob, model, groups, ids, engine if engine == "plain" else "highs",
                                  progress, executor, chunk_size, f"{'ccr' if rts == 'crs' else 'bcc'} ({orientation})")
    sup = np.full(n, np.nan)
    for r in results:
        raw[r.rows], eff[r.rows], status[r.rows], efficient[r.rows] = r.raw, r.eff, r.status, r.efficient
        sup[r.rows] = r.sup
        slacks[:, r.rows], targets[:, r.rows], peers[r.rows], resid[r.rows] = r.slacks, r.targets, r.peers, r.resid
    n_good = len(data.good) - len(bounds)
    m = len(data.inputs)
    for q, (lo, hi) in enumerate(bounds):  # bad-output targets back to the bad output's own units
        k = m + n_good + q
        targets[k] = hi - (targets[k] - translation) * (hi - lo)
    res: dict[str, object] = {"efficiency": eff, "status": status, "efficient": efficient}
    res["theta" if orientation == "input" else "phi"] = raw
    if model.startswith("super-"):
        res["super_efficiency"] = sup
    for k, c in enumerate(names):
        res[f"slack_{c}"] = slacks[k]
    for k, c in enumerate(names):
        res[f"target_{c}"] = targets[k]
    res.update(peers=peers, residual=resid)
    info: dict[str, object] = {"lp_solves": sum(r.solves for r in results), "engine": "highs", **run_info}
    if bounds:
        info["negative_normalisation"] = {
            "formula": "b' = (max - b) / (max - min) + translation",
            "translation": translation,
            "bounds": {c: {"min": lo, "max": hi} for c, (lo, hi) in zip(data.good[n_good:], bounds, strict=True)},
            "slack_units": "slack_<bad> is in normalised units; target_<bad> in the original units",
        }
    return res, info
