"""Reference sets ("frontiers") for panel DEA.

For a DMU observed in period t (k = position of t among the ordered distinct periods; see `period_positions`
for what "ordered" means: numbers as numbers, dates as dates, an ordered categorical in its categories' order;
text labels such as t1..t16 have no order ctfp may guess, so frontiers that depend on order refuse them):
- global:          every DMU of every period (scores comparable across periods; the panel default);
- contemporaneous: the DMUs of period t only;
- sequential:      the DMUs of periods up to and including t;
- window:K         centred window: periods at positions k-h..k+h with h = (K-1)/2, K odd, truncated at the
                   first and last period (so edge periods use a shorter window, never a shifted one).
Global <= contemporaneous holds for every DMU because the global set contains the contemporaneous one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ctfp.core.errors import InputError

ORDERED_KINDS = ("sequential", "window")  # frontiers whose reference sets depend on the order of periods


def period_positions(values: pd.Series, *, needs_order: bool, column: str, source: str, why: str) -> np.ndarray:
    """Integer position of every row's period in the periods' natural order (0 = first period).

    Numbers (or text that is entirely numeric, e.g. "2006") are ordered as numbers, dates as dates, an ordered
    categorical by its categories. Other text (t1..t16, "2006Q1") is refused when `needs_order` (an
    alphabetical order would put t10 before t2 without a word); otherwise its values only label groups.
    """
    if isinstance(values.dtype, pd.CategoricalDtype) and values.cat.ordered:
        codes = values.cat.codes.to_numpy()
        return np.unique(codes, return_inverse=True)[1]
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values):
        return np.unique(values.to_numpy(), return_inverse=True)[1]
    num = pd.to_numeric(values, errors="coerce")
    if num.notna().all():
        return np.unique(num.to_numpy(dtype=float), return_inverse=True)[1]
    if needs_order:
        text = [str(v) for v in pd.unique(values)[:3]]
        raise InputError(
            f"{source}: column {column!r} holds text periods ({', '.join(map(repr, text))}, ...) whose order "
            f"ctfp will not guess, and {why} depends on it; recode the periods to integers (e.g. 1..T) or "
            "make the column an ordered categorical"
        )
    codes = pd.factorize(values, sort=False)[0]
    return codes


@dataclass(frozen=True)
class Group:
    label: object  # the period (or "all")
    evaluate: np.ndarray  # row positions scored against this reference set
    reference: np.ndarray  # row positions forming the frontier


def parse_frontier(spec: str) -> tuple[str, int | None]:
    """'global' | 'contemporaneous' | 'sequential' | 'window:K' -> (kind, K)."""
    s = spec.strip().lower()
    if s in ("global", "contemporaneous", "sequential"):
        return s, None
    if s.startswith("window:"):
        try:
            k = int(s.split(":", 1)[1])
        except ValueError:
            k = -1
        if k < 1 or k % 2 == 0:
            raise InputError(f"frontier {spec!r}: window width K must be an odd integer >= 1 (centred window)")
        return "window", k
    raise InputError(f"frontier {spec!r} unknown; use global, contemporaneous, sequential or window:K")


def groups(
    n: int, periods: np.ndarray | None, spec: str, *, period_col: str | None = None, source: str = "data",
    order: np.ndarray | None = None,
) -> list[Group]:
    """Evaluation/reference row sets for `n` rows with optional `periods` (no periods: one global set).

    `periods` are labels in any form; `order` (optional) gives each row's period position (`period_positions`),
    without it the labels must sort in their true order (numbers)."""
    kind, k = parse_frontier(spec)
    if periods is None or kind == "global":
        allrows = np.arange(n)
        return [Group("all", allrows, allrows)]
    if order is None:
        uniq, pos = np.unique(periods, return_inverse=True)
        labels = list(uniq)
    else:
        pos = np.asarray(order)
        labels = [periods[np.flatnonzero(pos == p)[0]] for p in range(int(pos.max()) + 1)]
    out: list[Group] = []
    for p, label in enumerate(labels):
        ev = np.flatnonzero(pos == p)
        if kind == "contemporaneous":
            lo, hi = p, p
        elif kind == "sequential":
            lo, hi = 0, p
        else:
            h = (k - 1) // 2  # type: ignore[operator]
            lo, hi = max(0, p - h), min(len(labels) - 1, p + h)
        ref = np.flatnonzero((pos >= lo) & (pos <= hi))
        if len(ref) < 2:
            raise InputError(
                f"{source}: {period_col or 'period'}={label} has only {len(ref)} DMU for a {spec} frontier; "
                "add DMUs or use --frontier global"
            )
        out.append(Group(label, ev, ref))
    return out
