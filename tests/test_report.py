"""The HTML report of real run folders, written by `ctfp run` (tests/conftest.py: the paper's study on a
SYNTHETIC panel file with its Bayesian models; the same study on a user's panel with --no-bayes): sections, files,
and the numbers on the page against the run's JSON/CSV and posterior files."""

from __future__ import annotations

import io
import json
import math
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ctfp.core.errors import InputError

pytestmark = [pytest.mark.slow]

SECTIONS = ("data", "ctfp", "replicas", "heterogeneity", "checking", "sensitivity", "validation")
BARE_SECTIONS = tuple(x for x in SECTIONS if x != "sensitivity")  # prior sensitivity only beside fits
FIGURES = ("ctfp_distribution", "ctfp_by_year", "ctfp_ranking", "heterogeneity_forest", "group_differences", "ppc_mass_at_one")


class _Page(HTMLParser):
    """Collects data-key/data-value pairs, the text of each keyed element, sections, images and banners."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self.texts: dict[str, str] = {}
        self.sections: list[str] = []
        self.images: list[dict[str, str]] = []
        self.ids: set[str] = set()
        self.missing: dict[str, int] = {}
        self._open: list[tuple[str, str, list[str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "id" in a:
            self.ids.add(a["id"])
        if "data-section" in a:
            self.sections.append(a["data-section"])
        if "data-missing" in a:
            self.missing[a["data-missing"]] = self.missing.get(a["data-missing"], 0) + 1
        if tag == "img":
            self.images.append(a)
        if "data-key" in a:
            if "data-value" in a:
                self.values[a["data-key"]] = a["data-value"]
            self._open.append((tag, a["data-key"], []))

    def handle_data(self, data: str) -> None:
        for _, _, buf in self._open:
            buf.append(data)

    def handle_endtag(self, tag: str) -> None:
        if self._open and self._open[-1][0] == tag:
            _, key, buf = self._open.pop()
            self.texts[key] = "".join(buf).strip()


def parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


@pytest.fixture(scope="session")
def run_dir(report_run: Path) -> Path:
    return report_run


@pytest.fixture(scope="session")
def report(run_dir: Path) -> Path:
    return run_dir / "report.html"  # as `ctfp run` wrote it


@pytest.fixture(scope="session")
def page(report: Path) -> _Page:
    return parse(report)


def close(page_value: str, expected: float | None, rel: float = 1e-9) -> bool:
    if expected is None:
        return False
    return math.isclose(float(page_value), float(expected), rel_tol=rel, abs_tol=1e-12)


def test_every_section_figure_and_table_is_there(report: Path, page: _Page, run_dir: Path) -> None:
    n = len(SECTIONS)
    # after them: the notes, and the design analysis the paper study ships ([simulate] recorded, main's section)
    assert page.sections[:n] == list(SECTIONS) and set(page.sections[n:]) <= {"notes", "simulate"}
    html = report.read_text(encoding="utf-8")
    figs = {img["data-figure"] for img in page.images}
    assert figs == set(FIGURES)
    for img in page.images:
        assert img["src"].startswith("data:image/png;base64,")
    for fid in FIGURES:  # the same figure as PNG (embedded) and as vector SVG and PDF for a manuscript
        assert (run_dir / "figures" / f"{fid}.png").stat().st_size > 5000
        assert (run_dir / "figures" / f"{fid}.svg").read_text(encoding="utf-8").lstrip().startswith("<?xml")
        assert (run_dir / "figures" / f"{fid}.pdf").read_bytes()[:5] == b"%PDF-"
    csvs = {p.stem for p in (run_dir / "tables").glob("report_*.csv")}
    assert {f"report_{n}" for n in ("table1", "verdicts_T2", "verdicts_T6", "group_slopes", "group_differences",
                                    "diagnostics", "ppc_mass_at_one", "loo", "validation", "ctfp_by_city",
                                    "ctfp_by_year", "sbm_settings")} <= csvs
    # The run's own tables are inputs of the report, never rewritten by it.
    assert {"replicas", "columns", "tests"} <= {p.stem for p in (run_dir / "tables").glob("*.csv")}
    # Offline: nothing is fetched from anywhere.
    assert not re.search(r"""(src|href)\s*=\s*["'](https?:)?//""", html)
    assert "<script" not in html and "<link" not in html
    # the run is complete: no section of its own reports a missing piece
    assert {k: v for k, v in page.missing.items() if k != "simulate"} == {}


