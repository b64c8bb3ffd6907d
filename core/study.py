"""The study model: one typed object, loaded from a study file (TOML), that every step of a run reads.

The names follow `docs/study.md` (the study-file contract). Every value carries the line of the study file it
came from (`Where`), so a later step can still point a user at the line that asked for something it cannot do.
Loading, merging and validation live in `ctfp.core.study_load`; this module only states the shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal


@dataclass(frozen=True)
class Where:
    """Where a value was set: the study file and its 1-based line (0 = not set there: a default)."""

    file: str
    line: int = 0

    def __str__(self) -> str:
        return f"{self.file}, line {self.line}" if self.line else self.file


NOWHERE = Where("(default)")

# Domains of the study file's enumerated keys. They are the model layer's own lists (a test holds them equal:
# ctfp.models.dea.MODELS, ctfp.models.bayes.spec.LIKELIHOODS, ...); core cannot import the model layer.
MEASURE_MODELS: tuple[str, ...] = ("sbm", "super-sbm", "ccr", "bcc", "super-ccr", "super-bcc")
ORIENTATIONS: tuple[str, ...] = ("none", "input", "output")
RTS: tuple[str, ...] = ("crs", "vrs")
FRONTIERS: tuple[str, ...] = ("global", "contemporaneous", "sequential", "window:K")
BAD_TREATMENTS: tuple[str, ...] = ("undesirable", "negative_normalisation")
LIKELIHOODS: tuple[str, ...] = ("normal", "censored", "ordbeta")
SERIALS: tuple[str, ...] = ("auto", "none", "ar1", "random_slopes")
ERROR_SCALES: tuple[str, ...] = ("auto", "common", "unit")
SAMPLERS: tuple[str, ...] = ("pymc", "nutpie", "numpyro")
TEST_METHODS: tuple[str, ...] = ("permutation", "chow", "suest")
TEST_LEVELS: tuple[str, ...] = ("unit", "obs")


@dataclass(frozen=True)
class StudyMeta:
    name: str = ""
    preset: str = ""  # "" | "shen-chao-2025"
    where: Where = NOWHERE


@dataclass(frozen=True)
class DataSpec:
    panel: str = ""  # path relative to the study file; "" = the preset's embedded SYNTHETIC panel
    unit: str = "unit"
    time: str = "year"
    years: tuple[int, int] | None = None  # None = any period
    sheet: str | int | None = None  # XLSX sheet (name or 0-based index); None = the first
    mapping: dict[str, str] = field(default_factory=dict)  # column in the file -> name in the study
    derive: tuple[tuple[str, str], ...] = ()  # (new column, expression), in order
    options: dict[str, Any] = field(default_factory=dict)  # preset-specific keys (e.g. ua_rule), validated by it
    where: Where = NOWHERE
    lines: dict[str, Where] = field(default_factory=dict)  # key (or derive name) -> where it was set


@dataclass(frozen=True)
class GroupRule:
    """A binary split: 1/0 per row (NaN where the rule's inputs are missing)."""

    name: str
    kind: Literal["expr", "median", "column"]
    value: str  # the expression, the column whose unit means are split at the median, or an existing 0/1 column
    where: Where = NOWHERE
    # median: 1 where the unit's mean of `value` is strictly above the median of the unit means, else 0 (a
    # unit exactly at the median is 0); every row of a unit gets its unit's flag; a unit with no value is NaN.


@dataclass(frozen=True)
class Measure:
    """One DEA measurement; writes the column `name` (the score) into the analysis panel."""

    name: str
    inputs: tuple[str, ...]
    good: tuple[str, ...]
    bad: tuple[str, ...] = ()
    model: str = "sbm"  # sbm | super-sbm | ccr | bcc
    orientation: str = "none"
    rts: str = "crs"
    frontier: str = "global"  # global | contemporaneous | sequential | window:K
    weights: tuple[float, float] = (1.0, 1.0)  # good : bad
    bad_treatment: str = ""  # "" = the model's default (SBM: undesirable; radial: negative_normalisation)
    where: Where = NOWHERE

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self.inputs, *self.good, *self.bad)


@dataclass(frozen=True)
class TableColumn:
    """One regression: a fixest-style formula (`y ~ x | fe1 + fe2`, IV `y ~ exog | fe | endog ~ z`)."""

    id: str  # "(1)", as printed
    formula: str
    cluster: tuple[str, ...] = ()  # () = heteroskedasticity-robust (Stata `vce(robust)`)
    sample: str = ""  # a boolean expression over columns; "" = every row
    stage: Literal["second", "first"] = "second"  # "first": report the IV first stage of the formula
    label: str = ""  # optional column heading
    where: Where = NOWHERE


@dataclass(frozen=True)
class DiffTest:
    """A between-column difference test of one coefficient (columns estimated on disjoint samples)."""

    columns: tuple[str, str]
    term: str
    method: Literal["permutation", "chow", "suest"] = "permutation"
    permutations: int = 1000
    level: Literal["unit", "obs"] = "unit"  # permute group labels across units (defensible) or rows
    seed: int = 0
    where: Where = NOWHERE


@dataclass(frozen=True)
class Table:
    id: str  # "T2"
    title: str = ""
    columns: tuple[TableColumn, ...] = ()
    tests: tuple[DiffTest, ...] = ()
    note: str = ""  # the note line printed under the table
    where: Where = NOWHERE


@dataclass(frozen=True)
class Published:
    file: str = ""  # CSV: table, column, term, estimate[, se, t, stars, note]; relative to the study file
    where: Where = NOWHERE


