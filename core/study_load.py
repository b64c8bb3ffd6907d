"""Load a study file (TOML) into the typed `Study`, validating every key before any step runs.

Every mistake is one `InputError` line naming the file and the line: an unknown section or key (with the
closest known name), a value of the wrong type, a value outside its domain, a group rule with neither or both
rules, a name used twice, a test between table columns that do not exist, an expression that does not parse.
What needs the panel (a formula naming a column the panel lacks, a sample that selects nothing) is checked by
the step that reads the panel, with the line recorded here (`Study.where`).

Study files are TOML 1.1 (parsed with `tomli`): inline tables may span lines, as table columns usually do.
Presets are found through the `ctfp.presets` entry-point group (no preset is named in this module); a preset
declares the extra `[data]` keys it reads (`data_options`) and ships its own study file (`study_file()`).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import replace
from importlib import metadata
from pathlib import Path
from typing import Any

import tomli

from ctfp.core.errors import InputError
from ctfp.core.study import (
    BAD_TREATMENTS,
    ERROR_SCALES,
    LIKELIHOODS,
    MEASURE_MODELS,
    ORIENTATIONS,
    RTS,
    SAMPLERS,
    SERIALS,
    TEST_LEVELS,
    TEST_METHODS,
    BayesModel,
    BayesSettings,
    ComputeSettings,
    DataSpec,
    DiffTest,
    GroupRule,
    Measure,
    Multiverse,
    Published,
    ReportSettings,
    SimEstimand,
    Simulate,
    Study,
    StudyMeta,
    Table,
    TableColumn,
    Where,
)
from ctfp.core.tomllines import key_lines, line_of

SECTIONS = ("study", "data", "groups", "measure", "tables", "published", "bayes", "report", "compute",
            "multiverse", "simulate")
PRIOR_SCALES = ("beta", "mundlak", "split", "effects", "sigma", "intercept", "phi")  # = bayes PriorScales
MEASURE_OPTIONS = ("model", "orientation", "rts", "frontier", "weights", "bad_treatment")
PRESET_GROUP = "ctfp.presets"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SCHEDULER = re.compile(r"^(local:[1-9][0-9]*|tcp://[^\s:/]+:[0-9]{1,5})$")


# --- presets ----------------------------------------------------------------------------------------------
def preset_names() -> list[str]:
    return sorted(ep.name for ep in metadata.entry_points(group=PRESET_GROUP))


def get_preset(name: str, where: str = "") -> Any:
    """The preset object registered under `name` (entry point group `ctfp.presets`)."""
    for ep in metadata.entry_points(group=PRESET_GROUP):
        if ep.name == name:
            return ep.load()
    at = f"{where}: " if where else ""
    known = preset_names()
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    raise InputError(f"{at}unknown preset '{name}'{hint}; known presets: {', '.join(known) or 'none'}, "
                     "or \"\" for none")


# --- entry points -----------------------------------------------------------------------------------------
def load_study(path: str | Path | None, *, preset_default: str | None = None) -> Study:
    """Read and validate a study file.

    `path` None = the study file shipped by preset `preset_default` (an error when that is None too).
    `preset_default`: the preset a file without a `[study] preset` key gets (an explicit `preset = ""` keeps
    none).
    """
    if path is None:
        if not preset_default:
            raise InputError("no study file given; pass the path of a study .toml (docs/study.md)")
        path = Path(get_preset(preset_default).study_file())
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: study file not found; pass the path of a study .toml (docs/study.md)")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{p}: not a UTF-8 text file; save the study file as UTF-8") from None
    return loads_study(text, path=p, preset_default=preset_default)


def loads_study(text: str, *, path: Path | None = None, label: str | None = None,
                preset_default: str | None = None) -> Study:
    """Validate a study file's text; `path` (for relative paths and messages) or `label` (messages only)."""
    name = str(path) if path is not None else (label or "(study text)")
    try:
        raw = tomli.loads(text)
    except tomli.TOMLDecodeError as err:
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(err))
        at = f", line {m.group(1)}" if m else ""
        msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(err))
        raise InputError(f"{name}{at}: not valid TOML ({msg}); fix that line") from None
    ld = _Loader(name, raw, key_lines(text), path)
    study = ld.study(preset_default)
    # the path as the user gave it: messages name the file they typed (Study.resolve makes paths absolute)
    return replace(study, path=path, text=text, raw=raw, lines=ld.lines)


