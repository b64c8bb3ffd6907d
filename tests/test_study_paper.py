"""Regression: the shipped paper study file reproduces the numbers ctfp produced before the study model.

tests/data/paper_baseline.json was recorded with the old code (commit f2e1880; see its `_about`): CTFP and the
BCC score per city-year (SHA-256 of the float64 values in city-year order, plus moments), every replica cell,
the Table 6 difference tests, Table 1, and the posterior summaries of the five paper models at 100 draws.

The posterior summaries: see test_posterior_summaries_are_unchanged. CTFP comes from
today's DEA engine, whose chunked solves (merged after the recording) move scores in the last bits, so CTFP,
Table 1, cells and tests are held to 1e-12 / 1e-9 here; the tables engine's bit-for-bit equality on the old
panel is tests/test_tables_paper.py, and the old panel equals this run's to 1e-12.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ctfp.core.study_load import load_study, without_bayes
from ctfp.inference.pipeline import Pipeline
from ctfp.studies import study_path

pytestmark = pytest.mark.slow
BASELINE = json.loads((Path(__file__).parent / "data" / "paper_baseline.json").read_text())


@pytest.fixture(scope="module")
def paper_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("paper")
    Pipeline(without_bayes(load_study(study_path())), out, progress=False).run()
    return out


def _moments(x: np.ndarray) -> dict:
    x = np.asarray(x, dtype=np.float64)
    return {"sha256": hashlib.sha256(np.ascontiguousarray(x).tobytes()).hexdigest(), "n": int(x.size),
            "mean": float(x.mean()), "sd": float(x.std(ddof=1)), "min": float(x.min()), "max": float(x.max()),
            "n_at_1": int((x == 1.0).sum()), "first": [float(v) for v in x[:5]]}


def _close_moments(x: np.ndarray, want: dict) -> None:
    """The DEA engine's chunked solves (merged after the recording) move scores in the last bits: min, max and
    the first scores within 1e-12, the count exactly at the frontier exact (scores are snapped to 1). Mean and sd
    within 1e-11: since the generator places its inputs with the DEA engine, three boundary city-years move by
    up to 8.3e-10 (measured: mean 7.0e-13, sd 2.0e-12 of CTFP)."""
    got = _moments(x)
    assert got["n"] == want["n"] and got["n_at_1"] == want["n_at_1"]
    for k in ("mean", "sd", "min", "max"):
        assert got[k] == pytest.approx(want[k], rel=0, abs=1e-11 if k in ("mean", "sd") else 1e-12), k
    np.testing.assert_allclose(got["first"], want["first"], rtol=0, atol=1e-12)


def test_ctfp_per_city_year_is_unchanged(paper_run: Path) -> None:
    a = pd.read_parquet(paper_run / "panel" / "analysis.parquet").sort_values(["city", "year"])
    # the study adds one column the old code made inside the Table 3 replica: l_ai = lag(ai)
    assert [c for c in a.columns if c != "l_ai"] == BASELINE["analysis_columns"]
    _close_moments(a["ctfp"], BASELINE["ctfp"])
    _close_moments(a["ctfp_bcc"], BASELINE["ctfp_bcc"])
    prev = a.set_index(["city", "year"])["ai"]
    want = [prev.get((c, y - 1), np.nan) for c, y in zip(a["city"], a["year"], strict=True)]
    np.testing.assert_array_equal(a["l_ai"], want)
    # the panel the tables engine's own regression test reads (tests/data/paper_world_analysis.parquet)
    tables_panel = pd.read_parquet(Path(__file__).parent / "data" / "paper_world_analysis.parquet")
    mine = a[list(tables_panel.columns)].reset_index(drop=True)
    # 1e-9: the generator places its inputs with the package's DEA engine since it moved to models/worlds; three
    # city-years whose target is unreachable sit on the edge of the anchors' technology, where the old LP and the
    # engine differ by up to 8.3e-10 in CTFP (and the BCC scores referencing them by 1.2e-10); elsewhere < 1e-14
    pd.testing.assert_frame_equal(mine, tables_panel.sort_values(["city", "year"]).reset_index(drop=True),
                                  check_dtype=False, check_exact=False, rtol=0, atol=1e-9)


def _replica_cells(run: Path) -> dict[tuple, dict]:
    """(table, column, term) -> estimate, se, t, p, nobs, from tables/replicas.csv or the legacy cells.json."""
    csv = run / "tables" / "replicas.csv"
    if csv.is_file():
        df = pd.read_csv(csv)
        return {(r.table, r.column, r.term): {"estimate": r.estimate, "se": r.se, "t": r.t, "p": r.p, "nobs": r.nobs}
                for r in df.itertuples(index=False)}
    raise AssertionError(f"{csv} is missing")


def _key(c: dict) -> tuple:
    term = {"L.ai": "l_ai"}.get(c["variable"], c["variable"])  # the old replica's name of the lag
    return (f"T{c['table']}", c["column"], term if c["kind"] == "coef" else c["row"])


def _val(c: dict) -> dict:
    return {"estimate": c["replica_coef"], "se": c["replica_se"], "t": c["replica_t"], "p": c["replica_p"],
            "nobs": c["nobs"]}


def test_every_replica_cell_is_unchanged(paper_run: Path) -> None:
    got = _replica_cells(paper_run)
    want = {_key(c): _val(c) for c in BASELINE["cells"]}
    assert len(want) == 107
    for key, val in want.items():
        assert key in got, key
        for k, v in val.items():
            g = got[key][k]
            if v is None or (key[2] == "diff_p" and k != "estimate"):
                continue  # the old cells left these empty; the difference p-value row keeps only its value
            # 1e-8: CTFP comes from today's DEA engine, and the generator's three boundary city-years (placed by
            # that engine since it moved to models/worlds, see _close_moments) sit in the small split samples of
            # Table 6, moving their coefficients by up to 1.4e-9 (relative); the tables engine's bit-for-bit
            # equality on the old panel is tests/test_tables_paper.py
            assert g == pytest.approx(v, rel=1e-8, abs=1e-12), (key, k, g, v)


def test_difference_tests_and_table1_are_unchanged(paper_run: Path) -> None:
    tests = pd.read_csv(paper_run / "tables" / "tests.csv")
    splits = ("g_ua", "g_resource", "g_attention", "g_envinv", "g_hum", "g_gcons")  # T6 (1)-(2), (3)-(4), ...
    for d in BASELINE["group_diffs"]:
        k = splits.index(d["split"])
        pair = tests[(tests["table"] == "T6") & (tests["column_a"] == f"({2 * k + 1})")
                     & (tests["column_b"] == f"({2 * k + 2})")].set_index("method")
        assert pair.loc["permutation", "p_two_sided"] == d["perm_p_two_sided"], d["split"]  # counts: exact
        assert pair.loc["permutation", "p"] == d["perm_p_one_sided"], d["split"]
        # 1e-8: the generator's three boundary city-years (see _close_moments) move g_gcons's difference 3.6e-9
        assert pair.loc["permutation", "diff"] == pytest.approx(d["diff"], rel=1e-8), d["split"]
        assert pair.loc["chow", "p"] == pytest.approx(d["chow_p"], rel=1e-8), d["split"]
        assert pair.loc["suest", "p"] == pytest.approx(d["suest_p"], rel=1e-8), d["split"]
    t1 = pd.read_csv(paper_run / "tables" / "table1.csv")
    got = t1[["variable", "N", "mean", "sd", "min", "max"]].to_dict(orient="records")
    assert [r["variable"] for r in got] == [r["variable"] for r in BASELINE["table1"]]
    for g, w in zip(got, BASELINE["table1"], strict=True):
        # the DEA scores: the generator's three boundary city-years (see _close_moments) move CTFP's sd by 1e-11
        rel = 1e-10 if g["variable"].lower().startswith("ctfp") else 1e-12
        for k in ("N", "mean", "sd", "min", "max"):
            assert g[k] == pytest.approx(w[k], rel=rel), (g["variable"], k)


def test_run_folder_holds_provenance(paper_run: Path) -> None:
    prov = paper_run / "provenance"
    derive = json.loads((prov / "derive.json").read_text())
    assert derive["imputed"]["fai"]["extrapolated"] > 0  # FAI after 2017 is extrapolated by growth
    assert set(derive["entropy_weights"]) >= {"er", "gcons"}
    dea = json.loads((prov / "dea_ctfp.json").read_text())
    assert dea["solver_status"] == {"optimal": 1248}
    assert dea["attrs"]["roundoff_snapped_to_1"] == BASELINE["ctfp"]["n_at_1"]
    groups = json.loads((prov / "groups.json").read_text())
    assert groups["g_ua"]["units_1"] == 63 and groups["g_ua"]["units_0"] == 15  # the "any" rule: 63 / 15
    rec = json.loads((paper_run / "run.json").read_text())
    assert rec["data_source"] == "synthetic" and rec["unit"] == "city" and rec["measures"] == ["ctfp", "ctfp_bcc"]


# The old paper.toml's [variables] and [[bayes.models]] entries, as the old pipeline passed them to
# fit_from_spec_dict (commit f2e1880): the study file's typed models must feed the very same fits.
OLD_VARIABLES = {"outcome": "ctfp", "treatment": "ai", "controls": ["pop", "hum", "lninf", "isu", "trade", "er", "tec"]}
# The recording's models had iid errors with one sd; the calibrated default (AR(1) + per-city sds, issue 12)
# came later, so both sides pin the recording's error model.
IID = {"serial": "none", "error_scale": "common"}
OLD_MODELS = {
    "headline": {"name": "headline", "likelihood": "normal", "mundlak": True, **IID},
    "censored": {"name": "censored", "likelihood": "censored", "mundlak": True, **IID},
    "hetero": {"name": "hetero", "likelihood": "normal", "mundlak": True, **IID,
               "by": ["g_ua", "g_resource", "g_attention", "g_envinv", "g_hum", "g_gcons"]},
    "iv": {"name": "iv", "likelihood": "normal", "instrument": "iv_tel", "mundlak": True, **IID},
}


@pytest.mark.parametrize("names", [("headline", "hetero"), ("censored", "iv")])
@pytest.mark.heavy
def test_posterior_summaries_are_unchanged(tmp_path: Path, names: tuple[str, ...]) -> None:
    """The paper study's [bayes] section, run by the pipeline on the analysis panel the old code made
    (tests/data/paper_world_analysis.parquet: the recording's panel to 1e-12, its CTFP bit for bit), with the
    recording's sampler and seed.

    The pipeline fits the model the old entry point (fit_from_spec_dict) builds from the old spec's dicts (the
    same rows, units, likelihood and model kind). The draws are not compared bit for bit: after the recording the Bayesian
    builders (every data-dependent array in pm.Data, commit bee25c1) and the sampler (PyMC's NUTS on the C
    backend) changed, which changes the draws at a given seed for the old entry point as well, and the same
    fit at the same seed has been seen to differ between processes (sd 0.00806 vs 0.00819 for `headline`), so
    the summaries are held to Monte Carlo error (100 draws x 2 chains) against both the old entry point and
    the recording. Up to that merge they were equal to the recording bit for bit (commit 8e82445's test)."""
    text = study_path().read_text()
    cfg = BASELINE["bayes_sampler"]
    bayes = text[text.index("[bayes]\n"):text.index("[report]")]
    bayes = re.sub(r'sampler = "\w+"', 'sampler = "pymc"', bayes)  # the recording's sampler
    bayes, n = re.subn(r"draws = \d+\ntune = \d+\nchains = \d+",
                       f"draws = {cfg['draws']}\ntune = {cfg['tune']}\nchains = {cfg['chains']}", bayes, count=1)
    assert n == 1
    blocks = bayes.split("[[bayes.models]]")
    blocks = [re.sub(r"(?m)^(serial|error_scale) = .*\n(\s+#.*\n)*", "", b) for b in blocks]  # pinned below
    bayes = blocks[0] + "".join("[[bayes.models]]" + b.rstrip("\n") + '\nserial = "none"\nerror_scale = "common"\n\n'
                                for b in blocks[1:] if any(f'name = "{n}"' in b for n in names))
    panel_file = Path(__file__).parent / "data" / "paper_world_analysis.parquet"
    (tmp_path / "panel.parquet").write_bytes(panel_file.read_bytes())
    (tmp_path / "s.toml").write_text('[data]\npanel = "panel.parquet"\nunit = "city"\ntime = "year"\n\n' + bayes)
    study = load_study(tmp_path / "s.toml")
    assert [m.name for m in study.bayes.models] == list(names) and study.bayes.seed == cfg["seed"]
    # each side in a fresh process: a sampler's draws may depend on what the process compiled before
    run = subprocess.run([sys.executable, "-m", "ctfp.inference", "run", str(tmp_path / "s.toml"), "--out",
                          str(tmp_path / "run"), "--no-progress"], capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-2000:]
    sampler = {"sampler": "pymc", "target_accept": 0.9, **cfg}
    for name in names:
        s = json.loads((tmp_path / "run" / "bayes" / name / "summary.json").read_text())
        code = ("import json, sys, pandas as pd; from ctfp.inference.fit import fit_from_spec_dict; "
                "a = json.loads(sys.argv[1]); s = fit_from_spec_dict(pd.read_parquet(a['panel']), "
                "variables=a['variables'], model=a['model'], sampler=a['sampler'], out_dir=a['out'], "
                "progress=False); open(a['out'] + '/old.json', 'w').write(json.dumps(s))")
        args = {"panel": str(panel_file), "variables": OLD_VARIABLES, "model": OLD_MODELS[name], "sampler": sampler,
                "out": str(tmp_path / "old" / name)}
        direct = subprocess.run([sys.executable, "-c", code, json.dumps(args)], capture_output=True, text=True,
                                timeout=900)
        assert direct.returncode == 0, direct.stderr[-2000:]
        old = json.loads((tmp_path / "old" / name / "old.json").read_text())
        assert s["n_obs"] == old["n_obs"] and s["n_units"] == old["n_units"], name
        assert s["likelihood"] == old["likelihood"] and s["model"] == old["model"], name
        want = BASELINE["bayes"][name]
        for key in ("treatment", "coefficient"):
            assert abs(s[key]["mean"] - old[key]["mean"]) < 0.5 * old[key]["sd"], (name, key)
            got, rec = s[key], want[key]
            assert abs(got["mean"] - rec["mean"]) < 0.5 * rec["sd"], (name, key, got["mean"], rec["mean"])
            assert 0.7 < got["sd"] / rec["sd"] < 1.4, (name, key, got["sd"], rec["sd"])
        assert set(s["by"]) == set(want["by"]), name
        for split, node in want["by"].items():
            d_got, d_rec = s["by"][split]["diff"], node["diff"]
            assert abs(d_got["mean"] - d_rec["mean"]) < 0.5 * d_rec["sd"], (name, split)
            for level in ("1", "0"):  # each level's P(slope > 0), stored once in the summary
                assert 0 <= s["by"][split][level]["p_gt0"] <= 1
