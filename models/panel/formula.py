"""fixest / pyfixest formulas for one panel regression, parsed into column names.

    y ~ x1 + x2                      OLS with a constant (no fixed effects)
    y ~ x1 + x2 | fe1 + fe2          OLS absorbing fe1 and fe2
    y ~ x1 | fe1^fe2                 an interacted fixed effect (one level per fe1 x fe2 cell)
    y ~ x1 | fe1 + fe2 | d ~ z1 + z2 2SLS: d endogenous, z1, z2 excluded instruments (x1 included exogenous)
    y ~ x1 | d ~ z                   2SLS without fixed effects

The `|` parts are split structurally (as fixest does); every `~` part is parsed by formulaic (pyfixest's
parser), which keeps the terms in the order written when asked to. A term must be a column name
(back-quoted when it is not a Python name): transformations and interactions belong in `[data.derive]`, so
that the column the regression reads is one the analysis panel shows. `1` is allowed and changes nothing;
`0` / `- 1` is allowed with fixed effects (they absorb the constant anyway) and refused without.
"""

from __future__ import annotations

from dataclasses import dataclass

FE_JOIN = "^"


class FormulaError(ValueError):
    """A formula that is not of the supported shape (the caller adds the file and line)."""


@dataclass(frozen=True)
class PanelFormula:
    """One parsed formula; every name is a column (interacted FEs as `a^b`)."""

    text: str
    outcome: str
    exog: tuple[str, ...]  # included exogenous regressors, in the order written
    fe: tuple[str, ...] = ()  # absorbed fixed effects; "a^b" is the interaction of columns a and b
    endog: tuple[str, ...] = ()
    instruments: tuple[str, ...] = ()

    @property
    def is_iv(self) -> bool:
        return bool(self.endog)

    @property
    def regressors(self) -> tuple[str, ...]:
        """The second-stage regressors as Stata orders them: endogenous first, then exogenous."""
        return (*self.endog, *self.exog)

    @property
    def fe_columns(self) -> tuple[str, ...]:
        """Columns the fixed effects read (the parts of interacted FEs)."""
        return tuple(dict.fromkeys(p for f in self.fe for p in f.split(FE_JOIN)))

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column the formula reads."""
        return tuple(dict.fromkeys([self.outcome, *self.endog, *self.exog, *self.instruments,
                                    *self.fe_columns]))


def _terms(side: str, text: str, what: str) -> tuple[tuple[str, ...], bool]:
    """Column names of one side of a formula (formulaic), and whether the constant was removed."""
    from formulaic import Formula
    from formulaic.errors import FormulaicError

    try:
        parsed = Formula(f"__lhs__ ~ {side}", _ordering="none")
    except (FormulaicError, ValueError, SyntaxError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise FormulaError(f"cannot parse the {what} of '{text}': {first}") from None
    names: list[str] = []
    has_one = False
    for term in parsed.rhs:
        factors = list(term.factors)
        if len(factors) == 1 and str(factors[0]) == "1":
            has_one = True
            continue
        if len(factors) != 1 or factors[0].eval_method.value != "lookup":
            raise FormulaError(f"term '{term}' in '{text}' is not a column name; write it as a column in "
                               "[data.derive] (e.g. x_z = \"x * z\") and use that name")
        names.append(str(factors[0].token))
    dropped_one = not has_one
    return tuple(names), dropped_one


def _names(side: str, text: str, what: str) -> tuple[str, ...]:
    names, _ = _terms(side, text, what)
    return names


def _fixed_effects(part: str, text: str) -> tuple[str, ...]:
    part = part.strip()
    if part in ("0", ""):
        if part == "":
            raise FormulaError(f"empty fixed-effects part in '{text}'; remove the '|' or name the effects")
        return ()
    out: list[str] = []
    for piece in part.split("+"):
        bits = [b.strip().strip("`") for b in piece.split(FE_JOIN)]
        if any(not b or any(c in b for c in "()~*:") for b in bits):
            raise FormulaError(f"fixed effect '{piece.strip()}' in '{text}' must be a column name or "
                               "columns joined by ^ (e.g. province^year)")
        out.append(FE_JOIN.join(bits))
    if len(set(out)) != len(out):
        raise FormulaError(f"a fixed effect is named twice in '{text}'")
    return tuple(out)


def parse_formula(text: str) -> PanelFormula:
    """Parse `y ~ exog [| fe] [| endog ~ instruments]`; raises FormulaError (one line) on a bad formula."""
    parts = [p.strip() for p in text.split("|")]
    if "~" not in parts[0]:
        raise FormulaError(f"'{text}' has no '~': write outcome ~ regressors")
    if len(parts) > 3:
        raise FormulaError(f"'{text}' has more than three '|' parts (regressors | fixed effects | IV)")
    lhs, rhs = parts[0].split("~", 1)
    if "~" in rhs:
        raise FormulaError(f"'{text}': the first part has two '~'")
    outcome = _names(lhs, text, "outcome")
    if len(outcome) != 1:
        raise FormulaError(f"'{text}' must have exactly one outcome before '~'")
    exog, no_constant = _terms(rhs, text, "regressors")
    fe: tuple[str, ...] = ()
    endog: tuple[str, ...] = ()
    instruments: tuple[str, ...] = ()
    rest = parts[1:]
    if rest and "~" in rest[-1]:
        iv = rest.pop()
        e_side, z_side = iv.split("~", 1)
        if "~" in z_side:
            raise FormulaError(f"'{text}': the IV part has two '~' (write endog ~ z1 + z2)")
        endog = _names(e_side, text, "endogenous regressors")
        instruments = _names(z_side, text, "instruments")
        if not endog or not instruments:
            raise FormulaError(f"'{text}': the IV part needs endogenous regressor(s) ~ instrument(s)")
    if len(rest) > 1:
        raise FormulaError(f"'{text}': the middle part must be fixed effects and the last one 'endog ~ z'")
    if rest:
        fe = _fixed_effects(rest[0], text)
    if no_constant and not fe:
        raise FormulaError(f"'{text}' removes the constant without fixed effects; regression through the "
                           "origin is not supported: drop the 0 / -1")
    if not exog and not endog:
        raise FormulaError(f"'{text}' has no regressor")
    seen: dict[str, str] = {}
    for role, names in (("outcome", outcome), ("regressor", exog), ("endogenous regressor", endog),
                        ("instrument", instruments)):
        for n in names:
            if n in seen:
                raise FormulaError(f"'{n}' appears as {seen[n]} and as {role} in '{text}'")
            seen[n] = role
    return PanelFormula(text=text, outcome=outcome[0], exog=exog, fe=fe, endog=endog, instruments=instruments)
