"""Loading study files: the typed model, and every mistake as one line naming the file and its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctfp.core import study as sm
from ctfp.core.errors import InputError
from ctfp.core.study_load import PRIOR_SCALES, load_study, loads_study, quick
from ctfp.core.tomllines import key_lines
from ctfp.studies import study_path

GOOD = """\
[study]
name = "US states"

[data]
panel = "produc.csv"
unit = "state"
time = "year"
years = [1970, 1986]

[data.derive]
lgsp = "log(gsp)"
lpcap = "log(pcap)"

[groups]
south = { expr = "region >= 5" }
big = { median = "emp" }

[[measure]]
name = "eff"
inputs = ["pc", "emp", "pcap"]
good = ["gsp"]
rts = "vrs"
frontier = "contemporaneous"

[[tables]]
id = "T1"
columns = [
  { id = "(1)", formula = "lgsp ~ lpcap | state + year", cluster = ["state"] },
  { id = "(2)", formula = "lgsp ~ lpcap | state + year", cluster = "state",
    sample = "south == 1" },
  { id = "(3)", formula = "lgsp ~ lpcap | state + year", sample = "south == 0" },
]
tests = [
  { columns = ["(2)", "(3)"], term = "lpcap", permutations = 500, seed = 1 },
]

[bayes]
draws = 200
treatment = "lpcap"

