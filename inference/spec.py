"""Analysis specification files (TOML): the whole study in one place.

The paper's specification ships as `specs/paper.toml`. A user's file is merged over it, so a user states only
what differs (usually `[data] panel` and `[data.mapping]`). Errors name the file and line of the offending key.
"""

from __future__ import annotations

import copy
import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from ctfp.core.errors import InputError

SPEC_SECTIONS = ("study", "data", "variables", "sbm", "replicas", "bayes", "report")
LIKELIHOODS = ("normal", "censored", "ordbeta")
SAMPLERS = ("pymc", "nutpie", "numpyro")
PAPER_SPEC_LABEL = "the paper specification (inference/specs/paper.toml)"


@dataclass
class AnalysisSpec:
    """A resolved specification: the merged dict plus where it came from (for error messages)."""

    values: dict[str, Any]
    path: Path | None  # None = the shipped paper specification
    text: str

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    @property
    def label(self) -> str:
        return str(self.path) if self.path else PAPER_SPEC_LABEL

    def line_of(self, key: str, value: str | None = None) -> int | None:
        """1-based line where `key` (optionally with `value` on it) is set in the spec's own text."""
        return find_line(self.text, key, value)

    def where(self, key: str, value: str | None = None) -> str:
        """'FILE, line N' of the key: the user's file if it sets the key, else the paper spec it inherits."""
        line = self.line_of(key, value)
        if line:
            return f"{self.label}, line {line}"
        if self.path is not None:
            inherited = find_line(paper_spec_text(), key, value)
            if inherited:
                return f"{PAPER_SPEC_LABEL}, line {inherited} (inherited by {self.path})"
        return self.label


def paper_spec_text() -> str:
    return resources.files("ctfp.inference").joinpath("specs/paper.toml").read_text(encoding="utf-8")


def load_spec(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> AnalysisSpec:
    """Load the paper spec, merge a user's TOML file over it, then `overrides` (e.g. from the command line)."""
    base = tomllib.loads(paper_spec_text())
    text = paper_spec_text()
    spec_path: Path | None = None
    if path is not None:
        spec_path = Path(path)
        if not spec_path.is_file():
            raise InputError(f"{spec_path}: specification file not found; pass the path of a .toml file")
        text = spec_path.read_text(encoding="utf-8")
        try:
            user = tomllib.loads(text)
        except tomllib.TOMLDecodeError as err:
            raise InputError(f"{spec_path}: not valid TOML ({err}); fix the line it names") from None
        unknown = [k for k in user if k not in SPEC_SECTIONS]
        if unknown:
            line = find_line(text, f"[{unknown[0]}]") or find_line(text, unknown[0])
            raise InputError(
                f"{spec_path}, line {line}: unknown section [{unknown[0]}]; known sections: {', '.join(SPEC_SECTIONS)}"
            )
        if "bayes" in user and "models" in user["bayes"]:
            base["bayes"]["models"] = []  # a user's model list replaces the paper's, it is not appended
        base = _merge(base, user)
    if overrides:
        base = _merge(base, overrides)
    spec = AnalysisSpec(values=base, path=spec_path, text=text)
    _check(spec)
    return spec


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, val in over.items():
        if isinstance(val, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], val)
        else:
            out[key] = copy.deepcopy(val)
    return out


def find_line(text: str, key: str, value: str | None = None) -> int | None:
    """Line number of the first line that sets `key` (and mentions `value`, when given)."""
    key_re = re.compile(rf"^\s*{re.escape(key)}\s*=" if not key.startswith("[") else rf"^\s*{re.escape(key)}")
    for i, line in enumerate(text.splitlines(), start=1):
        if key_re.search(line) and (value is None or f'"{value}"' in line or f"'{value}'" in line):
            return i
    if value is not None:  # a list may span lines: look for the value alone
        for i, line in enumerate(text.splitlines(), start=1):
            if f'"{value}"' in line:
                return i
    return None


def _check(spec: AnalysisSpec) -> None:
    v = spec.values
    for section in ("data", "variables", "sbm", "replicas", "bayes"):
        if not isinstance(v.get(section), dict):
            raise InputError(f"{spec.label}: section [{section}] is missing or not a table")
    for m in v["bayes"].get("models", []):
        name = m.get("name", "?")
        if m.get("likelihood", "normal") not in LIKELIHOODS:
            raise InputError(
                f"{spec.where('likelihood', m.get('likelihood'))}: bayes model '{name}' has likelihood "
                f"'{m.get('likelihood')}'; use one of {', '.join(LIKELIHOODS)}"
            )
    if v["bayes"].get("sampler") not in SAMPLERS:
        raise InputError(f"{spec.where('sampler')}: sampler must be one of {', '.join(SAMPLERS)}")
    for key in ("draws", "tune", "chains"):
        val = v["bayes"].get(key)
        if not isinstance(val, int) or val < 1:
            raise InputError(f"{spec.where(key)}: bayes.{key} must be a positive integer, got {val!r}")
    if v["data"].get("ua_rule") not in ("any", "whole"):
        raise InputError(f"{spec.where('ua_rule')}: data.ua_rule must be \"any\" or \"whole\"")
