"""The published tables as data, checked against the paper's own text.

The paper's tables (vendored excerpts: tests/fixtures/paper, sources in its README) are parsed independently of the package file: every coefficient,
t-value, star count, N, R², KP statistic of Tables 1–6 and the p = 0.001 of the text must match, and each
slip the package records must carry its note.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
from scipy import stats

from ctfp.data import published as pub

PAPER = Path(__file__).resolve().parent / "fixtures" / "paper" / "shen_chao_2025_tables.md"
CELL = re.compile(r"^(-?[0-9.]+(?:e-?[0-9]+)?)(\**)\s*(?:\((-?[0-9.]+)\))?$")
LABEL = {"<i>R</i> <sup>2</sup>": "R2", "R <sup>2</sup>": "R2"}


@pytest.fixture(scope="module")
def paper() -> str:
    return PAPER.read_text(encoding="utf-8")


def _block(text: str, start: str, end: str) -> list[str]:
    i = text.index(start)
    return text[i : text.index(end, i)].splitlines()


def _label(raw: str) -> str:
    raw = raw.strip()
    return LABEL.get(raw, re.sub(r"</?i>", "", raw))


def parse_tables(text: str) -> dict[tuple[str, str, str], tuple[str, str, int]]:
    """{(table, column, row): (printed number, printed t or "", stars)} from the markdown tables 2–6."""
    cells: dict[tuple[str, str, str], tuple[str, str, int]] = {}
    blocks = {
        "2": _block(text, "表2 基准回归结果", "注:"),
        "3": _block(text, "表3 稳健性检验结果", "表4 内生性检验结果"),
        "4": _block(text, "表4 内生性检验结果", "注:中括号内为p值"),
        "5": _block(text, "表5 影响机制检验结果", "表6 异质性检验结果"),
        "6": _block(text, "表6 异质性检验结果", "差异检验发现"),
    }
    for table, lines in blocks.items():
        offset, last = 0, None
        for line in lines:
            fields = line.split("\t")
            if len(fields) < 2:
                continue
            head = _label(fields[0])
            if head == "变量" and "(7)" in line:
                offset = 6  # second header of Table 6: columns (7)..(12)
                continue
            if head == "" and table == "2" and last is not None:
                # Table 2 prints t-values on their own line under the coefficients
                for j, f in enumerate(fields[1:], 1):
                    if f.strip():
                        num, _, stars = cells[(table, f"({j})", last)]
                        cells[(table, f"({j})", last)] = (num, f.strip().strip("()"), stars)
                continue
            if head.startswith("Kleibergen-Paap"):
                for j, f in enumerate(fields[1:], 1):
                    m = re.match(r"^([0-9.]+)(?: \[([0-9.]+)\])?$", f.strip())
                    if not m:
                        continue
                    if "LM" in head:
                        cells[(table, f"({j})", "KP_LM")] = (m.group(1), "", 0)
                        cells[(table, f"({j})", "KP_LM_p")] = (m.group(2), "", 0)
                    else:
                        cells[(table, f"({j})", "KP_F")] = (m.group(1), "", 0)
                continue
            parsed = [(j, CELL.match(f.strip())) for j, f in enumerate(fields[1:], 1) if f.strip()]
            if not parsed or not all(m for _, m in parsed):
                continue  # header or 是/否 rows
            last = head
            for j, m in parsed:
                assert m is not None
                cells[(table, f"({j + offset})", head)] = (m.group(1), m.group(3) or "", len(m.group(2)))
    return cells


def test_every_printed_cell_matches_the_paper(paper: str) -> None:
    parsed = parse_tables(paper)
    ours = pub.published_cells()
    ours = ours[ours["row"] != "diff_p"]
    assert len(parsed) >= 25 and {k[0] for k in parsed} == {"2", "3", "4", "5", "6"}
    keys = set(zip(ours["table"], ours["column"], ours["row"], strict=True))
    assert keys == set(parsed), (sorted(keys - set(parsed)), sorted(set(parsed) - keys))
    for r in ours.itertuples(index=False):
        num, t, stars = parsed[(r.table, r.column, r.row)]
        where = f"Table {r.table} {r.column} {r.row}"
        assert r.printed == num and math.isclose(r.coef, float(num)), where
        assert r.printed_t == t, where
        assert (math.isnan(r.t) if t == "" else math.isclose(r.t, float(t))), where
        assert r.stars == stars, where


def test_quoted_cells(paper: str) -> None:
    """A hand-picked sample quoted from the paper (guards the parser as much as the data)."""
    quoted = {
        ("T2c1", "AI"): (0.0224, 1.92, 1),
        ("T2c2", "AI"): (0.0248, 2.08, 2),
        ("T2c2", "HUM"): (-0.1233, -1.92, 1),
        ("T2c4", "TEC"): (0.5566, 1.44, 0),
        ("T2c2", "R2"): (0.5414, None, 0),
        ("T3c1", "AI"): (0.1384, 6.81, 3),
        ("T3c4", "N"): (1170, None, 0),
        ("T3c5", "R2"): (0.6799, None, 0),
        ("T4c1", "tel"): (3.54e-09, 10.27, 3),
        ("T4c3", "res"): (1.84e-09, 7.91, 3),
        ("T4c4", "AI"): (0.0530, 4.11, 3),
        ("T4c1", "KP_LM"): (21.747, None, 0),
        ("T4c3", "KP_F"): (62.623, None, 0),
        ("T5c2", "AI"): (0.0592, 25.15, 3),
        ("T5c4", "R2"): (0.1741, None, 0),
        ("T6c2", "AI"): (-0.4827, -2.09, 1),
        ("T6c5", "N"): (651, None, 0),
        ("T6c12", "AI"): (-0.6657, -1.34, 0),
        ("T6d1", "diff_p"): (0.001, None, 0),
    }
    for (spec, row), (coef, t, stars) in quoted.items():
        cell = pub.lookup(spec, row)
        assert math.isclose(cell["coef"], coef), (spec, row)
        assert (math.isnan(cell["t"]) if t is None else math.isclose(cell["t"], t)), (spec, row)
        assert cell["stars"] == stars, (spec, row)
        if row not in ("N", "diff_p"):
            assert cell["printed"] in paper, (spec, row)
    # the difference test's p is in the text under Table 6
    assert re.search(r"差异检验发现\s+\$p\$\s+值为 0\.001", paper)


def test_table1_matches_the_paper(paper: str) -> None:
    lines = _block(paper, "表1 描述性统计", "①由于")
    printed = {}
    for line in lines:
        f = line.split("\t")
        if len(f) == 6 and f[0].startswith("$"):
            printed[f[0].strip("$")] = [float(x) for x in f[1:]]
    t1 = pub.table1()
    assert t1["label"].tolist() == list(printed) == list(pub.TABLE1_VARIABLES.values())
    assert t1["variable"].tolist() == list(pub.TABLE1_VARIABLES)
    for r in t1.itertuples(index=False):
        assert [r.N, r.mean, r.sd, r.min, r.max] == printed[r.label], r.label
    assert t1.loc[t1["variable"] == "ai", "max"].item() == 13.72


def test_columns_and_mapping_follow_the_contract() -> None:
    cells = pub.published_cells()
    assert list(cells.columns) == list(pub.CELL_COLUMNS + pub.EXTRA_COLUMNS)
    assert set(cells["table"]) == {"2", "3", "4", "5", "6"}
    assert set(cells["stars"]) <= {0, 1, 2, 3}
    v = cells.set_index(["spec", "row"])["variable"]
    assert v[("T2c1", "AI")] == "ai" and v[("T2c3", "AI")] == "scale" and v[("T2c4", "AI")] == "scale"
    assert v[("T3c1", "AI")] == "ai_kw1" and v[("T3c2", "AI")] == "scale_kw1" and v[("T3c4", "AI")] == "L.ai"
    assert v[("T4c1", "tel")] == "iv_tel" and v[("T4c3", "res")] == "iv_res"
    assert {v[("T2c2", r)] for r in ("POP", "HUM", "lnINF", "ISU", "trade", "ER", "TEC")} == {
        "pop", "hum", "lninf", "isu", "trade", "er", "tec",
    }
    o = cells.set_index(["spec", "row"])["outcome"]
    assert o[("T3c3", "AI")] == "ctfp_bcc" and o[("T4c1", "tel")] == "ai" and o[("T4c2", "AI")] == "ctfp"
    assert [o[(f"T5c{i}", "AI")] for i in range(1, 5)] == ["dig1", "dig2", "green1", "green2"]
    t6 = cells[(cells["table"] == "6") & (cells["row"] == "AI")]
    assert list(zip(t6["column"], t6["split"], t6["level"], strict=True))[:4] == [
        ("(1)", "g_ua", "1"), ("(2)", "g_ua", "0"), ("(3)", "g_resource", "1"), ("(4)", "g_resource", "0"),
    ]
    assert set(t6["split"]) == {"g_ua", "g_resource", "g_attention", "g_envinv", "g_hum", "g_gcons"}
    # group sizes add to the full panel for every split
    n6 = cells[(cells["table"] == "6") & (cells["row"] == "N")].groupby("split")["coef"].sum()
    assert (n6 == 1248).all() and len(n6) == 6


def test_specs_describe_every_cell() -> None:
    specs = pub.published_specs()
    cells = pub.published_cells()
    assert specs["spec"].is_unique and set(specs["spec"]) == set(cells["spec"])
    assert len(specs) == 4 + 6 + 4 + 4 + 12 + 1
    n = cells[cells["row"] == "N"].set_index("spec")["coef"]
    s = specs.set_index("spec")
    assert all(s.loc[k, "nobs"] == n[k] for k in n.index)
    assert s.loc["T3c5", "cluster"] == "provyear" and s.loc["T3c6", "controls"].endswith("newinf;gfin")
    assert s.loc["T2c1", "controls"] == "" and s.loc["T4c2", "instruments"] == "iv_tel"
    assert set(s["estimator"]) == {"twfe", "fe2sls_first", "fe2sls", "group_diff"}


def test_each_slip_carries_its_note() -> None:
    cells = pub.published_cells().set_index(["table", "column", "row"])
    t1 = pub.table1().set_index("variable")
    caps = pub.published_captions().set_index("table")
    assert len({s.id for s in pub.SLIPS}) >= 7
    for s in pub.SLIPS:
        if s.table == "1" and s.row:
            note = t1.loc[s.row, "note"]
        elif s.column == "":
            note = caps.loc[s.table, "note"]
        else:
            note = cells.loc[(s.table, s.column, s.row), "note"]
        assert note.startswith(f"{s.kind} {s.id}:"), (s.id, note)
    # the swapped captions are recorded as printed, with the intended caption beside them
    assert caps.loc["1", "caption_en_printed"] == "Results of benchmark regression"
    assert caps.loc["2", "caption_en_printed"] == "Descriptive statistics"
    assert caps.loc["1", "caption_en"] == "Descriptive statistics"


def test_stars_agree_with_t_unless_noted() -> None:
    """Stars vs t under Stata's t(G-1) (G = 78 cities; Table 6 unknown G: any G from 10 to 78 will do).
    Every disagreement must be a recorded slip; the two recorded ones must really disagree."""
    cells = pub.published_cells()
    cells = cells[cells["t"].notna()]
    band = lambda p: 3 if p < 0.01 else 2 if p < 0.05 else 1 if p < 0.1 else 0  # noqa: E731
    disagree = set()
    for r in cells.itertuples(index=False):
        dfs = range(9, 78) if r.table == "6" else [127 if r.spec == "T3c5" else 77]
        if not any(band(2 * stats.t.sf(abs(r.t), df)) == r.stars for df in dfs):
            disagree.add(r.spec)
            assert r.note.startswith("slip stars_"), (r.spec, r.row, r.note)
    assert disagree == {"T3c6", "T5c1"}
    # KP Wald F with one instrument equals the squared first-stage t: the paper is consistent here
    assert math.isclose(pub.lookup("T4c1", "KP_F")["coef"], 10.27**2, rel_tol=2e-3)
    assert math.isclose(pub.lookup("T4c3", "KP_F")["coef"], 7.91**2, rel_tol=2e-3)
