"""Shared test fixtures: the vendored reference fixtures (tests/fixtures, sources in its README).

PyTensor's default compile mode is numba, whose first compile of a graph takes tens of seconds on an empty cache.
ctfp's own sampling passes its backend explicitly (inference/sampling.py), so the default only reaches what a
test compiles by hand (`model.compile_fn`, `.eval()`) and third-party fits (bambi): those use JAX here, which
compiles in well under a second.
"""

from __future__ import annotations

import copy
import functools
import os
from pathlib import Path
from typing import Any

import pytest

# Before PyTensor is imported (no import cost here); a mode the caller set wins.
if "mode=" not in os.environ.get("PYTENSOR_FLAGS", ""):
    os.environ["PYTENSOR_FLAGS"] = ",".join(f for f in (os.environ.get("PYTENSOR_FLAGS", ""), "mode=JAX") if f)

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"  # vendored: a bare clone runs every reference test
SHARED = REPO.parent / "shared"  # the team's originals, only compared with the copies when present


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


@functools.lru_cache(maxsize=4)
def _synthesized(seed: int) -> tuple[Any, dict]:
    from ctfp.data.synth import synthesize_panel

    return synthesize_panel(seed)


def synthetic(seed: int | None = None) -> tuple[Any, dict]:
    """The synthetic raw panel and truth of `seed`, built once per session (about 2 s each); callers get copies."""
    from ctfp.data.synth import DEFAULT_SEED

    raw, truth = _synthesized(DEFAULT_SEED if seed is None else seed)
    return raw.copy(deep=True), copy.deepcopy(truth)
