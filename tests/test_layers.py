"""Layers: core <- data <- models <- inference -> reports. No module imports a layer above its own (statically,
anywhere in the file: inside functions too); the data layer reaches the paper world only by name (entry points)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ABOVE = {  # folder -> ctfp subpackages it must never import
    "core": ("ctfp.data", "ctfp.models", "ctfp.inference", "ctfp.reports"),
    "data": ("ctfp.models", "ctfp.inference", "ctfp.reports"),
    "models": ("ctfp.inference", "ctfp.reports"),
    "reports": ("ctfp.inference",),
}
# code_fingerprint imports every layer only to find and hash its source files (no use of what they define)
EXEMPT = {"core/runfolder.py"}


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module))
    return out


@pytest.mark.parametrize("layer", sorted(ABOVE))
def test_no_layer_imports_a_layer_above_it(layer: str) -> None:
    files = [p for p in sorted((ROOT / layer).rglob("*.py")) if str(p.relative_to(ROOT)) not in EXEMPT]
    bad = [f"{p.relative_to(ROOT)}:{line} imports {mod}" for p in files
           for line, mod in _imports(p) if any(mod == a or mod.startswith(a + ".") for a in ABOVE[layer])]
    assert not bad, bad


def test_the_preset_finds_its_world_by_name() -> None:
    from ctfp.core.study_load import get_preset
    from ctfp.models.worlds.paper import WORLD

    preset = get_preset("shen-chao-2025")
    assert preset.world == "shen-chao-2025" and preset.world_generator() is WORLD
