"""The quiet terminal (ctfp.inference.quiet): third-party warnings and log records go to log.txt, each kind is
said once in plain words (terminal and notes.json), --verbose shows them raw. The warnings are real ones, raised
by numpy, ArviZ's LOO and the logging of PyMC, not strings a test wrote into a file."""

from __future__ import annotations

import io
import json
import logging
import warnings
from pathlib import Path

import numpy as np
import pytest

from ctfp.inference.quiet import classify, quiet
from ctfp.reports.i18n import note_text


def _pareto_warning() -> None:
    """ArviZ's own Pareto-k warning: one observation's log-likelihood draws are heavy-tailed."""
    import arviz as az

    rng = np.random.default_rng(0)
    ll = rng.normal(-1, 0.1, (2, 100, 30))
    ll[:, :, 0] = -np.exp(rng.normal(0, 2.5, (2, 100)))
    az.loo(az.from_dict({"posterior": {"mu": rng.normal(size=(2, 100))}, "log_likelihood": {"y": ll}}))


def _overflow(n: int) -> None:
    for _ in range(n):
        np.exp(np.array([1000.0]))  # numpy: RuntimeWarning: overflow encountered in exp


def test_warnings_are_logged_and_said_once_in_plain_words(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    out = io.StringIO()
    with quiet(tmp_path, stream=out) as q:
        with q.step("DEA"):
            _overflow(3)
        with q.step("LOO for `ordbeta`"):
            _pareto_warning()
        logging.getLogger("pymc").warning("The rhat statistic is larger than 1.01 for some parameters.")
        logging.getLogger("pymc").info("Sampling 2 chains for 100 tune and 100 draw iterations")
        logging.getLogger("pytensor.configparser").info("Suppressed KeyError in PyTensorConfigParser.add for "
                                                        "parameter 'cxx'!")
        warnings.warn("x is deprecated", FutureWarning, stacklevel=1)
    text = out.getvalue()
    captured = capsys.readouterr()
    assert "Warning" not in captured.err + captured.out  # nothing raw reached the terminal
    lines = text.splitlines()
    assert not any("Warning:" in ln or ln.startswith(("UserWarning", "RuntimeWarning")) for ln in lines), text
    assert lines[0] == ("note: DEA: 3 floating-point overflow warning(s) in test_report_quiet (\u201coverflow encountered in "
                        "exp\u201d) - an intermediate value overflowed; the result stands only where its solver "
                        "status or convergence gate passed")
    assert lines[1] == ("note: LOO for `ordbeta`: Pareto k > 0.57 for some observations - its LOO estimate and "
                        "any LOO comparison are unreliable")
    assert any(ln.startswith("note: pymc: sampler warning") for ln in lines)
    assert not any("C compiler" in ln for ln in lines)  # an INFO record about config keys says nothing of it
    assert any("deprecation notice(s)" in ln for ln in lines)
    assert not any("Sampling 2 chains" in ln for ln in lines)  # INFO chatter: log.txt only
    assert lines[-1] == f"note: the messages themselves are in {tmp_path / 'log.txt'}"
    assert len([ln for ln in lines if "overflow" in ln]) == 1  # said once, counted
    log = (tmp_path / "log.txt").read_text(encoding="utf-8")
    assert "overflow encountered in exp" in log and "(x3)" in log
    assert "Estimated shape parameter of Pareto distribution" in log and "Sampling 2 chains" in log
    notes = json.loads((tmp_path / "notes.json").read_text(encoding="utf-8"))
    kinds = [(n["kind"], n["step"]) for n in notes]
    assert ("overflow", "DEA") in kinds and ("pareto_k", "LOO for `ordbeta`") in kinds
    over = next(n for n in notes if n["kind"] == "overflow")
    assert over["count"] == 3 and over["text"] == lines[0].removeprefix("note: ")
    # The report says the same in Chinese from the same fields.
    zh = note_text(over["kind"], "zh", over["fields"], over["count"])
    assert zh.startswith("DEA:test_report_quiet出现3次浮点溢出警告")


def test_a_callers_sentence_replaces_the_generic_one_and_notes_merge(tmp_path: Path) -> None:
    out = io.StringIO()
    with quiet(tmp_path, stream=out) as q:
        with q.step("LOO for `ordbeta`"):
            _pareto_warning()
            q.note("pareto_k", k="0.57")
            q.note("loo_bad_k", model="ordbeta", k="0.7", count=3)
    lines = out.getvalue().splitlines()
    assert "note: LOO for `ordbeta`: 3 observation(s) with Pareto k > 0.7 - its LOO comparison is unreliable" in lines
    assert len([ln for ln in lines if "Pareto" in ln]) == 2
    # A later block (a `ctfp report` after the run) adds its notes; the same kind and step is replaced.
    with quiet(tmp_path, stream=io.StringIO()) as q:
        with q.step("DEA"):
            _overflow(1)
    notes = json.loads((tmp_path / "notes.json").read_text(encoding="utf-8"))
    assert [n["kind"] for n in notes] == ["pareto_k", "loo_bad_k", "overflow"]
    # A step run again that no longer warns leaves no stale note; the others stay.
    with quiet(tmp_path, stream=io.StringIO()) as q, q.step("DEA"):
        pass
    notes = json.loads((tmp_path / "notes.json").read_text(encoding="utf-8"))
    assert [n["kind"] for n in notes] == ["pareto_k", "loo_bad_k"]


def test_verbose_shows_them_raw_and_errors_still_write_the_notes(tmp_path: Path) -> None:
    out = io.StringIO()
    with pytest.raises(ZeroDivisionError), quiet(tmp_path, verbose=True, stream=out):
        _overflow(1)
        logging.getLogger("pytensor").warning("g++ not available, if using conda: `conda install gxx`")
        1 / 0  # noqa: B018
    text = out.getvalue()
    assert "RuntimeWarning: overflow encountered in exp" in text  # raw, as Python prints it
    assert "warning: pytensor: g++ not available" in text
    assert "note:" not in text  # a failed block ends in its error line; its notes are stored, not printed
    notes = json.loads((tmp_path / "notes.json").read_text())
    assert [n["kind"] for n in notes] == ["overflow", "no_compiler"]
    assert notes[1]["text"] == "PyTensor found no C compiler - models run in Python mode: slower, the same results"
    # Library loggers get their handlers back.
    assert logging.getLogger("pytensor").propagate is True


def test_fork_warnings_are_said_for_what_they_are(tmp_path: Path) -> None:
    out = io.StringIO()
    with quiet(tmp_path, stream=out) as q, q.step("bayes-headline"):
        warnings.warn_explicit("This process (pid=1) is multi-threaded, use of fork() may lead to deadlocks in the "
                               "child.", DeprecationWarning, "/usr/lib/python3.12/multiprocessing/popen_fork.py", 66)
    assert out.getvalue().splitlines()[0] == (
        "note: bayes-headline: the sampler's worker processes were forked from a multi-threaded process, which "
        "Python warns can deadlock; the step finished, so it did not")


def test_numba_notices_are_speed_only() -> None:
    from ctfp.inference.quiet import _Record

    rec = _Record("DEA", "warning", "NumbaPerformanceWarning",
                  "/x/site-packages/numba/core/object_mode_passes.py:151",
                  "Compilation is falling back to object mode WITH looplifting enabled")
    kind, fields = classify(rec)
    assert kind == "numba" and fields["package"] == "numba"
    assert note_text(kind, "en", fields, 2).startswith("DEA: 2 numba notice(s)")


def test_origin_is_ctfp_only_for_ctfp_own_code() -> None:
    """A user's file under a folder named `ctfp` (a clone of this repository, a project folder) is not ctfp."""
    import ctfp.models.dea as dea_pkg
    from ctfp.inference import quiet

    assert quiet._package(f"{dea_pkg.__file__}:12") == "ctfp"
    assert quiet._package("/home/u/ctfp/tests/test_mine.py:3") == "test_mine"
    assert quiet._package("/home/u/data/models/script.py:3") == "script"
    assert quiet._package("/x/lib/python3.12/site-packages/numpy/core/fromnumeric.py:9") == "numpy"


def test_a_first_jax_import_inside_a_quiet_block_prints_nothing(tmp_path: Path) -> None:
    """A cold `ctfp demo` printed JAX's start-up INFO lines (C++ `PjRt-IFRT device count`, Python `Unable to
    initialize backend 'tpu'`) amid the progress: JAX takes the `jax` logger's level at import as its own logging
    level, and quiet() had raised it to INFO. In a fresh interpreter whose first `import jax` is inside the block,
    the terminal stays silent, JAX's level is untouched, and JAX's warnings still reach log.txt."""
    import subprocess
    import sys

    code = (
        "import sys, logging\n"
        "from ctfp.inference.quiet import quiet\n"
        "with quiet(sys.argv[1]):\n"
        "    import jax, jax.numpy as jnp\n"
        "    assert float(jax.jit(lambda x: (x * 2).sum())(jnp.ones(3))) == 6.0\n"
        "    logging.getLogger('jax._src.xla_bridge').warning('a jax warning for the log')\n"
        "    level = jax.config.jax_logging_level\n"
        "print('LEVEL', level)\n"
    )
    res = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=300,
                         check=False)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.split() == ["LEVEL", "NOTSET"]
    noise = [ln for ln in res.stderr.splitlines() if not ln.startswith("note: ")]
    assert noise == [], noise  # no pjrt_client.cc / xla_bridge lines, nothing raw
    assert "a jax warning for the log" in (tmp_path / "log.txt").read_text(encoding="utf-8")
