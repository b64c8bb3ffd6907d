"""A small, safe expression language over the columns of a panel.

Used by `[data.derive]` (new columns), `[groups] {expr = ...}` (binary splits) and table `sample` filters.
The text is parsed by Python's `ast` in `mode="eval"` and only a whitelist of nodes is accepted: numbers,
strings (for comparisons with text columns), `True`/`False`, column names, `+ - * / **`, unary `-`/`+`,
comparisons (chains allowed), `and` / `or` / `not`, parentheses, and the functions of `FUNCTIONS`. Nothing is
ever passed to `eval`.

Values are float arrays; a comparison or logical operator gives 1.0 / 0.0, and NaN where its inputs are
missing (`and` / `or` follow Kleene's logic: `0 and NaN` is 0, `1 or NaN` is 1). A row whose inputs are all
present but whose result is not a finite number (`log(0)`, `1 / 0`, `sqrt(-1)`) is an error naming the row,
never a silent NaN.

`lag(x)` / `lag(x, k)` is the value of `x` in the same unit k periods before (k >= 1), NaN where that period is
absent (a gap or the first period): periods are consecutive integers. `mean_by_unit(x)` is the unit's mean of
`x` over its non-missing rows.
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ctfp.core.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

FUNCTIONS: dict[str, str] = {
    "log": "natural logarithm",
    "exp": "exponential",
    "sqrt": "square root",
    "abs": "absolute value",
    "lag": "lag(x) or lag(x, k): x in the same unit k periods before (NaN where absent)",
    "mean_by_unit": "mean_by_unit(x): the unit's mean of x",
}
_UNARY: dict[str, Callable[[np.ndarray], np.ndarray]] = {"log": np.log, "exp": np.exp, "sqrt": np.sqrt,
                                                          "abs": np.abs}
_BINOPS: dict[type, tuple[str, Callable[[np.ndarray, np.ndarray], np.ndarray]]] = {
    ast.Add: ("+", np.add), ast.Sub: ("-", np.subtract), ast.Mult: ("*", np.multiply),
    ast.Div: ("/", np.divide), ast.Pow: ("**", np.power),
}
_COMPARE: dict[type, tuple[str, Callable[[Any, Any], Any]]] = {
    ast.Eq: ("==", np.equal), ast.NotEq: ("!=", np.not_equal), ast.Lt: ("<", np.less),
    ast.LtE: ("<=", np.less_equal), ast.Gt: (">", np.greater), ast.GtE: (">=", np.greater_equal),
}


@dataclass(frozen=True)
class Expr:
    """A parsed expression: its text, the columns it reads, and where it was written (for errors)."""

    text: str
    tree: ast.Expression
    columns: tuple[str, ...]
    where: str = ""

    def check_columns(self, available: set[str] | list[str] | tuple[str, ...]) -> None:
        """InputError naming the first column the expression reads that is not in `available`."""
        have = set(available)
        for c in self.columns:
            if c not in have:
                close = difflib.get_close_matches(c, sorted(have), n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise InputError(f"{self._at()}'{self.text}' names column '{c}', which the panel does not have"
                                 f"{hint}; add it, derive it first, or fix the name")

    def evaluate(self, frame: pd.DataFrame, *, unit: str | None = None, time: str | None = None) -> np.ndarray:
        """The value per row of `frame` (float array; comparisons 1.0/0.0, NaN where inputs are missing)."""
        self.check_columns(list(frame.columns))
        ev = _Evaluator(self, frame, unit, time)
        out = ev.value(self.tree.body)
        arr = np.asarray(out, dtype=float) if not isinstance(out, np.ndarray) or out.dtype != object else out
        if arr.dtype == object:
            raise InputError(f"{self._at()}'{self.text}' gives text, not a number; compare it "
                             "(e.g. region == \"south\") to make a 0/1 value")
        if arr.ndim == 0:
            arr = np.full(len(frame), float(arr))
        return arr

    def _at(self) -> str:
        return f"{self.where}: " if self.where else ""


def parse(text: str, *, where: str = "") -> Expr:
    """Parse and check an expression; InputError (naming `where` and the bad token) when it is not allowed."""
    at = f"{where}: " if where else ""
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"{at}the expression is empty; write a formula over column names, e.g. log(gdp)")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as err:
        col = f" at character {err.offset}" if err.offset else ""
        raise InputError(f"{at}'{text}' is not a valid expression{col} ({err.msg}); "
                         "use + - * / ** ( ), comparisons, and/or/not, and log exp sqrt abs lag mean_by_unit"
                         ) from None
    columns: list[str] = []
    _check(tree.body, text, at, columns)
    return Expr(text=text, tree=tree, columns=tuple(dict.fromkeys(columns)), where=where)


def _bad(node: ast.AST, text: str, at: str, what: str) -> InputError:
    seg = ast.get_source_segment(text.strip(), node) or type(node).__name__
    return InputError(f"{at}'{text}': {what} '{seg}' is not allowed; use + - * / ** ( ), comparisons, "
                      f"and/or/not, numbers, column names and the functions {', '.join(FUNCTIONS)}")


def _check(node: ast.AST, text: str, at: str, columns: list[str]) -> None:
    """Walk the tree; only whitelisted nodes pass. Column names are collected in order."""
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool | int | float | str) and not isinstance(node.value, complex):
            return
        raise _bad(node, text, at, "the constant")
    if isinstance(node, ast.Name):
        if node.id in FUNCTIONS:
            raise InputError(f"{at}'{text}': '{node.id}' is a function; call it, e.g. {node.id}(x)")
        columns.append(node.id)
        return
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _BINOPS:
            raise _bad(node, text, at, "the operator in")
        _check(node.left, text, at, columns)
        _check(node.right, text, at, columns)
        return
    if isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, ast.USub | ast.UAdd | ast.Not):
            raise _bad(node, text, at, "the operator in")
        _check(node.operand, text, at, columns)
        return
    if isinstance(node, ast.BoolOp):
        for v in node.values:
            _check(v, text, at, columns)
        return
    if isinstance(node, ast.Compare):
        for op in node.ops:
            if type(op) not in _COMPARE:
                raise _bad(node, text, at, "the comparison in")
        _check(node.left, text, at, columns)
        for c in node.comparators:
            _check(c, text, at, columns)
        return
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            name = node.func.id if isinstance(node.func, ast.Name) else ast.get_source_segment(text.strip(),
                                                                                               node.func)
            close = difflib.get_close_matches(str(name), list(FUNCTIONS), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise InputError(f"{at}'{text}': unknown function '{name}'{hint}; "
                             f"available: {', '.join(FUNCTIONS)}")
        fn = node.func.id
        if node.keywords:
            raise _bad(node.keywords[0], text, at, "the keyword argument")
        n = len(node.args)
        if fn == "lag":
            if n not in (1, 2):
                raise InputError(f"{at}'{text}': lag takes lag(x) or lag(x, k), got {n} arguments")
            if n == 2:
                k = node.args[1]
                if not (isinstance(k, ast.Constant) and isinstance(k.value, int) and not isinstance(k.value, bool)
                        and k.value >= 1):
                    raise InputError(f"{at}'{text}': the k of lag(x, k) must be a whole number >= 1")
        elif n != 1:
            raise InputError(f"{at}'{text}': {fn} takes one argument, got {n}")
        _check(node.args[0], text, at, columns)
        return
    raise _bad(node, text, at, "the expression")


class _Evaluator:
    def __init__(self, expr: Expr, frame: pd.DataFrame, unit: str | None, time: str | None) -> None:
        self.expr, self.frame, self.unit, self.time = expr, frame, unit, time
        self.at = expr._at()

    # Values are float ndarrays, python scalars, or object arrays (text columns: comparisons only).
    def value(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Constant):
            return float(node.value) if isinstance(node.value, bool | int | float) else node.value
        if isinstance(node, ast.Name):
            return self._column(node.id)
        if isinstance(node, ast.BinOp):
            sym, fn = _BINOPS[type(node.op)]
            a, b = self._num(node.left, sym), self._num(node.right, sym)
            with np.errstate(all="ignore"):
                out = fn(a, b)
            return self._finite(out, node, [a, b])
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                a = self._num(node.operand, "not")
                return np.where(np.isnan(a), np.nan, (np.asarray(a) == 0).astype(float))
            a = self._num(node.operand, "-")
            return -a if isinstance(node.op, ast.USub) else a
        if isinstance(node, ast.BoolOp):
            vals = [self._truth(v) for v in node.values]
            out = vals[0]
            for v in vals[1:]:
                out = _and(out, v) if isinstance(node.op, ast.And) else _or(out, v)
            return out
        if isinstance(node, ast.Compare):
            left = self.value(node.left)
            out: Any = None
            for op, right_node in zip(node.ops, node.comparators, strict=True):
                right = self.value(right_node)
                res = self._compare(left, right, op, node)
                out = res if out is None else _and(out, res)
                left = right
            return out
        if isinstance(node, ast.Call):
            return self._call(node)
        raise AssertionError(f"unchecked node {type(node).__name__}")  # parse() admits nothing else

    def _column(self, name: str) -> Any:
        import pandas as pd

        s = self.frame[name]
        if pd.api.types.is_bool_dtype(s):
            return s.astype(float).to_numpy()
        if pd.api.types.is_numeric_dtype(s):
            return s.to_numpy(dtype=float, na_value=np.nan)
        return s.astype(object).where(s.notna(), None).to_numpy(dtype=object)

    def _num(self, node: ast.AST, op: str) -> Any:
        v = self.value(node)
        if isinstance(v, str) or (isinstance(v, np.ndarray) and v.dtype == object):
            seg = ast.get_source_segment(self.expr.text.strip(), node)
            raise InputError(f"{self.at}'{self.expr.text}': '{seg}' is text; '{op}' needs numbers "
                             "(compare text with == or !=)")
        return v

    def _truth(self, node: ast.AST) -> np.ndarray:
        v = np.asarray(self._num(node, "and/or"), dtype=float)
        return np.where(np.isnan(v), np.nan, (v != 0).astype(float))

    def _compare(self, a: Any, b: Any, op: ast.cmpop, node: ast.AST) -> np.ndarray:
        sym, fn = _COMPARE[type(op)]
        text_a = isinstance(a, str) or (isinstance(a, np.ndarray) and a.dtype == object)
        text_b = isinstance(b, str) or (isinstance(b, np.ndarray) and b.dtype == object)
        n = len(self.frame)
        if text_a or text_b:
            if sym not in ("==", "!="):
                raise InputError(f"{self.at}'{self.expr.text}': text can only be compared with == or !=")
            aa = np.broadcast_to(np.asarray(a, dtype=object), (n,))
            bb = np.broadcast_to(np.asarray(b, dtype=object), (n,))
            missing = np.array([x is None or (isinstance(x, float) and np.isnan(x)) for x in aa]) | \
                np.array([x is None or (isinstance(x, float) and np.isnan(x)) for x in bb])
            eq = np.array([str(x) == str(y) for x, y in zip(aa, bb, strict=True)])
            res = eq if sym == "==" else ~eq
            return np.where(missing, np.nan, res.astype(float))
        a = np.asarray(a, dtype=float)
        b = np.asarray(b, dtype=float)
        with np.errstate(invalid="ignore"):
            res = fn(a, b).astype(float)
        res = np.where(np.isnan(a) | np.isnan(b), np.nan, res)
        return np.broadcast_to(res, (n,)).copy() if res.ndim == 0 else res

    def _call(self, node: ast.Call) -> np.ndarray:
        fn = node.func.id  # type: ignore[attr-defined]
        x = np.asarray(self._num(node.args[0], fn), dtype=float)
        if x.ndim == 0:
            x = np.full(len(self.frame), float(x))
        if fn in _UNARY:
            with np.errstate(all="ignore"):
                return self._finite(_UNARY[fn](x), node, [x])
        if fn == "lag":
            k = int(node.args[1].value) if len(node.args) == 2 else 1  # type: ignore[attr-defined]
            return self._lag(x, k)
        return self._by_unit_mean(x)

    def _need(self, fn: str, key: str) -> str:
        col = self.unit if key == "unit" else self.time
        if not col:
            raise InputError(f"{self.at}'{self.expr.text}': {fn} needs the panel's unit and time columns "
                             "([data] unit, time)")
        return col

    def _lag(self, x: np.ndarray, k: int) -> np.ndarray:
        import pandas as pd

        unit, time = self._need("lag", "unit"), self._need("lag", "time")
        t = pd.to_numeric(self.frame[time], errors="coerce").to_numpy(dtype=float)
        if np.isnan(t).any() or not np.all(t == np.round(t)):
            raise InputError(f"{self.at}'{self.expr.text}': lag needs whole-number periods in '{time}'")
        keys = pd.MultiIndex.from_arrays([self.frame[unit].to_numpy(), t.astype(np.int64)])
        if keys.has_duplicates:
            raise InputError(f"{self.at}'{self.expr.text}': lag needs one row per ({unit}, {time}); "
                             "the panel has duplicates")
        series = pd.Series(x, index=keys)
        wanted = pd.MultiIndex.from_arrays([self.frame[unit].to_numpy(), t.astype(np.int64) - k])
        return series.reindex(wanted).to_numpy(dtype=float)

    def _by_unit_mean(self, x: np.ndarray) -> np.ndarray:
        import pandas as pd

        unit = self._need("mean_by_unit", "unit")
        s = pd.Series(x, index=self.frame.index)
        return s.groupby(self.frame[unit].to_numpy()).transform("mean").to_numpy(dtype=float)

    def _finite(self, out: Any, node: ast.AST, inputs: list[Any]) -> Any:
        """A non-finite result where every input is finite is the user's formula failing: name the row."""
        arr = np.asarray(out, dtype=float)
        ok_in = np.ones(arr.shape, dtype=bool)
        for v in inputs:
            ok_in &= np.isfinite(np.asarray(v, dtype=float))
        bad = ok_in & ~np.isfinite(arr)
        if bad.any():
            seg = ast.get_source_segment(self.expr.text.strip(), node) or self.expr.text
            i = int(np.flatnonzero(np.broadcast_to(bad, (len(self.frame),)) if bad.ndim == 0 else bad)[0])
            row = self._row_label(i)
            part = "" if seg.strip() == self.expr.text.strip() else f": '{seg}'"
            raise InputError(f"{self.at}'{self.expr.text}'{part} is not a finite number at {row} "
                             f"({int(np.sum(bad)) if bad.ndim else len(self.frame)} row(s)); check the values "
                             "(log and sqrt need positive numbers, / a non-zero divisor)")
        return out

    def _row_label(self, i: int) -> str:
        parts = []
        for col in (self.unit, self.time):
            if col and col in self.frame.columns:
                parts.append(f"{col} {self.frame[col].iloc[i]}")
        return ", ".join(parts) if parts else f"row {i + 1}"


def _and(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    false = (a == 0) | (b == 0)
    return np.where(false, 0.0, np.where(np.isnan(a) | np.isnan(b), np.nan, 1.0))


def _or(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    true = (a == 1) | (b == 1)
    return np.where(true, 1.0, np.where(np.isnan(a) | np.isnan(b), np.nan, 0.0))


def evaluate(text: str, frame: pd.DataFrame, *, unit: str | None = None, time: str | None = None,
             where: str = "") -> np.ndarray:
    """Parse and evaluate in one call."""
    return parse(text, where=where).evaluate(frame, unit=unit, time=time)
