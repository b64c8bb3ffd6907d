"""Presets: what a study file's `[study] preset = "..."` brings (a raw-series dictionary, derivations, unit
facts, validation rules, an embedded synthetic panel, claims to validate).

Presets are registered as entry points in the `ctfp.presets` group (pyproject.toml), so generic code finds one
by its name and never names a paper. `Preset` states what the pipeline may ask of one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from ctfp.core.study import Study


@dataclass(frozen=True)
class Claim:
    """One published claim, judged from the replica cells and from the posterior (inference.validate)."""

    claim_id: str
    claim: str
    published: str
    cells: tuple[tuple[str, str, str], ...]  # (table, column, term) cells of tables/replicas.csv that must match
    sign: int  # +1 / -1 claimed sign; 0 = "not significant"
    posterior: tuple[str, ...] = ()  # ("treatment", model) | ("group", split, level) | ("diff", split)
    test: tuple[str, str, str, str] = ()  # (table, column_a, column_b, term): a permutation test of tests.csv


@dataclass
class Prepared:
    """A preset's analysis panel with what the derivation recorded (written to provenance/derive.json)."""

    frame: pd.DataFrame
    provenance: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


class Preset:
    """The interface; a preset overrides what it provides."""

    name: str = ""
    description: str = ""
    # extra [data] keys: key -> (default, allowed values); validated by the study loader
    data_options: dict[str, tuple[Any, tuple[Any, ...]]] = {}
    # [data] keys a study under this preset may leave out
    data_defaults: dict[str, Any] = {}
    synthetic_label: str = ""

    def study_file(self) -> Path:
        raise NotImplementedError

    def synthetic_panel(self, seed: int | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
        """The embedded SYNTHETIC panel and its data-generating truths."""
        raise NotImplementedError

    def check_columns(self, raw: pd.DataFrame, needed: list[tuple[str, str]], source: str) -> None:
        """Raise one InputError when a column the study needs cannot be made from `raw`; `needed` holds
        (column, "FILE, line N: what reads it")."""

    def derived_columns(self, raw: pd.DataFrame) -> set[str]:
        """Columns `prepare` adds to a panel with these raw columns."""
        return set()

    def prepare(self, raw: pd.DataFrame, study: Study, source: str) -> Prepared:
        """Validate and derive the analysis panel (before the study's own derive, groups and measures)."""
        raise NotImplementedError

    def table1(self, frame: pd.DataFrame) -> pd.DataFrame | None:
        """The descriptive table beside its published counterpart, or None (then the generic one is used)."""
        return None

    def claims(self) -> tuple[Claim, ...]:
        """The published claims a run is validated against (validation.json); () = none."""
        return ()
