"""Table 1 helper: hand-computed statistics on a tiny frame, and the comparison with print."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ctfp.core.errors import InputError
from ctfp.data.published import TABLE1_VARIABLES
from ctfp.data.table1 import compare_table1, describe_table1

NAN = np.nan
H_AI = 0.9594 / math.sqrt(2)  # two values m ± h have sd (n−1) = h·√2


@pytest.fixture
def tiny() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "city": [1, 1, 2, 2],
            "ctfp": [0.2, 0.4, 0.6, NAN],  # N 3, mean 0.4, sd 0.2
            "ai": [0.1715 - H_AI, 0.1715 + H_AI, NAN, NAN],  # mean and sd exactly as printed
            "pop": [1.0, 2.0, 3.0, 4.0],  # mean 2.5, sd sqrt(5/3)
            "hum": [0.5, 0.5, 0.5, 0.5],  # sd 0: flagged
            "lninf": [8.0, 9.0, 9.0, 8.0],
            "isu": [1.0, 1.0, 1.0, 2.0],
            "trade": [0.0, 0.1, 0.2, 0.3],
            "er": [0.7, 0.8, 0.7, 0.8],
            "tec": ["0.01", "0.02", "x", "0.03"],  # text is coerced, "x" is missing
        }
    )


def test_describe_by_hand(tiny: pd.DataFrame) -> None:
    d = describe_table1(tiny).set_index("variable")
    assert list(d.index) == list(TABLE1_VARIABLES)
    assert d.loc["ctfp", "label"] == "CTFP" and d.loc["lninf", "label"] == "lnINF"
    assert d.loc["ctfp", "N"] == 3
    assert d.loc["ctfp", ["mean", "sd", "min", "max"]].tolist() == pytest.approx([0.4, 0.2, 0.2, 0.6])
    assert d.loc["pop", "sd"] == pytest.approx(math.sqrt(5 / 3))  # n−1, not n (which gives sqrt(5/4))
    assert d.loc["pop", "mean"] == 2.5
    assert d.loc["lninf", "sd"] == pytest.approx(math.sqrt(1 / 3))
    assert d.loc["tec", "N"] == 3 and d.loc["tec", "mean"] == pytest.approx(0.02)
    assert d.loc["hum", "sd"] == 0.0


def test_describe_subset_and_missing_columns(tiny: pd.DataFrame) -> None:
    d = describe_table1(tiny, ["pop", "city"])
    assert d["variable"].tolist() == ["pop", "city"] and d["label"].tolist() == ["POP", "city"]
    with pytest.raises(InputError, match="lacks Table 1 column.*er, tec"):
        describe_table1(tiny.drop(columns=["er", "tec"]))


def test_compare_with_published(tiny: pd.DataFrame) -> None:
    c = compare_table1(tiny).set_index("variable")
    assert c.loc["ctfp", "mean_published"] == 0.4327 and c.loc["ctfp", "N_published"] == 1248
    assert c.loc["ctfp", "mean_rel_diff"] == pytest.approx((0.4 - 0.4327) / 0.4327)
    assert c.loc["ctfp", "sd_rel_diff"] == pytest.approx((0.2 - 0.1892) / 0.1892)
    assert not c.loc["ctfp", "flag"]  # -7.6% and +5.7%: inside 15%
    assert c.loc["ai", "mean_rel_diff"] == pytest.approx(0.0, abs=1e-12)
    assert c.loc["ai", "sd_rel_diff"] == pytest.approx(0.0, abs=1e-12) and not c.loc["ai", "flag"]
    assert c.loc["hum", "flag"] and c.loc["hum", "sd_rel_diff"] == pytest.approx(-1.0)
    assert c.loc["pop", "flag"]  # mean 2.5 vs 0.4547
    # a tighter tolerance flags ctfp (mean off by 7.6%)
    assert compare_table1(tiny, tolerance=0.05).set_index("variable").loc["ctfp", "flag"]
    with pytest.raises(InputError):
        compare_table1(tiny, tolerance=0)


def test_all_missing_variable_is_flagged(tiny: pd.DataFrame) -> None:
    tiny["er"] = NAN
    c = compare_table1(tiny).set_index("variable")
    assert c.loc["er", "N"] == 0 and c.loc["er", "flag"]
