"""Presets: what a study file's `[study] preset = "..."` brings (a raw-series dictionary, derivations, unit
facts, validation rules, an embedded synthetic panel, claims to validate).

Presets are registered as entry points in the `ctfp.presets` group (pyproject.toml), so generic code finds one
by its name and never names a paper. `Preset` states what the pipeline may ask of one.

A preset's embedded SYNTHETIC panel comes from a *world* (a data-generating process: `ctfp.models.worlds`).
A world is a model (the paper world places its inputs with the DEA engine), and the data layer may not import
the models layer, so a preset names its world (`Preset.world`) and `world_generator` finds it in the
`ctfp.worlds` entry-point group, the same registry that finds presets. The preset stays in the data layer
because everything else it brings (dictionary, validation, derivations, city facts) is data-layer code; only the
generator moved above it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from ctfp.core.study import Study


WORLD_GROUP = "ctfp.worlds"


def world_names() -> list[str]:
    return sorted(ep.name for ep in metadata.entry_points(group=WORLD_GROUP))


def world_generator(name: str) -> Any:
    """The world registered under `name` in the `ctfp.worlds` entry-point group: an object with
    `panel(seed=None, effect=None) -> (raw, truth)`, `draw(seed, effect) -> WorldDraw`, `default_effect`,
    `default_seed`, `structure()` (ctfp.models.worlds.paper.PaperWorld)."""
    for ep in metadata.entry_points(group=WORLD_GROUP):
        if ep.name == name:
            return ep.load()
    raise KeyError(f"no world '{name}' in the {WORLD_GROUP} entry-point group (known: "
                   f"{', '.join(world_names()) or 'none'}); reinstall ctfp")


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
    world: str = ""  # the `ctfp.worlds` entry of the world its embedded panel is drawn from; "" = none

    def study_file(self) -> Path:
        raise NotImplementedError

    def world_generator(self) -> Any:
        """The preset's world (None when it has none)."""
        return world_generator(self.world) if self.world else None

    def synthetic_panel(self, seed: int | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
        """The embedded SYNTHETIC panel and its data-generating truths (a draw of the preset's world)."""
        if not self.world:
            raise NotImplementedError(f"preset '{self.name}' has no embedded panel")
        raw, truth = self.world_generator().panel(seed)
        raw.attrs["source"] = self.synthetic_label if seed is None else f"embedded SYNTHETIC panel (seed {seed})"
        return raw, truth

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
