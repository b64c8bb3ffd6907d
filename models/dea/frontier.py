"""Reference sets ("frontiers") for panel DEA.

For a DMU observed in period t (periods ordered by value; k = position of t among the sorted distinct periods):
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

from ctfp.core.errors import InputError


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
    n: int, periods: np.ndarray | None, spec: str, *, period_col: str | None = None, source: str = "data"
) -> list[Group]:
    """Evaluation/reference row sets for `n` rows with optional `periods` (no periods: one global set)."""
    kind, k = parse_frontier(spec)
    if periods is None or kind == "global":
        allrows = np.arange(n)
        return [Group("all", allrows, allrows)]
    uniq = np.unique(periods)
    pos = np.searchsorted(uniq, periods)
    out: list[Group] = []
    for p, label in enumerate(uniq):
        ev = np.flatnonzero(pos == p)
        if kind == "contemporaneous":
            lo, hi = p, p
        elif kind == "sequential":
            lo, hi = 0, p
        else:
            h = (k - 1) // 2  # type: ignore[operator]
            lo, hi = max(0, p - h), min(len(uniq) - 1, p + h)
        ref = np.flatnonzero((pos >= lo) & (pos <= hi))
        if len(ref) < 2:
            raise InputError(
                f"{source}: {period_col or 'period'}={label} has only {len(ref)} DMU for a {spec} frontier; "
                "add DMUs or use --frontier global"
            )
        out.append(Group(label, ev, ref))
    return out
