"""OLS and 2SLS with absorbed fixed effects and Stata's conventions (reghdfe, ivreghdfe / ivreg2).

`fit_ols(frame, y, x, absorb=, cluster=)` and `fit_iv(frame, y, endog, instruments, exog=, absorb=, cluster=)`
return a `PanelResult` carrying coefficients, the covariance, t-tests with G−1 df, R² (within and overall)
and, for IV, the first stage and the weak-identification diagnostics of `panel_ivdiag`.

Small-sample factors (N obs, K slopes, G clusters):
- OLS (reghdfe): V · (N−1)/(N−K−df_ols) · G/(G−1); df_ols = absorbed df, plus the constant when an FE is
  nested in a cluster (reghdfe counts no df for a nested FE).
- 2SLS (ivreghdfe): V · (N−1)/(N−K−sdofminus) · G/(G−1), sdofminus = absorbed df (min 1): one df fewer than
  reghdfe when an FE is nested in the cluster.
Rows with a missing value in any used column are dropped and counted in `notes` (as Stata does); so are
singleton FE groups (reghdfe's default). Regressors collinear with earlier ones or with the FEs are omitted
with a note, like Stata's "omitted because of collinearity"; a collinear endogenous regressor or an
instrument without variation is an error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import special  # not scipy.stats: it costs ~1 s of import on every `ctfp fe`

from ctfp.core.errors import InputError, NumericalError
from ctfp.models.panel import fwl
from ctfp.models.panel import vcov as pv

COLLINEAR_TOL = 1e-9


@dataclass
class FirstStage:
    """First stage of a one-endogenous 2SLS: instrument coefficients with clustered t-tests."""

    endog: str
    names: list[str]
    coef: np.ndarray
    se: np.ndarray
    t: np.ndarray
    p: np.ndarray
    partial_r2: float
    f_stat: float  # clustered Wald F of the excluded instruments (= KP rk Wald F with one endogenous)
    nobs: int


@dataclass
class PanelResult:
    """Everything one fit produces; arrays are aligned with `names`."""

    method: str  # "ols" | "2sls"
    y: str
    names: list[str]
    coef: np.ndarray
    vcov: np.ndarray
    nobs: int
    df_t: float  # t-test df (G−1 with clusters); inf means normal
    vce: str  # "unadjusted" | "robust" | "cluster"
    cluster: tuple[str, ...]
    absorb: tuple[str, ...]
    n_clusters: int | None
    df_absorbed: int
    rss: float
    tss_within: float
    tss_overall: float
    notes: list[str] = field(default_factory=list)
    first_stage: FirstStage | None = None
    diagnostics: dict[str, Any] = field(default_factory=dict)
    resid: np.ndarray | None = None  # residuals (within), kept on request for scores
    xw: np.ndarray | None = None  # within-transformed regressors (2SLS: fitted values), kept on request
    rows: np.ndarray | None = None  # index labels of the estimation sample in the caller's frame

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.clip(np.diag(self.vcov), 0.0, None))

    @property
    def t(self) -> np.ndarray:
        return self.coef / self.se

    @property
    def p(self) -> np.ndarray:
        return 2.0 * _t_sf(np.abs(self.t), self.df_t)

    @property
    def r2_within(self) -> float:
        return 1.0 - self.rss / self.tss_within if self.tss_within > 0 else float("nan")

    @property
    def r2_overall(self) -> float:
        """R² of the LSDV fit (reghdfe's "R-squared"); the paper's R² is most likely this one."""
        return 1.0 - self.rss / self.tss_overall if self.tss_overall > 0 else float("nan")

    def ci(self, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        q = _t_ppf(0.5 + level / 2.0, self.df_t)
        return self.coef - q * self.se, self.coef + q * self.se

    def index(self, name: str) -> int:
        if name not in self.names:
            raise InputError(f"'{name}' is not a regressor of this fit (has: {', '.join(self.names)})")
        return self.names.index(name)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of `ctfp fe/iv --json`."""
        out: dict[str, Any] = {
            "method": self.method,
            "y": self.y,
            "nobs": self.nobs,
            "n_clusters": self.n_clusters,
            "vce": self.vce,
            "cluster": list(self.cluster),
            "absorb": list(self.absorb),
            "df_t": None if np.isinf(self.df_t) else self.df_t,
            "coef": dict(zip(self.names, map(float, self.coef), strict=True)),
            "se": dict(zip(self.names, map(float, self.se), strict=True)),
            "t": dict(zip(self.names, map(float, self.t), strict=True)),
            "p": dict(zip(self.names, map(float, self.p), strict=True)),
            "r2_within": self.r2_within,
            "r2_overall": self.r2_overall,
            "notes": list(self.notes),
        }
        if self.first_stage is not None:
            fs = self.first_stage
            out["first_stage"] = {
                "endog": fs.endog,
                "coef": dict(zip(fs.names, map(float, fs.coef), strict=True)),
                "se": dict(zip(fs.names, map(float, fs.se), strict=True)),
                "t": dict(zip(fs.names, map(float, fs.t), strict=True)),
                "p": dict(zip(fs.names, map(float, fs.p), strict=True)),
                "partial_r2": fs.partial_r2,
                "f": fs.f_stat,
            }
        out.update({k: v for k, v in self.diagnostics.items()})
        return out


def _t_sf(x: np.ndarray, df: float) -> np.ndarray:
    return special.ndtr(-x) if np.isinf(df) else special.stdtr(df, -x)


def _t_ppf(q: float, df: float) -> float:
    return float(special.ndtri(q) if np.isinf(df) else special.stdtrit(df, q))


def stars(p: float) -> int:
    """Stata's convention: 3 for p<0.01, 2 for p<0.05, 1 for p<0.1."""
    if not np.isfinite(p):
        return 0
    return 3 if p < 0.01 else 2 if p < 0.05 else 1 if p < 0.1 else 0


# --------------------------------------------------------------------------------------------- preparation


@dataclass
class Design:
    """Rows kept, FE codes and cluster codes of one estimation sample."""

    frame: pd.DataFrame
    rows: np.ndarray  # index labels of the kept rows in the caller's frame
    fe_codes: list[np.ndarray]
    fe_sizes: list[int]
    cl_codes: list[np.ndarray]
    dof: fwl.FEDof
    notes: list[str]


def _split(arg: str | Sequence[str] | None) -> tuple[str, ...]:
    if arg is None:
        return ()
    if isinstance(arg, str):
        return tuple(a.strip() for a in arg.split(",") if a.strip())
    return tuple(arg)


def prepare(frame: pd.DataFrame, columns: Sequence[str], absorb: Sequence[str], cluster: Sequence[str],
            source: str = "data") -> Design:
    """Select complete rows, drop FE singletons, code FEs and clusters, count absorbed df."""
    needed = list(dict.fromkeys([*columns, *absorb, *cluster]))
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise InputError(f"{source}: column(s) {', '.join(missing)} not found; available: "
                         f"{', '.join(map(str, frame.columns[:30]))}")
    notes: list[str] = []
    sub = frame[needed]
    for c in columns:
        if not pd.api.types.is_numeric_dtype(sub[c]) and not pd.api.types.is_bool_dtype(sub[c]):
            raise InputError(f"{source}: column '{c}' is not numeric; convert it or choose another column")
    complete = sub.notna().all(axis=1).to_numpy().copy()
    numeric = sub[list(columns)].to_numpy(dtype=float)
    complete &= np.isfinite(numeric).all(axis=1)
    if not complete.all():
        notes.append(f"{int((~complete).sum())} row(s) with a missing value in {', '.join(needed)} excluded")
    sub = sub.loc[complete]
    if sub.empty:
        raise InputError(f"{source}: no complete rows for {', '.join(needed)}; check for missing values")
    fe_codes = [fwl.factorize(sub[a].to_numpy())[0] for a in absorb]
    if fe_codes:
        keep = fwl.drop_singletons(fe_codes)
        if not keep.all():
            notes.append(f"{int((~keep).sum())} singleton observation(s) dropped (alone in a fixed-effect group)")
            sub = sub.loc[keep]
            fe_codes = [fwl.factorize(sub[a].to_numpy())[0] for a in absorb]
    fe_sizes = [int(c.max()) + 1 for c in fe_codes]
    cl_codes = [fwl.factorize(sub[c].to_numpy())[0] for c in cluster]
    for name, codes in zip(cluster, cl_codes, strict=True):
        g = int(codes.max()) + 1
        if g < 2:
            raise InputError(f"{source}: cluster variable '{name}' has {g} level in the estimation sample; "
                             "clustering needs at least two clusters (choose another cluster variable)")
    dof = fwl.fe_dof(fe_codes, fe_sizes, cl_codes)
    return Design(sub.reset_index(drop=True), sub.index.to_numpy(), fe_codes, fe_sizes, cl_codes, dof, notes)


def _drop_collinear(w: np.ndarray, raw: np.ndarray, names: list[str], protected: set[str],
                    notes: list[str], what: str) -> list[int]:
    """Indices of columns kept after sequentially removing those explained by earlier ones (Stata order)."""
    kept: list[int] = []
    basis = np.empty((w.shape[0], 0))  # orthonormal basis of the kept columns
    for j, name in enumerate(names):
        col = w[:, j]
        if name == "_cons":  # the constant has no variation by design: compare with its own norm
            scale = float(raw.shape[0])
        else:
            scale = float(np.sum((raw[:, j] - raw[:, j].mean()) ** 2)) if raw.shape[0] else 0.0
        # classical Gram–Schmidt applied twice ("twice is enough"): stable residual of col on kept columns
        resid = col - basis @ (basis.T @ col)
        resid = resid - basis @ (basis.T @ resid)
        rss = float(resid @ resid)
        if scale <= 0 or rss <= COLLINEAR_TOL * max(scale, float(col @ col)):
            reason = "has no variation" if scale <= 0 else (
                "is absorbed by the fixed effects" if float(col @ col) <= COLLINEAR_TOL * scale
                else "is collinear with other regressors")
            if name in protected:
                raise InputError(f"{what} '{name}' {reason} in the estimation sample; the model is not "
                                 "identified: remove it or change the fixed effects")
            notes.append(f"{name} omitted because it {reason} (as Stata does)")
            continue
        kept.append(j)
        basis = np.column_stack([basis, resid / np.sqrt(rss)])
    return kept


# --------------------------------------------------------------------------------------------------- OLS


def fit_ols(frame: pd.DataFrame, y: str, x: str | Sequence[str], *, absorb: str | Sequence[str] = (),
            cluster: str | Sequence[str] = (), robust: bool = False, source: str = "data",
            keep_resid: bool = False) -> PanelResult:
    """reghdfe y x, absorb(absorb) vce(cluster cluster): coefficients, clustered SEs, G−1 df t-tests."""
    xs, ab, cl = list(_split(x)), _split(absorb), _split(cluster)
    if not xs:
        raise InputError(f"{source}: give at least one regressor (--x)")
    d = prepare(frame, [y, *xs], ab, cl, source)
    raw = d.frame[[y, *xs]].to_numpy(dtype=float)
    names = list(xs)
    if not ab:
        raw = np.column_stack([raw, np.ones(len(raw))])
        names = [*names, "_cons"]
    w = fwl.demean(raw, d.fe_codes, d.fe_sizes) if ab else raw
    kept = _drop_collinear(w[:, 1:], raw[:, 1:], names, {xs[0]}, d.notes, "regressor")
    names = [names[j] for j in kept]
    xw = w[:, 1:][:, kept]
    yw = w[:, 0]
    return _finish_ols(d, y, names, yw, xw, raw[:, 0], cl, ab, robust, keep_resid)


def _finish_ols(d: Design, y: str, names: list[str], yw: np.ndarray, xw: np.ndarray, yraw: np.ndarray,
                cl: tuple[str, ...], ab: tuple[str, ...], robust: bool, keep_resid: bool) -> PanelResult:
    n, k = xw.shape
    xtx = xw.T @ xw
    bread = _inv(xtx)
    beta = bread @ (xw.T @ yw)
    u = yw - xw @ beta
    df_abs = d.dof.df_ols
    vce, v, df_t, g = _vcov(xw * u[:, None], bread, u, n, k, df_abs, d.cl_codes, robust)
    return PanelResult(
        method="ols", y=y, names=names, coef=beta, vcov=v, nobs=n, df_t=df_t, vce=vce, cluster=cl,
        absorb=ab, n_clusters=g, df_absorbed=df_abs, rss=float(u @ u),
        tss_within=float(((yw - yw.mean()) ** 2).sum()) if not ab else float(yw @ yw),
        tss_overall=float(((yraw - yraw.mean()) ** 2).sum()), notes=d.notes,
        resid=u if keep_resid else None, xw=xw if keep_resid else None, rows=d.rows)


def _inv(a: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.inv(a)
    except np.linalg.LinAlgError as err:
        raise NumericalError("the cross-product matrix is singular after removing collinear columns") from err


def _vcov(scores: np.ndarray, bread: np.ndarray, u: np.ndarray, n: int, k: int, df_abs: int,
          cl_codes: list[np.ndarray], robust: bool, small: bool = True,
          ) -> tuple[str, np.ndarray, float, int | None]:
    dof_resid = n - k - df_abs
    if dof_resid <= 0:
        raise InputError(f"the model has {k} slopes and {df_abs} absorbed df for {n} observations: "
                         "no residual degrees of freedom; use fewer regressors or fixed effects")
    if cl_codes:
        g = pv.n_clusters(cl_codes)
        v = pv.sandwich(bread, pv.meat(scores, cl_codes))
        if small:
            v = v * pv.cluster_factor(n, k, df_abs, g)
        return "cluster", v, float(g - 1) if small else float("inf"), g
    if robust:
        v = pv.sandwich(bread, scores.T @ scores)
        if small:
            v = v * n / dof_resid
        return "robust", v, float(dof_resid) if small else float("inf"), None
    s2 = float(u @ u) / (dof_resid if small else n)
    return "unadjusted", bread * s2, float(dof_resid) if small else float("inf"), None


# -------------------------------------------------------------------------------------------------- 2SLS


def fit_iv(frame: pd.DataFrame, y: str, endog: str | Sequence[str], instruments: str | Sequence[str], *,
           exog: str | Sequence[str] = (), absorb: str | Sequence[str] = (), cluster: str | Sequence[str] = (),
           robust: bool = False, small: bool = True, source: str = "data",
           keep_resid: bool = False) -> PanelResult:
    """ivreghdfe y exog (endog = instruments), absorb() cluster(): 2SLS, first stage, KP/CD/Hansen J."""
    from ctfp.models.panel import ivdiag as diag

    en, zs, ex = list(_split(endog)), list(_split(instruments)), list(_split(exog))
    ab, cl = _split(absorb), _split(cluster)
    if not en or not zs:
        raise InputError(f"{source}: give an endogenous regressor (--endog) and at least one instrument")
    overlap = set(zs) & set(en + ex)
    if overlap:
        raise InputError(f"{source}: {', '.join(sorted(overlap))} cannot be both instrument and regressor")
    d = prepare(frame, [y, *en, *ex, *zs], ab, cl, source)
    cols = [y, *en, *ex, *zs]
    raw = d.frame[cols].to_numpy(dtype=float)
    if not ab:
        raw = np.column_stack([raw, np.ones(len(raw))])
        cols = [*cols, "_cons"]
    w = fwl.demean(raw, d.fe_codes, d.fe_sizes) if ab else raw
    wy = w[:, 0]
    exog_names = [*ex, *([] if ab else ["_cons"])]
    col_of = {c: w[:, i] for i, c in enumerate(cols)}
    raw_of = {c: raw[:, i] for i, c in enumerate(cols)}
    # exogenous regressors collinear with each other / FEs are omitted; the endogenous one is protected
    xnames = [*en, *exog_names]
    xw_all = np.column_stack([col_of[c] for c in xnames])
    kept = _drop_collinear(xw_all, np.column_stack([raw_of[c] for c in xnames]), xnames, set(en),
                           d.notes, "regressor")
    xnames = [xnames[j] for j in kept]
    exog_names = [c for c in exog_names if c in xnames]
    for z in zs:
        zc = col_of[z]
        scale = float(np.sum((raw_of[z] - raw_of[z].mean()) ** 2))
        if scale <= 0 or float(zc @ zc) <= COLLINEAR_TOL * scale:
            raise InputError(f"{source}: instrument '{z}' has no variation left after the fixed effects; "
                             "it cannot identify anything: choose another instrument")
    znames = [*zs, *exog_names]
    zw = np.column_stack([col_of[c] for c in znames])
    znotes: list[str] = []
    kz = _drop_collinear(zw, np.column_stack([raw_of[c] for c in znames]), znames, set(), znotes, "instrument")
    if len(kz) < len(znames):
        raise InputError(f"{source}: the instruments are collinear with each other or the controls "
                         f"({'; '.join(znotes)}); drop the redundant instrument")
    xw = np.column_stack([col_of[c] for c in xnames])
    if len(zs) < len(en):
        raise InputError(f"{source}: {len(en)} endogenous regressor(s) need at least as many instruments")
    n, k = xw.shape
    xhat = zw @ np.linalg.lstsq(zw, xw, rcond=None)[0]  # first-stage fitted values (QR-based, no inverse)
    beta = np.linalg.solve(xhat.T @ xw, xhat.T @ wy)
    u = wy - xw @ beta
    sdof = d.dof.sdofminus
    vce, v, df_t, g = _vcov(xhat * u[:, None], _inv(xhat.T @ xhat), u, n, k, sdof, d.cl_codes, robust, small)
    res = PanelResult(
        method="2sls", y=y, names=xnames, coef=beta, vcov=v, nobs=n, df_t=df_t, vce=vce, cluster=cl,
        absorb=ab, n_clusters=g, df_absorbed=sdof, rss=float(u @ u),
        tss_within=float(((wy - wy.mean()) ** 2).sum()) if not ab else float(wy @ wy),
        tss_overall=float(((raw[:, 0] - raw[:, 0].mean()) ** 2).sum()), notes=d.notes,
        resid=u if keep_resid else None, xw=xhat if keep_resid else None, rows=d.rows)
    if len(en) == 1:
        res.first_stage, res.diagnostics = diag.iv_diagnostics(
            x=col_of[en[0]], z_excl=np.column_stack([col_of[c] for c in zs]),
            z_exog=np.column_stack([col_of[c] for c in exog_names]) if exog_names else np.empty((n, 0)),
            u=u, z_all=zw, x_all=xw, y=wy, cl_codes=d.cl_codes, sdofminus=sdof, robust=robust, small=small,
            endog=en[0], instruments=zs)
    else:
        res.notes.append("first-stage and Kleibergen–Paap diagnostics are reported for one endogenous "
                         "regressor only")
    return res