[[bayes.models]]
name = "headline"
outcome = "lgsp"
by = ["south"]
"""


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "produc.csv").write_text("state,year\n")
    f = tmp_path / "study.toml"
    f.write_text(text)
    return f


def test_a_good_study_fills_the_model_with_lines(tmp_path: Path) -> None:
    s = load_study(_write(tmp_path, GOOD))
    assert s.meta.name == "US states" and s.meta.preset == ""
    assert (s.data.unit, s.data.time, s.data.years) == ("state", "year", (1970, 1986))
    assert s.data.derive == (("lgsp", "log(gsp)"), ("lpcap", "log(pcap)"))
    assert [(g.name, g.kind, g.value, g.where.line) for g in s.groups] == [
        ("south", "expr", "region >= 5", 15), ("big", "median", "emp", 16)]
    m = s.measures[0]
    assert (m.name, m.inputs, m.good, m.bad, m.model, m.orientation, m.rts, m.frontier, m.weights) == (
        "eff", ("pc", "emp", "pcap"), ("gsp",), (), "sbm", "none", "vrs", "contemporaneous", (1.0, 1.0))
    assert m.where.line == 18
    t = s.table("T1")
    assert [c.id for c in t.columns] == ["(1)", "(2)", "(3)"]
    assert t.columns[1].cluster == ("state",) and t.columns[1].sample == "south == 1"
    assert [c.where.line for c in t.columns] == [28, 29, 31]
    assert t.tests[0].columns == ("(2)", "(3)") and t.tests[0].permutations == 500 and t.tests[0].where.line == 34
    b = s.bayes.models[0]
    assert (b.outcome, b.treatment, b.by, s.bayes.draws, s.bayes.tune) == ("lgsp", "lpcap", ("south",), 200, 1000)
    assert s.where("tables", 0, "columns", 2, "sample").line == 31
    assert s.where("bayes", "models", 0, "by").line == 44
    assert s.resolve(s.data.panel) == (tmp_path / "produc.csv").resolve()
    assert quick(s).bayes.draws == 300 and quick(s).tables[0].tests[0].permutations == 200


def test_a_bambi_formula_model(tmp_path: Path) -> None:
    text = GOOD.replace('outcome = "lgsp"\nby = ["south"]', 'formula = "lgsp ~ lpcap + (1|state)"\nfamily = "t"')
    b = load_study(_write(tmp_path, text)).bayes.models[0]
    assert (b.formula, b.family, b.outcome, b.treatment) == ("lgsp ~ lpcap + (1|state)", "t", "lgsp", "")


def test_the_shipped_paper_study_loads() -> None:
    s = load_study(study_path())
    assert s.meta.preset == "shen-chao-2025"
    assert [m.name for m in s.measures] == ["ctfp", "ctfp_bcc"]
    assert s.measures[1].bad_treatment == "negative_normalisation" and s.measures[1].rts == "vrs"
    assert [m.name for m in s.bayes.models] == ["headline", "censored", "ordbeta", "hetero", "iv"]
    assert s.bayes.models[0].controls == ("pop", "hum", "lninf", "isu", "trade", "er", "tec")
    assert s.bayes.models[4].instrument == "iv_tel" and s.bayes.seed == 20251201
    assert s.data.options == {"ua_rule": "any", "entropy_normalisation": "pooled", "allow_unknown_cities": False}


def test_key_lines_follow_arrays_inline_tables_and_strings() -> None:
    text = ('a = "x # not a comment [b]"\n[[m]]\nn = 1\n[[m]]\nn = """two\nlines"""\nk = 2\n'
            '[t]\nc = [\n  { id = "(1)",\n    f = "y" },\n]\n')
    lines = key_lines(text)
    assert lines[("a",)] == 1 and lines[("m", 0, "n")] == 3 and lines[("m", 1, "n")] == 5
    assert lines[("m", 1, "k")] == 7 and lines[("t", "c", 0, "id")] == 10 and lines[("t", "c", 0, "f")] == 11


# (change to GOOD, line, fragment of the message)
MISTAKES = [
    ('[bayse]\ndraws = 1\n', 46, "unknown section [bayse] (did you mean 'bayes'?)"),
    (GOOD.replace('rts = "vrs"', 'rts = "vrs"\nfronteir = "global"'), 23,
     "unknown key 'fronteir' in [[measure]] 'eff' (did you mean 'frontier'?); known keys: name, inputs"),
    (GOOD.replace('draws = 200', 'draws = "many"'), 38, "[bayes]: draws must be a whole number, got 'many'"),
    (GOOD.replace('draws = 200', 'draws = 0'), 38, "draws = 0 must be at least 1"),
    (GOOD.replace('permutations = 500', 'permutations = -3'), 34, "permutations = -3 must be at least 1"),
    (GOOD.replace('rts = "vrs"', 'model = "sbn"'), 22, "model 'sbn' (did you mean 'sbm'?)"),
    (GOOD.replace('rts = "vrs"', 'rts = "vsr"'), 22, "rts 'vsr'; use crs or vrs"),
    (GOOD.replace('frontier = "contemporaneous"', 'frontier = "window:2"'), 23, "window:K (K odd)"),
    (GOOD.replace('by = ["south"]', 'likelihood = "tobit"'), 44, "likelihood = 'tobit'"),
    (GOOD.replace('big = { median = "emp" }', 'big = { median = "emp", expr = "emp > 3" }'), 16,
     "more than one of expr / median / column"),
    (GOOD.replace('big = { median = "emp" }', 'big = { }'), 16, "neither expr / median / column"),
    (GOOD + '\n[[bayes.models]]\nname = "headline"\n', 47, "'headline' is defined twice"),
    (GOOD.replace('{ columns = ["(2)", "(3)"]', '{ columns = ["(2)", "(4)"]'), 34,
     "column '(4)' is not a column of table 'T1'"),
    (GOOD.replace('big = { median = "emp" }', 'eff = { median = "emp" }'), 18, "'eff' is already made by [groups]"),
    (GOOD.replace('lpcap = "log(pcap)"', 'lpcap = "lg(pcap)"'), 12, "unknown function 'lg' (did you mean 'log'?)"),
    (GOOD.replace('sample = "south == 0"', 'sample = "south = 0"'), 31, "sample: 'south = 0' is not a valid"),
    (GOOD.replace('years = [1970, 1986]', 'years = [1986, 1970]'), 8, "years = [1986, 1970]"),
    (GOOD.replace('unit = "state"', 'unit = 3'), 6, "unit must be text in quotes, got 3"),
    (GOOD.replace('inputs = ["pc", "emp", "pcap"]', 'inputs = ["pc", "pc"]'), 20, "column 'pc' is listed twice"),
    (GOOD.replace('[bayes]', '[bayes]\ntarget_accept = 1.5'), 38, "target_accept = 1.5"),
    (GOOD.replace('cluster = ["state"] },', 'cluster = ["state"], weights = "w" },'), 28,
     "unknown key 'weights' in [[tables]] 'T1' column '(1)'"),
    (GOOD.replace('formula = "lgsp ~ lpcap | state + year", sample = "south == 0"',
                  'formula = "lgsp lpcap", sample = "south == 0"'), 31, "has no '~'"),
    (GOOD + '\n[compute]\nscheduler = "dask"\n', 47, "scheduler = 'dask'"),
    (GOOD + '\n[multiverse]\nmeasure = "eff"\naxes = { rts = ["crs", "vsr"] }\n', 48,
     "[multiverse] axes rts = 'vsr' of measure 'eff': rts 'vsr'; use crs or vrs"),
    (GOOD + '\n[multiverse]\nmeasure = "ef"\naxes = { rts = ["crs"] }\n', 47, "measure 'ef' is not a [[measure]]"),
    (GOOD + '\n[multiverse]\nmeasure = "eff"\naxes = { rts = ["crs"] }\n'
     'estimands = [ { table = "T1", column = "(1)", term = "lpc" } ]\n', 49,
     "[multiverse] estimand #1: term 'lpc' is not a regressor of T1 (1) (lgsp ~ lpcap | state + year)"),
    (GOOD + '\n[report]\nci_prob = 95\n', 47, "ci_prob = 95.0: use a probability"),
    (GOOD.replace('[study]\nname = "US states"', '[study]\nname = "US states"\npreset = "shen-chao"'), 3,
     "unknown preset 'shen-chao' (did you mean 'shen-chao-2025'?)"),
    (GOOD.replace('panel = "produc.csv"\n', 'panel = "produc.csv"\nua_rule = "any"\n'), 6, "unknown key 'ua_rule' in [data]"),
    (GOOD.replace('by = ["south"]', 'priors = { beta = -1 }'), 44, "prior scale beta = -1 must be a positive"),
    (GOOD.split('[[bayes.models]]')[0].replace('[bayes]', '[bayes]\nmodels = 3'), 38, "[[bayes.models]] must be an array of tables"),
    (GOOD.replace('name = "US states"', 'name = "US states'), 2, "not valid TOML"),
    (GOOD.replace('by = ["south"]', 'formula = "lgsp ~ lpcap + (1|state)"'), 43,
     "[[bayes.models]] 'headline': outcome does not apply to a bambi formula model"),
    (GOOD.replace('outcome = "lgsp"\nby = ["south"]', 'formula = "lgsp lpcap"'), 43, "formula 'lgsp lpcap' has no '~'"),
]


@pytest.mark.parametrize(("text", "line", "fragment"), MISTAKES, ids=[f"{i}:{m[2][:30]}" for i, m in enumerate(MISTAKES)])
def test_every_mistake_is_one_line_naming_file_and_line(tmp_path: Path, text: str, line: int, fragment: str) -> None:
    if text.startswith("[bayse]"):
        text = GOOD + "\n" + text
    f = _write(tmp_path, text)
    with pytest.raises(InputError) as err:
        load_study(f)
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith(f"{f}, line {line}: "), msg
    assert fragment in msg, msg


def test_no_panel_without_a_preset_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"line 5: \[data\] panel is empty"):
        load_study(_write(tmp_path, GOOD.replace('panel = "produc.csv"', 'panel = ""')))
    with pytest.raises(InputError, match="study file not found"):
        load_study(tmp_path / "nope.toml")
    with pytest.raises(InputError, match=r"line 47: \[published\] file 'pub.csv' not found"):
        load_study(_write(tmp_path, GOOD + '\n[published]\nfile = "pub.csv"\n'))
    with pytest.raises(InputError, match="needs unit"):
        loads_study(GOOD.replace('unit = "state"\n', ''), label="x.toml")


def test_preset_default_applies_only_when_the_file_names_none(tmp_path: Path) -> None:
    text = GOOD.replace('[study]\nname = "US states"', '[study]\nname = "US states"')
    assert load_study(_write(tmp_path, text), preset_default="shen-chao-2025").meta.preset == "shen-chao-2025"
    explicit = text.replace('name = "US states"', 'name = "US states"\npreset = ""')
    assert load_study(_write(tmp_path, explicit), preset_default="shen-chao-2025").meta.preset == ""
    assert load_study(None, preset_default="shen-chao-2025").path == study_path()


def test_domains_are_the_model_layers_own() -> None:
    import inspect

    from ctfp.inference.sampling import SAMPLERS
    from ctfp.models.bayes.spec import LIKELIHOODS, SERIALS, PriorScales
    from ctfp.models.dea import MODELS, ORIENTATIONS

    assert sm.MEASURE_MODELS == MODELS and sm.ORIENTATIONS == ORIENTATIONS
    assert sm.LIKELIHOODS == LIKELIHOODS and sm.SERIALS == SERIALS and sm.SAMPLERS == SAMPLERS
    assert PRIOR_SCALES == tuple(inspect.signature(PriorScales).parameters)


def test_the_readme_study_file_is_valid(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = readme.split("```toml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "produc.csv").write_text("state,year\n")
    (tmp_path / "produc.toml").write_text(block)
    s = load_study(tmp_path / "produc.toml")
    assert s.data.mapping["Gross state product"] == "gsp" and [g.kind for g in s.groups] == ["expr", "median"]
    assert s.measures[0].rts == "vrs" and s.table("T1").tests[0].columns == ("(2)", "(3)")
    assert s.bayes.models[0].by == ("south", "big")