def test_regression_tables_on_the_page_equal_replicas_csv(page: _Page, run_dir: Path) -> None:
    from ctfp.reports.regtable import fmt_est
    from ctfp.reports.style import mark

    rep = pd.read_csv(run_dir / "tables" / "replicas.csv", dtype={"column": str})
    shown = rep[(rep["kind"] == "coef") & ((rep["table"] == "T2") | (rep["term"] == "ai"))]
    for r in shown.itertuples(index=False):
        key = f"{r.table}.{r.column}.{r.term}"
        assert close(page.values[f"{key}.estimate"], r.estimate)
        assert page.texts[f"{key}.estimate"] == fmt_est(r.estimate) + "*" * int(r.stars)
        assert page.texts[f"{key}.t"] == f"({r.t:.2f})"
        if pd.notna(r.published_estimate):
            assert close(page.values[f"{key}.published_estimate"], r.published_estimate)
            for flag in ("sign_agrees", "stars_agree", "published_in_ci"):
                assert page.texts[f"{key}.{flag}"] == mark(getattr(r, flag))
    n = rep[(rep["kind"] == "stat") & (rep["term"] == "N")]
    for r in n.itertuples(index=False):
        assert page.texts[f"{r.table}.{r.column}.N.estimate"] == str(int(r.estimate))
    assert len(shown) >= 30


def test_diagnostics_on_the_page_equal_summary_json(page: _Page, run_dir: Path) -> None:
    for folder in (run_dir / "bayes").iterdir():
        s = json.loads((folder / "summary.json").read_text())
        d = s["diagnostics"]
        k = f"diag.{folder.name}"
        assert close(page.values[f"{k}.max_rhat"], d["max_rhat"])
        assert close(page.values[f"{k}.min_ess_bulk"], d["min_ess_bulk"])
        assert close(page.values[f"{k}.divergences"], d["divergences"])
        assert page.texts[f"{k}.gate"] == ("✓" if s["gate"]["passed"] else "✗")


def test_posterior_numbers_equal_the_posterior_files(page: _Page, run_dir: Path) -> None:
    import xarray as xr

    dt = xr.open_datatree(run_dir / "bayes" / "hetero" / "posterior.nc", engine="h5netcdf")
    diff = dt["posterior"]["slope_diff"]
    slopes = dt["posterior"]["slope_group"]
    for s in diff["split"].values:
        draws = diff.sel(split=s).values.ravel()
        assert close(page.values[f"diff.{s}.p_gt0"], (draws > 0).mean())
        assert close(page.values[f"diff.{s}.mean"], draws.mean())
        assert page.texts[f"diff.{s}.p_gt0"] == f"{(draws > 0).mean():.3f}"
        for lv in ("1", "0"):
            g = slopes.sel(split=s, level=lv).values.ravel()
            assert close(page.values[f"slope.{s}.{lv}.mean"], g.mean())
            # 95% equal-tailed: within one draw's spacing of the 2.5% quantile
            assert abs(float(page.values[f"slope.{s}.{lv}.lo"]) - np.quantile(g, 0.025)) < 0.01 * g.std()
    # The frequentist differences: each permutation test of tables/tests.csv, on the split its columns sample.
    perm = _permutation_tests(run_dir)
    assert sorted(perm) == sorted(diff["split"].values)
    for s, d in perm.items():
        assert close(page.values[f"diff.{s}.perm_p_one_sided"], d["p"])
        assert close(page.values[f"diff.{s}.replica_diff"], d["diff"])
    # PPC: observed share of CTFP == 1 is the panel's share; the normal model replicates none exactly at 1.
    y = pd.read_csv(run_dir / "panel" / "analysis.csv")["ctfp"]
    assert close(page.values["ppc.headline.observed"], (y >= 1 - 1e-6).mean())
    assert float(page.values["ppc.headline.mean"]) == 0.0
    assert float(page.values["ppc.censored.mean"]) > 0.0


def _permutation_tests(run_dir: Path) -> dict[str, dict]:
    """split -> the permutation test row of tables/tests.csv whose first column samples `split == 1`."""
    tests = pd.read_csv(run_dir / "tables" / "tests.csv", dtype={"column_a": str, "column_b": str})
    cols = pd.read_csv(run_dir / "tables" / "columns.csv", dtype={"column": str}).set_index(["table", "column"])
    out = {}
    for r in tests[tests["method"] == "permutation"].to_dict("records"):
        sample = cols.loc[(r["table"], r["column_a"]), "sample"]
        split, level = (x.strip() for x in sample.split("=="))
        assert level == "1", sample
        out[split] = r
    return out


