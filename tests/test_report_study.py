"""The report adapts to the study: sections for what the study has, the SYNTHETIC banner exactly when an input
is synthetic, Table 1 beside the paper only with published moments. Run folders are written by the tests
(tables from real FE fits on the fixture panel, no Bayesian fit), so these are quick."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest
from report_fixtures import make_panel, table_run

from ctfp.core.atomic import write_csv, write_json
from ctfp.reports.html import build_report


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


def _user_study(root: Path, **study: object) -> Path:
    """A user's study (no preset): its panel, its tables, a run.json recording the resolved study."""
    table_run(root, data_source="user")
    run = json.loads((root / "run.json").read_text())
    run["study"].update(study)
    run["inputs"] = {"panel": "my_cities.csv"}
    write_json(root / "run.json", run)
    write_csv(root / "panel" / "analysis.csv", make_panel().drop(columns=["ctfp", "ctfp_bcc"]))
    return root


def test_a_user_study_with_tables_only_gets_data_and_tables(tmp_path: Path) -> None:
    run = _user_study(tmp_path / "run")
    page = _parse(build_report(run))
    # No DEA, no Bayesian models, no claims: no such sections; its split-sample models make a heterogeneity one.
    assert page.sections == ["data", "replicas", "heterogeneity"]
    assert "synthetic-banner" not in page.ids
    assert "table1" not in page.tables  # no published moments: no Table 1 beside a paper
    html = (run / "report.html").read_text(encoding="utf-8")
    assert "SYNTHETIC" not in html and "The paper:" not in html
    assert "reg-T2" in page.ids and "reg-T6" in page.ids


def test_a_study_asking_for_bayes_names_what_is_missing(tmp_path: Path) -> None:
    run = _user_study(tmp_path / "run", bayes={"models": [{"name": "headline", "outcome": "ctfp", "treatment": "ai",
                                                           "by": ["g_ua"]}]})
    page = _parse(build_report(run))
    assert page.sections == ["data", "replicas", "heterogeneity", "checking"]
    html = (run / "report.html").read_text(encoding="utf-8")
    assert "No Bayesian fits in" in html and "No posterior group slopes" in html


@pytest.mark.parametrize("how", ["data_source", "input"])
def test_any_synthetic_input_shows_the_banner(tmp_path: Path, how: str) -> None:
    run = _user_study(tmp_path / "run")
    rec = json.loads((run / "run.json").read_text())
    if how == "data_source":
        rec["data_source"] = "synthetic"
    else:  # user data, but one input (e.g. a published table) is synthetic
        rec["inputs"] = {"panel": "my_cities.csv", "published": {"path": "pub.csv", "synthetic": True}}
    write_json(run / "run.json", rec)
    page = _parse(build_report(run))
    assert "synthetic-banner" in page.ids


def test_chinese_report_of_a_study_has_the_same_numbers(tmp_path: Path) -> None:
    from ctfp.reports import i18n

    run = _user_study(tmp_path / "run")
    en = _parse(build_report(run))
    i18n.MISSING.clear()
    zh_path = build_report(run, lang="zh")
    assert not i18n.MISSING  # every English text of the page has its Chinese
    assert zh_path.name == "report.zh.html"  # the study's language keeps report.html
    zh = _parse(zh_path)
    assert zh.keys == en.keys and len(en.keys) > 100
    html = zh_path.read_text(encoding="utf-8")
    for term in ("变量", "控制变量", "城市固定效应", "年份固定效应", "括号内为t值", "原文", "复现", "表2", "数据"):
        assert term in html, term
    assert '<html lang="zh-CN">' in html


def test_chinese_figure_labels_draw_with_a_cjk_font_or_fall_back_to_english(tmp_path: Path) -> None:
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
            fig = figures.ctfp_distribution(make_panel())
            assert fig.axes[0].get_ylabel() == "观测值个数"
            fig.savefig(io.BytesIO(), format="png")
        assert not [w for w in caught if "missing from font" in str(w.message)]
    run = _user_study(tmp_path / "run")
    write_csv(run / "panel" / "analysis.csv", make_panel())  # with CTFP: the figures are drawn
    html = build_report(run, lang="zh").read_text(encoding="utf-8")
    assert ("图中标签为英文" in html) == (font is None)
    assert (run / "figures" / "ctfp_distribution.zh.pdf").read_bytes()[:5] == b"%PDF-"
