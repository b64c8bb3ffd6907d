"""The specification of a Bayesian panel model: which columns, which likelihood, which priors.

A `BayesSpec` is a small frozen value object; `build_model(panel, spec)` turns it into a `pm.Model`. Prior scales
are stated on standardised scales (y and every regressor divided by its sample sd), so the same defaults suit any
units; `priors_dict()` is what goes to summary.json.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import pandas as pd

from ctfp.core.errors import InputError

Likelihood = Literal["normal", "censored", "ordbeta"]
Serial = Literal["auto", "none", "ar1", "random_slopes"]

LIKELIHOODS: tuple[str, ...] = ("normal", "censored", "ordbeta")
SERIALS: tuple[str, ...] = ("auto", "none", "ar1", "random_slopes")
ErrorScale = Literal["auto", "common", "unit"]
ERROR_SCALES: tuple[str, ...] = ("auto", "common", "unit")


def resolve_error_model(likelihood: str, instrument: str | None, serial: str, error_scale: str) -> tuple[str, str]:
    """The calibrated default (docs/bayes.md, "Calibration under within-unit dependence"): "auto" is AR(1) errors
    within unit with unit-level error sds where the likelihood allows them (normal), unit-level sds alone for the
    censored likelihood, and iid errors for ordered beta and the FE-IV (no remedy implemented there: their notes
    say so). Explicit values are kept as given."""
    if serial == "auto":
        serial = "ar1" if likelihood == "normal" and instrument is None else "none"
    if error_scale == "auto":
        error_scale = "unit" if likelihood in ("normal", "censored") and instrument is None else "common"
    return serial, error_scale


def default_centred(serial: str) -> tuple[str, ...]:
    """Which effects are centred by default: city and year with iid errors; only year under AR(1) errors.

    With AR(1) errors a city's level is seen through (1 - rho) in every quasi-differenced row, so the data pin
    a city effect down far less than with iid errors, and the centred form made a funnel: on the calibration
    worlds (20 x 12, rho 0.7) the gate failed 12 of 40 fits, five of them with divergences, all on sigma_city;
    non-centred city effects failed 7, one with divergences (docs/bayes.md). With Mundlak terms an AR(1) model
    samples its effects in conditional-posterior coordinates instead (`twoway._ar1_effects`) and this choice
    applies only without them."""
    return ("year",) if serial == "ar1" else ("city", "year")


PAPER_SPLITS: tuple[str, ...] = ("g_ua", "g_resource", "g_attention", "g_envinv", "g_hum", "g_gcons")
PAPER_CONTROLS: tuple[str, ...] = ("pop", "hum", "lninf", "isu", "trade", "er", "tec")


@dataclass(frozen=True)
class PriorScales:
    """Prior scales on standardised scales (sd units of y per sd unit of x).

    `beta`: Normal sd of the treatment slope and control coefficients; `mundlak`: Normal sd of the city/year-mean
    coefficients; `split`: Normal sd of each split interaction (regularising, no learned variance over two
    levels); `effects`: HalfNormal scale of the city/year effect sds; `sigma`: HalfNormal scale of the residual sd;
    `intercept`: Normal sd of the intercept; `phi`: Exponential rate of the ordered-beta precision (1/mean).
    """

    beta: float = 1.0
    mundlak: float = 1.0
    split: float = 0.5
    effects: float = 1.0
    sigma: float = 1.0
    intercept: float = 1.0
    phi: float = 0.1

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not value > 0:
                raise InputError(f"prior scale {name}={value} must be positive")


@dataclass(frozen=True)
class BayesSpec:
    """What to fit. Column names refer to the analysis panel (docs/contract.md)."""

    outcome: str
    treatment: str
    unit: str = "city"
    time: str = "year"
    controls: tuple[str, ...] = ()
    splits: tuple[str, ...] = ()
    likelihood: Likelihood = "normal"
    instrument: str | None = None
    mundlak: bool = True
    serial: Serial = "auto"  # "auto": the calibrated default of `resolve_error_model`, resolved on creation
    error_scale: ErrorScale = "auto"  # "unit": each unit its own error sd (log-normal around sigma)
    censor_at: float = 1.0
    # Effects in the centred form, the others non-centred (docs/bayes.md). None: `default_centred(serial)`.
    centred: tuple[str, ...] | None = None
    priors: PriorScales = field(default_factory=PriorScales)

    def __post_init__(self) -> None:
        # Tuples, not lists: the spec is hashable and safe to share.
        object.__setattr__(self, "controls", tuple(self.controls))
        object.__setattr__(self, "splits", tuple(self.splits))
        serial, error_scale = resolve_error_model(self.likelihood, self.instrument, self.serial, self.error_scale)
        object.__setattr__(self, "serial", serial)
        object.__setattr__(self, "error_scale", error_scale)
        centred = default_centred(serial) if self.centred is None else self.centred
        object.__setattr__(self, "centred", tuple(centred))
        if not set(self.centred) <= {"city", "year"}:
            raise InputError(f"centred effects must be among city, year; got {', '.join(self.centred)}")
        if self.likelihood not in LIKELIHOODS:
            raise InputError(f"likelihood '{self.likelihood}' unknown: use one of {', '.join(LIKELIHOODS)}")
        if self.serial not in SERIALS:
            raise InputError(f"serial '{self.serial}' unknown: use one of {', '.join(SERIALS)}")
        if self.error_scale not in ERROR_SCALES:
            raise InputError(f"error_scale '{self.error_scale}' unknown: use one of {', '.join(ERROR_SCALES)}")
        if self.error_scale == "unit" and (self.likelihood == "ordbeta" or self.instrument is not None):
            raise InputError("error_scale='unit' needs likelihood 'normal' or 'censored' and no instrument")
        if self.serial == "ar1" and self.likelihood != "normal":
            raise InputError("serial='ar1' needs likelihood 'normal'; use serial='random_slopes' instead")
        if self.instrument is not None and (self.likelihood != "normal" or self.splits or self.serial != "none"):
            raise InputError("the Bayesian IV model takes likelihood 'normal', no --by splits and serial 'none'")
        names = self.columns()
        if len(set(names)) != len(names):
            raise InputError(f"a column is named twice in the model: {', '.join(names)}")

    @property
    def model_kind(self) -> str:
        """Short name of the model family, stored in summary.json."""
        if self.instrument is not None:
            return "iv"
        return "twoway_splits" if self.splits else "twoway"

    def columns(self) -> list[str]:
        """Every panel column the model reads."""
        cols = [self.outcome, self.treatment, self.unit, self.time, *self.controls, *self.splits]
        if self.instrument is not None:
            cols.append(self.instrument)
        return cols

    def check_columns(self, panel: pd.DataFrame, source: str = "panel") -> None:
        """Raise a one-line InputError naming the missing columns."""
        missing = [c for c in self.columns() if c not in panel.columns]
        if missing:
            shown = ", ".join(list(map(str, panel.columns))[:12])
            raise InputError(
                f"{source}: column(s) {', '.join(missing)} not found; available: {shown}"
                + (" ..." if len(panel.columns) > 12 else "")
            )

    def priors_dict(self) -> dict[str, Any]:
        """The priors in words and numbers, for summary.json."""
        p = self.priors
        out: dict[str, Any] = {
            "scale": "standardised: y and every regressor centred and divided by its sample sd",
            "intercept": f"Normal(0, {p.intercept})",
            "beta_treatment": f"Normal(0, {p.beta})",
            "gamma_controls": f"Normal(0, {p.beta})",
            **{
                f"{d}_effects": (
                    f"ZeroSumNormal(sigma_{d}) (centred)" if d in self.centred else f"sigma_{d} * ZeroSumNormal(1)"
                )
                + f", sigma_{d} ~ HalfNormal({p.effects})"
                for d in ("city", "year")
            },
            "sigma": f"HalfNormal({p.sigma})",
        }
        if self.mundlak:
            out["mundlak"] = f"Normal(0, {p.mundlak}) on city and year means of treatment and controls"
        if self.splits:
            out["split_interactions"] = f"Normal(0, {p.split}) per split on the centred group indicator"
        if self.serial == "ar1":
            out["rho"] = "Uniform(-1, 1), city-level AR(1) errors"
        if self.error_scale == "unit":
            out["unit_error_scales"] = (
                f"sigma_unit = sigma * exp(tau * z), z ~ Normal(0, 1) per unit, tau ~ HalfNormal({p.split})"
            )
        if self.serial == "random_slopes":
            out["city_slopes"] = f"sigma_slope * Normal(0, 1) per city, sigma_slope ~ HalfNormal({p.split})"
        if self.likelihood == "ordbeta":
            out["cutpoints"] = "ordered Normal((-2, 2), 2.5) on the logit scale (Kubinec 2022); Normal(2, 2.5) for k2 alone when no zeros"
            out["phi"] = f"Exponential({p.phi})"
            out["scale"] = "regressors standardised; linear predictor on the logit scale of E[y | 0<y<1]"
        if self.likelihood == "censored":
            out["censoring"] = f"Normal latent outcome right-censored at {self.censor_at}"
        if self.instrument is not None:
            out["pi_instrument"] = f"Normal(0, {p.beta})"
            out["error_correlation"] = "LKJ(eta=2) correlation of first-stage and outcome errors"
            out["sigma_first"] = f"HalfNormal({p.sigma})"
        return out

    def to_dict(self) -> dict[str, Any]:
        """The resolved spec as plain JSON-ready values."""
        d = asdict(self)
        d["controls"] = list(self.controls)
        d["splits"] = list(self.splits)
        d["centred"] = list(self.centred)
        return d
