"""Test helpers for the tables engine until the study loader (`ctfp.core.study_load`) and the expression
language (`ctfp.core.expr`) are on main: a reader of only the `[[tables]]` and `[published]` sections of a
study file into `ctfp.core.study` objects (lines found by searching the text), and a stand-in for
`ctfp.core.expr.evaluate` used only when the real module is absent.
"""

from __future__ import annotations

import importlib
import sys
import tomllib
import types
from pathlib import Path

import numpy as np
import pandas as pd

from ctfp.core.study import DataSpec, DiffTest, Published, Study, StudyMeta, Table, TableColumn, Where


def ensure_expr() -> None:
    """Make `ctfp.core.expr.evaluate` importable (the real one when it exists)."""
    try:
        importlib.import_module("ctfp.core.expr")
        return
    except ImportError:
        pass

    def evaluate(text: str, frame: pd.DataFrame, *, unit: str | None = None, time: str | None = None,
                 where: str = "") -> np.ndarray:
        from ctfp.core.errors import InputError

        try:
            out = frame.eval(text.replace(" and ", " & ").replace(" or ", " | "))
        except Exception as err:  # noqa: BLE001 - test stand-in: any failure is the user's expression
            raise InputError(f"{where}: '{text}' cannot be evaluated ({err})") from None
        return np.asarray(out, dtype=float)

    mod = types.ModuleType("ctfp.core.expr")
    mod.evaluate = evaluate  # type: ignore[attr-defined]
    sys.modules["ctfp.core.expr"] = mod


def _line(lines: list[str], needle: str, start: int = 0) -> int:
    for i in range(start, len(lines)):
        if needle in lines[i]:
            return i + 1
    return 0


def load_tables_study(path: Path, *, unit: str = "city", time: str = "year") -> Study:
    """A Study holding only the tables and published file of a study file (lines by text search)."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    raw = tomllib.loads(text)
    label = str(path)
    tables = []
    pos = 0
    for t in raw.get("tables", []):
        t_line = _line(lines, f'id = "{t["id"]}"', pos)
        pos = t_line
        cols = []
        for c in t.get("columns", []):
            c_line = _line(lines, f'id = "{c["id"]}", formula', pos)
            pos = max(pos, c_line)
            cols.append(TableColumn(id=c["id"], formula=c["formula"], cluster=tuple(c.get("cluster", ())),
                                    sample=c.get("sample", ""), stage=c.get("stage", "second"),
                                    label=c.get("label", ""), where=Where(label, c_line)))
        tests = []
        for d in t.get("tests", []):
            d_line = _line(lines, f'columns = ["{d["columns"][0]}", "{d["columns"][1]}"]', pos)
            pos = max(pos, d_line)
            tests.append(DiffTest(columns=tuple(d["columns"]), term=d["term"], method=d.get("method", "permutation"),
                                  permutations=d.get("permutations", 1000), level=d.get("level", "unit"),
                                  seed=d.get("seed", 0), where=Where(label, d_line)))
        tables.append(Table(id=t["id"], title=t.get("title", ""), columns=tuple(cols), tests=tuple(tests),
                            note=t.get("note", ""), where=Where(label, t_line)))
    pub = raw.get("published", {})
    published = Published(file=pub.get("file", ""), where=Where(label, _line(lines, "[published]")))
    return Study(meta=StudyMeta(name=raw.get("study", {}).get("name", "")),
                 data=DataSpec(unit=unit, time=time), tables=tuple(tables), published=published,
                 path=path.resolve(), text=text)
