"""The report's prior-sensitivity section: every reported posterior quantity with its power-scaling flags.

It reads what `ctfp.inference.psense` stored in each fit's summary.json (`prior_sensitivity`: cumulative
Jensen-Shannon distance between the posterior and its versions with the prior, or the likelihood, raised to
the power 0.99 and 1.01; Kallioinen et al. 2024) and puts beside each reported quantity (the average effect,
the coefficient, group slopes and differences, the first-stage coefficient) its posterior mean, both
sensitivities and ArviZ's diagnosis. A quantity is flagged when its prior sensitivity reaches the threshold
(0.05): "potential prior-data conflict" when the likelihood moves it too, "potential strong prior / weak
likelihood" when it does not. A likelihood sensitivity under the threshold on its own is marked too: the data
barely move that quantity, whatever the prior. The section formats; it computes nothing but posterior means.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ctfp.reports.i18n import _
from ctfp.reports.runfolder import ModelFit, RunFolder
from ctfp.reports.style import fmt_num
from ctfp.reports.tables import Cell, Table

FLAG = "⚠"
_LABEL = re.compile(r"^(?P<var>[^\[]+)(\[(?P<coords>.*)\])?$")


@dataclass
class SensitivityPart:
    """What the section shows; `reports.html` wraps it into a report section."""

    lead: str
    tables: list[Table] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)


def _posterior_mean(fit: ModelFit, label: str) -> float | None:
    """Posterior mean of a psense label such as `ame` or `slope_group[g_ua, 1]` (None if it cannot be read)."""
    m = _LABEL.match(label)
    tree = fit.tree if fit.has_posterior else None
    if m is None or tree is None or m["var"] not in tree["posterior"].data_vars:
        return None
    da = tree["posterior"][m["var"]]
    extra = [d for d in da.dims if d not in ("chain", "draw")]
    coords = [c.strip() for c in m["coords"].split(",")] if m["coords"] else []
    if len(coords) != len(extra):
        return None
    for dim, value in zip(extra, coords, strict=True):
        labels = [str(v) for v in da[dim].values]
        if value not in labels:
            return None
        da = da.isel({dim: labels.index(value)})
    return float(np.asarray(da.values, float).mean())


def sensitivity_rows(run: RunFolder) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    """One record per (model, reported quantity); the models without a sensitivity block; failed ones."""
    rows: list[dict[str, Any]] = []
    absent: list[str] = []
    failed: list[str] = []
    for name, fit in sorted(run.models.items()):
        block = (fit.summary or {}).get("prior_sensitivity")
        if not isinstance(block, dict):
            absent.append(name)
            continue
        if "error" in block:
            failed.append(f"{name} ({block['error']})")
            continue
        threshold = float(block.get("threshold", 0.05))
        for label, q in (block.get("quantities") or {}).items():
            prior, lik = float(q["prior"]), float(q["likelihood"])
            rows.append({"model": name, "quantity": str(label), "mean": _posterior_mean(fit, str(label)),
                         "prior": prior, "likelihood": lik, "diagnosis": str(q.get("diagnosis", "")),
                         "flagged": bool(q.get("flagged")), "weak_likelihood": lik < threshold,
                         "threshold": threshold})
    return rows, absent, failed


def sensitivity_part(run: RunFolder) -> SensitivityPart | None:
    """The section's content; None without Bayesian fits (the model-checking section says they are missing)."""
    if not run.models:
        return None
    rows, absent, failed = sensitivity_rows(run)
    part = SensitivityPart(lead=_(
        "Power-scaling sensitivity (Kallioinen et al. 2024): how far each reported posterior moves when the prior, "
        "or the likelihood, is raised to the power 0.99 or 1.01 (cumulative Jensen-Shannon distance, by "
        "Pareto-smoothed importance weights, no refit). {flag} marks a quantity whose prior sensitivity is at "
        "least {thr}: the prior, not only the data, shapes it (prior-data conflict when the likelihood moves it "
        "too). A likelihood sensitivity under {thr} means the data barely move the quantity.",
        flag=FLAG, thr=fmt_num(rows[0]["threshold"] if rows else 0.05, 2)))
    if absent:
        part.missing.append(_("No prior sensitivity in summary.json of {models}: refit with `ctfp run` (every fit "
                              "stores it).", models=", ".join(absent)))
    if failed:
        part.missing.append(_("The sensitivity computation failed for {models}.", models="; ".join(failed)))
    if not rows:
        return part
    frame = pd.DataFrame(rows)
    t = Table("prior_sensitivity", _("Prior and likelihood sensitivity of every reported quantity"),
              [_(c) for c in ("model", "quantity", "posterior mean", "prior sensitivity", "likelihood sensitivity",
                              "flag", "diagnosis")], frame=frame)
    for r in rows:
        k = f"psense.{r['model']}.{r['quantity']}"
        flag = FLAG if r["flagged"] else ("·" if r["weak_likelihood"] else "✓")
        diagnosis = r["diagnosis"] if r["flagged"] else (_("weak likelihood") if r["weak_likelihood"] else "✓")
        t.rows.append([
            Cell(r["model"], cls="label"), Cell(r["quantity"], cls="text"),
            Cell(fmt_num(r["mean"]), f"{k}.mean", r["mean"], "num"),
            Cell(f"{r['prior']:.3f}", f"{k}.prior", r["prior"], "num"),
            Cell(f"{r['likelihood']:.3f}", f"{k}.likelihood", r["likelihood"], "num"),
            Cell(flag, f"{k}.flagged", r["flagged"], "mark bad" if r["flagged"] else "mark ok"),
            Cell(diagnosis, cls="text small"),
        ])
    n_flag = int(frame["flagged"].sum())
    t.note = _("{n} of {m} reported quantities flagged.", n=n_flag, m=len(frame))
    part.tables.append(t)
    part.facts.update(flagged=[f"{r['model']}: {r['quantity']}" for r in rows if r["flagged"]], n=len(frame))
    return part
