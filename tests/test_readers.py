"""read_panel: every format by extension, mapping files, and one-line errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_validate import raw_panel

from ctfp.core.errors import InputError
from ctfp.data.readers import read_mapping, read_panel


def small() -> pd.DataFrame:
    return raw_panel()[["city", "year", "emp", "gdp"]]


@pytest.mark.parametrize("ext", [".csv", ".xlsx", ".dta", ".parquet", ".tsv"])
def test_formats_round_trip(tmp_path: Path, ext: str) -> None:
    df = small()
    path = tmp_path / f"panel{ext}"
    if ext == ".csv":
        df.to_csv(path, index=False)
    elif ext == ".tsv":
        df.to_csv(path, index=False, sep="\t")
    elif ext == ".xlsx":
        df.to_excel(path, index=False)
    elif ext == ".dta":
        df.to_stata(path, write_index=False)
    else:
        df.to_parquet(path, index=False)
    got = read_panel(path)
    assert got.attrs["source"] == str(path)
    assert list(got.columns) == ["city", "year", "emp", "gdp"]
    assert got["city"].tolist() == [140100] * 3 + [140200] * 3
    assert got["emp"].tolist() == [10.0, 11.0, 12.0, 12.0, 13.0, 14.0]


def test_csv_with_bom_and_padded_header(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_bytes("\ufeffcity , year\n140100,2006\n".encode())
    assert list(read_panel(path).columns) == ["city", "year"]


def user_file(tmp_path: Path) -> Path:
    path = tmp_path / "mine.csv"
    small().rename(columns={"city": "code", "emp": "就业人数", "gdp": "GDP"}).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("name,text", [
    ("m.toml", 'code = "city"\n"就业人数" = "emp"\nGDP = "gdp"\n'),
    ("m.toml", '[columns]\ncode = "city"\n"就业人数" = "emp"\nGDP = "gdp"\n'),
    ("m.yaml", "code: city\n就业人数: emp\nGDP: gdp\n"),
    ("m.yml", "columns:\n  code: city\n  就业人数: emp\n  GDP: gdp\n"),
    ("m.csv", "user,ctfp\ncode,city\n就业人数,emp\nGDP,gdp\n"),
])
def test_mapping_files(tmp_path: Path, name: str, text: str) -> None:
    mapping = tmp_path / name
    mapping.write_text(text, encoding="utf-8")
    assert read_mapping(mapping) == {"code": "city", "就业人数": "emp", "GDP": "gdp"}
    df = read_panel(user_file(tmp_path), mapping=mapping)
    assert list(df.columns) == ["city", "year", "emp", "gdp"]
    assert df.attrs["mapping"] == {"city": "code", "emp": "就业人数", "gdp": "GDP"}
    assert df["gdp"].tolist()[0] == 10.0


def test_mapping_as_dict(tmp_path: Path) -> None:
    df = read_panel(user_file(tmp_path), mapping={"code": "city", "就业人数": "emp", "GDP": "gdp"})
    assert list(df.columns) == ["city", "year", "emp", "gdp"]


def test_unknown_extension(tmp_path: Path) -> None:
    path = tmp_path / "panel.xls"
    path.write_text("x")
    with pytest.raises(InputError) as err:
        read_panel(path)
    assert str(err.value) == (f"{path}: unknown panel format '.xls'; use one of .csv, .dta, .parquet, .pq, .tsv, "
                              ".txt, .xlsm, .xlsx")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"file not found; check the path$"):
        read_panel(tmp_path / "nope.csv")


def test_unreadable_file_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"not a parquet file at all")
    with pytest.raises(InputError) as err:
        read_panel(path)
    msg = str(err.value)
    assert msg.startswith(f"{path}: cannot read as parquet (") and msg.endswith("); check the file")
    assert "\n" not in msg


def test_mapping_names_absent_column(tmp_path: Path) -> None:
    panel = user_file(tmp_path)
    mapping = tmp_path / "m.toml"
    mapping.write_text('employment = "emp"\n', encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_panel(panel, mapping=mapping)
    assert str(err.value) == (f"{mapping}: names column 'employment', which is not in {panel}; fix the mapping or "
                              "the file's header")


def test_mapping_target_not_a_variable(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="'GDP' maps to 'gdp_nominal', which is not a ctfp variable"):
        read_panel(user_file(tmp_path), mapping={"GDP": "gdp_nominal"})


def test_mapping_duplicate_target_and_collision(tmp_path: Path) -> None:
    panel = user_file(tmp_path)
    with pytest.raises(InputError, match="both 'GDP' and 'year' map to 'gdp'; keep one"):
        read_panel(panel, mapping={"GDP": "gdp", "year": "gdp"})
    with pytest.raises(InputError, match="'GDP' maps to 'year', but .* already has a column 'year'"):
        read_panel(panel, mapping={"GDP": "year"})


def test_bad_mapping_files(tmp_path: Path) -> None:
    bad = tmp_path / "m.toml"
    bad.write_text("code = = city\n", encoding="utf-8")
    with pytest.raises(InputError, match="cannot parse the mapping"):
        read_mapping(bad)
    rows = tmp_path / "m.csv"
    rows.write_text("user,ctfp\ncode\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"row 2: need two columns"):
        read_mapping(rows)
    with pytest.raises(InputError, match="unknown mapping format '.json'"):
        read_mapping(tmp_path / "m.json")
    nested = tmp_path / "n.yaml"
    nested.write_text("code: [city]\n", encoding="utf-8")
    with pytest.raises(InputError, match="entry 'code' must map to a dictionary name"):
        read_mapping(nested)


# ------------------------------------------------------------------ duplicated and ambiguous column names


def test_issue11_item2_second_gdp_column_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 11 item 2: a second `gdp` column was silently used (mean CTFP 0.429 -> 0.194); now one line."""
    from conftest import synthetic

    from ctfp.core.study_load import load_study, with_panel
    from ctfp.data.study_panel import read_study_panel
    from ctfp.inference.cli import main
    from ctfp.studies import study_path

    raw, _ = synthetic(3)  # `ctfp data synth --seed 3`, the issue's panel
    other = raw["gdp"] * np.linspace(0.2, 3.0, len(raw))
    raw.insert(3, "gdp", other, allow_duplicates=True)  # the copy pandas would read as 'gdp', the real as 'gdp.1'
    path = tmp_path / "p.csv"
    raw.to_csv(path, index=False)
    assert main(["data", "check", str(path)]) == 1
    err = capsys.readouterr().err
    assert err == (f"ctfp: error: {path}: columns 4 'gdp' and 8 'gdp' have the same name; which one is meant is "
                   "ambiguous: rename or drop one\n")
    with pytest.raises(InputError, match="columns 4 'gdp' and 8 'gdp' have the same name"):
        read_study_panel(with_panel(load_study(study_path()), path))  # how `ctfp run` reads a user's panel


