"""Analysis specification: the shipped paper spec, merging, and errors that name the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctfp.core.errors import InputError
from ctfp.inference.spec import find_line, load_spec


def test_paper_spec_states_the_study() -> None:
    spec = load_spec()
    assert spec["variables"]["controls"] == ["pop", "hum", "lninf", "isu", "trade", "er", "tec"]
    assert spec["sbm"]["inputs"] == ["labor", "capital", "energy"]
    assert spec["sbm"]["bad"] == ["co2"]
    assert [m["name"] for m in spec["bayes"]["models"]] == ["headline", "censored", "ordbeta", "hetero", "iv"]
    assert spec["data"]["panel"] == ""


def test_user_spec_merges_over_paper(tmp_path: Path) -> None:
    f = tmp_path / "mine.toml"
    f.write_text('[data]\npanel = "p.csv"\n[data.mapping]\nGDP_nominal = "gdp"\n[bayes]\nchains = 2\n')
    spec = load_spec(f)
    assert spec["data"]["panel"] == "p.csv"
    assert spec["data"]["mapping"] == {"GDP_nominal": "gdp"}
    assert spec["bayes"]["chains"] == 2
    assert spec["bayes"]["draws"] == 1000  # inherited
    assert spec["variables"]["treatment"] == "ai"


def test_user_model_list_replaces_paper_models(tmp_path: Path) -> None:
    f = tmp_path / "mine.toml"
    f.write_text('[[bayes.models]]\nname = "only"\nlikelihood = "censored"\n')
    assert [m["name"] for m in load_spec(f)["bayes"]["models"]] == ["only"]


def test_bad_likelihood_names_line(tmp_path: Path) -> None:
    f = tmp_path / "bad.toml"
    f.write_text('[study]\nname = "x"\n\n[[bayes.models]]\nname = "m"\nlikelihood = "poisson"\n')
    with pytest.raises(InputError, match=r"bad.toml, line 6: .*likelihood 'poisson'"):
        load_spec(f)


def test_unknown_section_and_bad_toml(tmp_path: Path) -> None:
    f = tmp_path / "s.toml"
    f.write_text("[study]\n[sbmm]\nx = 1\n")
    with pytest.raises(InputError, match=r"line 2: unknown section \[sbmm\]"):
        load_spec(f)
    f.write_text("[study\n")
    with pytest.raises(InputError, match="not valid TOML"):
        load_spec(f)
    with pytest.raises(InputError, match="not found"):
        load_spec(tmp_path / "missing.toml")


def test_find_line_in_multiline_list() -> None:
    text = 'a = 1\ncontrols = [\n  "pop",\n  "hum",\n]\n'
    assert find_line(text, "controls") == 2
    assert find_line(text, "controls", "hum") == 4


def test_where_points_at_inherited_paper_line(tmp_path: Path) -> None:
    f = tmp_path / "mine.toml"
    f.write_text('[data]\npanel = "p.csv"\n')
    spec = load_spec(f)
    assert spec.where("panel") == f"{f}, line 2"
    assert spec.where("controls", "lninf") == (
        f"the paper specification (inference/specs/paper.toml), line 23 (inherited by {f})")
