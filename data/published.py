"""The paper's published Tables 1–6 as data (Shen & Chao 2025, Resources Science 47(12): 2695–2706).

Every printed number is one row of `resources/published_tables.csv`, transcribed as printed: the text of the
number is kept (`printed`, `printed_t`) beside its float, and where the paper slips the cell carries a note
starting with `slip <id>:`. Nothing is silently corrected. `SLIPS` lists each slip and where its note sits;
`tests/test_published.py` checks the cells against the paper's own text.

Cells of Tables 2–6 (`published_cells`) follow docs/contract.md: `table`, `column` (as printed; Table 3 prints no
column numbers, so its columns are numbered by position), `row` (label as printed, "AI", "POP", ..., "tel",
"N", "R2", "KP_LM", "KP_LM_p", "KP_F", "diff_p"), `variable` (analysis name of the regressor, "" for
statistics), `outcome`, `coef` (N, R2 and the statistics also sit here), `t`, `stars`, `note`; extra columns:
`spec` (one id per printed regression, e.g. "T2c2", "T6c7", "T6d1" for the Table 6 difference test),
`split` and `level` (Table 6), `printed`, `printed_t`. `published_specs` describes each spec (outcome,
treatment, controls, clustering, estimator, instruments, sample) so a replica can be keyed on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import pandas as pd

CELL_COLUMNS: tuple[str, ...] = ("table", "column", "row", "variable", "outcome", "coef", "t", "stars", "note")
EXTRA_COLUMNS: tuple[str, ...] = ("spec", "split", "level", "printed", "printed_t")
TABLE1_COLUMNS: tuple[str, ...] = ("variable", "label", "N", "mean", "sd", "min", "max", "note")
# Table 1 variables in print order (analysis names) and their printed labels.
TABLE1_VARIABLES: dict[str, str] = {
    "ctfp": "CTFP",
    "ai": "AI",
    "pop": "POP",
    "hum": "HUM",
    "lninf": "lnINF",
    "isu": "ISU",
    "trade": "trade",
    "er": "ER",
    "tec": "TEC",
}
PAPER_CITATION = (
    "Shen L, Chao X J. Impact of artificial intelligence technology on carbon total factor productivity in "
    "cities of Yellow River Basin. Resources Science, 2025, 47(12): 2695-2706. DOI: 10.18402/resci.2025.12.11"
)


@dataclass(frozen=True)
class Slip:
    """An inconsistency in the printed paper, and where its note sits.

    `table` "1" means `table1()` (row = variable), `column` "" means the table caption (`published_captions`),
    otherwise the cell (`table`, `column`, `row`) of `published_cells`. `kind` is "slip" (the paper contradicts
    itself or arithmetic) or "oddity" (implausible but not provably wrong).
    """

    id: str
    kind: str
    table: str
    column: str
    row: str
    description: str


SLIPS: tuple[Slip, ...] = (
    Slip("caption_swap", "slip", "1", "", "", "English captions of Tables 1 and 2 are swapped"),
    Slip("caption_swap", "slip", "2", "", "", "English captions of Tables 1 and 2 are swapped"),
    Slip("hum_max", "slip", "1", "", "hum", "Table 1 HUM max 1.8034 exceeds 1 for an expenditure share"),
    Slip("tec_max", "oddity", "1", "", "tec", "Table 1 TEC max 0.4124 lies 25 sd above its mean 0.0121"),
    Slip("r2_cluster", "slip", "3", "(5)", "R2", "Table 3 col (5) changes only the clustering yet R2 0.6799 vs 0.5414"),
    Slip("stars_t3c6", "slip", "3", "(6)", "AI", "Table 3 col (6) t = 1.98 with ** (p = 0.051 under t(77))"),
    Slip("stars_t5c1", "slip", "5", "(1)", "AI", "Table 5 col (1) t = 2.07 with *** (p = 0.042 under t(77))"),
    Slip("ua_split", "slip", "6", "(1)", "N", "Table 6 UA split 60/18 cities is not reproducible (63/15 or 57/21)"),
    Slip("ua_split", "slip", "6", "(2)", "N", "Table 6 UA split 60/18 cities is not reproducible (63/15 or 57/21)"),
)


def _read(name: str) -> pd.DataFrame:
    path = resources.files("ctfp.data").joinpath(f"resources/{name}")
    with path.open("r", encoding="utf-8") as fh:
        # Everything as text first: the printed form of each number is part of the record.
        return pd.read_csv(fh, dtype=str, keep_default_na=False)


@cache
def _specs() -> pd.DataFrame:
    df = _read("published_specs.csv")
    df["nobs"] = df["nobs"].astype("int64")
    return df


@cache
def _cells() -> pd.DataFrame:
    raw = _read("published_tables.csv")
    specs = _specs().set_index("spec")
    out = pd.DataFrame(
        {
            "table": raw["table"],
            "column": raw["column"],
            "row": raw["row"],
            "variable": raw["variable"],
            "outcome": raw["outcome"],
            "coef": raw["coef"].astype("float64"),
            "t": raw["t"].replace("", np.nan).astype("float64"),
            "stars": raw["stars"].astype("int64"),
            "note": raw["note"],
            "spec": raw["spec"],
            "split": raw["spec"].map(specs["split"]),
            "level": raw["spec"].map(specs["level"]),
            "printed": raw["coef"],
            "printed_t": raw["t"],
        }
    )
    return out


def published_cells() -> pd.DataFrame:
    """One row per printed number of Tables 2–6 (columns: CELL_COLUMNS, then EXTRA_COLUMNS)."""
    return _cells().copy()


def published_specs() -> pd.DataFrame:
    """One row per printed regression: spec, table, column, header_zh, outcome, treatment, controls,
    absorb, cluster, estimator, instruments, split, level, sample, nobs, note.

    List-valued fields (controls, absorb, instruments) are `;`-separated; estimator is "twfe",
    "fe2sls_first", "fe2sls" or "group_diff"; sample is "all", "lag" or "split".
    """
    return _specs().copy()


def table1() -> pd.DataFrame:
    """Published Table 1 (descriptive statistics): variable (analysis name), label (as printed), N, mean, sd,
    min, max, note."""
    df = _read("published_table1.csv")
    df["N"] = df["N"].astype("int64")
    for col in ("mean", "sd", "min", "max"):
        df[col] = df[col].astype("float64")
    return df.loc[:, list(TABLE1_COLUMNS)]


def published_captions() -> pd.DataFrame:
    """Caption of each table: table, caption_zh, caption_en_printed (as printed), caption_en (as meant), note."""
    return _read("published_captions.csv")


def lookup(spec: str, row: str = "AI") -> pd.Series:
    """The single published cell of `spec` (e.g. "T2c2") and `row` (e.g. "AI", "N", "R2", "KP_F")."""
    cells = _cells()
    hit = cells[(cells["spec"] == spec) & (cells["row"] == row)]
    if len(hit) != 1:
        raise KeyError(f"no published cell for spec {spec!r}, row {row!r}")
    return hit.iloc[0].copy()


def published_slips() -> pd.DataFrame:
    """The slips of `SLIPS` as a frame (id, kind, table, column, row, description)."""
    return pd.DataFrame([s.__dict__ for s in SLIPS])
