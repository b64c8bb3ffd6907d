"""Shared test fixtures: the vendored reference fixtures (tests/fixtures, sources in its README).

PyTensor's default compile mode is left as it is (numba): a global override changed the random streams of forward
samplers in other tests. Modules that compile graphs by hand choose their mode themselves (test_bayes_models.py).
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"  # vendored: a bare clone runs every reference test
SHARED = REPO.parent / "shared"  # the team's originals, only compared with the copies when present


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


@functools.lru_cache(maxsize=4)
def _synthesized(seed: int) -> tuple[Any, dict]:
    from ctfp.models.worlds.paper import synthesize_panel

    return synthesize_panel(seed)


def synthetic(seed: int | None = None) -> tuple[Any, dict]:
    """The synthetic raw panel and truth of `seed`, built once per session (about 2 s each); callers get copies."""
    from ctfp.models.worlds.paper import DEFAULT_SEED

    raw, truth = _synthesized(DEFAULT_SEED if seed is None else seed)
    return raw.copy(deep=True), copy.deepcopy(truth)