def test_tables_csv_equal_the_page(page: _Page, run_dir: Path) -> None:
    loo = pd.read_csv(run_dir / "tables" / "report_loo.csv").set_index("model")
    assert {"headline", "censored", "ordbeta"} <= set(loo.index)
    for m, r in loo.iterrows():
        assert close(page.values[f"loo.{m}.elpd"], r["elpd"])
    # Only the bounded likelihoods are ranked against each other; the normal one is not.
    assert page.texts["loo.headline.rank"] == "not ranked"
    bounded = loo.index[loo["bounded"].astype(bool)]
    assert sorted(page.texts[f"loo.{m}.rank"] for m in bounded) == [str(i + 1) for i in range(len(bounded))]
    assert math.isclose(loo.loc[bounded, "weight"].sum(), 1.0, abs_tol=1e-6)
    by_year = pd.read_csv(run_dir / "tables" / "report_ctfp_by_year.csv")
    for r in by_year.itertuples():
        assert close(page.values[f"ctfp.year.{r.year}.mean"], r.mean_ctfp)
    panel = pd.read_csv(run_dir / "panel" / "analysis.csv")
    assert int(page.values["panel.nobs"]) == len(panel)
    assert int(page.values["panel.cities"]) == panel["city"].nunique()
    claims = json.loads((run_dir / "validation.json").read_text())
    for c in claims:
        assert page.texts[f"claim.{c['claim_id']}.replica_verdict"] == c["replica_verdict"]
        assert page.texts[f"claim.{c['claim_id']}.posterior_verdict"] == c["posterior_verdict"]


def test_synthetic_run_has_the_banner_and_a_user_run_does_not(report: Path, user_paper_run: Path) -> None:
    assert "synthetic-banner" in parse(report).ids
    assert "SYNTHETIC DATA" in report.read_text(encoding="utf-8")
    # The same study on the user's own panel file, run with --no-bayes.
    html = user_paper_run / "report.html"
    p = parse(html)
    assert json.loads((user_paper_run / "run.json").read_text())["data_source"] == "user"
    assert "synthetic-banner" not in p.ids
    assert "SYNTHETIC" not in html.read_text(encoding="utf-8")
    assert p.missing.get("checking") == 1  # no fits -> the section says so instead of failing


def test_missing_pieces_are_named_with_the_command_that_makes_them(tmp_path: Path, run_dir: Path) -> None:
    from ctfp.reports.html import build_report

    bare = tmp_path / "bare"
    (bare / "panel").mkdir(parents=True)
    shutil.copy(run_dir / "run.json", bare / "run.json")
    shutil.copy(run_dir / "panel" / "analysis.csv", bare / "panel" / "analysis.csv")
    p = parse(build_report(bare))
    assert p.sections == list(BARE_SECTIONS)
    # data: tables/table1.csv (the paper's study has published moments); the rest: no tables, fits, claims
    assert p.missing == {"data": 1, "replicas": 1, "heterogeneity": 3, "checking": 1, "validation": 1}
    text = (bare / "report.html").read_text(encoding="utf-8")
    assert "<code>ctfp run STUDY.toml --out" in text
    assert "fig-ctfp_distribution" in p.ids  # CTFP comes from the panel's own column
    empty = tmp_path / "empty"
    empty.mkdir()  # nothing known about the study: every section, each saying what is missing
    assert parse(build_report(empty)).sections == list(BARE_SECTIONS)


