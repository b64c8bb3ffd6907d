"""Shared test fixtures: the vendored reference fixtures (tests/fixtures, sources in its README) and the run
folders the report tests read, each written by `ctfp run` once per session.

PyTensor's default compile mode is left as it is (numba): a global override changed the random streams of forward
samplers in other tests. Modules that compile graphs by hand choose their mode themselves (test_bayes_models.py).
"""

from __future__ import annotations

import copy
import functools
import shutil
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


# --- real run folders for the report tests ------------------------------------------------------------------
# Every report test reads a folder written by `ctfp run`, never a hand-made one. The paper's own study file runs on
# half of the SYNTHETIC paper-world panel (every other city: 39 cities x 16 years) with few draws: the report's
# machinery is what these tests check, not the posterior (so the convergence gate fails, and the report says so).
REPORT_DRAWS = {"draws": 100, "tune": 100, "chains": 2}
REPORT_PERMUTATIONS = 100
REPORT_MODELS = ("headline", "censored", "ordbeta", "hetero")  # the paper's models but the IV one


def _replace_once(text: str, old: str, new: str) -> str:
    """A replacement in the shipped study file that must happen exactly once (a changed file breaks loudly)."""
    assert text.count(old) == 1, f"the paper's study file no longer has exactly one {old!r}"
    return text.replace(old, new)


def paper_study_text(panel: str, *, language: str | None = None) -> str:
    """The shipped paper study with `panel` as its raw series, few draws and permutations, no IV model."""
    import re

    from ctfp.studies import study_path

    text = study_path().read_text(encoding="utf-8")
    text = _replace_once(text, 'panel = ""', f'panel = "{panel}"')
    for key, value in REPORT_DRAWS.items():
        text = re.sub(rf"(?m)^{key} = \d+", f"{key} = {value}", text, count=1)
    text = text.replace("permutations = 1000", f"permutations = {REPORT_PERMUTATIONS}")
    start = text.index('[[bayes.models]]\nname = "iv"')
    text = text[:start] + text[text.index("[report]", start):]
    assert re.findall(r'(?m)^name = "(\w+)"', text.split("[[bayes.models]]", 1)[1]) == list(REPORT_MODELS)
    if language:
        text = _replace_once(text, "[report]\n", f'[report]\nlanguage = "{language}"\n')
    return text


def report_panel(path: Path, *, marked: bool) -> Path:
    """Every other city of the synthetic raw panel as a CSV; without its `synthetic` column it is a user's file."""
    raw, _ = synthetic()
    raw = raw[raw["city"].isin(sorted(raw["city"].unique())[::2])]
    if not marked:
        raw = raw.drop(columns=["synthetic"])
    raw.to_csv(path, index=False)
    return path


def ctfp_run(study: Path, out: Path, *args: str) -> Path:
    """`ctfp run STUDY --out OUT` in this process (compiled models are shared with later tests)."""
    from ctfp.inference.cli import main

    rc = main(["run", str(study), "--out", str(out), "--no-progress", *args])
    assert rc == 0, f"ctfp run {study} failed with exit {rc}"
    return out


def _paper_run(root: Path, *, synthetic_panel: bool, args: tuple[str, ...] = (), language: str | None = None) -> Path:
    from ctfp.studies import study_path

    root.mkdir(parents=True, exist_ok=True)
    report_panel(root / "cities.csv", marked=synthetic_panel)
    shutil.copy(study_path().parent / "published.csv", root / "published.csv")
    study = root / "study.toml"
    study.write_text(paper_study_text("cities.csv", language=language), encoding="utf-8")
    return ctfp_run(study, root / "run", *args)


