"""Validation against the paper: one verdict per published claim, from the replica and from the posterior.

Claims are the paper's own statements (H1, H2, the main effect, robustness, each heterogeneity finding).
A replica verdict reads the tables engine's cells and tests (tables/replicas.csv, tests.csv: same sign and
significance band as printed); a posterior verdict reads the Bayesian summaries (posterior probability of the
claimed sign at 95%).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ctfp.data.presets import Claim

SUPPORT = 0.95  # posterior probability needed to call a signed claim supported


def _load(path: Path) -> Any:
    return json.loads(path.read_text()) if path.exists() else None


def _replica_verdict(claim: Claim, cells: dict[tuple[str, str, str], dict[str, Any]] | None,
                     tests: list[dict[str, Any]] | None) -> tuple[str, str]:
    if claim.test:
        if tests is None:
            return "not run", "no tables/tests.csv"
        table, col_a, col_b, term = claim.test
        row = next((d for d in tests if (d["table"], d["column_a"], d["column_b"], d["term"]) == claim.test
                    and d["method"] == "permutation"), None)
        if row is None or row.get("p_two_sided") is None:
            return "not run", f"no permutation test of {term} between {table} {col_a} and {col_b}"
        p, diff = float(row["p_two_sided"]), float(row["diff"])
        ok = p < 0.05 and diff * claim.sign > 0
        return ("supported" if ok else "not supported"), f"diff = {diff:.4f}, permutation p = {p:.3f}"
    if cells is None:
        return "not run", "no tables/replicas.csv"
    parts, oks = [], []
    for key in claim.cells:
        c = cells.get(key)
        if c is None or c.get("estimate") is None:
            return "not run", f"no replica for {key[0]} {key[1]} {key[2]}"
        coef, p = float(c["estimate"]), float(c["p"]) if c.get("p") is not None else 1.0
        parts.append(f"{key[0]}{key[1]}: {coef:.4f} (p = {p:.3f})")
        if claim.sign == 0:
            oks.append(p >= 0.10)
        else:
            oks.append(coef * claim.sign > 0 and p < 0.10)
    return ("supported" if all(oks) else "not supported"), "; ".join(parts)


def _records(path: Path) -> list[dict[str, Any]] | None:
    """A CSV of the tables engine as records, empty cells as None."""
    import pandas as pd

    if not path.is_file():
        return None
    df = pd.read_csv(path)
    return [{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()}
            for r in df.to_dict(orient="records")]


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


def validate_run(run_dir: Path, claims: tuple[Claim, ...]) -> list[dict[str, Any]]:
    """Verdicts for every claim (a preset's `claims()`) from whatever the run folder holds; writes
    `validation.json`."""
    from ctfp.core.atomic import write_json

    run_dir = Path(run_dir)
    recs = _records(run_dir / "tables" / "replicas.csv")
    cells = None if recs is None else {(r["table"], r["column"], r["term"]): r for r in recs}
    tests = _records(run_dir / "tables" / "tests.csv")
    rows = []
    for claim in claims:
        r_verdict, r_ev = _replica_verdict(claim, cells, tests)
        p_verdict, p_ev = _posterior_verdict(claim, run_dir / "bayes")
        rows.append({
            "claim_id": claim.claim_id, "claim": claim.claim, "published": claim.published,
            "replica_evidence": r_ev, "replica_verdict": r_verdict,
            "posterior_evidence": p_ev, "posterior_verdict": p_verdict,
        })
    write_json(run_dir / "validation.json", rows)
    return rows
