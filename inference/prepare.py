"""From a panel file (or the embedded synthetic panel) to the analysis panel with CTFP filled.

read → validate → derive → CTFP by SBM (+ the BCC robustness score). The steps are the data and model layers'
own functions; this module only strings them together and turns their findings into one clear error.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ctfp.core.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

    from ctfp.data.validate import Problem

SYNTH_SEED = 20251201


def read_raw_panel(path: str | Path | None, *, mapping: dict[str, str] | None = None,
                   seed: int = SYNTH_SEED) -> pd.DataFrame:
    """The raw panel: the user's file (columns mapped) or the embedded SYNTHETIC paper-world panel."""
    if path is None or str(path) == "":
        from ctfp.data.synth import synthesize_panel

        raw, truth = synthesize_panel(seed)
        raw.attrs["source"] = f"embedded SYNTHETIC paper-world panel (seed {seed})"
        raw.attrs["data_source"] = "synthetic"
        raw.attrs["truth"] = truth
        return raw
    from ctfp.data.readers import read_panel

    raw = read_panel(path, mapping=mapping or None)
    raw.attrs["data_source"] = "user"
    return raw


def check_or_raise(df: pd.DataFrame, source: str, *, allow_unknown_cities: bool = False,
                   years: Any = (2006, 2021)) -> list[Problem]:
    """Validate; raise one InputError line naming the first error (and how many more) if any. Returns warnings.

    `years`: the allowed (first, last) year, or "any".
    """
    from ctfp.data.validate import check_panel

    span = None if years in (None, "any") else (int(years[0]), int(years[1]))
    problems = check_panel(df, source, allow_unknown_cities=allow_unknown_cities, years=span)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        more = f" (and {len(errors) - 1} more problems: run `ctfp data check {source}` to list them all)" \
            if len(errors) > 1 else ""
        raise InputError(f"{errors[0].line()}{more}")
    return [p for p in problems if p.severity != "error"]


def derive_checked(raw: pd.DataFrame, source: str, data: dict[str, Any]) -> tuple[pd.DataFrame, list[Problem]]:
    """Validate a raw panel under the spec's [data] options, then derive the analysis panel (without CTFP)."""
    from ctfp.data.derive import derive_analysis_panel

    warnings = check_or_raise(raw, source, allow_unknown_cities=bool(data.get("allow_unknown_cities", False)),
                              years=data.get("years", (2006, 2021)))
    panel = derive_analysis_panel(raw, ua_rule=data.get("ua_rule", "any"))
    panel.attrs.update({k: v for k, v in raw.attrs.items() if k not in panel.attrs})
    return panel, warnings


def compute_ctfp(panel: pd.DataFrame, sbm: dict[str, Any], *, progress: bool = False
                 ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score every city-year by SBM (CTFP) and by the radial robustness model; return (panel, scores)."""
    from ctfp.models.dea import run_dea

    unit, time = "city", "year"
    cols = list(sbm["inputs"]) + list(sbm["good"]) + list(sbm["bad"])
    missing = [c for c in cols if c not in panel.columns]
    if missing:
        raise InputError(f"the SBM needs column(s) {', '.join(missing)} that the analysis panel lacks; "
                         "supply the raw series they are derived from (docs/contract.md)")
    weights = tuple(float(w) for w in sbm.get("weights", (1.0, 1.0)))
    main = run_dea(panel, list(sbm["inputs"]), list(sbm["good"]), list(sbm["bad"]), id_col=unit,
                   period_col=time, model=sbm.get("model", "sbm"), orientation=sbm.get("orientation", "none"),
                   rts=sbm.get("rts", "crs"), frontier=sbm.get("frontier", "global"), weights=weights,
                   progress=progress)
    scores = main.rename(columns={"efficiency": "ctfp"})
    rob_cfg = sbm.get("robustness")
    if rob_cfg:
        rob = run_dea(panel, list(sbm["inputs"]), list(sbm["good"]), list(sbm["bad"]), id_col=unit,
                      period_col=time, model=rob_cfg.get("model", "bcc"),
                      orientation=rob_cfg.get("orientation", "input"), rts="vrs",
                      frontier=sbm.get("frontier", "global"), progress=progress,
                      bad_treatment="negative_normalisation")
        scores = scores.merge(rob[[unit, time, "efficiency"]].rename(columns={"efficiency": "ctfp_bcc"}),
                              on=[unit, time], how="left")
    out = panel.drop(columns=[c for c in ("ctfp", "ctfp_bcc") if c in panel.columns])
    out = out.merge(scores[[unit, time] + [c for c in ("ctfp", "ctfp_bcc") if c in scores.columns]],
                    on=[unit, time], how="left", validate="one_to_one")
    out.attrs = dict(panel.attrs)
    if out["ctfp"].isna().any():
        n = int(out["ctfp"].isna().sum())
        raise InputError(f"the SBM returned no score for {n} city-years; see dea/scores.csv status column")
    return out, scores


def load_analysis_panel(path: str | None, *, spec: Any | None = None, progress: bool = False) -> pd.DataFrame:
    """The analysis panel with `ctfp` filled.

    None = the embedded synthetic panel; a raw panel is validated, derived and scored; an analysis panel
    (one that already has `ctfp`) is used as is.
    """
    from ctfp.inference.spec import load_spec

    spec = spec or load_spec()
    data = spec["data"]
    raw = read_raw_panel(path, mapping=data.get("mapping") or None)
    if "ctfp" in raw.columns:
        raw.attrs.setdefault("data_source", "user")
        return raw
    panel, _ = derive_checked(raw, str(path) if path else "synthetic panel", data)
    panel, _ = compute_ctfp(panel, spec["sbm"], progress=progress)
    return panel
