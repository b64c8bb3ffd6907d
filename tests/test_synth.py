"""The SYNTHETIC paper-world panel: shape, determinism, classifications, Table 1 calibration, units, writing.

One synthesis takes a few seconds, so the default-seed panel is built once per session. No DEA runs here
(benchmarks/calibrate_synth.py checks DEA scores against the construction target and the replicas).
"""

from __future__ import annotations

import json
import os
import stat

import numpy as np
import pandas as pd
import pytest
from conftest import synthetic

from ctfp.core.errors import InputError
from ctfp.data.derive import derive_analysis_panel
from ctfp.data.dictionary import RAW, REQUIRED
from ctfp.data.table1 import compare_table1
from ctfp.data.validate import check_panel
from ctfp.inference.cmd_data import write_panel
from ctfp.models.worlds.paper import DEFAULT_SEED, synthesize_panel

TABLE1_EIGHT = ["pop", "hum", "lninf", "isu", "trade", "er", "tec", "ai"]


@pytest.fixture(scope="module")
def made() -> tuple[pd.DataFrame, dict]:
    return synthetic(DEFAULT_SEED)  # built once per session (conftest), shared with other modules


@pytest.fixture(scope="module")
def derived(made: tuple[pd.DataFrame, dict]) -> pd.DataFrame:
    raw, truth = made
    out = derive_analysis_panel(raw.drop(columns=["synthetic"]))
    ctfp = pd.DataFrame(truth["ctfp"])[["city", "year", "value"]].rename(columns={"value": "ctfp"})
    return out.merge(ctfp, on=["city", "year"], how="left", validate="one_to_one")


def test_shape_and_every_contract_column(made: tuple[pd.DataFrame, dict]) -> None:
    raw, _ = made
    assert raw.shape[0] == 1248
    assert raw["city"].nunique() == 78 and raw["year"].nunique() == 16
    assert (raw["year"].min(), raw["year"].max()) == (2006, 2021)
    assert not raw.duplicated(["city", "year"]).any()
    assert set(RAW) <= set(raw.columns)
    assert raw["synthetic"].all() and raw.attrs["synthetic"] is True


def test_deterministic_for_a_seed(made: tuple[pd.DataFrame, dict]) -> None:
    raw, truth = made
    again, truth2 = synthesize_panel(DEFAULT_SEED)  # a fresh build equals the session's first one
    pd.testing.assert_frame_equal(raw, again)
    assert truth2["ctfp"]["value"] == truth["ctfp"]["value"]
    other, _ = synthetic(3)
    assert not np.allclose(other["gdp"].to_numpy(), raw["gdp"].to_numpy())


def test_resource_split_matches_table6(derived: pd.DataFrame) -> None:
    per_city = derived.groupby("city")["g_resource"].first()
    assert int(per_city.sum()) == 40 and int((per_city == 0).sum()) == 38
    assert int(derived["g_resource"].sum()) == 640 and int((derived["g_resource"] == 0).sum()) == 608


def test_validates_without_errors_and_gaps_are_flagged(made: tuple[pd.DataFrame, dict], derived: pd.DataFrame) -> None:
    raw, truth = made
    errors = [p for p in check_panel(raw.drop(columns=["synthetic"]), "synthetic") if p.severity == "error"]
    assert errors == []
    # FAI stops in 2017 for every city (extrapolated and flagged by derive); six interior gaps elsewhere
    assert raw.loc[raw["year"] > 2017, "fai"].isna().all() and raw.loc[raw["year"] <= 2017, "fai"].notna().all()
    assert int(derived["fai_imputed"].sum()) == 78 * 4
    assert len(truth["gaps"]) == 6
    for col in ("road_km", "env_invest"):
        assert int(derived[f"{col}_imputed"].sum()) == 3
        assert int(raw[col].isna().sum()) == 3


def test_table1_moments_within_15_percent(derived: pd.DataFrame) -> None:
    t1 = compare_table1(derived).set_index("variable")
    for v in TABLE1_EIGHT:
        assert abs(t1.at[v, "mean_rel_diff"]) <= 0.15, (v, t1.at[v, "mean"], t1.at[v, "mean_published"])
        assert abs(t1.at[v, "sd_rel_diff"]) <= 0.15, (v, t1.at[v, "sd"], t1.at[v, "sd_published"])
    # the construction target of CTFP lands on Table 1 as well (the DEA reproduces it exactly)
    assert abs(t1.at["ctfp", "mean_rel_diff"]) <= 0.15 and abs(t1.at["ctfp", "sd_rel_diff"]) <= 0.15
    assert t1.at["ctfp", "max"] == pytest.approx(1.0)


