"""Regression tables in the layout papers print: the layout (reports.regtable) and its writers (LaTeX, Word,
Markdown, HTML), against the run folder's tables/replicas.csv.

The frames are the tables of a real run folder: `ctfp run` of the paper's study on a user's panel with --no-bayes
(tests/conftest.py), the paper's printed Tables 2-6 beside them; the study's [report] language is tried on a
user's own study whose report language is Chinese.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from ctfp.reports.regtable import build_regtable
from ctfp.reports.regwriters import latex_document, to_html, to_latex, to_markdown, write_table
from ctfp.reports.tabledata import load_table_data

pytestmark = [pytest.mark.slow]  # run folders from `ctfp run`

LABELS = {"ai": "AI", "scale": "AI", "pop": "POP", "hum": "HUM", "lninf": "lnINF", "isu": "ISU", "trade": "trade",
          "er": "ER", "tec": "TEC"}


@pytest.fixture(scope="module")
def run(user_paper_run: Path) -> Path:
    return user_paper_run


@pytest.fixture(scope="module")
def frames(run: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    return pd.read_csv(run / "tables" / "replicas.csv", dtype={"column": str}), pd.read_csv(
        run / "tables" / "columns.csv", dtype={"column": str})


def _t2(frames: tuple[pd.DataFrame, pd.DataFrame], lang: str = "en", **kw: object):
    rep, cols = frames
    return build_regtable(rep, cols, "T2", lang=lang, labels=LABELS, title="Baseline regressions", unit="city",
                          time="year", **kw)


def _expected(rep: pd.DataFrame, table: str) -> dict[str, str]:
    """What the paper layout must print for each number of replicas.csv: key -> text."""
    out = {}
    for r in rep[rep["table"] == table].itertuples(index=False):
        k = f"{r.table}.{r.column}.{r.term}"
        if r.kind == "coef":
            out[f"{k}.estimate"] = f"{r.estimate:.4f}" + "*" * int(r.stars)
            out[f"{k}.t"] = f"({r.t:.2f})"
            if pd.notna(r.published_estimate):
                out[f"{k}.published_estimate"] = f"{r.published_estimate:.4f}" + "*" * int(r.published_stars)
                out[f"{k}.published_t"] = f"({r.published_t:.2f})"
        elif r.term == "N":
            out[f"{k}.estimate"] = str(int(r.estimate))
            out[f"{k}.published_estimate"] = str(int(r.published_estimate))
        elif r.term == "R2":
            out[f"{k}.estimate"] = f"{r.estimate:.4f}"
            out[f"{k}.published_estimate"] = f"{r.published_estimate:.4f}"
    return out


def test_layout_of_table2_is_the_papers(frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    rt = _t2(frames)
    # Published | replica pairs under each model id, the group labels spanning their two models.
    assert rt.pairs and rt.n_leaf == 8 and rt.columns == ["(1)", "(2)", "(3)", "(4)"]
    assert [(c.text, c.span) for c in rt.header[0]] == [("quality", 4), ("scale", 4)]  # the study's labels
    assert [c.text for c in rt.header[-1]] == ["Published", "Replica"] * 4
    labels = [r.label for r in rt.rows]
    # ai (cols 1-2) and scale (cols 3-4) share the printed row "AI", as the paper prints them.
    assert labels[:2] == ["AI", ""] and rt.rows[0].term == "ai+scale"
    assert labels[2::2][:7] == ["POP", "HUM", "lnINF", "ISU", "trade", "ER", "TEC"]
    assert "Controls" not in labels  # Table 2 shows its controls
    assert labels[-4:] == ["City FE", "Year FE", "N", "R²"]
    assert rt.notes[0] == ("Note: *** p<0.01, ** p<0.05, * p<0.1; t statistics in parentheses; standard errors "
                           "clustered by city (t with G−1 df).")
    printed = {c.key: c.text + c.stars for row in rt.rows for c in row.cells if c.key}
    expected = _expected(frames[0], "T2")
    assert {k: printed.get(k) for k in expected} == expected
    # Every number printed is the unrounded replicas.csv number.
    rep = frames[0][frames[0]["table"] == "T2"].set_index(["column", "term"])
    assert rt.numbers()["T2.(2).ai.estimate"] == rep.loc[("(2)", "ai"), "estimate"]


def test_hidden_controls_make_a_controls_yes_row(frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    rt = build_regtable(*frames, "T6", labels=LABELS, unit="city", time="year")
    labels = [r.label for r in rt.rows]
    assert labels[:2] == ["AI", ""]
    assert labels[2:5] == ["Controls", "City FE", "Year FE"]
    assert all(c.text == "Yes" and c.span == 2 for c in rt.rows[2].cells)
    assert "Controls: POP, HUM, lnINF, ISU, trade, ER, TEC." in rt.notes
    # keep= picks rows; without published values there are no pairs; se beneath on request.
    rt = build_regtable(*frames, "T2", keep=["ai", "scale", "pop"], pairs=False, beneath="se", labels=LABELS)
    assert not rt.pairs and rt.n_leaf == 4
    assert [r.label for r in rt.rows][:4] == ["AI", "", "POP", ""]
    assert rt.rows[4].label == "Controls" and [c.text for c in rt.rows[4].cells] == ["No", "Yes", "No", "Yes"]
    se = frames[0][frames[0]["table"] == "T2"].set_index(["column", "term"]).loc[("(2)", "pop"), "se"]
    assert rt.rows[3].cells[1].text == f"({se:.4f})"
    assert "Standard errors in parentheses" in rt.notes[0]


def test_twelve_models_print_as_two_panels(frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    rt = build_regtable(*frames, "T6", labels=LABELS)
    panels = rt.panels()
    assert [p.columns for p in panels] == [rt.columns[:6], rt.columns[6:]]
    assert all(p.n_leaf == 12 for p in panels)
    assert all(sum(c.span for c in row.cells) == 12 for p in panels for row in p.rows)
    assert not panels[0].notes and panels[1].notes == rt.notes


def _tex_rows(tex: str) -> list[str]:
    body = tex.split("\\toprule", 1)[1].split("\\bottomrule", 1)[0]
    return [ln for ln in body.splitlines() if ln.rstrip().endswith("\\\\")]


def test_latex_table2_structure_and_compilation(frames: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path) -> None:
    rt = _t2(frames)
    tex = to_latex(rt)
    # Exact booktabs structure: one top and bottom rule, a midrule under the header and above each block.
    assert tex.count("\\toprule") == 1 and tex.count("\\bottomrule") == 1 and tex.count("\\midrule") == 3
    assert "\\begin{tabular}{lcccccccc}" in tex
    assert "\\multicolumn{4}{c}{quality} & \\multicolumn{4}{c}{scale} \\\\" in tex
    assert "\\cmidrule(lr){2-5} \\cmidrule(lr){6-9}" in tex
    for line in _tex_rows(tex):  # every row fills 1 + 8 columns (multicolumn spans counted)
        cells = line.rstrip(" \\").split(" & ")
        spans = [int(m.group(1)) if (m := re.match(r"\\multicolumn\{(\d+)\}", c)) else 1 for c in cells]
        assert sum(spans) == 9, line
    rep = frames[0][frames[0]["table"] == "T2"].set_index(["column", "term"])
    hum = rep.loc[("(2)", "hum")]
    assert f"{hum['estimate']:.4f}".replace("-", "$-$") in tex and "$-$0.1233$^{*}$" in tex  # published HUM of col (2), stars
    assert "R$^2$" in tex and "City FE & \\multicolumn{2}{c}{Yes}" in tex
    doc = latex_document([rt])
    assert doc.startswith("\\documentclass{article}") and "\\usepackage{booktabs}" in doc
    pdflatex = shutil.which("pdflatex")
    if pdflatex is None:
        pytest.skip("pdflatex not installed (.ci/run installs texlive-latex-recommended); structure checked above")
    (tmp_path / "t2.tex").write_text(doc, encoding="utf-8")
    res = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", "t2.tex"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120, check=False)
    assert res.returncode == 0, res.stdout[-2000:]
    assert (tmp_path / "t2.pdf").stat().st_size > 5_000
    assert "Overfull \\hbox" not in (tmp_path / "t2.log").read_text(errors="replace")


def test_chinese_latex_compiles_with_the_papers_terms(frames: tuple[pd.DataFrame, pd.DataFrame],
                                                      tmp_path: Path) -> None:
    rt = _t2(frames, lang="zh")
    doc = latex_document([rt])
    for term in ("变量", "城市固定效应", "年份固定效应", "原文", "复现", "括号内为t值", "\\renewcommand{\\tablename}{表}"):
        assert term in doc
    assert "\\usepackage{CJKutf8}" in doc and "\\begin{CJK}{UTF8}{gbsn}" in doc
    pdflatex, kpsewhich = shutil.which("pdflatex"), shutil.which("kpsewhich")
    if pdflatex is None or kpsewhich is None or not subprocess.run(
            [kpsewhich, "CJKutf8.sty"], capture_output=True, text=True, check=False).stdout.strip():
        pytest.skip("pdflatex with CJKutf8 not installed (.ci/run installs latex-cjk-chinese); structure checked")
    (tmp_path / "t2zh.tex").write_text(doc, encoding="utf-8")
    res = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", "t2zh.tex"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120, check=False)
    assert res.returncode == 0, res.stdout[-2000:]


def test_docx_holds_the_numbers_of_replicas_csv(frames: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path) -> None:
    from docx import Document

    rt = _t2(frames)
    path = write_table(rt, "docx", tmp_path / "t2.docx")
    doc = Document(str(path))
    assert doc.paragraphs[0].text == "Table 2  Baseline regressions"
    (table,) = doc.tables
    grid = [[c.text for c in row.cells] for row in table.rows]  # merged cells repeat their text
    assert grid[0][0] == "Variable" and grid[0][1:5] == ["quality"] * 4
    assert grid[2][1:] == ["Published", "Replica"] * 4
    rows = {r[0]: r[1:] for r in grid[3:] if r[0]}
    rep = frames[0][frames[0]["table"] == "T2"].set_index(["column", "term"])
    for j, col in enumerate(["(1)", "(2)", "(3)", "(4)"]):
        term = "ai" if col in ("(1)", "(2)") else "scale"
        r = rep.loc[(col, term)]
        assert rows["AI"][2 * j] == f"{r['published_estimate']:.4f}" + "*" * int(r["published_stars"])
        assert rows["AI"][2 * j + 1] == f"{r['estimate']:.4f}" + "*" * int(r["stars"])
        assert rows["N"][2 * j + 1] == str(int(rep.loc[(col, "N"), "estimate"]))
        assert rows["R²"][2 * j + 1] == f"{rep.loc[(col, 'R2'), 'estimate']:.4f}"
    ai_row = next(i for i, r in enumerate(grid) if r[0] == "AI")
    assert grid[ai_row + 1][2] == f"({rep.loc[('(1)', 'ai'), 't']:.2f})"
    assert any("t statistics in parentheses" in p.text for p in doc.paragraphs)


def test_markdown_and_html_print_the_same_numbers(frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    rt = _t2(frames)
    md = to_markdown(rt)
    page = to_html(rt)
    expected = _expected(frames[0], "T2")
    for key, text in expected.items():
        assert f'data-key="{key}"' in page
        assert text.replace("*", "\\*") in md
    cell = re.search(r'<td class="num" data-key="T2\.\(2\)\.ai\.estimate" data-value="([^"]+)">([^<]+)'
                     r'(?:<sup>(\**)</sup>)?</td>', page)
    assert cell and float(cell.group(1)) == rt.numbers()["T2.(2).ai.estimate"]
    assert cell.group(2) + (cell.group(3) or "") == expected["T2.(2).ai.estimate"]  # stars as a superscript
    assert md.splitlines()[2].startswith("| Variable | quality (1) Published |")
    assert rt._repr_html_().count('data-key="T2.(2).ai.estimate"') == 1  # a notebook shows the same table


def test_chinese_table_has_the_papers_terms_and_the_same_numbers(frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    en, zh = _t2(frames), _t2(frames, lang="zh")
    assert zh.numbers() == en.numbers()
    texts = lambda rt: [[c.text + c.stars for c in r.cells] for r in rt.rows if r.kind in ("coef", "beneath", "stat")]  # noqa: E731
    assert texts(zh) == texts(en)
    assert zh.stub == "变量" and zh.title == "表2  Baseline regressions"
    assert [r.label for r in zh.rows][-4:] == ["城市固定效应", "年份固定效应", "N", "R²"]
    assert zh.notes[0] == "注:***、**、*依次表示在1%、5%和10%的水平上显著;括号内为t值;标准误聚类到城市层面(t分布自由度为G−1)。"
    t6 = build_regtable(*frames, "T6", lang="zh", labels=LABELS, unit="city", time="year")
    assert t6.rows[2].label == "控制变量" and {c.text for c in t6.rows[2].cells} == {"是"}


def _ctfp(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    code = ("import sys\nfrom ctfp.inference.cli import main\nrc = main(sys.argv[1:])\n"
            "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('pymc', 'arviz', 'pytensor', 'arviz_base'))\n"
            "print('HEAVY:' + ','.join(heavy), file=sys.stderr)\nsys.exit(rc)")
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120,
                          check=False, cwd=cwd)


def test_cli_table_writes_every_format_without_pymc_or_arviz(run: Path, user_study_bayes_zh_run: Path,
                                                            tmp_path: Path) -> None:
    for fmt, name in (("latex", "t2.tex"), ("docx", "t2.docx"), ("md", "t2.md"), ("html", "t2.html")):
        res = _ctfp("table", str(run), "--table", "T2", "--format", fmt, "--out", str(tmp_path / name))
        assert res.returncode == 0, res.stderr
        assert "HEAVY:\n" in res.stderr, res.stderr  # no PyMC, PyTensor or ArviZ module was imported
        assert (tmp_path / name).stat().st_size > 1000
    assert "\\begin{table}" in (tmp_path / "t2.tex").read_text(encoding="utf-8")
    # The study's [report] language is the default; --lang overrides it; stdout without --out.
    zh_run = user_study_bayes_zh_run  # [report] language = "zh"
    res = _ctfp("table", str(zh_run), "--table", "T6")
    assert res.returncode == 0 and "城市固定效应" in res.stdout and "表6" in res.stdout
    res = _ctfp("table", str(zh_run), "--table", "T6", "--lang", "en")
    assert "City FE" in res.stdout and "城市固定效应" not in res.stdout
    res = _ctfp("table", str(run), "--table", "T2", "--label", "ai=AI quality", "--label", "scale=AI scale")
    rows = [ln.split(" | ")[0].lstrip("| ") for ln in res.stdout.splitlines() if ln.startswith("| AI ")]
    assert rows == ["AI quality", "AI scale"]


def test_cli_table_mistakes_are_one_line(run: Path, tmp_path: Path) -> None:
    cases = [
        (("table", str(run), "--table", "T9"), "no table T9; the run has T2, T3, T4, T5, T6"),
        (("table", str(run), "--format", "docx"), "--format docx needs --out"),
        (("table", str(run), "--out", str(tmp_path / "t.rtf")), "cannot tell the format from the suffix"),
        (("table", str(tmp_path / "nowhere")), "no such run folder"),
        (("table", str(run), "--table", "T2", "--keep", "ai,gdp"), "table T2 has no coefficient gdp"),
        (("table", str(run), "--label", "l_ai"), "--label 'l_ai': write TERM=TEXT"),
    ]
    for args, msg in cases:
        res = _ctfp(*args)
        assert res.returncode == 1, (args, res.stderr)
        lines = [ln for ln in res.stderr.splitlines() if not ln.startswith("HEAVY:")]
        assert len(lines) == 1 and lines[0].startswith("ctfp: error: ") and msg in lines[0], lines


def test_old_run_folders_are_read_through_the_bridge(tmp_path: Path) -> None:
    """A run folder of the old pipeline (replicas/cells.json only) gives the same layout. The cells are the ones
    the old pipeline wrote (`ctfp demo --no-bayes` at commit f2e1880, vendored as tests/data/old_run_cells.json)."""
    import json

    old = Path(__file__).parent / "data" / "old_run_cells.json"
    cells = json.loads(old.read_text(encoding="utf-8"))
    (tmp_path / "replicas").mkdir()
    shutil.copy(old, tmp_path / "replicas" / "cells.json")
    data = load_table_data(tmp_path)
    assert data is not None and data.legacy and data.table_ids == ["T2", "T3", "T4", "T5", "T6"]
    rt = build_regtable(data.replicas, data.columns_for("en"), "T6", tests=data.tests, labels=data.labels,
                        unit="city", time="year")
    c = next(c for c in cells if c["table"] == "6" and c["column"] == "(1)" and c["row"] == "AI")
    assert rt.numbers()["T6.(1).ai.estimate"] == c["replica_coef"]
    assert rt.rows[2].label == "Controls"  # the published specs' formulas name the hidden controls
    diff = next(c for c in cells if c["table"] == "6" and c["row"] == "diff_p")
    assert any(n.startswith(f"Difference in AI between (1) and (2): permutation p = {diff['replica_coef']:.3f} "
                            f"(published {diff['published_coef']:.3f})") for n in rt.notes), rt.notes


def test_a_models_treatment_shows_even_where_the_paper_has_no_value(frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    rep, cols = frames
    rep = rep.copy()
    rep.loc[rep["term"] == "scale", ["published_estimate", "published_t", "published_stars"]] = None
    rt = build_regtable(rep, cols, "T2", labels={"ai": "AI"}, unit="city", time="year")
    labels = [r.label for r in rt.rows]
    assert "scale" in labels and "Controls" not in labels  # scale: (3)-(4)'s treatment, unpublished, shown
    row = rt.rows[labels.index("scale")]
    assert row.cells[4].text == "" and row.cells[5].value == rep.set_index(
        ["table", "column", "term"]).loc[("T2", "(3)", "scale"), "estimate"]