# --- the loader -------------------------------------------------------------------------------------------
class _Loader:
    def __init__(self, label: str, raw: dict[str, Any], lines: dict[tuple[str | int, ...], int],
                 path: Path | None) -> None:
        self.label, self.raw, self.lines, self.path = label, raw, lines, path

    def where(self, path: tuple[str | int, ...]) -> Where:
        return Where(self.label, line_of(self.lines, tuple(path)))

    def err(self, path: tuple[str | int, ...], msg: str) -> InputError:
        return InputError(f"{self.where(path)}: {msg}")

    def section(self, path: tuple[str | int, ...], what: str, known: tuple[str, ...], value: Any = None,
                ) -> _Sec:
        d = self._get(path) if value is None else value
        return _Sec(self, path, what, known, d)

    def _get(self, path: tuple[str | int, ...]) -> Any:
        d: Any = self.raw
        for k in path:
            d = d[k]
        return d

    # --- the study ------------------------------------------------------------------------------------
    def study(self, preset_default: str | None) -> Study:
        for key in self.raw:
            if key not in SECTIONS:
                raise self.err((key,), f"unknown section [{key}]{_hint(key, SECTIONS)}; known sections: "
                               f"{', '.join(SECTIONS)}")
        meta = self.meta(preset_default)
        preset = get_preset(meta.preset, str(self.where(("study", "preset")))) if meta.preset else None
        data = self.data(preset)
        groups = self.groups()
        measures = self.measures()
        tables = self.tables()
        published = self.published()
        bayes = self.bayes()
        report = self.report()
        compute = self.compute()
        multiverse = self.multiverse(measures, tables, bayes)
        simulate = self.simulate(tables, bayes)
        self.unique_outputs(data, groups, measures)
        return Study(meta=meta, data=data, groups=groups, measures=measures, tables=tables, published=published,
                     bayes=bayes, report=report, compute=compute, multiverse=multiverse, simulate=simulate)

    def meta(self, preset_default: str | None) -> StudyMeta:
        if "study" not in self.raw:
            return StudyMeta(preset=preset_default or "")
        s = self.section(("study",), "[study]", ("name", "preset"))
        preset = s.str("preset", preset_default or "")
        return StudyMeta(name=s.str("name", ""), preset=preset, where=s.at())

    def data(self, preset: Any) -> DataSpec:
        options_schema: dict[str, tuple[Any, tuple[Any, ...]]] = dict(getattr(preset, "data_options", {}) or {})
        generic = ("panel", "unit", "time", "years", "sheet", "mapping", "derive")
        if "data" not in self.raw:
            if preset is None:
                raise InputError(f"{self.label}: the study has no [data] section; add one with panel, unit and "
                                 "time (docs/study.md)")
            self.raw["data"] = {}
        s = self.section(("data",), "[data]", (*generic, *options_schema))
        defaults = dict(getattr(preset, "data_defaults", {}) or {})
        panel = s.str("panel", "")
        if not panel and preset is None:
            raise s.error("panel", "[data] panel is empty: name the panel file (CSV, TSV, XLSX, DTA, Parquet), "
                          "relative to the study file; only a preset has an embedded panel")
        unit = s.str("unit", defaults.get("unit"), required=preset is None or "unit" not in defaults)
        time = s.str("time", defaults.get("time"), required=preset is None or "time" not in defaults)
        if unit == time:
            raise s.error("time", f"[data] unit and time are both '{unit}'; they must be two columns")
        years = self.years(s, defaults.get("years"))
        sheet = s.value("sheet", None)
        if sheet is not None and not (isinstance(sheet, str) or (isinstance(sheet, int) and sheet >= 0
                                                                 and not isinstance(sheet, bool))):
            raise s.error("sheet", "[data] sheet must be a sheet name or a 0-based index")
        mapping = self.mapping(s)
        derive = self.derive(s, unit, time)
        options: dict[str, Any] = {}
        for key, (default, choices) in options_schema.items():
            v = s.value(key, default)  # a preset option: (default, allowed values)
            if type(v) is not type(default) or v not in choices:
                shown = " or ".join(_toml(c) for c in choices)
                raise s.error(key, f"[data] {key} = {_toml(v)}: use {shown}")
            options[key] = v
        lines = {k: self.where(("data", k)) for k in s.d}
        lines.update({f"derive.{k}": self.where(("data", "derive", k)) for k, _ in derive})
        return DataSpec(panel=panel, unit=unit, time=time, years=years, sheet=sheet, mapping=mapping,
                        derive=derive, options=options, where=s.at(), lines=lines)

    def years(self, s: _Sec, default: Any) -> tuple[int, int] | None:
        v = s.value("years", default if default is not None else "any")
        if v == "any":
            return None
        if (isinstance(v, list | tuple) and len(v) == 2 and all(isinstance(x, int) and not isinstance(x, bool)
                                                                 for x in v) and v[0] <= v[1]):
            return int(v[0]), int(v[1])
        raise s.error("years", f"[data] years = {v!r}: use \"any\" or [first, last] (whole numbers, first <= last)")

    def mapping(self, s: _Sec) -> dict[str, str]:
        m = s.value("mapping", {})
        if not isinstance(m, dict):
            raise s.error("mapping", "[data.mapping] must be a table: \"column in the file\" = \"name in the study\"")
        out: dict[str, str] = {}
        seen: dict[str, str] = {}
        for user, name in m.items():
            path = ("data", "mapping", user)
            if not isinstance(name, str) or not name.strip():
                raise self.err(path, f"[data.mapping] '{user}' must map to a column name (a string)")
            if name in seen:
                raise self.err(path, f"[data.mapping] '{seen[name]}' and '{user}' both map to '{name}'; keep one")
            seen[name] = user
            out[str(user)] = name
        return out

    def derive(self, s: _Sec, unit: str, time: str) -> tuple[tuple[str, str], ...]:
        from ctfp.core.expr import parse

        d = s.value("derive", {})
        if not isinstance(d, dict):
            raise s.error("derive", "[data.derive] must be a table: new_column = \"expression\"")
        out = []
        for name, text in d.items():
            path = ("data", "derive", name)
            where = f"{self.where(path)}: [data.derive] '{name}'"
            if not _NAME.match(name):
                raise self.err(path, f"[data.derive] '{name}' is not a usable column name (letters, digits, _)")
            if name in (unit, time):
                raise self.err(path, f"[data.derive] '{name}' would overwrite the {'unit' if name == unit else 'time'}"
                               " column; choose another name")
            if not isinstance(text, str):
                raise self.err(path, f"[data.derive] '{name}' must be an expression in quotes, got {text!r}")
            parse(text, where=where)
            out.append((name, text))
        return tuple(out)

    def groups(self) -> tuple[GroupRule, ...]:
        g = self.raw.get("groups", {})
        if not isinstance(g, dict):
            raise self.err(("groups",), "[groups] must be a table: name = { expr = \"...\" } or { median = \"col\" }")
        from ctfp.core.expr import parse

        out = []
        for name, rule in g.items():
            path = ("groups", name)
            if not _NAME.match(name):
                raise self.err(path, f"[groups] '{name}' is not a usable column name (letters, digits, _)")
            s = self.section(path, f"[groups] '{name}'", ("expr", "median", "column"), rule)
            given = [k for k in ("expr", "median", "column") if k in s.d]
            if len(given) != 1:
                what = "neither" if not given else "more than one of"
                raise self.err(path, f"[groups] '{name}' has {what} expr / median / column; give exactly one, "
                               "e.g. { expr = \"region >= 5\" } or { median = \"emp\" }")
            kind = given[0]
            value = s.str(kind, None, required=True)
            if kind == "expr":
                parse(value, where=f"{s.where(kind)}: [groups] '{name}'")
            elif not value:
                raise s.error(kind, f"[groups] '{name}': {kind} must name a column")
            out.append(GroupRule(name=name, kind=kind, value=value, where=s.where(kind)))
        return tuple(out)

    def measures(self) -> tuple[Measure, ...]:
        ms = self.raw.get("measure", [])
        if not isinstance(ms, list):
            raise self.err(("measure",), "[[measure]] must be an array of tables: write each as [[measure]]")
        known = ("name", "inputs", "good", "bad", *MEASURE_OPTIONS)
        out: list[Measure] = []
        for i, m in enumerate(ms):
            label = m.get("name") if isinstance(m, dict) and isinstance(m.get("name"), str) else f"#{i + 1}"
            s = self.section(("measure", i), f"[[measure]] '{label}'", known, m)
            name = s.str("name", None, required=True)
            if not _NAME.match(name):
                raise s.error("name", f"[[measure]] name '{name}' is not a usable column name (letters, digits, _)")
            if any(x.name == name for x in out):
                raise s.error("name", f"[[measure]] '{name}' is defined twice; give each measure its own name")
            inputs = s.strlist("inputs", None, required=True)
            good, bad = s.strlist("good", ()), s.strlist("bad", ())
            if not inputs:
                raise s.error("inputs", f"[[measure]] '{name}' needs at least one input")
            if not good and not bad:
                raise s.error("good", f"[[measure]] '{name}' needs at least one output (good or bad)")
            cols = [*inputs, *good, *bad]
            dup = sorted({c for c in cols if cols.count(c) > 1})
            if dup:
                raise s.error("inputs", f"[[measure]] '{name}': column '{dup[0]}' is listed twice among "
                              "inputs/good/bad; list it once")
            out.append(Measure(name=name, inputs=inputs, good=good, bad=bad, where=s.at(),
                               **self.measure_options(s, name)))
        return tuple(out)

    def measure_options(self, s: _Sec, name: str, values: dict[str, Any] | None = None,
                        what: str = "") -> dict[str, Any]:
        """model, orientation, rts, frontier, weights, bad_treatment: validated, with the model's defaults."""
        what = what or f"[[measure]] '{name}'"
        get = (lambda k, d: values.get(k, d)) if values is not None else s.value
        model = get("model", "sbm")
        if model not in MEASURE_MODELS:
            raise s.error("model", f"{what}: model {model!r}{_hint(str(model), MEASURE_MODELS)}; "
                          f"use one of {', '.join(MEASURE_MODELS)}")
        radial = model in ("ccr", "bcc")
        orientation = get("orientation", "input" if radial else "none")
        if orientation not in ORIENTATIONS:
            raise s.error("orientation", f"{what}: orientation {orientation!r}; use one of "
                          f"{', '.join(ORIENTATIONS)}")
        if radial and orientation == "none":
            raise s.error("orientation", f"{what}: model {model} is radial; use orientation "
                          "\"input\" or \"output\"")
        implied = {"ccr": "crs", "bcc": "vrs"}.get(model)
        rts = get("rts", implied or "crs")
        if rts not in RTS:
            raise s.error("rts", f"{what}: rts {rts!r}; use crs or vrs")
        if implied and rts != implied:
            raise s.error("rts", f"{what}: model {model} means rts = \"{implied}\"; drop rts or use "
                          "the other radial model")
        frontier = get("frontier", "global")
        m = re.fullmatch(r"window:(\d+)", str(frontier))
        if frontier not in ("global", "contemporaneous", "sequential") and not (m and int(m.group(1)) % 2 == 1):
            raise s.error("frontier", f"{what}: frontier {frontier!r}; use global, contemporaneous, "
                          "sequential or window:K (K odd)")
        w = get("weights", [1.0, 1.0])
        if not (isinstance(w, list | tuple) and len(w) == 2 and all(_is_num(x) and x > 0 for x in w)):
            raise s.error("weights", f"{what}: weights = {w!r}; use [good, bad], two positive numbers")
        bt = get("bad_treatment", "")
        if bt not in ("", *BAD_TREATMENTS):
            raise s.error("bad_treatment", f"{what}: bad_treatment {bt!r}; use "
                          f"{' or '.join(BAD_TREATMENTS)}")
        if radial and bt == "undesirable":
            raise s.error("bad_treatment", f"{what}: radial models take bad outputs only as "
                          "bad_treatment = \"negative_normalisation\"")
        if not radial and bt == "negative_normalisation":
            raise s.error("bad_treatment", f"{what}: the SBM family treats bad outputs as "
                          "undesirable; drop bad_treatment")
        return {"model": model, "orientation": orientation, "rts": rts, "frontier": frontier,
                "weights": (float(w[0]), float(w[1])), "bad_treatment": bt}

    def tables(self) -> tuple[Table, ...]:
        ts = self.raw.get("tables", [])
        if not isinstance(ts, list):
            raise self.err(("tables",), "[[tables]] must be an array of tables: write each as [[tables]]")
        out: list[Table] = []
        for i, t in enumerate(ts):
            label = t.get("id") if isinstance(t, dict) and isinstance(t.get("id"), str) else f"#{i + 1}"
            s = self.section(("tables", i), f"[[tables]] '{label}'", ("id", "title", "note", "columns", "tests"), t)
            tid = s.str("id", None, required=True)
            if any(x.id == tid for x in out):
                raise s.error("id", f"[[tables]] '{tid}' is defined twice; give each table its own id")
            cols_raw = s.value("columns", None)
            if not isinstance(cols_raw, list) or not cols_raw:
                raise s.error("columns", f"[[tables]] '{tid}' needs columns = [ {{ id = \"(1)\", formula = "
                              "\"y ~ x | unit + year\" }, ... ]")
            columns: list[TableColumn] = []
            for j, c in enumerate(cols_raw):
                clabel = f"'{c['id']}'" if isinstance(c, dict) and isinstance(c.get("id"), str) else f"#{j + 1}"
                cs = self.section(("tables", i, "columns", j), f"[[tables]] '{tid}' column {clabel}",
                                  ("id", "formula", "cluster", "sample", "stage", "label"), c)
                cid = cs.str("id", None, required=True)
                cs.what = f"[[tables]] '{tid}' column '{cid}'"
                if any(x.id == cid for x in columns):
                    raise cs.error("id", f"[[tables]] '{tid}': column '{cid}' is defined twice")
                formula = cs.str("formula", None, required=True)
                if "~" not in formula:
                    raise cs.error("formula", f"{cs.what}: formula '{formula}' has no '~'; write "
                                   "\"y ~ x1 + x2 | fe1 + fe2\" (IV: \"y ~ exog | fe | endog ~ z\")")
                cluster = cs.value("cluster", [])
                cluster = [cluster] if isinstance(cluster, str) else cluster
                if not (isinstance(cluster, list) and all(isinstance(x, str) and x for x in cluster)):
                    raise cs.error("cluster", f"{cs.what}: cluster must be a column name or a list of them")
                sample = cs.str("sample", "")
                if sample:
                    from ctfp.core.expr import parse

                    parse(sample, where=f"{cs.where('sample')}: {cs.what} sample")
                stage = cs.choice("stage", "second", ("second", "first"))
                columns.append(TableColumn(id=cid, formula=formula, cluster=tuple(cluster), sample=sample,
                                           stage=stage, label=cs.str("label", ""), where=cs.at()))
            tests_raw = s.value("tests", [])
            if not isinstance(tests_raw, list):
                raise s.error("tests", f"[[tables]] '{tid}': tests must be a list of {{ columns = [..], term = .. }}")
            tests: list[DiffTest] = []
            for j, d in enumerate(tests_raw):
                ds = self.section(("tables", i, "tests", j), f"[[tables]] '{tid}' test #{j + 1}",
                                  ("columns", "term", "method", "permutations", "level", "seed"), d)
                pair = ds.strlist("columns", None, required=True)
                ids = [c.id for c in columns]
                if len(pair) != 2 or pair[0] == pair[1]:
                    raise ds.error("columns", f"{ds.what}: columns must name two different columns of the table")
                for c in pair:
                    if c not in ids:
                        raise ds.error("columns", f"{ds.what}: column '{c}' is not a column of table '{tid}'"
                                       f"{_hint(c, ids)}; its columns: {', '.join(ids)}")
                method = ds.choice("method", "permutation", TEST_METHODS)
                perms = ds.int("permutations", 1000, minimum=1)
                tests.append(DiffTest(columns=(pair[0], pair[1]), term=ds.str("term", None, required=True),
                                      method=method, permutations=perms,
                                      level=ds.choice("level", "unit", TEST_LEVELS), seed=ds.int("seed", 0),
                                      where=ds.at()))
            out.append(Table(id=tid, title=s.str("title", ""), columns=tuple(columns), tests=tuple(tests),
                             note=s.str("note", ""), where=s.at()))
        return tuple(out)

    def published(self) -> Published:
        if "published" not in self.raw:
            return Published()
        s = self.section(("published",), "[published]", ("file",))
        f = s.str("file", "")
        if f:
            p = Path(f)
            if not p.is_absolute() and self.path is not None:
                p = self.path.resolve().parent / p
            if not p.is_file():
                raise s.error("file", f"[published] file '{f}' not found (looked for {p}); fix the path "
                              "(relative to the study file)")
        return Published(file=f, where=s.where("file"))

    def bayes(self) -> BayesSettings:
        if "bayes" not in self.raw:
            return BayesSettings(run=False)
        inherit = ("outcome", "treatment", "controls")
        s = self.section(("bayes",), "[bayes]", ("run", "sampler", "draws", "tune", "chains", "seed",
                                                 "target_accept", "models", *inherit))
        base = {k: s.d[k] for k in inherit if k in s.d}
        s.str("outcome", "")
        s.str("treatment", "")
        s.strlist("controls", ())
        ta = s.float("target_accept", 0.9)
        if not 0 < ta < 1:
            raise s.error("target_accept", f"[bayes] target_accept = {ta}: use a number between 0 and 1")
        models_raw = s.value("models", [])
        if not isinstance(models_raw, list):
            raise s.error("models", "[[bayes.models]] must be an array of tables: write each as [[bayes.models]]")
        known = ("name", "outcome", "treatment", "controls", "by", "likelihood", "instrument", "mundlak",
                 "serial", "error_scale", "censor_at", "priors", "formula", "family", "link")
        bambi_keys = ("name", "formula", "family", "treatment", "link")
        models: list[BayesModel] = []
        for i, m in enumerate(models_raw):
            label = m.get("name") if isinstance(m, dict) and isinstance(m.get("name"), str) else f"#{i + 1}"
            ms = self.section(("bayes", "models", i), f"[[bayes.models]] '{label}'", known, m)
            name = ms.str("name", None, required=True)
            if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
                raise ms.error("name", f"[[bayes.models]] name '{name}' names a folder: use letters, digits, _ . -")
            if any(x.name == name for x in models):
                raise ms.error("name", f"[[bayes.models]] '{name}' is defined twice; give each model its own name")
            if "formula" in ms.d:  # a bambi formula model: the formula states outcome, terms and effects
                for k in ms.d:
                    if k not in bambi_keys:
                        raise ms.error(k, f"[[bayes.models]] '{name}': {k} does not apply to a bambi formula model "
                                       f"(keys: {', '.join(bambi_keys)})")
                formula = ms.str("formula", None, required=True)
                if "~" not in formula:
                    raise ms.error("formula", f"[[bayes.models]] '{name}': formula '{formula}' has no '~'; write "
                                   "\"y ~ x + (1|unit) + (1|year)\"")
                models.append(BayesModel(name=name, outcome=formula.split("~", 1)[0].strip(),
                                         treatment=ms.str("treatment", ""), formula=formula,
                                         family=ms.str("family", ""), link=ms.str("link", ""), where=ms.at()))
                continue
            outcome = ms.str("outcome", base.get("outcome"))
            treatment = ms.str("treatment", base.get("treatment"))
            for key, v in (("outcome", outcome), ("treatment", treatment)):
                if not v:
                    raise ms.error(key, f"[[bayes.models]] '{name}' has no {key}; set it here or in [bayes]")
            priors = ms.value("priors", {})
            if not isinstance(priors, dict):
                raise ms.error("priors", f"[[bayes.models]] '{name}': priors must be a table of scales")
            for k, v in priors.items():
                if k not in PRIOR_SCALES:
                    raise self.err(("bayes", "models", i, "priors", k), f"[[bayes.models]] '{name}': unknown prior "
                                   f"scale '{k}'{_hint(k, PRIOR_SCALES)}; known: {', '.join(PRIOR_SCALES)}")
                if not (_is_num(v) and v > 0):
                    raise self.err(("bayes", "models", i, "priors", k), f"[[bayes.models]] '{name}': prior scale "
                                   f"{k} = {v!r} must be a positive number")
            likelihood = ms.choice("likelihood", "normal", LIKELIHOODS)
            serial = ms.choice("serial", "auto", SERIALS)
            error_scale = ms.choice("error_scale", "auto", ERROR_SCALES)
            if error_scale == "unit" and (likelihood == "ordbeta" or "instrument" in ms.d):
                raise ms.error("error_scale", f"[[bayes.models]] '{name}': error_scale = \"unit\" needs likelihood "
                               "\"normal\" or \"censored\" and no instrument")
            if serial == "ar1" and likelihood != "normal":
                raise ms.error("serial", f"[[bayes.models]] '{name}': serial = \"ar1\" needs likelihood "
                               "\"normal\"; use serial = \"random_slopes\"")
            models.append(BayesModel(
                name=name, outcome=outcome, treatment=treatment,
                controls=ms.strlist("controls", tuple(base.get("controls", ()))), by=ms.strlist("by", ()),
                likelihood=likelihood, instrument=ms.str("instrument", ""), mundlak=ms.bool("mundlak", True),
                serial=serial, error_scale=error_scale, censor_at=ms.float("censor_at", 1.0), priors={k: float(v) for k, v in priors.items()},
                where=ms.at()))
        return BayesSettings(run=s.bool("run", True), sampler=s.choice("sampler", "nutpie", SAMPLERS),
                             draws=s.int("draws", 1000, minimum=1), tune=s.int("tune", 1000, minimum=0),
                             chains=s.int("chains", 4, minimum=1), seed=s.int("seed", 1), target_accept=ta,
                             models=tuple(models), where=s.at())

    def report(self) -> ReportSettings:
        if "report" not in self.raw:
            return ReportSettings()
        s = self.section(("report",), "[report]", ("ci_prob", "ci_kind", "language"))
        ci = s.float("ci_prob", 0.95)
        if not 0 < ci < 1:
            raise s.error("ci_prob", f"[report] ci_prob = {ci}: use a probability between 0 and 1, e.g. 0.95")
        return ReportSettings(ci_prob=ci, ci_kind=s.choice("ci_kind", "eti", ("eti", "hdi")),
                              language=s.choice("language", "en", ("en", "zh")), where=s.at())

    def compute(self) -> ComputeSettings:
        if "compute" not in self.raw:
            return ComputeSettings()
        s = self.section(("compute",), "[compute]", ("scheduler",))
        sch = s.str("scheduler", "")
        if sch and not _SCHEDULER.match(sch):
            raise s.error("scheduler", f"[compute] scheduler = {sch!r}: use \"\" (in-process), \"local:N\" "
                          "(N worker processes) or \"tcp://HOST:PORT\" (a running dask scheduler)")
        return ComputeSettings(scheduler=sch, where=s.where("scheduler"))

    def multiverse(self, measures: tuple[Measure, ...], tables: tuple[Table, ...], bayes: BayesSettings,
                   ) -> Multiverse | None:
        if "multiverse" not in self.raw:
            return None
        s = self.section(("multiverse",), "[multiverse]", ("measure", "axes", "estimands"))
        mname = s.str("measure", None, required=True)
        names = [m.name for m in measures]
        if mname not in names:
            raise s.error("measure", f"[multiverse] measure '{mname}' is not a [[measure]] of the study"
                          f"{_hint(mname, names)}; measures: {', '.join(names) or 'none'}")
        base = next(m for m in measures if m.name == mname)
        axes_raw = s.value("axes", {})
        if not isinstance(axes_raw, dict) or not axes_raw:
            raise s.error("axes", "[multiverse] axes must be a table: option = [value, value, ...]")
        axes: dict[str, tuple[Any, ...]] = {}
        for opt, vals in axes_raw.items():
            path = ("multiverse", "axes", opt)
            if opt not in MEASURE_OPTIONS:
                raise self.err(path, f"[multiverse] axes: unknown option '{opt}'{_hint(opt, MEASURE_OPTIONS)}; "
                               f"known: {', '.join(MEASURE_OPTIONS)}")
            if not isinstance(vals, list) or not vals:
                raise self.err(path, f"[multiverse] axes.{opt} must be a non-empty list of values")
            axes[opt] = tuple(tuple(v) if isinstance(v, list) else v for v in vals)
        # every combination must be a valid measure: check each value against the base measure's other options
        sub = _Sec(self, ("multiverse", "axes"), "[multiverse] axes", (), axes_raw)
        for opt, vals in axes.items():
            for v in vals:
                opts = {k: getattr(base, k) for k in MEASURE_OPTIONS}
                opts[opt] = list(v) if isinstance(v, tuple) else v
                if opt == "model":  # a new model takes its own defaults for orientation/rts/bad treatment
                    opts = {"model": v, "frontier": base.frontier, "weights": list(base.weights)}
                self.measure_options(sub, mname, opts, what=f"[multiverse] axes {opt} = {v!r} of measure '{mname}'")
        est_raw = s.value("estimands", [])
        if not isinstance(est_raw, list):
            raise s.error("estimands", "[multiverse] estimands must be a list of { table, column, term } or "
                          "{ model, term }")
        estimands: list[dict[str, str]] = []
        for j, e in enumerate(est_raw):
            es = self.section(("multiverse", "estimands", j), f"[multiverse] estimand #{j + 1}",
                              ("table", "column", "term", "model"), e)
            if "model" in es.d:  # a Bayesian model's average effect of its treatment, fitted per universe
                bname = es.str("model", None, required=True)
                bmodel = next((m for m in bayes.models if m.name == bname), None)
                if bmodel is None:
                    raise es.error("model", f"{es.what}: model '{bname}' is not a [[bayes.models]] name"
                                   f"{_hint(bname, [m.name for m in bayes.models])}")
                if "table" in es.d or "column" in es.d:
                    raise es.error("model", f"{es.what}: give either model and term (a Bayesian estimand) or "
                                   "table, column and term, not both")
                term = es.str("term", None, required=True)
                if term != bmodel.treatment:
                    raise es.error("term", f"{es.what}: term '{term}': a Bayesian estimand is the average effect "
                                   f"of model '{bname}''s treatment, '{bmodel.treatment}'; write "
                                   f"term = \"{bmodel.treatment}\"")
                estimands.append({"model": bname, "term": term})
                continue
            tid, col, term = _table_estimand(es, tables)
            estimands.append({"table": tid, "column": col, "term": term})
        return Multiverse(measure=mname, axes=axes, estimands=tuple(estimands), where=s.at())

    def simulate(self, tables: tuple[Table, ...], bayes: BayesSettings) -> Simulate | None:
        if "simulate" not in self.raw:
            return None
        s = self.section(("simulate",), "[simulate]", ("worlds", "seed", "effect", "draws", "tune", "chains",
                                                       "backend", "estimands", "recorded"))
        effect = s.float("effect", 0.0) if "effect" in s.d else None
        est_raw = s.value("estimands", None)
        if not isinstance(est_raw, list) or not est_raw:
            raise s.error("estimands", "[simulate] needs estimands = [ { table = \"T1\", column = \"(1)\", term = "
                          "\"x\" }, { bayes = \"model\" }, ... ]: one table column and any Bayesian models")
        out: list[SimEstimand] = []
        for j, e in enumerate(est_raw):
            es = self.section(("simulate", "estimands", j), f"[simulate] estimand #{j + 1}",
                              ("table", "column", "term", "bayes", "split", "level"), e)
            if "bayes" in es.d:
                for k in ("table", "column", "term"):
                    if k in es.d:
                        raise es.error(k, f"{es.what}: {k} does not go with bayes = ...; write a table estimand "
                                       "and a Bayesian one as two entries")
                name = es.str("bayes", None, required=True)
                m = next((x for x in bayes.models if x.name == name), None)
                if m is None:
                    names = [x.name for x in bayes.models]
                    raise es.error("bayes", f"{es.what}: bayes = '{name}' is not a [[bayes.models]] name"
                                   f"{_hint(name, names)}; models: {', '.join(names) or 'none'}")
                if m.formula:
                    raise es.error("bayes", f"{es.what}: '{name}' is a bambi formula model; the design analysis "
                                   "refits ctfp's own models only (state it by outcome/treatment/controls)")
                split = es.str("split", "")
                level = es.str("level", "")
                if m.by and not split:
                    raise es.at_error(f"{es.what}: '{name}' has group slopes (by = {list(m.by)}); name the one to "
                                      "follow: split = \"...\", level = \"1\" or \"0\"")
                if split and split not in m.by:
                    raise es.error("split", f"{es.what}: split '{split}' is not in the by list of '{name}'"
                                   f"{_hint(split, list(m.by))} ({', '.join(m.by) or 'none'})")
                if bool(split) != bool(level) or (level and level not in ("1", "0")):
                    raise es.error("level" if "level" in es.d else "split",
                                   f"{es.what}: give split and level together, level = \"1\" or \"0\"")
                out.append(SimEstimand("bayes", model=name, split=split, level=level, where=es.at()))
                continue
            for k in ("split", "level"):
                if k in es.d:
                    raise es.error(k, f"{es.what}: {k} belongs to a bayes estimand")
            tid, col, term = _table_estimand(es, tables)
            out.append(SimEstimand("table", table=tid, column=col, term=term, where=es.at()))
        n_tables = sum(e.kind == "table" for e in out)
        if n_tables != 1:
            raise s.error("estimands", f"[simulate] estimands name {n_tables} table columns; name exactly one (its "
                          "coefficient is the effect the worlds set, and the replica every world is held to)")
        methods = [e.method for e in out]
        dup = next((m for m in methods if methods.count(m) > 1), None)
        if dup:
            raise s.error("estimands", f"[simulate] estimand '{dup}' is listed twice; list it once")
        return Simulate(worlds=s.int("worlds", 100, minimum=1), seed=s.int("seed", 1, minimum=0), effect=effect,
                        draws=s.int("draws", 500, minimum=1), tune=s.int("tune", 500, minimum=1),
                        chains=s.int("chains", 4, minimum=1), backend=s.choice("backend", "numba", ("numba", "jax")),
                        estimands=tuple(out), recorded=s.str("recorded", ""), where=s.at())

    def unique_outputs(self, data: DataSpec, groups: tuple[GroupRule, ...], measures: tuple[Measure, ...]) -> None:
        """A column is made by one rule only: a derive, a group and a measure may not share a name."""
        seen: dict[str, tuple[str, Where]] = {}
        made = [(n, "[data.derive]", self.where(("data", "derive", n))) for n, _ in data.derive]
        made += [(g.name, "[groups]", g.where) for g in groups if g.kind != "column" or g.value != g.name]
        made += [(m.name, "[[measure]]", m.where) for m in measures]
        for name, what, where in made:
            if name in seen:
                raise InputError(f"{where}: '{name}' is already made by {seen[name][0]} ({seen[name][1]}); "
                                 "give it another name")
            seen[name] = (what, where)


