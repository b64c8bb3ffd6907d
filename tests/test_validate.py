"""check_panel: one broken panel per defect, asserting the exact line (file row = frame row + 2)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ctfp.data.dictionary import RAW
from ctfp.data.validate import Problem, check_panel, summarize_panel

SRC = "p.csv"


def raw_panel() -> pd.DataFrame:
    """Two of the 78 cities (太原 140100, 大同 140200) × 2006–2008, every raw column, all values valid.

    File rows: 140100 → rows 2, 3, 4; 140200 → rows 5, 6, 7.
    """
    rows = []
    for k, city in enumerate((140100, 140200)):
        for t, year in enumerate((2006, 2007, 2008)):
            r: dict[str, float] = {name: 10.0 + 2 * k + t for name in RAW if name != "synthetic"}
            r.update(city=city, year=year, fai_pi=102.0, gdp_index=108.0, green=40.0 + t, sewage_rate=90.0 - k,
                     garbage_rate=95.0 + t, solidwaste_util=80.0 + k + 3 * t, tel1984=100.0 + k, res1984=50.0 + 5 * k,
                     broadband_nat_prev=1000.0 + 10 * t)
            rows.append(r)
    df = pd.DataFrame(rows)
    df["city"] = df["city"].astype("int64")
    df["year"] = df["year"].astype("int64")
    return df


def lines(df: pd.DataFrame, **kw: object) -> list[str]:
    return [p.line() for p in check_panel(df, SRC, **kw)]  # type: ignore[arg-type]


def test_clean_panel_has_no_problems() -> None:
    assert lines(raw_panel()) == []


def test_problem_line_format() -> None:
    assert Problem("error", "m", 3, "emp", "a.csv").line() == "error: a.csv, row 3, column emp: m"
    assert Problem("warning", "m", None, None, "a.csv").line() == "warning: a.csv: m"
    assert str(Problem("error", "m")) == "error: m"


def test_missing_required_column() -> None:
    df = raw_panel().drop(columns=["energy"])
    assert lines(df) == [
        "error: p.csv, column energy: required column is missing; add it or map your column onto 'energy' "
        "with --mapping"]


def test_non_numeric_value() -> None:
    df = raw_panel()
    df["emp"] = df["emp"].astype(object)
    df.loc[1, "emp"] = "abc"
    assert lines(df)[0] == "error: p.csv, row 3, column emp: 'abc' is not a number; fix the cell"
    # the unparseable cell is not also reported as missing
    assert all("missing" not in s for s in lines(df))


def test_duplicate_city_year() -> None:
    df = raw_panel()
    df = pd.concat([df, df.iloc[[0]]], ignore_index=True)
    assert lines(df) == ["error: p.csv, row 8, column year: city 140100, year 2006 duplicates row 2; keep one"]


@pytest.mark.parametrize("col", ["emp", "fai", "energy", "gdp", "green", "co2"])
def test_non_positive_sbm_column(col: str) -> None:
    df = raw_panel()
    df.loc[4, col] = 0.0
    assert lines(df) == [f"error: p.csv, row 6, column {col}: value 0 is not positive (SBM inputs and outputs "
                         "must be > 0); correct the value"]


def test_negative_and_percent_domains() -> None:
    df = raw_panel()
    df.loc[0, "trade_total"] = -1.5
    df.loc[2, "sewage_rate"] = 120.0
    df.loc[3, "fiscal_exp"] = 0.0
    assert lines(df) == [
        "error: p.csv, row 2, column trade_total: value -1.5 is negative (it must be >= 0); correct the value",
        "error: p.csv, row 4, column sewage_rate: value 120 exceeds 100 (a percentage); correct the value",
        "error: p.csv, row 5, column fiscal_exp: value 0 is not positive (it must be > 0); correct the value",
    ]


def test_nan_in_never_interpolated_column() -> None:
    df = raw_panel()
    df.loc[0, "ai_inv"] = np.nan
    assert lines(df) == ["error: p.csv, row 2, column ai_inv: value is missing; this variable is never "
                         "interpolated: fill the cell"]


def test_nan_at_edge_cannot_be_interpolated() -> None:
    df = raw_panel()
    df.loc[2, "emp"] = np.nan
    df.loc[3, "gdp"] = np.nan
    assert lines(df) == [
        "error: p.csv, row 4, column emp: value is missing after the city's last observed value in 2008, "
        "where interpolation cannot reach; fill the cell",
        "error: p.csv, row 5, column gdp: value is missing before the city's first observed value in 2006, "
        "where interpolation cannot reach; fill the cell",
    ]


def test_interior_nan_is_a_warning() -> None:
    df = raw_panel()
    df.loc[1, "emp"] = np.nan
    df.loc[4, "emp"] = np.nan
    assert lines(df) == ["warning: p.csv, column emp: 2 interior missing value(s) (rows 3, 6) will be linearly "
                         "interpolated and flagged emp_imputed"]


def test_fai_missing_only_after_2017() -> None:
    df = raw_panel()
    df.loc[2, "fai"] = np.nan  # 2008: too early to extrapolate
    assert lines(df) == ["error: p.csv, row 4, column fai: value is missing in 2008; FAI may be missing only "
                         "after 2017 (extrapolated by growth): fill the cell"]
    late = raw_panel()
    late["year"] = late["year"] + 12  # 2018..2020
    late.loc[[1, 2], "fai"] = np.nan
    assert lines(late, years=(2006, 2021)) == [
        "warning: p.csv, column fai: 2 missing value(s) after 2017 (rows 3, 4) will be extrapolated by growth "
        "and flagged fai_imputed"]


def test_unknown_city_and_option() -> None:
    df = raw_panel()
    df.loc[df["city"] == 140200, "city"] = 510100  # 成都: not among the 78
    msg = ("is not one of the 78 Yellow River Basin cities; fix the code or pass --allow-other-cities to study "
           "another region")
    assert lines(df) == [f"error: p.csv, row {r}, column city: city code 510100 {msg}" for r in (5, 6, 7)]
    assert lines(df, allow_unknown_cities=True) == []
    df.loc[0:2, "city"] = 12345
    assert lines(df, allow_unknown_cities=True)[0] == (
        "error: p.csv, row 2, column city: city code 12345 is not a 6-digit GB/T 2260 code; fix it")


def test_missing_city_and_year() -> None:
    df = raw_panel().astype({"city": float, "year": float})
    df.loc[0, "city"] = np.nan
    df.loc[1, "year"] = 2007.5
    assert lines(df)[:2] == [
        "error: p.csv, row 2, column city: city code is missing; fill it",
        "error: p.csv, row 3, column year: year 2007.5 is not an integer; fix it",
    ]


def test_year_outside_range() -> None:
    assert lines(raw_panel(), years=(2006, 2007)) == [
        "error: p.csv, row 4, column year: year 2008 is outside 2006..2007; fix it or pass --years",
        "error: p.csv, row 7, column year: year 2008 is outside 2006..2007; fix it or pass --years",
    ]
    assert lines(raw_panel(), years=None) == []


def test_unbalanced_panel_is_a_warning() -> None:
    df = raw_panel().drop(index=5).reset_index(drop=True)
    problems = check_panel(df, SRC)
    assert [p.line() for p in problems] == [
        "warning: p.csv: the panel is unbalanced: city 140200 has 2 of 3 years (missing 2008)"]
    assert problems[0].severity == "warning"


def test_gap_in_years_is_an_error() -> None:
    df = raw_panel().drop(index=4).reset_index(drop=True)
    assert lines(df) == [
        "error: p.csv, row 5, column year: city 140200 has no row for year(s) 2007; deflation and capital "
        "accumulation need consecutive years: add the row(s) (values may be left empty to be interpolated)",
        "warning: p.csv: the panel is unbalanced: city 140200 has 2 of 3 years (missing 2007)",
    ]


def test_late_start_is_an_error() -> None:
    df = raw_panel().drop(index=3).reset_index(drop=True)
    assert lines(df)[0] == ("error: p.csv, row 5, column year: city 140200 starts in 2007 but the panel starts in "
                            "2006; prices are chained from the base year 2006: add its rows from 2006")


def test_time_invariant_and_national_series() -> None:
    df = raw_panel()
    df.loc[1, "tel1984"] = 999.0
    df.loc[3, "broadband_nat_prev"] = 5.0
    assert lines(df) == [
        "error: p.csv, row 3, column tel1984: value 999 differs from 100 in row 2 within city 140100; this series "
        "is one number per city",
        "error: p.csv, row 5, column broadband_nat_prev: value 5 differs from 1000 in row 2 within year 2006; "
        "this series is one number per year, the same for every city",
    ]


def test_unknown_column_and_incomplete_group_warn() -> None:
    df = raw_panel().drop(columns=["gf_bond"]).assign(note=1)
    assert lines(df) == [
        "warning: p.csv: optional group 'gfin' is incomplete (missing gf_bond); gfin will not be derived",
        "warning: p.csv, column note: not a ctfp variable; ignored (map it with --mapping if it is one)",
    ]


def test_empty_panel() -> None:
    assert lines(raw_panel().iloc[0:0]) == ["error: p.csv: the panel has no data rows; add one row per city-year"]


def test_mapped_column_is_named_as_the_user_knows_it() -> None:
    df = raw_panel()
    df.loc[0, "emp"] = -2.0
    df.attrs["mapping"] = {"emp": "就业人数"}
    assert lines(df)[0] == ("error: p.csv, row 2, column 就业人数 (emp): value -2 is not positive (SBM inputs and "
                            "outputs must be > 0); correct the value")


def test_repeated_problems_are_capped_with_a_count() -> None:
    df = raw_panel()
    df["co2"] = -1.0
    out = lines(df, max_per_check=2)
    assert len(out) == 3
    assert out[-1] == "error: p.csv, column co2: ... and 4 more rows with the same problem"


def test_rows_follow_position_not_index_labels() -> None:
    df = raw_panel().drop(index=5)  # labels 0..4 kept; a caller's filtered frame
    df.index = [10, 11, 12, 13, 14]
    df.loc[14, "co2"] = -1.0
    assert lines(df)[0].startswith("error: p.csv, row 6, column co2: value -1 is not positive")


def test_errors_come_before_warnings() -> None:
    df = raw_panel().assign(extra=0)
    df.loc[5, "co2"] = -1.0
    sev = [p.severity for p in check_panel(df, SRC)]
    assert sev == ["error", "warning"]


def test_summary() -> None:
    df = raw_panel().drop(columns=["broadband"])
    s = summarize_panel(df)
    assert (s["rows"], s["cities"], s["years"], s["n_years"], s["balanced"]) == (6, 2, (2006, 2008), 3, True)
    assert "newinf" in s["optional_absent"] and "gfin" in s["optional_present"]
    assert summarize_panel(df.iloc[:5])["balanced"] is False


def test_infinite_cells_are_called_infinite_once(tmp_path) -> None:  # noqa: ANN001
    """'inf' / '-inf' cells (as written by pandas or typed in a spreadsheet) are infinite, not missing."""
    from ctfp.data.readers import read_panel

    df = raw_panel()
    path = tmp_path / "p.csv"
    text = df.to_csv(index=False).splitlines()
    cols = text[0].split(",")
    j_gdp, j_green = cols.index("gdp"), cols.index("green")
    row3 = text[2].split(",")
    row3[j_gdp], row3[j_green] = "inf", "-inf"
    text[2] = ",".join(row3)
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    got = [p.line() for p in check_panel(read_panel(path), SRC)]
    assert got == ["error: p.csv, row 3, column gdp: value inf is infinite; fix the cell",
                   "error: p.csv, row 3, column green: value -inf is infinite; fix the cell"]
    assert not any("missing" in line for line in got)
