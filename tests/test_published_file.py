"""The published-cells CSV of a study: read as printed, every bad row one line with file and line."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ctfp.core.errors import InputError
from ctfp.data.published_file import read_published

REPO = Path(__file__).resolve().parents[1]


def test_reads_the_papers_file() -> None:
    pub = read_published(REPO / "studies" / "shen_chao_2025" / "published.csv")
    assert len(pub) == 107
    row = pub[(pub["table"] == "T4") & (pub["term"] == "iv_tel")].iloc[0]
    assert row["estimate"] == 3.54e-09 and row["printed"] == "3.54e-09" and row["stars"] == 3
    assert row["line"] == 46
    kp = pub[(pub["table"] == "T4") & (pub["column"] == "(1)") & (pub["term"] == "KP_LM_p")].iloc[0]
    assert kp["printed"] == "0.0000" and pd.isna(kp["stars"])


def test_optional_columns_and_asterisks(tmp_path: Path) -> None:
    p = tmp_path / "pub.csv"
    p.write_text("table,column,term,estimate,se,stars\nT1,(1),x,0.5,0.1,**\nT1,(1),N,100,,\n")
    pub = read_published(p)
    assert pub["stars"].tolist()[0] == 2 and pd.isna(pub["stars"].tolist()[1])
    assert pub["se"].tolist()[0] == 0.1 and pub["note"].tolist() == ["", ""]


def test_every_bad_row_is_one_line(tmp_path: Path) -> None:
    p = tmp_path / "pub.csv"
    p.write_text("table,column,term,estimate,t,stars\n"
                 "T1,(1),x,0.5,2.1,1\n"
                 "T1,(1),y,abc,,\n"
                 ",(2),x,0.1,,\n"
                 "T1,(1),z,0.1,,5\n"
                 "T1,(1),x,0.7,,\n")
    with pytest.raises(InputError) as err:
        read_published(p)
    lines = str(err.value).splitlines()
    assert len(lines) == 4
    assert lines[0].startswith(f"{p}, line 3:") and "estimate 'abc' is not a number" in lines[0]
    assert "line 4" in lines[1] and "'table' is empty" in lines[1]
    assert "line 5" in lines[2] and "stars '5'" in lines[2]
    assert "line 6" in lines[3] and "given twice (first on line 2)" in lines[3]


def test_header_problems(tmp_path: Path) -> None:
    p = tmp_path / "pub.csv"
    p.write_text("table,column,row,coef\nT1,(1),x,0.5\n")
    with pytest.raises(InputError, match=r"line 1: missing column\(s\) term, estimate; unknown column\(s\) row, coef"):
        read_published(p)
    with pytest.raises(InputError, match="published file not found"):
        read_published(tmp_path / "nope.csv")
