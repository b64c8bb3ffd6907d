"""Atomic file writes: write to a temporary file in the same folder, then rename.

A crash or a kill mid-write leaves either the old file or nothing, never half a file. A written file gets the
mode a plain `open()` would give it (0o666 less the user's umask), not mkstemp's private 0o600.
`check_output_path` refuses an `--out` that cannot be written before any work is done.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success rename it onto `path`, on error remove it."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if tmp_path.is_file():  # a writer may replace the temp path; a folder written there keeps its modes
            os.chmod(tmp_path, 0o666 & ~current_umask())
        os.replace(tmp_path, target)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def current_umask() -> int:
    """The process umask, read without changing it where Linux exposes it (/proc), else set and restored."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def check_output_path(path: str | os.PathLike[str], kind: str, *, flag: str = "--out") -> Path:
    """Refuse an output path that cannot be written, before any work: one line naming it and what to do.

    kind "file": the path must not be a folder; kind "folder": it must not be a file. Every existing ancestor
    must be a folder, and the nearest existing one writable (probed by creating and removing a temporary file,
    so read-only file systems and permissions are both caught).
    """
    from ctfp.core.errors import InputError

    if kind not in ("file", "folder"):
        raise ValueError(f"kind must be 'file' or 'folder', not {kind!r}")
    p = Path(path)
    if str(path).strip() == "":
        raise InputError(f"{flag}: empty path; name the output {kind}")
    if kind == "file" and p.is_dir():
        raise InputError(f"{flag} {path}: is a folder, but a file is written here; name a file "
                         f"(e.g. {p / 'out.csv'}) or remove the folder")
    if kind == "file" and str(path).endswith(("/", os.sep)):
        raise InputError(f"{flag} {path}: ends with a slash, but a file is written here; name a file")
    if kind == "folder" and p.exists() and not p.is_dir():
        raise InputError(f"{flag} {path}: is a file, but a folder is written here; name a folder or remove "
                         "the file")
    anc = p if kind == "folder" else p.parent
    anc = anc if str(anc) else Path(".")
    while not anc.exists():
        if anc.is_symlink():
            raise InputError(f"{flag} {path}: {anc} is a broken link; fix or remove it")
        anc = anc.parent
    if not anc.is_dir():
        raise InputError(f"{flag} {path}: {anc} is a file, not a folder; choose another path")
    try:
        fd, probe = tempfile.mkstemp(prefix=".ctfp-write-check.", dir=anc)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise InputError(f"{flag} {path}: cannot write in {anc} ({err.strerror or err}); choose a folder you "
                         "can write to") from None
    return p


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write `text` to `path` atomically (UTF-8)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    """Write `obj` as indented JSON atomically; NaN becomes null so any JSON reader accepts the file."""
    return write_text(path, json.dumps(_nan_to_none(obj), indent=2, ensure_ascii=False, default=_default) + "\n")


def write_csv(path: str | os.PathLike[str], frame: Any, **kwargs: Any) -> Path:
    """Write a pandas DataFrame as CSV atomically (index off unless asked)."""
    kwargs.setdefault("index", False)
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, **kwargs)
    return Path(path)


def _default(obj: Any) -> Any:
    try:
        import numpy as np

        if isinstance(obj, np.generic):
            return _nan_to_none(obj.item())
        if isinstance(obj, np.ndarray):
            return _nan_to_none(obj.tolist())
    except ImportError:  # pragma: no cover - numpy is a hard dependency
        pass
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def _nan_to_none(obj: Any) -> Any:
    if isinstance(obj, float) and obj != obj:
        return None
    if isinstance(obj, dict):
        return {k: _nan_to_none(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_nan_to_none(v) for v in obj]
    return obj