def test_a_corrupt_file_is_one_input_error_line(tmp_path: Path, run_dir: Path, capsys: pytest.CaptureFixture) -> None:
    from ctfp.inference.cli import main
    from ctfp.reports.html import build_report

    bad = tmp_path / "bad"
    (bad / "replicas").mkdir(parents=True)
    (bad / "replicas" / "cells.json").write_text('[{"table": "2", ')
    with pytest.raises(InputError, match=r"cells\.json: replica cells are not valid JSON"):
        build_report(bad)
    assert main(["report", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ctfp: error: ") and err.count("\n") == 1
    (bad / "replicas" / "cells.json").write_text('[{"table": "2"}]')
    with pytest.raises(InputError, match="record 0 lacks table/column/row"):
        build_report(bad)
    (bad / "replicas" / "cells.json").unlink()
    (bad / "panel").mkdir()
    (bad / "panel" / "analysis.csv").write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match="analysis panel lacks column"):
        build_report(bad)
    (bad / "panel" / "analysis.csv").unlink()
    (bad / "bayes" / "headline").mkdir(parents=True)
    (bad / "bayes" / "headline" / "posterior.nc").write_bytes(b"not a netCDF file")
    with pytest.raises(InputError, match=r"posterior\.nc: posterior cannot be read"):
        build_report(bad)
    assert main(["report", str(tmp_path / "nope")]) == 1
    assert "no such run folder" in capsys.readouterr().err


def test_cli_and_terminal_summary(run_dir: Path, report: Path, capsys: pytest.CaptureFixture) -> None:
    from rich.console import Console

    from ctfp.inference.cli import main
    from ctfp.reports.console import print_summary

    con = Console(record=True, width=140, file=io.StringIO())
    print_summary(run_dir, console=con)
    out = con.export_text()
    assert "SYNTHETIC" in out and "Urban agglomeration" in out and "headline" in out
    assert f"{_permutation_tests(run_dir)['g_ua']['p']:.3f}" in out
    assert main(["report", str(run_dir), "--quiet"]) == 0
    assert capsys.readouterr().out.strip() == str(report)


def test_numbers_are_printed_as_an_economist_expects() -> None:
    from ctfp.reports.style import fmt_coef, fmt_int, fmt_interval, fmt_num, fmt_p, fmt_t, mark, stars_from_p

    assert fmt_coef(0.0248, 2) == "0.0248**"
    assert fmt_coef(-0.4827, 1) == "-0.4827*"
    assert fmt_coef(0.0157, 0) == "0.0157"
    assert fmt_t(2.0849) == "(2.08)" and fmt_t(None) == ""
    assert fmt_num(3.54e-09) == "3.54e-09"  # Table 4's first-stage coefficients
    assert fmt_int(1248.0) == "1,248" and fmt_p(0.0012) == "0.001"
    assert fmt_interval(-0.01, 0.05) == "[-0.0100, 0.0500]"
    assert [stars_from_p(p) for p in (0.009, 0.049, 0.099, 0.1)] == [3, 2, 1, 0]
    assert (mark(True), mark(False), mark(None)) == ("✓", "✗", "–")


def test_average_effects_equal_the_posterior_draws(page: _Page, run_dir: Path) -> None:
    import xarray as xr

    for folder in (run_dir / "bayes").iterdir():
        dt = xr.open_datatree(folder / "posterior.nc", engine="h5netcdf")
        if "ame" not in dt["posterior"].data_vars:
            continue
        draws = dt["posterior"]["ame"].values.ravel()
        assert close(page.values[f"ame.{folder.name}.mean"], draws.mean())
        assert close(page.values[f"ame.{folder.name}.p_gt0"], (draws > 0).mean())
        # summary.json's treatment mean is the same posterior mean
        summ = json.loads((folder / "summary.json").read_text())
        assert math.isclose(float(page.values[f"ame.{folder.name}.mean"]), summ["treatment"]["mean"], rel_tol=1e-9)


def test_a_runs_terminal_output_holds_no_raw_warning_lines(report_zh_cli) -> None:  # noqa: ANN001
    """`ctfp report` on a real run folder, every Python warning switched on (PYTHONWARNINGS=always): the terminal
    shows the summary and plain-words notes, never a raw `...Warning:` line; the raw ones are in log.txt."""
    res, run = report_zh_cli, report_zh_cli.run
    assert res.returncode == 0, res.stderr[-2000:]
    out = res.stdout + res.stderr
    raw = [ln for ln in out.splitlines() if re.search(r"\b\w*(Warning|Error)\b:", ln) or "warnings.warn(" in ln]
    assert not raw, raw
    assert f"report: {run / 'report.zh.html'}" in out
    notes = [ln for ln in out.splitlines() if ln.startswith("note: ")]
    if notes:  # whatever third-party code warned is said once in plain words, the messages logged
        assert notes[-1] == f"note: the messages themselves are in {run / 'log.txt'}"
        assert (run / "log.txt").stat().st_size > 0
    assert len(notes) == len(set(notes))