class _Sec:
    """One table of the study file: typed getters that name the key's line, and the unknown-key check."""

    def __init__(self, ld: _Loader, path: tuple[str | int, ...], what: str, known: tuple[str, ...], d: Any) -> None:
        self.ld, self.path, self.what, self.d = ld, path, what, d
        if not isinstance(d, dict):
            raise ld.err(path, f"{what} must be a table of key = value pairs, got {d!r}")
        if known:
            for k in d:
                if k not in known:
                    raise ld.err((*path, k), f"unknown key '{k}' in {what}{_hint(k, known)}; known keys: "
                                 f"{', '.join(known)}")

    def at(self) -> Where:
        return self.ld.where(self.path)

    def where(self, key: str) -> Where:
        return self.ld.where((*self.path, key))

    def error(self, key: str, msg: str) -> InputError:
        return InputError(f"{self.where(key)}: {msg}")

    def at_error(self, msg: str) -> InputError:
        return InputError(f"{self.at()}: {msg}")

    def value(self, key: str, default: Any) -> Any:
        return self.d.get(key, default)

    def str(self, key: str, default: str | None, *, required: bool = False) -> str:
        if key not in self.d:
            if required or default is None:
                raise InputError(f"{self.at()}: {self.what} needs {key} = \"...\"")
            return default
        v = self.d[key]
        if not isinstance(v, str):
            raise self.error(key, f"{self.what}: {key} must be text in quotes, got {v!r}")
        return v

    def strlist(self, key: str, default: tuple[str, ...] | None, *, required: bool = False) -> tuple[str, ...]:
        if key not in self.d:
            if required or default is None:
                raise InputError(f"{self.at()}: {self.what} needs {key} = [\"...\", ...]")
            return tuple(default)
        v = self.d[key]
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            raise self.error(key, f"{self.what}: {key} must be a list of names in quotes, got {v!r}")
        return tuple(v)

    def int(self, key: str, default: int, *, minimum: int | None = None) -> int:
        v = self.d.get(key, default)
        if not isinstance(v, int) or isinstance(v, bool):
            raise self.error(key, f"{self.what}: {key} must be a whole number, got {v!r}")
        if minimum is not None and v < minimum:
            raise self.error(key, f"{self.what}: {key} = {v} must be at least {minimum}")
        return v

    def float(self, key: str, default: float) -> float:
        v = self.d.get(key, default)
        if not _is_num(v):
            raise self.error(key, f"{self.what}: {key} must be a number, got {v!r}")
        return float(v)

    def bool(self, key: str, default: bool) -> bool:
        v = self.d.get(key, default)
        if not isinstance(v, bool):
            raise self.error(key, f"{self.what}: {key} must be true or false, got {v!r}")
        return v

    def choice(self, key: str, default: str, choices: tuple[str, ...]) -> str:
        v = self.d.get(key, default)
        if v not in choices:
            raise self.error(key, f"{self.what}: {key} = {v!r}{_hint(str(v), choices)}; use one of "
                             f"{', '.join(choices)}")
        return v


