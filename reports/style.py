"""The report's look: colours, matplotlib style and how numbers are printed.

Numbers follow the conventions of an economics journal: coefficients with 4 decimals and Stata stars
(*** p<0.01, ** p<0.05, * p<0.1), t-values in parentheses below or beside them, p-values with 3 decimals.
"""

from __future__ import annotations

import math
from typing import Any

# One colour per source of evidence, used in every figure and table.
PUBLISHED = "#b2182b"  # the paper
REPLICA = "#2166ac"  # frequentist replica on this run's panel
POSTERIOR = "#1b7837"  # Bayesian posterior
NEUTRAL = "#4d4d4d"
FRONTIER = "#e08214"  # CTFP == 1

CI_PROB = 0.95
CI_KIND = "eti"  # equal-tailed: the 2.5% and 97.5% posterior quantiles
CI_LABEL = "95% ETI (equal-tailed interval)"

MPL_RC: dict[str, Any] = {
    "figure.dpi": 100,
    "savefig.dpi": 110,
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.25,
    "legend.frameon": False,
}


def split_label(split: str) -> str:
    from ctfp.reports.i18n import split_names

    names = split_names(split)
    return names[0] if names else split


def level_label(split: str, level: str) -> str:
    from ctfp.reports.i18n import _, split_names

    names = split_names(split) or (split, _("group 1"), _("group 0"))
    return names[1] if str(level) == "1" else names[2]


def is_missing(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def stars(n: Any) -> str:
    return "" if is_missing(n) else "*" * int(n)


def stars_from_p(p: Any) -> int | None:
    if is_missing(p):
        return None
    return 3 if p < 0.01 else 2 if p < 0.05 else 1 if p < 0.1 else 0


def fmt_num(x: Any, digits: int = 4) -> str:
    """A plain number; tiny or huge magnitudes in scientific notation (Table 4 prints 3.54e-09)."""
    if is_missing(x):
        return "–"
    x = float(x)
    if x != 0 and (abs(x) < 10 ** -(digits - 1) or abs(x) >= 1e6):
        return f"{x:.2e}"
    return f"{x:.{digits}f}"


def fmt_int(x: Any) -> str:
    return "–" if is_missing(x) else f"{int(round(float(x))):,}"


def fmt_coef(coef: Any, n_stars: Any = None, digits: int = 4) -> str:
    """0.0248** ; the stars travel with the coefficient as in the paper."""
    return "–" if is_missing(coef) else fmt_num(coef, digits) + stars(n_stars)


def fmt_t(t: Any) -> str:
    return "" if is_missing(t) else f"({float(t):.2f})"


def fmt_p(p: Any) -> str:
    return "–" if is_missing(p) else f"{float(p):.3f}"


def fmt_interval(lo: Any, hi: Any, digits: int = 4) -> str:
    if is_missing(lo) or is_missing(hi):
        return "–"
    return f"[{fmt_num(lo, digits)}, {fmt_num(hi, digits)}]"


def mark(ok: Any) -> str:
    """✓ / ✗ for a verdict, an en dash when there is nothing to judge."""
    if is_missing(ok):
        return "–"
    return "✓" if bool(ok) else "✗"
