"""The study expression language: hand-computed values, the whitelist, and errors that name the place."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ctfp.core.errors import InputError
from ctfp.core.expr import evaluate, parse

# two units, periods 1..4 for "a", 1, 2, 4 for "b" (period 3 absent: a gap)
FRAME = pd.DataFrame({
    "id": ["a", "a", "a", "a", "b", "b", "b"],
    "t": [1, 2, 3, 4, 1, 2, 4],
    "x": [1.0, 2.0, 4.0, 8.0, 10.0, np.nan, 30.0],
    "y": [0.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0],
    "region": ["n", "n", "n", "n", "s", "s", "s"],
})


def ev(text: str) -> np.ndarray:
    return evaluate(text, FRAME, unit="id", time="t", where="study.toml, line 3")


def test_arithmetic_and_functions_by_hand() -> None:
    np.testing.assert_array_equal(ev("x * 2 + 1"), [3, 5, 9, 17, 21, np.nan, 61])
    np.testing.assert_array_equal(ev("-x ** 2"), [-1, -4, -16, -64, -100, np.nan, -900])
    np.testing.assert_allclose(ev("log(x)"), np.log([1, 2, 4, 8, 10, np.nan, 30]))
    np.testing.assert_allclose(ev("sqrt(abs(-x)) / exp(0)"), np.sqrt([1, 2, 4, 8, 10, np.nan, 30]))
    np.testing.assert_array_equal(ev("3"), [3.0] * 7)  # a constant fills every row


def test_lag_within_unit_over_consecutive_periods() -> None:
    # a: 1 2 4 8 -> lag NaN 1 2 4; b: periods 1 2 4 -> lag at 4 is the absent period 3: NaN
    np.testing.assert_array_equal(ev("lag(x)"), [np.nan, 1, 2, 4, np.nan, 10, np.nan])
    np.testing.assert_array_equal(ev("lag(x, 2)"), [np.nan, np.nan, 1, 2, np.nan, np.nan, np.nan])
    np.testing.assert_array_equal(ev("x - lag(x)"), [np.nan, 1, 2, 4, np.nan, np.nan, np.nan])


def test_rows_in_any_order_give_the_same_lag() -> None:
    shuffled = FRAME.iloc[[6, 2, 0, 5, 3, 1, 4]].reset_index(drop=True)
    got = evaluate("lag(x)", shuffled, unit="id", time="t")
    expect = pd.Series(ev("lag(x)"), index=FRAME.index).iloc[[6, 2, 0, 5, 3, 1, 4]].to_numpy()
    np.testing.assert_array_equal(got, expect)


def test_mean_by_unit() -> None:
    np.testing.assert_array_equal(ev("mean_by_unit(x)"), [3.75] * 4 + [20.0] * 3)  # b: mean of 10 and 30


def test_comparisons_and_kleene_logic() -> None:
    np.testing.assert_array_equal(ev("x >= 4"), [0, 0, 1, 1, 1, np.nan, 1])
    np.testing.assert_array_equal(ev("1 < x <= 8"), [0, 1, 1, 1, 0, np.nan, 0])
    np.testing.assert_array_equal(ev("x > 5 and y == 1"), [0, 0, 0, 1, 1, np.nan, 0])
    np.testing.assert_array_equal(ev("y == 0 and x > 5"), [0, 0, 0, 0, 0, 0, 1])  # 0 and NaN = 0
    np.testing.assert_array_equal(ev("y == 1 or x > 5"), [0, 1, 0, 1, 1, 1, 1])  # 1 or NaN = 1
    np.testing.assert_array_equal(ev("not y"), [1, 0, 1, 0, 0, 0, 1])
    np.testing.assert_array_equal(ev('region == "s"'), [0, 0, 0, 0, 1, 1, 1])
    np.testing.assert_array_equal(ev("region != 's'"), [1, 1, 1, 1, 0, 0, 0])


def test_columns_are_collected_in_order() -> None:
    assert parse("log(x) + lag(y, 2) * x").columns == ("x", "y")


@pytest.mark.parametrize(("text", "fragment"), [
    ("__import__('os')", "unknown function '__import__'"),
    ("x.real", "'x.real' is not allowed"),
    ("x[0]", "'x[0]' is not allowed"),
    ("lambda: 1", "is not allowed"),
    ("x if y else 1", "is not allowed"),
    ("x // 2", "the operator in 'x // 2' is not allowed"),
    ("[x]", "is not allowed"),
    ("lg(x)", "unknown function 'lg' (did you mean 'log'?)"),
    ("log(x, base=2)", "keyword argument"),
    ("lag(x, 0)", "whole number >= 1"),
    ("lag(x, y)", "whole number >= 1"),
    ("log", "'log' is a function"),
    ("x +", "not a valid expression"),
    ("", "empty"),
])
def test_only_the_whitelist_parses(text: str, fragment: str) -> None:
    with pytest.raises(InputError) as err:
        parse(text, where="study.toml, line 7: [data.derive] 'z'")
    msg = str(err.value)
    assert msg.startswith("study.toml, line 7: [data.derive] 'z': ")
    assert fragment in msg
    assert "\n" not in msg


def test_missing_column_names_the_column_and_suggests() -> None:
    with pytest.raises(InputError, match=r"^study.toml, line 3: 'log\(xx\)' names column 'xx', which the panel "
                                         r"does not have \(did you mean 'x'\?\)"):
        ev("log(xx)")


def test_non_finite_results_name_the_row() -> None:
    with pytest.raises(InputError, match=r"'log\(y\)' is not a finite number at id a, t 1 \(3 row\(s\)\)"):
        ev("log(y)")
    with pytest.raises(InputError, match=r"'x / y' is not a finite number at id a, t 1"):
        ev("x / y")
    with pytest.raises(InputError, match=r"'region' is text; '\+' needs numbers"):
        ev("region + 1")
    with pytest.raises(InputError, match=r"text can only be compared with == or !="):
        ev("region > 's'")


def test_missing_inputs_stay_missing_without_error() -> None:
    # x is NaN for b at t 2: log(x) is NaN there, not an error
    assert np.isnan(ev("log(x)")[5])