def once_per_test_run(factory: pytest.TempPathFactory, worker_id: str, name: str, build: Any) -> Path:
    """`build(root)` once per pytest run, however many xdist workers ask (pytest-xdist's documented pattern).

    The first worker to ask builds under a file lock in the run's base temp folder, which all of this run's
    workers share and no other run sees; the others wait and read the finished folder. A failed build leaves no
    marker, so the next worker tries (and fails) itself rather than reading half a folder.
    """
    if worker_id == "master":  # not under xdist: the session fixture alone runs it once
        return build(factory.mktemp(name))
    from filelock import FileLock

    shared = factory.getbasetemp().parent
    root, done = shared / name, shared / f"{name}.done"
    with FileLock(str(shared / f"{name}.lock")):
        if not done.is_file():
            if root.exists():
                shutil.rmtree(root)
            out = build(root)
            done.write_text(str(out), encoding="utf-8")
    return Path(done.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def report_run(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """The paper's study on a SYNTHETIC panel file, Bayesian models included, as `ctfp run` writes it: a minute
    of fits, so built once per test run and shared by the report test files on every worker."""
    return once_per_test_run(tmp_path_factory, worker_id, "report_paper",
                             lambda root: _paper_run(root, synthetic_panel=True))


@pytest.fixture(scope="session")
def user_paper_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The paper's study on a user's raw panel (no synthetic marker) run with --no-bayes: no banner, no fits."""
    return _paper_run(tmp_path_factory.mktemp("report_user"), synthetic_panel=False, args=("--no-bayes",))


def user_study_text(panel: str, *, bayes: bool = False, language: str | None = None) -> str:
    """A user's own study, no preset: two tables of the paper's design on the panel's own columns (outcome
    `tfp`), one permutation test; optionally Bayesian models (run with --no-bayes) and a report language."""
    controls = " + ".join(("pop", "hum", "lninf", "isu", "trade", "er", "tec"))
    fe = "| city + year"

    def col(cid: str, rhs: str, label: str = "", sample: str = "") -> str:
        extra = (f', label = "{label}"' if label else "") + (f', sample = "{sample}"' if sample else "")
        return f'  {{ id = "{cid}", formula = "tfp ~ {rhs} {fe}", cluster = ["city"]{extra} }},\n'

    t2 = (col("(1)", "ai", "Innovation quality") + col("(2)", f"ai + {controls}", "Innovation quality")
          + col("(3)", "scale", "Innovation scale") + col("(4)", f"scale + {controls}", "Innovation scale"))
    splits = ("g_ua", "g_resource", "g_attention", "g_envinv", "g_hum", "g_gcons")
    t6 = "".join(col(f"({2 * i + 1 + j})", f"ai + {controls}", sample=f"{s} == {1 - j}")
                 for i, s in enumerate(splits) for j in (0, 1))
    text = (f'[study]\nname = "A user\'s cities: AI and productivity"\n\n[data]\npanel = "{panel}"\nunit = "city"\n'
            'time = "year"\n\n'
            f'[[tables]]\nid = "T2"\ntitle = "Baseline regressions"\ncolumns = [\n{t2}]\n\n'
            f'[[tables]]\nid = "T6"\ntitle = "Split samples"\ncolumns = [\n{t6}]\n'
            'tests = [{ columns = ["(1)", "(2)"], term = "ai", method = "permutation", '
            f'permutations = {REPORT_PERMUTATIONS}, level = "unit", seed = 1 }}]\n')
    if bayes:
        text += ('\n[bayes]\ndraws = 100\ntune = 100\nchains = 2\n\n[[bayes.models]]\nname = "headline"\n'
                 'outcome = "tfp"\ntreatment = "ai"\nby = ["g_ua"]\n')
    if language:
        text += f'\n[report]\nlanguage = "{language}"\n'
    return text


def _user_study_run(root: Path, source: Path, *, synthetic_panel: bool = False, bayes: bool = False,
                    language: str | None = None) -> Path:
    """A user's study run on the analysis panel of `source` (a run folder), CTFP renamed `tfp`."""
    import pandas as pd

    root.mkdir(parents=True, exist_ok=True)
    panel = pd.read_csv(source / "panel" / "analysis.csv")
    keep = ["city", "year", "ai", "scale", "pop", "hum", "lninf", "isu", "trade", "er", "tec",
            "g_ua", "g_resource", "g_attention", "g_envinv", "g_hum", "g_gcons"]
    panel = panel[keep].assign(tfp=panel["ctfp"])
    if synthetic_panel:
        panel["synthetic"] = True  # the file says what it is, as `ctfp data synth` writes it
    panel.to_csv(root / "cities.csv", index=False)
    study = root / "study.toml"
    study.write_text(user_study_text("cities.csv", bayes=bayes, language=language), encoding="utf-8")
    return ctfp_run(study, root / "run", *(("--no-bayes",) if bayes else ()))


@pytest.fixture(scope="session")
def user_study_run(tmp_path_factory: pytest.TempPathFactory, user_paper_run: Path) -> Path:
    """A user's study with tables only (no preset, no DEA, no Bayesian models, no published numbers)."""
    return _user_study_run(tmp_path_factory.mktemp("user_study"), user_paper_run)


@pytest.fixture(scope="session")
def user_study_bayes_zh_run(tmp_path_factory: pytest.TempPathFactory, user_paper_run: Path) -> Path:
    """The same study asking for a Bayesian model, run with --no-bayes, its report in Chinese."""
    return _user_study_run(tmp_path_factory.mktemp("user_study_zh"), user_paper_run, bayes=True, language="zh")


@pytest.fixture(scope="session")
def user_study_synthetic_run(tmp_path_factory: pytest.TempPathFactory, user_paper_run: Path) -> Path:
    """The same study on a panel file marked synthetic."""
    return _user_study_run(tmp_path_factory.mktemp("user_study_syn"), user_paper_run, synthetic_panel=True)


BUILT = ("figures", "report.html", "report.zh.html", "report.en.html", "notes.json", "log.txt")


def copy_run(src: Path, dst: Path) -> Path:
    """A copy of a run folder without what `ctfp report` builds (figures, report pages, notes, report tables)."""
    def built(folder: str, names: list[str]) -> list[str]:
        out = [n for n in names if n in BUILT]
        return out + ([n for n in names if n.startswith("report_")] if Path(folder).name == "tables" else [])

    shutil.copytree(src, dst, ignore=built)
    return dst


@pytest.fixture(name="copy_run")
def _copy_run_fixture() -> Any:
    return copy_run


@pytest.fixture(scope="session")
def report_zh_cli(report_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """`ctfp report COPY --lang zh` in a fresh interpreter with every Python warning on (PYTHONWARNINGS=always),
    on a copy of the paper run without its built outputs: the completed process, with `.run` (the copy) and
    `.path` (its report.zh.html). The terminal test and the Chinese browser test read the same build."""
    import os
    import subprocess
    import sys

    run = copy_run(report_run, tmp_path_factory.mktemp("report_zh") / "run")
    env = {**os.environ, "PYTHONWARNINGS": "always"}
    code = "import sys\nfrom ctfp.inference.cli import main\nsys.exit(main(sys.argv[1:]))"
    res = subprocess.run([sys.executable, "-c", code, "report", str(run), "--lang", "zh"], capture_output=True,
                         text=True, timeout=600, env=env, check=False)
    res.run, res.path = run, run / "report.zh.html"  # type: ignore[attr-defined]
    return res
