"""Shared test fixtures: where ../shared/fixtures lives, and a fixed seed.

PyTensor's default compile mode is numba, whose first compile of a graph takes tens of seconds on an empty cache.
ctfp's own sampling passes its backend explicitly (inference/sampling.py), so the default only reaches what a
test compiles by hand (`model.compile_fn`, `.eval()`) and third-party fits (bambi): those use JAX here, which
compiles in well under a second.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Before PyTensor is imported (no import cost here); a mode the caller set wins.
if "mode=" not in os.environ.get("PYTENSOR_FLAGS", ""):
    os.environ["PYTENSOR_FLAGS"] = ",".join(f for f in (os.environ.get("PYTENSOR_FLAGS", ""), "mode=JAX") if f)

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
FIXTURES = SHARED / "fixtures"


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    if not FIXTURES.is_dir():
        pytest.skip(f"reference fixtures not found at {FIXTURES} (CI places ../shared beside the clone)")
    return FIXTURES
