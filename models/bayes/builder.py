"""One entry point: `build_model(panel, spec) -> pm.Model` (no sampling here)."""

from __future__ import annotations

import pandas as pd
import pymc as pm

from ctfp.models.bayes.design import PanelDesign, make_design
from ctfp.models.bayes.iv import build_iv
from ctfp.models.bayes.spec import BayesSpec
from ctfp.models.bayes.twoway import build_twoway


def build_from_design(design: PanelDesign, spec: BayesSpec) -> pm.Model:
    """Build the model for already prepared arrays (lets callers keep the design for reporting)."""
    return build_iv(design, spec) if spec.instrument is not None else build_twoway(design, spec)


def build_model(panel: pd.DataFrame, spec: BayesSpec, source: str = "panel") -> pm.Model:
    """The PyMC model of `spec` on `panel`, with coords city, year, obs, control, mundlak, split, level."""
    return build_from_design(make_design(panel, spec, source), spec)
