"""fixest-style formulas parse into column names; everything else is a one-line FormulaError."""

from __future__ import annotations

import pytest

from ctfp.models.panel.formula import FormulaError, PanelFormula, parse_formula


def test_two_way_fe() -> None:
    f = parse_formula("y ~ x1 + x2 | unit + year")
    assert f == PanelFormula("y ~ x1 + x2 | unit + year", "y", ("x1", "x2"), ("unit", "year"))
    assert not f.is_iv and f.columns == ("y", "x1", "x2", "unit", "year")


def test_order_is_kept_as_written() -> None:
    # Stata's collinearity order and the protected first regressor depend on it (formulaic sorts by default)
    assert parse_formula("y ~ z + a + m | g").exog == ("z", "a", "m")


def test_no_fe_and_constants() -> None:
    assert parse_formula("y ~ x").fe == ()
    assert parse_formula("y ~ 1 + x").exog == ("x",)
    assert parse_formula("y ~ 0 + x | g").exog == ("x",)
    with pytest.raises(FormulaError, match="through the origin"):
        parse_formula("y ~ x - 1")


def test_interacted_fe() -> None:
    f = parse_formula("y ~ x | city + province^year")
    assert f.fe == ("city", "province^year")
    assert f.fe_columns == ("city", "province", "year")


def test_iv_forms() -> None:
    f = parse_formula("y ~ c1 + c2 | city + year | d ~ z1 + z2")
    assert (f.outcome, f.exog, f.fe, f.endog, f.instruments) == ("y", ("c1", "c2"), ("city", "year"), ("d",),
                                                                 ("z1", "z2"))
    assert f.regressors == ("d", "c1", "c2") and f.is_iv
    g = parse_formula("y ~ c | d ~ z")
    assert g.fe == () and g.endog == ("d",)
    h = parse_formula("y ~ 1 | g | d ~ z")
    assert h.exog == () and h.regressors == ("d",)


def test_back_quoted_names() -> None:
    assert parse_formula("y ~ `GDP growth` + x | g").exog == ("GDP growth", "x")


@pytest.mark.parametrize(("text", "match"), [
    ("y x", "no '~'"),
    ("y ~ log(x) | g", r"not a column name.*\[data.derive\]"),
    ("y ~ a:b | g", "not a column name"),
    ("y ~ x +", "cannot parse"),
    ("y + w ~ x", "exactly one outcome"),
    ("y ~ x | g | h | d ~ z", "more than three"),
    ("y ~ x | g | h", "middle part"),
    ("y ~ x | ", "empty fixed-effects"),
    ("y ~ x | g(1)", "must be a column name"),
    ("y ~ x | g + g", "named twice"),
    ("y ~ x | d ~ ", "cannot parse|needs endogenous"),
    ("y ~ x + y | g", "appears as outcome and as regressor"),
    ("y ~ x | g | x ~ z", "appears as regressor and as endogenous"),
    ("y ~ 1", "no regressor"),
])
def test_errors_are_one_line(text: str, match: str) -> None:
    with pytest.raises(FormulaError, match=match) as err:
        parse_formula(text)
    assert "\n" not in str(err.value) and "\x1b" not in str(err.value)
