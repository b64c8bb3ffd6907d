"""A quiet, honest terminal: third-party warnings go to the run folder, each kind is said once in plain words.

`quiet(run_dir)` is a context manager around a run (or any step of one). Inside it

- Python warnings (`RuntimeWarning: overflow encountered in dot`, numba's object-mode notices, ArviZ's
  Pareto-k paragraph, deprecations) and the log records of PyMC, PyTensor, ArviZ, numba and friends are not
  printed; every one is appended to `RUNDIR/log.txt` (distinct messages with their count, where they came from);
- on leaving, each *kind* is summarised once, in plain words with what it means for the result
  ("LOO for `ordbeta`: Pareto k > 0.70 for some city-years - its LOO comparison is unreliable"), printed as one
  line each and stored in `RUNDIR/notes.json` (`kind`, `step`, `count`, `fields`, `text`) for the report, which
  shows the same sentence (in its own language, from the same fields);
- `verbose=True` also shows every warning raw, as Python would.

Steps label where a warning came from: `with q.step("LOO for `ordbeta`"): ...`. A caller that knows more than the
warning says (the number of bad Pareto k values) adds its own sentence with `q.note(kind, **fields)`.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import re
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

from ctfp.reports.i18n import note_text

# Loggers of the libraries whose records belong in log.txt, not on the terminal.
LIBRARY_LOGGERS = ("pymc", "pytensor", "arviz", "arviz_base", "arviz_stats", "arviz_plots", "numba", "nutpie",
                   "bambi", "jax", "jaxlib", "h5py", "matplotlib", "formulaic", "pyfixest", "distributed")
# Loggers whose level is left alone. JAX takes the level of the `jax` logger at import time as its
# `jax_logging_level`: raised to INFO here, a first `import jax` inside a quiet block installed JAX's own stderr
# handler and switched its C++ (absl) log to INFO, so a cold run printed "PjRt-IFRT device count" and "Unable to
# initialize backend 'tpu'" between the progress lines. At their default level their warnings still come here.
LEVEL_KEPT = ("jax", "jaxlib")
NOTES_FILE = "notes.json"
LOG_FILE = "log.txt"


@dataclass
class Note:
    """One kind of notice, said once: `kind` names the sentence of the catalogue (reports.i18n, `note.<kind>`)."""

    kind: str
    step: str
    count: int
    fields: dict[str, Any] = field(default_factory=dict)
    text: str = ""  # the English sentence, as printed


@dataclass
class _Record:
    step: str
    source: str  # "warning" | "log"
    category: str  # warning class or log level
    origin: str  # module:line or logger name
    message: str
    count: int = 1


def _package(origin: str) -> str:
    """The top-level package a warning came from, from its file path or logger name."""
    path = origin.split(":")[0].replace("\\", "/")
    m = re.search(r"site-packages/([A-Za-z0-9_]+)", path)
    if m:
        return m.group(1)
    if any(path.startswith(root) for root in _ctfp_roots()):
        return "ctfp"
    return path.split("/")[-1].removesuffix(".py").split(".")[0] or "python"


@functools.cache
def _ctfp_roots() -> tuple[str, ...]:
    """The folders ctfp's own code is imported from (install link tree and sources), each ending in '/'.
    Matching folder names instead would call any file under a folder named `ctfp` or `data` ctfp's."""
    import ctfp.core
    import ctfp.data
    import ctfp.inference
    import ctfp.models
    import ctfp.reports

    roots: set[str] = set()
    for pkg in (ctfp.core, ctfp.data, ctfp.inference, ctfp.models, ctfp.reports):
        folder = Path(pkg.__file__).parent
        roots.update(str(p).replace("\\", "/").rstrip("/") + "/" for p in (folder, folder.resolve()))
    return tuple(sorted(roots))


def _first_sentence(msg: str, limit: int = 160) -> str:
    """The first sentence of a message, cut at a word boundary with an ellipsis when long."""
    text = " ".join(msg.split())
    m = re.search(r"(?<=[.!?])\s", text)
    text = text[: m.start()] if m else text
    if len(text) > limit:
        text = text[:limit].rsplit(" ", 1)[0] + "…"
    return text


