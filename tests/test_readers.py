"""read_panel: every format by extension, mapping files, and one-line errors."""

from __future__ import annotations

from pathlib import Path

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