def test_ai_is_skewed_with_early_zeros(derived: pd.DataFrame) -> None:
    ai = derived["ai"]
    assert ai.min() == 0.0 and ai.max() > 8.0
    assert (derived.loc[derived["year"] == 2006, "ai"] == 0).mean() > 0.4
    late = derived[derived["year"] == 2021].sort_values("ai", ascending=False)["ai"]
    assert late.iloc[:5].sum() > 0.6 * late.sum()  # a few big cities dominate


def test_units_and_domains(made: tuple[pd.DataFrame, dict], derived: pd.DataFrame) -> None:
    raw, _ = made
    for c in ("emp", "energy", "gdp", "green", "co2", "fai_pi", "gdp_index", "pop_total", "area"):
        assert (raw[c] > 0).all(), c
    assert (derived[["labor", "capital", "energy", "rgdp", "green", "co2"]] > 0).all().all()
    assert raw["green"].between(0, 100).all()
    for c in ("sewage_rate", "garbage_rate"):
        assert raw[c].between(0, 100).all(), c
    for c in ("hum", "tec", "er"):
        assert derived[c].between(0, 1).all(), c
    assert (raw["edu_exp"] < raw["fiscal_exp"]).all() and (raw["va_tertiary"] > 0).all()
    assert raw.groupby("city")["tel1984"].nunique().eq(1).all()
    assert raw.groupby("year")["broadband_nat_prev"].nunique().eq(1).all()
    required = [c for c in REQUIRED if c not in ("fai", "road_km")]  # the planted gaps
    assert raw[required].notna().all().all()
    # plausible magnitudes: GDP 100M yuan, employment 10k persons, energy intensity tce per 10k yuan
    assert 100 < raw["gdp"].min() and raw["gdp"].max() < 60_000
    intensity = raw["energy"] / raw["gdp"]
    assert 0.02 < intensity.median() < 2.0


def test_truth_is_explicit(made: tuple[pd.DataFrame, dict]) -> None:
    _, truth = made
    assert truth["SYNTHETIC"] is True and "SYNTHETIC" in truth["label"]
    assert truth["ctfp_beta_ai"] > 0
    by = truth["ctfp_beta_by_group"]
    assert by["ua_nonresource"] > 0 and by["ua_resource"] < 0 and by["non_ua"] < 0
    split = truth["ctfp_beta_split_estimand"]
    assert split["g_ua"]["1"] > 0 > split["g_ua"]["0"]
    assert split["g_resource"]["1"] < 0 < split["g_resource"]["0"]
    assert truth["first_stage_pi_iv_tel"] == pytest.approx(3.54e-9)
    assert len(truth["ctfp"]["value"]) == 1248 and len(truth["anchors"]) >= 5
    v = np.array(truth["ctfp"]["value"])
    assert v.min() > 0 and v.max() == 1.0


@pytest.mark.parametrize("ext", [".csv"])
def test_write_panel_with_truth_sidecar(tmp_path, ext: str, made: tuple[pd.DataFrame, dict]) -> None:
    raw, _ = made
    out = write_panel(tmp_path / f"panel{ext}", DEFAULT_SEED)
    back = pd.read_csv(out) if ext == ".csv" else pd.read_parquet(out)
    assert back.shape == raw.shape
    np.testing.assert_allclose(back["emp"].to_numpy(), raw["emp"].to_numpy(), rtol=1e-14)
    side = json.loads((tmp_path / f"panel{ext}.truth.json").read_text(encoding="utf-8"))
    assert side["SYNTHETIC"] is True and "SYNTHETIC" in side["label"]
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave no temp files
    mask = os.umask(0o022)
    os.umask(mask)
    for p in (out, tmp_path / f"panel{ext}.truth.json"):  # the user's umask, not mkstemp's 0600 (issue 11)
        assert stat.S_IMODE(p.stat().st_mode) == 0o666 & ~mask


def test_write_panel_rejects_unknown_format(tmp_path) -> None:
    with pytest.raises(InputError, match="unknown panel format"):
        write_panel(tmp_path / "panel.txt", DEFAULT_SEED)