def classify(rec: _Record) -> tuple[str, dict[str, Any]]:
    """(kind, fields) of a captured record: what it means in plain words is the catalogue's sentence."""
    msg, cat, pkg = rec.message, rec.category, _package(rec.origin)
    base = {"where": rec.step or pkg, "package": pkg, "example": _first_sentence(msg) or cat}
    if cat in ("INFO", "DEBUG"):  # library chatter ("Sampling 2 chains ..."): log.txt only, whatever it says
        return "other", {**base, "category": cat}
    if "fork()" in msg and "multi-threaded" in msg:
        return "fork", base
    if "Pareto distribution is greater than" in msg or "pareto k" in msg.lower():
        m = re.search(r"greater than ([0-9.]+)", msg)
        return "pareto_k", {**base, "k": m.group(1) if m else "0.7"}
    if cat == "RuntimeWarning" and re.search(r"overflow encountered", msg):
        return "overflow", base
    if cat == "RuntimeWarning" and re.search(r"invalid value encountered|divide by zero|Mean of empty slice", msg):
        return "invalid_value", base
    if "Numba" in cat or pkg == "numba" or "object mode" in msg:
        return "numba", base
    if pkg == "pytensor" and re.search(r"g\+\+|c\+\+ compiler|cxx", msg, re.I):
        return "no_compiler", base
    if re.search(r"r-?hat|effective sample|diverg|tree depth", msg, re.I) and pkg in ("pymc", "arviz", "arviz_stats",
                                                                                     "nutpie"):
        return "sampler", base
    if cat in ("DeprecationWarning", "FutureWarning", "PendingDeprecationWarning"):
        return "deprecation", base
    return "other", {**base, "category": cat}


class Quiet:
    """What one `quiet(...)` block captured; see the module docstring."""

    def __init__(self, run_dir: Path | None, verbose: bool, stream: TextIO) -> None:
        self.run_dir = run_dir
        self.verbose = verbose
        self.stream = stream
        self.records: dict[tuple[str, str, str, str], _Record] = {}
        self.own: list[Note] = []
        self._step = ""
        self._order: list[tuple[str, str, str, str]] = []
        self.ran: set[str] = set()  # steps run in this block: their older notes in notes.json are replaced

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Label what runs inside: notes say "LOO for `ordbeta`: ..." rather than "arviz_stats: ..."."""
        prev, self._step = self._step, name
        self.ran.add(name)
        try:
            yield
        finally:
            self._step = prev

    def note(self, kind: str, *, step: str | None = None, count: int = 1, **fields: Any) -> Note:
        """Add a sentence a caller can state better than the warning (e.g. the number of bad Pareto k values);
        it replaces the generic note of the same kind and step."""
        where = self._step if step is None else step
        n = Note(kind, where, count, {"where": where, **fields})
        n.text = note_text(kind, "en", n.fields, count)
        self.own.append(n)
        return n

    def _add(self, source: str, category: str, origin: str, message: str) -> None:
        key = (self._step, category, origin, message)
        if key in self.records:
            self.records[key].count += 1
        else:
            self.records[key] = _Record(self._step, source, category, origin, message)
            self._order.append(key)

    def notes(self) -> list[Note]:
        """One note per (kind, step), the callers' own first."""
        out: dict[tuple[str, str], Note] = {(n.kind, n.step): n for n in self.own}
        for key in self._order:
            rec = self.records[key]
            kind, fields = classify(rec)
            k = (kind, rec.step)
            if k in out:
                if out[k] not in self.own:
                    out[k].count += rec.count
                continue
            out[k] = Note(kind, rec.step, rec.count, fields)
        for n in out.values():
            n.text = note_text(n.kind, "en", n.fields, n.count)
        return list(out.values())


