"""Claim-by-claim validation: verdicts follow the replica cells and posterior summaries."""

from __future__ import annotations

import json
from pathlib import Path

from ctfp.data.presets.shen_chao_2025 import CLAIMS
from ctfp.inference.validate import validate_run


def _cell(table: str, column: str, coef: float, p: float) -> dict:
    return {"table": table, "column": column, "term": "ai", "kind": "coef", "estimate": coef, "p": p}


def test_verdicts_from_replicas_and_posterior(tmp_path: Path) -> None:
    import pandas as pd

    (tmp_path / "tables").mkdir()
    cells = [_cell("T2", "(2)", 0.03, 0.01), _cell("T6", "(1)", 0.02, 0.04), _cell("T6", "(2)", 0.05, 0.5),
             _cell("T6", "(3)", -0.1, 0.3), _cell("T6", "(4)", 0.03, 0.2),
             {"table": "T6", "column": "(1)-(2)", "term": "diff_p", "kind": "stat", "estimate": 0.001}]
    pd.DataFrame(cells).to_csv(tmp_path / "tables" / "replicas.csv", index=False)
    tests = [{"table": "T6", "column_a": "(1)", "column_b": "(2)", "term": "ai", "method": "permutation",
              "diff": 0.4, "p": 0.001, "p_two_sided": 0.002},
             {"table": "T6", "column_a": "(1)", "column_b": "(2)", "term": "ai", "method": "chow",
              "diff": 0.4, "p": 0.3, "p_two_sided": 0.3}]
    pd.DataFrame(tests).to_csv(tmp_path / "tables" / "tests.csv", index=False)
    (tmp_path / "bayes" / "headline").mkdir(parents=True)
    (tmp_path / "bayes" / "headline" / "summary.json").write_text(json.dumps(
        {"treatment": {"mean": 0.02, "eti95": [0.001, 0.04], "p_gt0": 0.98}, "gate": {"passed": True}}))
    rows = {r["claim_id"]: r for r in validate_run(tmp_path, CLAIMS)}
    assert len(rows) == len(CLAIMS)
    assert rows["main"]["replica_verdict"] == "supported"
    assert rows["main"]["posterior_verdict"] == "supported"
    assert rows["main"]["posterior_evidence"] == "AME mean 0.0200, 95% [0.0010, 0.0400], P(>0) = 0.980"
    assert rows["het_ua"]["replica_verdict"] == "supported"
    assert rows["het_nonua"]["replica_verdict"] == "not supported"  # wrong sign and not significant
    assert rows["het_resource"]["replica_verdict"] == "supported"  # claim is "not significant"
    assert rows["het_nonresource"]["replica_verdict"] == "not supported"  # p = 0.2
    assert rows["het_ua_diff"]["replica_verdict"] == "supported"
    assert rows["robust_lag"]["replica_verdict"] == "not run"
    assert rows["het_ua"]["posterior_verdict"] == "not run"  # no hetero model in this folder
    saved = json.loads((tmp_path / "validation.json").read_text())
    assert [r["claim_id"] for r in saved] == [c.claim_id for c in CLAIMS]


def test_failed_gate_is_said(tmp_path: Path) -> None:
    (tmp_path / "bayes" / "headline").mkdir(parents=True)
    (tmp_path / "bayes" / "headline" / "summary.json").write_text(json.dumps(
        {"treatment": {"mean": 0.02, "p_gt0": 0.99}, "gate": {"passed": False}}))
    rows = {r["claim_id"]: r for r in validate_run(tmp_path, CLAIMS)}
    assert rows["main"]["posterior_verdict"] == "supported (diagnostics gate failed)"