def _toml(v: Any) -> str:
    return ("true" if v else "false") if isinstance(v, bool) else (f'"{v}"' if isinstance(v, str) else repr(v))


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _table_estimand(es: _Sec, tables: tuple[Table, ...]) -> tuple[str, str, str]:
    """(table, column, term) of a table estimand ([multiverse] or [simulate]): the table and column exist and
    the term is a regressor of that column's formula, each mistake one line at the estimand's study-file line."""
    tid = es.str("table", None, required=True)
    col = es.str("column", None, required=True)
    term = es.str("term", None, required=True)
    t = next((x for x in tables if x.id == tid), None)
    if t is None:
        raise es.error("table", f"{es.what}: table '{tid}' is not a [[tables]] id{_hint(tid, [x.id for x in tables])}")
    c = next((x for x in t.columns if x.id == col), None)
    if c is None:
        raise es.error("column", f"{es.what}: column '{col}' is not a column of table '{tid}'"
                       f"{_hint(col, [x.id for x in t.columns])}")
    if not re.search(rf"(?<![A-Za-z0-9_]){re.escape(term)}(?![A-Za-z0-9_])", c.formula.split("~", 1)[-1]):
        raise es.error("term", f"{es.what}: term '{term}' is not a regressor of {tid} {col} ({c.formula})")
    return tid, col, term


def _hint(word: str, known: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(word, list(known), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


# --- overrides from the command line ----------------------------------------------------------------------
QUICK_DRAWS = {"draws": 300, "tune": 300, "chains": 2}
QUICK_PERMUTATIONS = 200


def quick(study: Study) -> Study:
    """Fewer draws (2 chains x 300) and permutations (at most 200): a fast look, not for a paper."""
    bayes = replace(study.bayes, **QUICK_DRAWS)
    tables = tuple(replace(t, tests=tuple(replace(d, permutations=min(d.permutations, QUICK_PERMUTATIONS))
                                          for d in t.tests)) for t in study.tables)
    return replace(study, bayes=bayes, tables=tables)


def with_panel(study: Study, panel: str | Path) -> Study:
    """The study on another panel file (the command line's --panel)."""
    return replace(study, data=replace(study.data, panel=str(Path(panel).resolve())))


def without_bayes(study: Study) -> Study:
    return replace(study, bayes=replace(study.bayes, run=False))