class _Handler(logging.Handler):
    def __init__(self, q: Quiet) -> None:
        super().__init__(logging.DEBUG)
        self.q = q

    def emit(self, record: logging.LogRecord) -> None:
        try:
            msg = record.getMessage()
        except Exception:  # a library's bad format string must not break the run
            msg = str(record.msg)
        self.q._add("log", record.levelname, record.name, msg)
        if self.q.verbose:
            print(f"{record.levelname.lower()}: {record.name}: {msg}", file=self.q.stream)


@contextmanager
def quiet(run_dir: str | Path | None, *, verbose: bool = False, stream: TextIO | None = None) -> Iterator[Quiet]:
    """Capture third-party warnings and log records; on exit write log.txt and notes.json into `run_dir` (when
    given) and print each kind of notice once. Errors propagate unchanged: the notes are written, not printed, so
    a user mistake still ends in one line."""
    out = stream if stream is not None else sys.stderr
    root = Path(run_dir) if run_dir is not None else None
    q = Quiet(root, verbose, out)
    handler = _Handler(q)
    saved: list[tuple[logging.Logger, list[logging.Handler], bool, int]] = []
    for name in LIBRARY_LOGGERS:
        lg = logging.getLogger(name)
        saved.append((lg, list(lg.handlers), lg.propagate, lg.level))
        lg.handlers = [handler]
        lg.propagate = False
        if name not in LEVEL_KEPT and (lg.level == logging.NOTSET or lg.level > logging.INFO):
            lg.setLevel(logging.INFO)

    def show(message: Warning | str, category: type[Warning], filename: str, lineno: int, file: Any = None,
             line: str | None = None) -> None:
        q._add("warning", category.__name__, f"{filename}:{lineno}", str(message))
        if verbose:
            out.write(warnings.formatwarning(message, category, filename, lineno, line))

    failed = True
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always")  # count every occurrence; log.txt lists each distinct one once
            warnings.showwarning = show
            yield q
        failed = False
    finally:
        for lg, handlers, propagate, level in saved:
            lg.handlers, lg.propagate = handlers, propagate
            lg.setLevel(level)
        notes = q.notes()
        if root is not None:
            _write(root, q, notes)
        # A block that fails ends in its one error line: the notes are in notes.json and log.txt, not printed.
        shown = [] if failed else [n for n in notes if not _log_only(n)]
        for n in shown:
            print(f"note: {n.text}", file=out)
        if shown and root is not None:
            print(f"note: the messages themselves are in {root / LOG_FILE}", file=out)


def _log_only(n: Note) -> bool:
    """INFO/DEBUG chatter (PyMC's "Sampling 4 chains ...") goes to log.txt only: it says nothing to judge."""
    return n.kind == "other" and n.fields.get("category") in ("INFO", "DEBUG")


def _write(root: Path, q: Quiet, notes: list[Note]) -> None:
    from ctfp.core.atomic import write_json, write_text

    root.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    lines = []
    for key in q._order:
        r = q.records[key]
        times = f" (x{r.count})" if r.count > 1 else ""
        lines.append(f"[{stamp}] {r.step or '-'} | {r.source} {r.category} | {r.origin}{times}\n"
                     + "".join(f"    {ln}\n" for ln in r.message.splitlines() or [""]))
    if lines:  # added to what is there: a run's steps and a later `ctfp report` share one log
        log = root / LOG_FILE
        before = log.read_text(encoding="utf-8", errors="replace") if log.is_file() else ""
        write_text(log, before + "".join(lines))
    kept = [n for n in notes if not _log_only(n)]
    path = root / NOTES_FILE
    old: list[dict[str, Any]] = []
    if path.is_file():
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
            old = loaded if isinstance(loaded, list) else []
        except (json.JSONDecodeError, UnicodeDecodeError):
            old = []  # a corrupt notes file is rewritten from this block's notes
    fresh = {(n.kind, n.step) for n in kept}
    merged = [o for o in old if isinstance(o, dict) and (o.get("kind"), o.get("step")) not in fresh
              and o.get("step") not in q.ran]  # a step run again says afresh what it has to say
    if kept or old:
        write_json(path, merged + [asdict(n) for n in kept])  # an empty list says: nothing to note any more
