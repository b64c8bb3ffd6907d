"""Shared test fixtures: the vendored reference fixtures (tests/fixtures, sources in its README)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"  # vendored: a bare clone runs every reference test
SHARED = REPO.parent / "shared"  # the team's originals, only compared with the copies when present


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES
