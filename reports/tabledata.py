"""The frequentist tables of a run folder as frames: `tables/replicas.csv`, `tables/columns.csv`,
`tables/tests.csv` (docs/contract.md, "The study model and the tables schema"), with the table titles, term
labels and the study's unit/period names from `run.json`.

Run folders written before that schema (`replicas/cells.json`, the reference study only) are read through
`legacy_frames`, which maps each old cell record onto the new columns; it goes once every run folder in use is
written by the study pipeline. Reading never imports PyMC or ArviZ (`ctfp table` must start fast).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ctfp.core.errors import InputError

REPLICA_COLUMNS = ("table", "column", "term", "estimate")
COLUMN_COLUMNS = ("table", "column")
TEST_COLUMNS = ("table", "column_a", "column_b", "term", "p")


@dataclass
class TableData:
    replicas: pd.DataFrame
    columns: pd.DataFrame | None
    tests: pd.DataFrame | None
    source: str  # the file the replicas came from (for messages)
    titles: dict[str, str] = field(default_factory=dict)  # table id -> title
    notes: dict[str, str] = field(default_factory=dict)  # table id -> the study's note line
    labels: dict[str, str] = field(default_factory=dict)  # term -> printed label
    unit: str = ""
    time: str = ""
    titles_zh: dict[str, str] = field(default_factory=dict)  # Chinese titles where the study has them
    legacy: bool = False  # read from an old replicas/cells.json

    def columns_for(self, lang: str) -> pd.DataFrame | None:
        """columns.csv as shown in `lang`: an old run folder's column labels are the paper's Chinese headings,
        kept for Chinese output only."""
        if self.columns is None or not self.legacy or lang == "zh" or "label" not in self.columns:
            return self.columns
        return self.columns.assign(label="")

    def title(self, table: str, lang: str) -> str:
        if lang == "zh" and table in self.titles_zh:
            return self.titles_zh[table]
        return self.titles.get(table, "")

    def split_columns(self) -> pd.DataFrame | None:
        """table, column, split, level, treatment of every model estimated on a `<split> == 0|1` sample."""
        if self.columns is None or "sample" not in self.columns:
            return None
        m = self.columns["sample"].astype(str).str.extract(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*==\s*([01])\s*$")
        out = self.columns.assign(split=m[0], level=m[1]).dropna(subset=["split"])
        return out[["table", "column", "split", "level", "treatment"]].reset_index(drop=True) if len(out) else None

    def headline(self) -> dict[str, Any] | None:
        """The cell a reader looks at first: in the first table, the model with the most published coefficients
        (else the last model), its treatment (else its first coefficient)."""
        if not self.table_ids:
            return None
        table = self.table_ids[0]
        rep = self.replicas[(self.replicas["table"].astype(str) == table) & (self.replicas["kind"] == "coef")]
        if rep.empty:
            return None
        if "published_estimate" in rep and rep["published_estimate"].notna().any():
            counts = rep[rep["published_estimate"].notna()].groupby("column", sort=False).size()
            column = str(counts.idxmax())
        else:
            column = str(rep["column"].iloc[-1])
        cells = rep[rep["column"] == column]
        treat = None
        if self.columns is not None and "treatment" in self.columns:
            hit = self.columns[(self.columns["table"].astype(str) == table) & (self.columns["column"] == column)]
            treat = str(hit["treatment"].iloc[0]) if len(hit) else None
        row = cells[cells["term"] == treat] if treat is not None and (cells["term"] == treat).any() else cells.iloc[:1]
        rec = row.iloc[0].to_dict()
        rec["label"] = self.labels.get(str(rec["term"]), str(rec["term"]))
        return rec

    @property
    def table_ids(self) -> list[str]:
        ids = list(dict.fromkeys(self.replicas["table"].astype(str)))
        if self.columns is not None:
            ids += [t for t in dict.fromkeys(self.columns["table"].astype(str)) if t not in ids]
        return ids


ID_COLUMNS = {"table": str, "column": str, "term": str, "column_a": str, "column_b": str}


def read_csv(path: Path, what: str, required: tuple[str, ...], *, ids: bool = False) -> pd.DataFrame | None:
    """The CSV at `path` (None when absent); unreadable or lacking `required` columns is one InputError line.
    ids: read the table/column/term ids as text ("(1)" must not become a number)."""
    if not path.is_file():
        return None
    try:
        frame = pd.read_csv(path, dtype=ID_COLUMNS if ids else None)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        msg = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise InputError(f"{path}: {what} cannot be read as CSV ({msg}); rerun the step that writes it") from None
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise InputError(f"{path}: {what} lacks column(s) {', '.join(missing)}; rerun the step that writes it")
    return frame


def _run_json(root: Path) -> dict[str, Any]:
    path = root / "run.json"
    if not path.is_file():
        return {}
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: run record is not valid JSON ({err}); rerun the run") from None
    return obj if isinstance(obj, dict) else {}


def _study_facts(run: dict[str, Any]) -> tuple[dict[str, str], dict[str, str], dict[str, str], str, str]:
    """Titles, notes, labels, unit and time from run.json: the resolved study (`study`) or the old `spec`."""
    study = run.get("study") if isinstance(run.get("study"), dict) else run.get("spec")
    study = study if isinstance(study, dict) else {}
    data = study.get("data") if isinstance(study.get("data"), dict) else {}
    titles: dict[str, str] = {}
    notes: dict[str, str] = {}
    for t in study.get("tables") or []:
        if isinstance(t, dict) and "id" in t:
            if t.get("title"):
                titles[str(t["id"])] = str(t["title"])
            if t.get("note"):
                notes[str(t["id"])] = str(t["note"])
    labels = {str(k): str(v) for k, v in (study.get("labels") or {}).items()} \
        if isinstance(study.get("labels"), dict) else {}
    unit = str(run.get("unit") or data.get("unit") or "")  # run.json records them (RunRecord); else the study's
    time = str(run.get("time") or data.get("time") or "")
    return titles, notes, labels, unit, time


def study_language(run_dir: str | Path) -> str:
    """The study's `[report] language` recorded in run.json ("" when not recorded)."""
    run = _run_json(Path(run_dir))
    study = run.get("study") if isinstance(run.get("study"), dict) else run.get("spec")
    report = run.get("report") if isinstance(run.get("report"), dict) else \
        study.get("report") if isinstance(study, dict) else None
    return str(report.get("language") or "") if isinstance(report, dict) else ""


def load_table_data(run_dir: str | Path) -> TableData | None:
    """The run's tables, or None when it has none (neither tables/replicas.csv nor replicas/cells.json)."""
    root = Path(run_dir)
    if not root.is_dir():
        raise InputError(f"{root}: no such run folder; create one with `ctfp run STUDY.toml --out {root}`")
    run = _run_json(root)
    titles, notes, labels, unit, time = _study_facts(run)
    titles_zh: dict[str, str] = {}
    rep_path = root / "tables" / "replicas.csv"
    replicas = read_csv(rep_path, "replica table", REPLICA_COLUMNS, ids=True)
    if replicas is not None:
        columns = read_csv(root / "tables" / "columns.csv", "table columns", COLUMN_COLUMNS, ids=True)
        tests = read_csv(root / "tables" / "tests.csv", "difference tests", TEST_COLUMNS, ids=True)
        source = str(rep_path)
    else:
        cells_path = root / "replicas" / "cells.json"
        if not cells_path.is_file():
            return None
        try:
            cells = json.loads(cells_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise InputError(f"{cells_path}: replica cells are not valid JSON ({err}); rerun the replicas") from None
        if not isinstance(cells, list):
            raise InputError(f"{cells_path}: replica cells must be a JSON list of records")
        replicas, columns = legacy_frames(cells)
        tests = None
        source = str(cells_path)
        if not titles:
            titles, titles_zh = _legacy_titles()
    t1 = root / "tables" / "table1.csv"
    if t1.is_file():  # the printed names of the study's variables (Table 1: ai -> AI, lninf -> lnINF)
        names = read_csv(t1, "Table 1", ("variable",))
        if names is not None and "label" in names.columns:
            for var, lab in zip(names["variable"].astype(str), names["label"], strict=True):
                if isinstance(lab, str) and lab and var not in labels:
                    labels[var] = lab
    if "label" in replicas.columns:  # printed labels carried by the rows themselves
        for term, lab in zip(replicas["term"], replicas["label"], strict=True):
            if isinstance(lab, str) and lab:
                labels.setdefault(str(term), lab)
    return TableData(replicas, columns, tests, source, titles, notes, labels, unit, time, titles_zh,
                     legacy=source.endswith("cells.json"))


# ---------------------------------------------------------------------------------------------- old run folders
def legacy_frames(cells: list[dict[str, Any]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Old `replicas/cells.json` records -> (replicas, columns) frames of the new schema.

    Tables become `T<n>`, terms the analysis variable (stat rows their name), the printed row label goes to
    `label`; the models' formulas, FE and clustering come from the reference study's published specs (the only
    study the old pipeline ran)."""
    rows: list[dict[str, Any]] = []
    for i, c in enumerate(cells):
        if not isinstance(c, dict) or not {"table", "column", "row"} <= set(c):
            raise InputError(f"replicas/cells.json: record {i} lacks table/column/row; rerun the replicas")
        stat = c.get("kind") == "stat" or (c.get("kind") is None and not c.get("variable"))
        term = str(c["row"]) if stat else str(c.get("variable") or c["row"])
        base = {"table": f"T{c['table']}", "column": str(c["column"]), "term": term,
                "kind": "stat" if stat else "coef", "estimate": c.get("replica_coef"), "se": c.get("replica_se"),
                "t": c.get("replica_t"), "p": c.get("replica_p"), "ci_low": c.get("replica_ci_low"),
                "ci_high": c.get("replica_ci_high"), "stars": c.get("replica_stars"), "nobs": c.get("nobs"),
                "published_estimate": c.get("published_coef"), "published_se": None,
                "published_t": c.get("published_t"), "published_stars": c.get("published_stars"),
                "published_note": "", "sign_agrees": c.get("same_sign"), "stars_agree": c.get("same_stars"),
                "published_in_ci": c.get("published_in_ci"), "note": c.get("note") or "",
                "label": "" if stat else str(c["row"])}
        rows.append(base)
        if stat and c["row"] == "R2" and c.get("replica_r2_within") is not None:
            rows.append({**base, "term": "R2_within", "estimate": c["replica_r2_within"],
                         "published_estimate": None})
    replicas = pd.DataFrame(rows)
    return replicas, _legacy_columns(replicas)


def _legacy_columns(replicas: pd.DataFrame) -> pd.DataFrame:
    from ctfp.data.published import published_specs

    specs = published_specs()
    est = {"twfe": "ols", "fe2sls": "iv", "fe2sls_first": "iv_first"}
    out = []
    stat = replicas[replicas["kind"] == "stat"].set_index(["table", "column", "term"])["estimate"]
    for s in specs.itertuples(index=False):
        table = f"T{s.table}"
        if s.estimator not in est or not ((replicas["table"] == table) & (replicas["column"] == s.column)).any():
            continue
        controls = [x for x in str(s.controls).split(";") if x]
        fe = [x for x in str(s.absorb).split(";") if x]
        if s.estimator == "twfe":
            formula = f"{s.outcome} ~ {' + '.join([s.treatment, *controls])} | {' + '.join(fe)}"
            treatment = s.treatment
        else:
            formula = (f"{'ai' if s.estimator == 'fe2sls_first' else s.outcome} ~ {' + '.join(controls) or '1'} | "
                       f"{' + '.join(fe)} | ai ~ {s.instruments}")
            treatment = "ai"
        out.append({"table": table, "column": s.column, "label": s.header_zh, "formula": formula,
                    "estimator": est[s.estimator], "outcome": s.outcome, "treatment": treatment, "fe": "+".join(fe),
                    "cluster": str(s.cluster).replace(";", "+"),
                    "sample": f"{s.split} == {s.level}" if s.split else "" if s.sample == "all" else s.sample,
                    "nobs": stat.get((table, s.column, "N")), "n_clusters": None,
                    "r2": stat.get((table, s.column, "R2")), "r2_within": stat.get((table, s.column, "R2_within"))})
    return pd.DataFrame(out)


def _legacy_titles() -> tuple[dict[str, str], dict[str, str]]:
    from ctfp.data.published import published_captions

    cap = [r for r in published_captions().itertuples(index=False) if str(r.table) != "1"]
    return ({f"T{r.table}": str(r.caption_en) for r in cap}, {f"T{r.table}": str(r.caption_zh) for r in cap})
