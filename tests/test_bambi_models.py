"""Any bambi formula as a study model (inference/bambi_models.py): parsing, study-file keys, agreement with ctfp."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ctfp.core.errors import InputError
from ctfp.inference.bambi_models import fit_bambi, formula_terms, formula_treatment
from ctfp.inference.fit import fit_from_spec_dict, fit_spec
from ctfp.inference.sampling import SamplerConfig
from ctfp.models.bayes.sim import simulate_panel
from ctfp.models.bayes.spec import BayesSpec

STUDY = """
[study]
name = "a bambi model"

[data]
panel = "p.csv"
unit = "city"
time = "year"

[bayes]
treatment = "ai"
outcome = "ctfp"

[[bayes.models]]
name = "formula"
formula = "ctfp ~ ai + pop + (1|city) + (1|year)"
family = "gaussian"
"""


def test_formula_terms_and_treatment() -> None:
    assert formula_terms("ctfp ~ ai + pop + (1|city) + (1 + ai|year)") == (
        "ctfp", ["ai", "pop", "(1|city)", "(1 + ai|year)"])
    assert formula_treatment("y ~ 1 + (1|g) + x + z") == "x"
    with pytest.raises(InputError, match="no '~'"):
        formula_treatment("y = x")
    with pytest.raises(InputError, match='treatment = "..."'):
        formula_treatment("y ~ log(x) + z")


def test_study_file_formula_model(tmp_path: Path) -> None:
    from ctfp.core.study_load import loads_study

    (tmp_path / "p.csv").write_text("city,year\n")
    s = loads_study(STUDY, path=tmp_path / "study.toml")
    m = s.bayes.models[0]
    assert (m.formula, m.family, m.outcome, m.treatment) == ("ctfp ~ ai + pop + (1|city) + (1|year)", "gaussian",
                                                             "ctfp", "")
    bad = STUDY.replace('family = "gaussian"', 'family = "gaussian"\nby = ["g_ua"]')
    with pytest.raises(InputError, match="line 18: .*by does not apply to a bambi formula model"):
        loads_study(bad, path=tmp_path / "study.toml")


def test_unknown_column_is_one_clear_error(tmp_path: Path) -> None:
    panel, _ = simulate_panel(8, 4, seed=1)
    with pytest.raises(InputError, match="bayes model 'm': bambi cannot build"):
        fit_bambi(panel, {"name": "m", "formula": "ctfp ~ ai + nosuch + (1|city)"}, SamplerConfig(), tmp_path)


@pytest.mark.slow
@pytest.mark.heavy
def test_bambi_formula_model_agrees_with_the_builtin_two_way_model(tmp_path: Path) -> None:
    """Same regression (plain two-way random effects, iid errors): posterior means within 0.2 sd, sds within 20%."""
    panel, truth = simulate_panel(30, 8, seed=17)
    cfg = SamplerConfig(draws=1000, tune=1000, chains=2, seed=3)
    entry = {"name": "formula", "formula": "ctfp ~ ai + pop + hum + (1|city) + (1|year)"}
    fit_from_spec_dict(panel, variables={}, model=entry, sampler=cfg.to_dict(), out_dir=tmp_path / "b",
                             progress=False)
    spec = BayesSpec("ctfp", "ai", controls=("pop", "hum"), mundlak=False, serial="none", error_scale="common")
    s_c = fit_spec(panel, spec, cfg, tmp_path / "c", progress=False)
    stored = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert stored["model"] == "bambi" and stored["spec"]["treatment"] == "ai"
    assert set(s_c) - {"spec", "instrument", "sampling_wall_s"} <= set(stored)  # the same schema
    tb, tc = stored["treatment"], s_c["treatment"]
    assert abs(tb["mean"] - tc["mean"]) < 0.2 * tc["sd"], (tb, tc)
    assert abs(tb["sd"] / tc["sd"] - 1) < 0.2, (tb, tc)
    assert abs(tb["mean"] - stored["coefficient"]["mean"]) < 1e-6  # identity link: the AME is the coefficient
    # The simulated treatment is tied to the city effect (confounding), so plain random effects are biased;
    # with the city mean of the treatment beside it (a Mundlak term) the formula model recovers the truth.
    panel["ai_bar"] = panel.groupby("city")["ai"].transform("mean")
    mundlak = {"name": "mundlak", "formula": "ctfp ~ ai + ai_bar + pop + hum + (1|city) + (1|year)"}
    fit_from_spec_dict(panel, variables={}, model=mundlak, sampler=cfg.to_dict(), out_dir=tmp_path / "m",
                       progress=False)
    tm = json.loads((tmp_path / "m" / "summary.json").read_text())["treatment"]
    assert abs(tm["mean"] - truth["beta"]) < 3 * tm["sd"], (tm, truth["beta"])
    assert "elpd_loo" in stored["loo"] and "ame" in stored["prior_sensitivity"]["quantities"]
    import arviz as az

    dt = az.from_netcdf(tmp_path / "b" / "posterior.nc")
    assert "y" in dt["log_likelihood"].data_vars and "y" in dt["posterior_predictive"].data_vars
