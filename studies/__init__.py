"""Study files shipped with ctfp (package data): each folder holds a study.toml and what it names beside it.

`ctfp demo` runs `DEMO` on its preset's embedded SYNTHETIC panel.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

DEMO = "shen_chao_2025"


def study_path(name: str = DEMO) -> Path:
    """The shipped study file of folder `name`."""
    return Path(str(resources.files(__name__).joinpath(name, "study.toml"))).resolve()
