"""Global Malmquist-Luenberger productivity index (Oh 2010) with EC x TC decomposition, two forms.

DDF form (Stata gtfpch ..., global): D(x, y, b) = max beta s.t. X lambda <= x_o, Y lambda >= (1+beta) y_o,
Yb lambda = (1-beta) b_o (weak disposability of bad outputs), lambda >= 0, direction (0, y, -b), CRS (VRS adds
sum lambda = 1). With D^G on the global frontier (all periods) and D^t on period t's own frontier:
    GML = (1 + D^G(t)) / (1 + D^G(t+1)),  EC = (1 + D^t(t)) / (1 + D^{t+1}(t+1)),  TC = GML / EC.
SBM form: GML = rho^G(t+1) / rho^G(t), EC = rho^{t+1}(t+1) / rho^t(t), TC = GML / EC (rho from run_dea).
gtfpch calls EC "TECH" and TC "TECCH". Chained GML is circular in both forms (global frontier).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ctfp.core.errors import InputError, NumericalError
from ctfp.models.dea import frontier as dea_frontier
from ctfp.models.dea import run_dea
from ctfp.models.dea.data import DeaData, build_data, check_columns
from ctfp.models.dea.run import engines
from ctfp.models.dea.solver import OwnBlock


def ddf_scores(data: DeaData, groups: list[dea_frontier.Group], rts: str = "crs") -> np.ndarray:
    """Directional distance D(x, y, b; 0, y, -b) of every row against its group's frontier (scaled data)."""
    xs, ys, bs = data.xs, data.ygs, data.ybs
    m, s1, s2 = xs.shape[0], ys.shape[0], bs.shape[0]
    rows = [-xs, ys, -bs] + ([np.ones((1, data.n))] if rts == "vrs" else [])
    ref = np.vstack(rows)
    nc = ref.shape[0]
    out = np.full(data.n, np.nan)
    for g, eng, pos in engines(groups, ref, m, s1, True):
        for o in g.evaluate:
            a = np.zeros((nc, 1))
            a[m : m + s1, 0] = -ys[:, o]
            a[m + s1 : m + s1 + s2, 0] = -bs[:, o]
            rl = np.concatenate([-xs[:, o], ys[:, o], -bs[:, o], [1.0] if rts == "vrs" else []])
            ru = np.concatenate([np.full(m, np.inf), np.full(s1, np.inf), -bs[:, o], [1.0] if rts == "vrs" else []])
            block = OwnBlock(a, np.array([-1.0]), np.array([-np.inf]), np.array([np.inf]), rl, ru)
            p = pos.get(int(o))
            sol = eng.solve(block, extra=() if p is None else (p,))
            if sol.status != "optimal":
                raise NumericalError(f"directional distance LP for row {o + 1} ended with status {sol.status!r}")
            out[o] = -sol.objective
    return out


def run_malmquist(
    frame: pd.DataFrame,
    inputs: Sequence[str],
    good: Sequence[str],
    bad: Sequence[str] = (),
    *,
    id_col: str,
    period_col: str,
    form: str = "ddf",
    rts: str = "crs",
    weights: tuple[float, float] = (1.0, 1.0),
    source: str = "data",
) -> pd.DataFrame:
    """GML, EC and TC for every DMU and pair of consecutive periods (balanced panel required)."""
    if form not in ("ddf", "sbm"):
        raise InputError(f"Malmquist form {form!r} unknown; use ddf or sbm")
    if rts not in ("crs", "vrs"):
        raise InputError(f"rts {rts!r} unknown; use crs or vrs")
    check_columns(frame, [id_col, period_col, *inputs, *good, *bad], source)
    pos = dea_frontier.period_positions(frame[period_col], needs_order=True, column=period_col, source=source,
                                        why="a Malmquist index (consecutive periods)")
    frame = frame.assign(_period_pos=pos).sort_values([id_col, "_period_pos"], kind="stable")
    periods = frame.drop_duplicates("_period_pos").sort_values("_period_pos")[period_col].to_numpy()
    frame = frame.drop(columns="_period_pos").reset_index(drop=True)
    counts = frame.groupby(id_col)[period_col].nunique()
    if len(periods) < 2 or (counts != len(periods)).any() or frame.duplicated([id_col, period_col]).any():
        short = counts[counts != len(periods)]
        who = f" ({id_col}={short.index[0]} has {short.iloc[0]} of {len(periods)} periods)" if len(short) else ""
        raise InputError(f"{source}: Malmquist needs a balanced panel with >= 2 periods{who}; balance the panel")
    if form == "ddf":
        data = build_data(frame, inputs, good, bad, source=source, id_col=id_col, period_col=period_col)
        tiny, why = data.ill_scaled()
        if tiny.any():
            i = int(np.flatnonzero(tiny)[0])
            raise InputError(f"{source}: {id_col}={frame[id_col].iloc[i]}, {period_col}={frame[period_col].iloc[i]}: "
                             f"{why[i]}")
        per = frame[period_col].to_numpy()
        glob = ddf_scores(data, dea_frontier.groups(data.n, per, "global"), rts)
        cont = ddf_scores(data, dea_frontier.groups(data.n, per, "contemporaneous", period_col=period_col,
                                                    source=source), rts)
        g_eff, c_eff = 1.0 + glob, 1.0 + cont  # larger = less efficient: ratios run t over t+1
    else:
        kw = dict(id_col=id_col, period_col=period_col, rts=rts, weights=weights, source=source)
        g_eff = 1.0 / run_dea(frame, inputs, good, bad, frontier="global", **kw)["efficiency"].to_numpy()
        c_eff = 1.0 / run_dea(frame, inputs, good, bad, frontier="contemporaneous", **kw)["efficiency"].to_numpy()
    nper = len(periods)
    gm = g_eff.reshape(-1, nper)
    cm = c_eff.reshape(-1, nper)
    gml = gm[:, :-1] / gm[:, 1:]
    ec = cm[:, :-1] / cm[:, 1:]
    ids = frame[id_col].to_numpy().reshape(-1, nper)[:, 0]
    table = pd.DataFrame(
        {
            id_col: np.repeat(ids, nper - 1),
            "from": np.tile(periods[:-1], len(ids)),
            "to": np.tile(periods[1:], len(ids)),
            "gml": gml.ravel(),
            "ec": ec.ravel(),
            "tc": (gml / ec).ravel(),
        }
    )
    table.attrs.update(form=form, rts=rts, inputs=list(inputs), good=list(good), bad=list(bad))
    return table
