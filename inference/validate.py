"""Validation against the paper: one verdict per published claim, from the replica and from the posterior.

Claims are the paper's own statements (H1, H2, the main effect, robustness, each heterogeneity finding).
A replica verdict reads the replica cells (same sign and significance band as printed); a posterior verdict
reads the Bayesian summaries (posterior probability of the claimed sign at 95%).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ctfp.data.presets import Claim

SUPPORT = 0.95  # posterior probability needed to call a signed claim supported


def _load(path: Path) -> Any:
    return json.loads(path.read_text()) if path.exists() else None


def _replica_verdict(claim: Claim, cells: list[dict[str, Any]] | None,
                     diffs: list[dict[str, Any]] | None) -> tuple[str, str]:
    if claim.posterior[:1] == ("diff",):
        if not diffs:
            return "not run", "no replicas/group_diffs.json"
        row = next((d for d in diffs if d.get("split") == claim.posterior[1]), None)
        if row is None:
            return "not run", f"no difference test for {claim.posterior[1]}"
        p = row.get("perm_p_two_sided")
        ok = p is not None and p < 0.05 and (row.get("diff") or 0) * claim.sign > 0
        return ("supported" if ok else "not supported"), f"diff = {row.get('diff'):.4f}, permutation p = {p:.3f}"
    if not cells:
        return "not run", "no replicas/cells.json"
    index = {(c.get("table"), c.get("column"), c.get("row")): c for c in cells}
    parts, oks = [], []
    for key in claim.cells:
        c = index.get(key)
        if c is None or c.get("replica_coef") is None:
            return "not run", f"no replica for Table {key[0]} {key[1]}"
        coef, p = c["replica_coef"], c.get("replica_p", 1.0)
        parts.append(f"T{key[0]}{key[1]}: {coef:.4f} (p = {p:.3f})")
        if claim.sign == 0:
            oks.append(p >= 0.10)
        else:
            oks.append(coef * claim.sign > 0 and p < 0.10)
    return ("supported" if all(oks) else "not supported"), "; ".join(parts)


def _posterior_verdict(claim: Claim, bayes_dir: Path) -> tuple[str, str]:
    if not claim.posterior:
        return "not assessed", "no Bayesian counterpart in the spec"
    kind = claim.posterior[0]
    if kind == "treatment":
        s = _load(bayes_dir / claim.posterior[1] / "summary.json")
        if s is None:
            return "not run", f"no bayes/{claim.posterior[1]}/summary.json"
        t = s.get("treatment", {})
        prob = t.get("p_gt0")
        evidence = f"AME mean {t.get('mean', float('nan')):.4f}, 95% [{_fmt_ci(t)}]"
    else:
        s = _load(bayes_dir / "hetero" / "summary.json")
        if s is None:
            return "not run", "no bayes/hetero/summary.json"
        by = (s.get("by") or {}).get(claim.posterior[1], {})
        node = dict(by.get("diff", {}) if kind == "diff" else by.get(claim.posterior[2], {}))
        if not node:
            return "not run", f"bayes/hetero has no split {claim.posterior[1]}"
        if kind == "group" and "p_gt0" not in node:
            node["p_gt0"] = _level_p_gt0(bayes_dir / "hetero" / "posterior.nc", claim.posterior[1],
                                         claim.posterior[2])
        prob = node.get("p_gt0")
        evidence = f"mean {node.get('mean', float('nan')):.4f}, 95% [{_fmt_ci(node)}]"
    if prob is None:
        return "not assessed", evidence + "; no P(>0) in summary"
    evidence += f", P(>0) = {prob:.3f}"
    if claim.sign == 0:
        verdict = "supported" if 1 - SUPPORT < prob < SUPPORT else "not supported"
    else:
        p_sign = prob if claim.sign > 0 else 1 - prob
        verdict = "supported" if p_sign >= SUPPORT else "not supported"
    if s.get("gate", {}).get("passed") is False:
        verdict += " (diagnostics gate failed)"
    return verdict, evidence


def _fmt_ci(node: dict[str, Any]) -> str:
    ci = node.get("eti95") or node.get("hdi95")
    if not ci or ci[0] is None or ci[1] is None:
        return "n/a"
    return f"{ci[0]:.4f}, {ci[1]:.4f}"


def _level_p_gt0(path: Path, split: str, level: str) -> float | None:
    """P(slope > 0) for one group level, from the posterior draws of `slope_group`."""
    if not path.exists():
        return None
    import xarray as xr

    with xr.open_datatree(path, engine="h5netcdf") as dt:
        draws = dt["posterior"]["slope_group"].sel(split=split, level=level)
        return float((draws > 0).mean())


def validate_run(run_dir: Path, claims: tuple[Claim, ...]) -> list[dict[str, Any]]:
    """Verdicts for every claim (a preset's `claims()`) from whatever the run folder holds; writes
    `validation.json`."""
    from ctfp.core.atomic import write_json

    run_dir = Path(run_dir)
    cells = _load(run_dir / "replicas" / "cells.json")
    diffs = _load(run_dir / "replicas" / "group_diffs.json")
    rows = []
    for claim in claims:
        r_verdict, r_ev = _replica_verdict(claim, cells, diffs)
        p_verdict, p_ev = _posterior_verdict(claim, run_dir / "bayes")
        rows.append({
            "claim_id": claim.claim_id, "claim": claim.claim, "published": claim.published,
            "replica_evidence": r_ev, "replica_verdict": r_verdict,
            "posterior_evidence": p_ev, "posterior_verdict": p_verdict,
        })
    write_json(run_dir / "validation.json", rows)
    return rows
