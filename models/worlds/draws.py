"""What one draw of a world is: a panel, its truth, and the true slope of the treatment on every row."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd


@dataclass
class WorldDraw:
    """One simulated panel with its truth.

    `slope` is, per row of `frame`, the true effect of `treatment` on `outcome` (d outcome / d treatment in the
    data-generating process), from which any estimand's truth follows: a two-way FE column estimates the
    within-weighted average of these slopes, a group slope their average within the group. `stage`: "raw" (the
    study's derivations and measures make the analysis panel from `frame`) or "analysis" (already one).
    """

    frame: pd.DataFrame
    truth: dict[str, Any]
    slope: np.ndarray
    outcome: str
    treatment: str
    stage: str
    label: str
