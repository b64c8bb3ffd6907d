"""Weak- and under-identification diagnostics of a 2SLS fit with one endogenous regressor.

Notation (methods.md §3): x̃, Z̃ = the endogenous regressor and the L1 excluded instruments after partialling
out the fixed effects and the included exogenous regressors; π̂, v̂ = first-stage coefficients and residuals;
sums over clusters g (one observation per "cluster" under `robust`).

- Kleibergen–Paap rk LM = (Z̃'x̃)' [Σ_g Z̃_g'x̃_g x̃_g'Z̃_g]⁻¹ (Z̃'x̃), not scaled; p from χ²(L1 − K1 + 1).
- KP rk Wald χ² = π̂' V̂⁻¹ π̂ with V̂ the CR0 sandwich of the first stage (v̂ in place of x̃ above).
- KP rk Wald F = Wald χ² · (N − L − sdofminus)/(N − 1) · (G − 1)/G / L1 (cluster), or · (N − L − sdofminus)/N / L1
  (robust). With one instrument it equals the squared first-stage t.
- Cragg–Donald F = r²/(1 − r²) · (N − L − sdofminus)/L1, r² the partial R² of the first stage.
- Hansen J (over-identified): the efficient two-step GMM criterion, weight = inverse of Σ_g Z_g'û_g û_g'Z_g
  built from the 2SLS residuals (ivreg2's robust/cluster J).
L counts all first-stage regressors (excluded instruments + included exogenous, + the constant if not absorbed).
Under homoskedastic errors the KP statistics reduce to Anderson's LM (N·r²) and the Cragg–Donald Wald.

Stock–Yogo (2005) critical values for K1 = 1 (Tables 5.1 and 5.2, as printed by ivreg2): maximal relative bias
of 2SLS (defined for L1 ≥ 3) and maximal size of a nominal 5% Wald test.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special  # chi2.sf without importing scipy.stats (~0.5 s per command)

from ctfp.models.panel import vcov as pv

# L1 → critical values; Stock, J. H. and Yogo, M. (2005), "Testing for weak instruments in linear IV
# regression", in Andrews & Stock (eds.), Identification and Inference for Econometric Models, Tables 5.1–5.2.
STOCK_YOGO_BIAS = {  # 5%, 10%, 20%, 30% maximal IV relative bias
    3: (13.91, 9.08, 6.46, 5.39),
    4: (16.85, 10.27, 6.71, 5.34),
    5: (18.37, 10.83, 6.77, 5.25),
}
STOCK_YOGO_SIZE = {  # 10%, 15%, 20%, 25% maximal IV size
    1: (16.38, 8.96, 6.66, 5.53),
    2: (19.93, 11.59, 8.75, 7.25),
    3: (22.30, 12.83, 9.54, 7.80),
    4: (24.58, 13.96, 10.26, 8.31),
    5: (26.87, 15.09, 10.98, 8.84),
}


def stock_yogo(l1: int) -> dict[str, dict[str, float]]:
    """Published critical values for one endogenous regressor and `l1` instruments (empty if not tabulated)."""
    out: dict[str, dict[str, float]] = {}
    if l1 in STOCK_YOGO_SIZE:
        out["size"] = dict(zip(("10%", "15%", "20%", "25%"), STOCK_YOGO_SIZE[l1], strict=True))
    if l1 in STOCK_YOGO_BIAS:
        out["bias"] = dict(zip(("5%", "10%", "20%", "30%"), STOCK_YOGO_BIAS[l1], strict=True))
    return out


def _partial(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if b.shape[1] == 0:
        return a
    coef, *_ = np.linalg.lstsq(b, a, rcond=None)
    return a - b @ coef


def _meat(scores: np.ndarray, cl_codes: list[np.ndarray], robust: bool) -> np.ndarray:
    if cl_codes:
        return pv.meat(scores, cl_codes)
    return scores.T @ scores


PERFECT_FIT = 1e-12  # first-stage residual sum of squares / total below this: the instrument reproduces x


def is_singular(a: np.ndarray) -> bool:
    """A symmetric PSD matrix is singular when, in correlation units, its smallest eigenvalue is ~0."""
    scale = np.sqrt(np.clip(np.diag(a), 1e-300, None))
    eig = np.linalg.eigvalsh(a / np.outer(scale, scale))
    return not bool(eig.min() > 1e-12 * max(float(eig.max()), 1e-300))


def quad_form(a: np.ndarray, s: np.ndarray) -> tuple[float, bool]:
    """s' a⁻¹ s for a symmetric PSD `a`; (value, singular). A singular `a` uses the Moore–Penrose inverse,
    the generalised Wald form Stata falls back to, and says so."""
    singular = is_singular(a)
    if singular:
        return float(s @ np.linalg.pinv(a, rcond=1e-12, hermitian=True) @ s), True
    return float(s @ np.linalg.solve(a, s)), False


def iv_diagnostics(*, x: np.ndarray, z_excl: np.ndarray, z_exog: np.ndarray, u: np.ndarray, z_all: np.ndarray,
                   x_all: np.ndarray, y: np.ndarray,
                   cl_codes: list[np.ndarray], sdofminus: int, robust: bool, small: bool, endog: str,
                   instruments: list[str], with_j: bool = True) -> tuple[Any, dict[str, Any]]:
    """First stage (instrument coef/SE/t) and the KP, Cragg–Donald, Stock–Yogo and Hansen J statistics.

    Degenerate first stages are statistics, not exceptions: instruments that reproduce x exactly give
    F = inf (and no first-stage SEs), instruments that do not move x give LM = 0 and F = 0; a singular
    covariance (fewer clusters than instruments) uses the generalised inverse. Each case adds a line to
    `out["warnings"]`.
    """
    from ctfp.models.panel.estimators import FirstStage, t_sf

    n, l1 = z_excl.shape
    big_l = l1 + z_exog.shape[1]
    warns: list[str] = []
    xp = _partial(x, z_exog)
    zp = _partial(z_excl, z_exog)
    ztz_inv = np.linalg.inv(zp.T @ zp)
    pi = ztz_inv @ (zp.T @ xp)
    v = xp - zp @ pi
    xx, vv = float(xp @ xp), float(v @ v)
    perfect = vv <= PERFECT_FIT * xx
    r2 = 1.0 if perfect else 1.0 - vv / xx
    clustered = bool(cl_codes)
    g = pv.n_clusters(cl_codes) if clustered else None
    # first stage covariance and t-tests (Stata's small-sample factor with L regressors)
    if clustered or robust:
        v0 = pv.sandwich(ztz_inv, _meat(zp * v[:, None], cl_codes, robust))  # CR0 / HC0
    else:
        v0 = ztz_inv * vv / n
    if clustered:
        fac = pv.cluster_factor(n, big_l, sdofminus, g) if small else 1.0
        df_t = float(g - 1) if small else float("inf")
    elif robust:
        fac = n / (n - big_l - sdofminus) if small else 1.0
        df_t = float(n - big_l - sdofminus) if small else float("inf")
    else:
        fac = n / (n - big_l - sdofminus) if small else 1.0
        df_t = float(n - big_l - sdofminus) if small else float("inf")
    names = ", ".join(instruments)
    if perfect:
        se = np.full(l1, np.nan)
        wald = kp_f = cd_f = float("inf")
        warns.append(f"the excluded instrument(s) {names} reproduce {endog} exactly (first-stage partial R² = 1 "
                     f"up to {PERFECT_FIT:g}): an exact or affine copy of the endogenous regressor; the first "
                     "stage has no residual, so F = inf and no first-stage SEs are reported, and 2SLS equals OLS: "
                     "such an instrument cannot correct endogeneity")
    else:
        var = np.diag(v0) * fac
        se = np.where(var > 0, np.sqrt(np.clip(var, 0.0, None)), np.nan)
        wald, singular = quad_form(v0, pi)  # CR0 Wald χ² of the excluded instruments
        if singular:
            warns.append(f"the first-stage covariance of {names} is singular ({g or n} clusters for {l1} "
                         "instrument(s)): the Kleibergen-Paap Wald F uses its generalised inverse")
        if clustered:
            kp_f = wald * (n - big_l - sdofminus) / (n - 1) * (g - 1) / g / l1
        else:
            kp_f = wald * (n - big_l - sdofminus) / n / l1
        cd_f = r2 / (1.0 - r2) * (n - big_l - sdofminus) / l1
    if clustered or robust:
        s = zp.T @ xp
        lm, singular = quad_form(_meat(zp * xp[:, None], cl_codes, robust), s)
        if singular:
            warns.append(f"the score covariance of {names} is singular ({g or n} clusters for {l1} "
                         "instrument(s)): the Kleibergen-Paap rk LM uses its generalised inverse")
    else:
        lm = n * r2  # Anderson canonical-correlation LM
    t = pi / se
    fs = FirstStage(endog=endog, names=list(instruments), coef=pi, se=se, t=t, p=2.0 * t_sf(np.abs(t), df_t),
                    partial_r2=r2, f_stat=kp_f, nobs=n)
    lm_df = l1  # L1 − K1 + 1 with K1 = 1
    out: dict[str, Any] = {
        "kp_rk_lm": lm,
        "kp_rk_lm_df": lm_df,
        "kp_rk_lm_p": float(special.chdtrc(lm_df, lm)),
        "kp_rk_wald": wald,
        "kp_rk_wald_f": kp_f,
        "cragg_donald_f": cd_f,
        "partial_r2": r2,
        "stock_yogo": stock_yogo(l1),
    }
    if l1 > 1 and with_j:
        j, singular = hansen_j_checked(z_all, x_all, y, u, cl_codes, robust)
        out["hansen_j"] = j
        out["hansen_j_df"] = l1 - 1
        out["hansen_j_p"] = float(special.chdtrc(l1 - 1, j))
        if singular:
            warns.append("the moment covariance of Hansen's J is singular (fewer clusters than instruments): "
                         "J uses its generalised inverse")
    out["warnings"] = warns
    return fs, out


def hansen_j(z: np.ndarray, x: np.ndarray, y: np.ndarray, u: np.ndarray, cl_codes: list[np.ndarray],
             robust: bool) -> float:
    """Hansen's J statistic (see `hansen_j_checked`, which also says whether Ŝ was singular)."""
    return hansen_j_checked(z, x, y, u, cl_codes, robust)[0]


def hansen_j_checked(z: np.ndarray, x: np.ndarray, y: np.ndarray, u: np.ndarray, cl_codes: list[np.ndarray],
                     robust: bool) -> tuple[float, bool]:
    """Two-step GMM J: Ŵ = Ŝ⁻¹ with Ŝ = Σ_g Z_g'û_g û_g'Z_g from the 2SLS residuals û, then J = ê'Z Ŵ Z'ê at
    the efficient GMM estimate (ivreg2's robust/cluster J); Sargan (N·R² of û on Z) if iid."""
    if cl_codes or robust:
        s = _meat(z * u[:, None], cl_codes, robust)
    else:
        s = (z.T @ z) * float(u @ u) / u.size
        return quad_form(s, z.T @ u)
    singular = is_singular(s)
    w = np.linalg.pinv(s, rcond=1e-12, hermitian=True) if singular else np.linalg.inv(s)
    zx, zy = z.T @ x, z.T @ y
    b = np.linalg.lstsq(zx.T @ w @ zx, zx.T @ w @ zy, rcond=None)[0]
    g = zy - zx @ b
    return float(g @ w @ g), singular
