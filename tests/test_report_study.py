"""The report adapts to the study: sections for what the study has, the SYNTHETIC banner exactly when an input
is synthetic, Table 1 beside the paper only with published moments. Every folder is written by `ctfp run`
(tests/conftest.py): a user's own study (no preset, tables only, on the analysis panel of a user's run), the same
study asking for a Bayesian model but run with --no-bayes, the same study on a panel file marked synthetic, and
the paper's study on a user's raw panel."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from ctfp.reports.html import build_report

pytestmark = [pytest.mark.slow]  # run folders from `ctfp run`


class _Sections(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.ids: set[str] = set()
        self.tables: set[str] = set()
        self.keys: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "data-section" in a:
            self.sections.append(a["data-section"])
        if "id" in a:
            self.ids.add(a["id"])
        if "data-table" in a:
            self.tables.add(a["data-table"])
        if "data-key" in a and "data-value" in a:
            self.keys[a["data-key"]] = a["data-value"]


def _parse(path: Path) -> _Sections:
    p = _Sections()
    p.feed(path.read_text(encoding="utf-8"))
    return p


def test_a_user_study_with_tables_only_gets_data_and_tables(user_study_run: Path) -> None:
    page = _parse(user_study_run / "report.html")
    # No DEA, no Bayesian models, no claims: no such sections; its split-sample models make a heterogeneity one.
    assert page.sections == ["data", "replicas", "heterogeneity"]
    assert "synthetic-banner" not in page.ids
    # No published moments: Table 1 is the panel's own statistics, with nothing beside a paper.
    assert "table1" in page.tables and "t1.tfp.mean" in page.keys
    assert not [k for k in page.keys if k.startswith("t1.") and k.endswith("_published")]
    html = (user_study_run / "report.html").read_text(encoding="utf-8")
    assert "SYNTHETIC" not in html and "The paper:" not in html
    assert "reg-T2" in page.ids and "reg-T6" in page.ids


def test_a_study_asking_for_bayes_names_what_is_missing(user_study_bayes_zh_run: Path) -> None:
    page = _parse(build_report(user_study_bayes_zh_run, lang="en"))
    assert page.sections == ["data", "replicas", "heterogeneity", "checking"]
    html = (user_study_bayes_zh_run / "report.en.html").read_text(encoding="utf-8")
    assert "No Bayesian fits in" in html and "No posterior group slopes" in html


def test_a_synthetic_panel_file_shows_the_banner(user_study_synthetic_run: Path, user_study_run: Path) -> None:
    """The same user's study on a panel file marked synthetic (its `synthetic` column, as `ctfp data synth`
    writes it): the run is recorded synthetic and the report carries the banner; unmarked, it does not."""
    assert json.loads((user_study_synthetic_run / "run.json").read_text())["data_source"] == "synthetic"
    assert "synthetic-banner" in _parse(user_study_synthetic_run / "report.html").ids
    assert json.loads((user_study_run / "run.json").read_text())["data_source"] == "user"


def test_chinese_report_of_a_study_has_the_same_numbers(user_study_run: Path, tmp_path: Path, copy_run) -> None:  # noqa: ANN001
    from ctfp.reports import i18n

    run = copy_run(user_study_run, tmp_path / "run")
    en = _parse(build_report(run))
    i18n.MISSING.clear()
    zh_path = build_report(run, lang="zh")
    assert not i18n.MISSING  # every English text of the page has its Chinese
    assert zh_path.name == "report.zh.html"  # the study's language keeps report.html
    zh = _parse(zh_path)
    assert zh.keys == en.keys and len(en.keys) > 100
    html = zh_path.read_text(encoding="utf-8")
    for term in ("变量", "城市固定效应", "年份固定效应", "括号内为t值", "表2", "数据"):
        assert term in html, term
    assert '<html lang="zh-CN">' in html


def test_chinese_figure_labels_draw_with_a_cjk_font_or_fall_back_to_english(
        user_paper_run: Path, tmp_path: Path, copy_run) -> None:  # noqa: ANN001
    """matplotlib warns "Glyph ... missing from font(s)" when a label has characters its font lacks: with the
    CJK font found at run time a Chinese figure draws every glyph; without one the report draws English labels
    and says so."""
    import io
    import warnings

    from ctfp.reports import figures
    from ctfp.reports.i18n import use_language

    font = figures.cjk_font()
    if font is not None:
        with use_language("zh"), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fig = figures.ctfp_distribution(pd.read_csv(user_paper_run / "panel" / "analysis.csv"))
            assert fig.axes[0].get_ylabel() == "观测值个数"
            fig.savefig(io.BytesIO(), format="png")
        assert not [w for w in caught if "missing from font" in str(w.message)]
    run = copy_run(user_paper_run, tmp_path / "run")  # the paper's study on a user's panel: CTFP figures drawn
    html = build_report(run, lang="zh").read_text(encoding="utf-8")
    assert ("图中标签为英文" in html) == (font is None)
    assert (run / "figures" / "ctfp_distribution.zh.pdf").read_bytes()[:5] == b"%PDF-"