@dataclass(frozen=True)
class BayesModel:
    name: str
    outcome: str
    treatment: str
    controls: tuple[str, ...] = ()
    by: tuple[str, ...] = ()
    likelihood: str = "normal"  # normal | censored | ordbeta
    instrument: str = ""
    mundlak: bool = True
    serial: str = "auto"  # auto | none | ar1 | random_slopes: the error-dependence remedy (auto: docs/bayes.md)
    error_scale: str = "auto"  # auto | common | unit: one residual sd, or one per unit
    censor_at: float = 1.0  # the censoring point of likelihood = "censored"
    priors: dict[str, float] = field(default_factory=dict)  # prior scales (ctfp.models.bayes.spec.PriorScales)
    formula: str = ""  # a bambi formula: fitted through bambi (ctfp.inference.bambi_models) instead
    family: str = ""  # bambi family (with formula; "" = gaussian)
    link: str = ""  # bambi link (with formula; "" = the family's default)
    where: Where = NOWHERE


@dataclass(frozen=True)
class BayesSettings:
    run: bool = True
    sampler: str = "nutpie"  # on JAX: compiles in seconds on an empty cache (docs/bayes.md, "first run")
    draws: int = 1000
    tune: int = 1000
    chains: int = 4
    seed: int = 1
    target_accept: float = 0.9
    models: tuple[BayesModel, ...] = ()
    where: Where = NOWHERE


@dataclass(frozen=True)
class ReportSettings:
    ci_prob: float = 0.95
    ci_kind: Literal["eti", "hdi"] = "eti"
    language: Literal["en", "zh"] = "en"
    where: Where = NOWHERE


@dataclass(frozen=True)
class ComputeSettings:
    scheduler: str = ""  # "" in-process | "local:N" | "tcp://HOST:PORT"
    where: Where = NOWHERE


@dataclass(frozen=True)
class Multiverse:
    measure: str = ""
    axes: dict[str, tuple[Any, ...]] = field(default_factory=dict)  # option of the measure -> values
    estimands: tuple[dict[str, str], ...] = ()  # {"table": "T2", "column": "(2)", "term": "ai"} | {"bayes": name}
    where: Where = NOWHERE


@dataclass(frozen=True)
class SimEstimand:
    """One quantity a design analysis follows on every simulated world (`[simulate] estimands`)."""

    kind: Literal["table", "bayes"]
    table: str = ""  # kind "table": the replica column and its term (the coefficient, its clustered SE)
    column: str = ""
    term: str = ""
    model: str = ""  # kind "bayes": a [[bayes.models]] name; its `ame`, or a group slope with split + level
    split: str = ""
    level: str = ""  # "1" | "0"
    where: Where = NOWHERE

    @property
    def method(self) -> str:
        """The name the results use for this estimand (one row per world and method)."""
        if self.kind == "table":
            return f"{self.table} {self.column} {self.term}"
        return f"{self.model} [{self.split}={self.level}]" if self.split else self.model


@dataclass(frozen=True)
class Simulate:
    """`[simulate]`: the design analysis (`ctfp simulate`, inference/simulate_study.py)."""

    worlds: int = 100
    seed: int = 1
    effect: float | None = None  # None: the published estimate of the table estimand, else the world's default
    draws: int = 500  # sampler settings of the per-world Bayesian refits (shorter than [bayes])
    tune: int = 500
    chains: int = 4
    # nutpie backend of the refits: numba compiles once per structure (minutes on a cold cache) and then samples
    # ~5x faster than JAX, whose per-gradient Python dispatch dominates small models; jax suits a few worlds
    backend: str = "numba"
    estimands: tuple[SimEstimand, ...] = ()
    recorded: str = ""  # a shipped design-analysis summary (JSON) the report shows, relative to the study file
    where: Where = NOWHERE


@dataclass(frozen=True)
class Study:
    """A whole study, resolved (preset defaults merged, every value validated)."""

    meta: StudyMeta
    data: DataSpec
    groups: tuple[GroupRule, ...] = ()
    measures: tuple[Measure, ...] = ()
    tables: tuple[Table, ...] = ()
    published: Published = field(default_factory=Published)
    bayes: BayesSettings = field(default_factory=BayesSettings)
    report: ReportSettings = field(default_factory=ReportSettings)
    compute: ComputeSettings = field(default_factory=ComputeSettings)
    multiverse: Multiverse | None = None
    simulate: Simulate | None = None
    path: Path | None = None  # the study file; None = built in code
    text: str = ""  # its text (for error lines)
    raw: dict[str, Any] = field(default_factory=dict)  # the resolved TOML, recorded in run.json
    lines: dict[tuple[str | int, ...], int] = field(default_factory=dict, repr=False)  # key path -> line

    def where(self, *path: str | int) -> Where:
        """Where the key at `path` (e.g. "tables", 0, "columns", 1, "formula") is set: its line, or its
        nearest enclosing key's line."""
        from ctfp.core.tomllines import line_of

        return Where(self.label, line_of(self.lines, tuple(path)))

    @property
    def synthetic_panel(self) -> bool:
        """True when the panel is the preset's embedded SYNTHETIC panel ([data] panel = "")."""
        return not self.data.panel

    def measure(self, name: str) -> Measure:
        for m in self.measures:
            if m.name == name:
                return m
        raise KeyError(name)

    @property
    def label(self) -> str:
        return str(self.path) if self.path else "(study built in code)"

    def table(self, table_id: str) -> Table:
        for t in self.tables:
            if t.id == table_id:
                return t
        raise KeyError(table_id)

    def resolve(self, relative: str) -> Path:
        """A path the study file names, relative to the study file's folder."""
        p = Path(relative)
        if p.is_absolute() or self.path is None:
            return p
        return (self.path.parent / p).resolve()