@pytest.mark.parametrize("header,msg", [
    ("city,year,GDP,gdp", "columns 3 'GDP' and 4 'gdp' have names that differ only in case, spaces or width"),
    ("city,year, gdp,gdp", "columns 3 ' gdp' and 4 'gdp' have names that differ only in case, spaces or width"),
    ("city,year,ｇｄｐ,gdp", "columns 3 'ｇｄｐ' and 4 'gdp' have names that differ only in case, spaces or width"),
    ("city,year,gdp,gdp.1", "columns 3 'gdp' and 4 'gdp.1' look like one name written twice ('gdp.1' is how "
                            "pandas renames a repeated 'gdp')"),
    ("city,year,gdp.1,GDP", "columns 4 'GDP' and 3 'gdp.1' look like one name written twice"),
])
def test_ambiguous_names_are_refused(tmp_path: Path, header: str, msg: str) -> None:
    path = tmp_path / "p.csv"
    path.write_text(header + "\n140100,2006,1,2\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_panel(path)
    assert str(err.value).startswith(f"{path}: {msg}")
    assert "\n" not in str(err.value)


def test_distinct_names_with_dots_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("city,year,gdp.1,gdp_2\n140100,2006,1,2\n", encoding="utf-8")
    assert list(read_panel(path).columns) == ["city", "year", "gdp.1", "gdp_2"]


def test_duplicate_names_in_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "p.xlsx"
    pd.DataFrame([[140100, 2006, 1.0, 2.0]], columns=["city", "year", "emp", "emp"]).to_excel(path, index=False)
    with pytest.raises(InputError, match=r"p\.xlsx#Sheet1: columns 3 'emp' and 4 'emp' have the same name"):
        read_panel(path)


# ------------------------------------------------------------------------------- encodings and delimiters


def chinese_panel() -> pd.DataFrame:
    return small().rename(columns={"emp": "就业人数", "gdp": "地区生产总值"})


@pytest.mark.parametrize("encoding,expect", [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gbk", "gb18030"),
                                             ("gb18030", "gb18030"), ("utf-16", "utf-16")])
def test_encodings_are_detected(tmp_path: Path, encoding: str, expect: str) -> None:
    path = tmp_path / "p.csv"
    chinese_panel().to_csv(path, index=False, encoding=encoding)
    got = read_panel(path)
    assert list(got.columns) == ["city", "year", "就业人数", "地区生产总值"]
    assert got["就业人数"].tolist() == [10.0, 11.0, 12.0, 12.0, 13.0, 14.0]
    assert got.attrs["encoding"] == expect


def test_undecodable_file_names_the_encodings(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_bytes(b"city,year\n140100,2006\n\x81\x20,\xff\n")
    with pytest.raises(InputError) as err:
        read_panel(path)
    assert str(err.value) == (f"{path}: not text in UTF-8 or GB18030/GBK (undecodable byte 0x81 at offset 22); "
                              "save the file as CSV UTF-8")


@pytest.mark.parametrize("sep,name", [(";", ";"), ("\t", "\t"), ("|", "|"), (",", ",")])
def test_delimiters_are_detected(tmp_path: Path, sep: str, name: str) -> None:
    path = tmp_path / "p.csv"
    small().to_csv(path, index=False, sep=sep)
    got = read_panel(path)
    assert list(got.columns) == ["city", "year", "emp", "gdp"]
    assert got["gdp"].tolist() == [10.0, 11.0, 12.0, 12.0, 13.0, 14.0]
    assert got.attrs["delimiter"] == name


def test_semicolon_file_with_commas_inside_quotes(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text('city;year;note\n140100;2006;"a, b, c"\n140200;2006;"d, e"\n', encoding="utf-8")
    got = read_panel(path)
    assert got.attrs["delimiter"] == ";" and got["note"].tolist() == ["a, b, c", "d, e"]


def test_short_rows_have_empty_trailing_cells(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("city,year,emp\n140100,2006\n140200,2006,1\n", encoding="utf-8")
    got = read_panel(path)
    assert got.attrs["delimiter"] == "," and got["emp"].isna().tolist() == [True, False]


def test_ragged_rows_are_named(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("city,year,emp\n140100,2006\n140200,2006,1,2\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"rows have different numbers of fields with every delimiter tried "
                                         r"\(comma\); check quoting"):
        read_panel(path)


@pytest.mark.parametrize("content", [b"", b"\n\n", b"   "])
def test_empty_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "p.csv"
    path.write_bytes(content)
    with pytest.raises(InputError, match="the file is empty; it needs a header row"):
        read_panel(path)


# ------------------------------------------------------------------------------------------- Excel sheets


def two_sheets(tmp_path: Path, first: pd.DataFrame | None) -> Path:
    path = tmp_path / "book.xlsx"
    with pd.ExcelWriter(path) as w:
        (first if first is not None else pd.DataFrame()).to_excel(w, sheet_name="说明", index=False)
        small().to_excel(w, sheet_name="panel", index=False)
    return path


def test_data_on_the_second_sheet(tmp_path: Path) -> None:
    path = two_sheets(tmp_path, None)
    with pytest.raises(InputError) as err:
        read_panel(path)
    assert str(err.value) == (f"{path}: sheet '说明' has no data; the workbook has sheets '说明', 'panel': "
                              f"choose one as {path}#panel")
    got = read_panel(f"{path}#panel")
    assert got["gdp"].tolist()[0] == 10.0 and got.attrs["sheet"] == "panel"
    assert got.attrs["source"] == str(path)
    assert read_panel(path, sheet="panel").shape == (6, 4)
    assert read_panel(path, sheet=1).attrs["sheet"] == "panel"
    with pytest.raises(InputError, match="no sheet at position 2 \\(0-based\\)"):
        read_panel(path, sheet=2)
    with pytest.raises(InputError, match=r"no sheet 'x'; the workbook has '说明', 'panel': write .*#SHEET"):
        read_panel(path, sheet="x")


def test_first_sheet_without_the_panel_names_the_others(tmp_path: Path) -> None:
    from ctfp.data.validate import check_panel

    path = two_sheets(tmp_path, pd.DataFrame({"note": ["the data are on sheet 2"]}))
    df = read_panel(path)
    lines = [p.line() for p in check_panel(df, str(path))]
    assert (f"error: {path}: read sheet '说明'; the workbook also has 'panel': if the panel is on another sheet, "
            "name it as FILE.xlsx#SHEET") in lines


def test_header_below_row_one(tmp_path: Path) -> None:
    path = tmp_path / "off.xlsx"
    small().to_excel(path, index=False, startrow=2)
    with pytest.raises(InputError, match=r"row 1 is empty but the header must be in row 1 \(the first filled row "
                                         r"is row 3\); delete the rows above it"):
        read_panel(path)


def test_sheet_for_a_csv_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    small().to_csv(path, index=False)
    with pytest.raises(InputError, match="a sheet \\('x'\\) can be chosen only in an Excel workbook"):
        read_panel(path, sheet="x")
