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
singleton FE groups (reghdfe's default). An infinite cell is an error (it is not missing).

Few clusters (docs/panel.md, "Few clusters"): G < 2 is refused; G < FEW_CLUSTERS is a loud warning, with
t(G−1) p-values and intervals as Stata prints them; a coefficient whose cluster-robust variance is numerically
zero (G clusters carry no information on it, e.g. two clusters with both FEs absorbed) gets no SE, t or p
(NaN, with a warning), never a zero SE; a cluster meat of rank below K is noted. An exact fit (zero residuals)
likewise reports no SEs. Regressors collinear with earlier ones or with the FEs are omitted
with a note, like Stata's "omitted because of collinearity"; a collinear endogenous regressor or an
instrument without variation is an error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import special  # not scipy.stats: it costs ~1 s of import on every `ctfp fe`

from ctfp.core.errors import InputError, NumericalError
from ctfp.models.panel import fwl
from ctfp.models.panel import vcov as pv

COLLINEAR_TOL = 1e-9
FEW_CLUSTERS = 10  # below this many clusters a fit carries a loud warning (Cameron & Miller 2015)
ZERO_VARIANCE_RATIO = 1e-8  # clustered / heteroskedasticity-robust variance below this: no information

# Hook for callers fitting many models on one sample (ctfp.models.panel.within.WithinCache): given the raw
# columns (n x p), the design and the column names, return them with the fixed effects projected out.
Demeaner = Callable[[np.ndarray, "Design", list[str]], np.ndarray]


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
    warnings: list[str] = field(default_factory=list)  # what makes the inference unreliable; printed loudly
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
        return 2.0 * t_sf(np.abs(self.t), self.df_t)

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
            "warnings": list(self.warnings),
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


def t_sf(x: np.ndarray, df: float) -> np.ndarray:
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


def _distinct(source: str, roles: dict[str, list[str]]) -> None:
    """Each variable plays one role once: the outcome among the regressors, or a name given twice, is an error
    (it would otherwise be an exact fit or a silently omitted copy)."""
    seen: dict[str, str] = {}
    for flag, names in roles.items():
        for name in names:
            if name in seen:
                where = f"twice in {flag}" if seen[name] == flag else f"in both {seen[name]} and {flag}"
                raise InputError(f"{source}: '{name}' is given {where}; name each variable once")
            seen[name] = flag


def prepare(frame: pd.DataFrame, columns: Sequence[str], absorb: Sequence[str], cluster: Sequence[str],
            source: str = "data") -> Design:
    """Select complete rows, drop FE singletons, code FEs and clusters, count absorbed df."""
    needed = list(dict.fromkeys([*columns, *absorb, *cluster]))
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        sheets = list(frame.attrs.get("sheets", []) or [])
        hint = (f"; the workbook also has sheet(s) {', '.join(repr(t) for t in sheets[1:])}: name one as "
                "FILE.xlsx#SHEET" if len(sheets) > 1 else "")
        raise InputError(f"{source}: column(s) {', '.join(missing)} not found; available: "
                         f"{', '.join(map(str, frame.columns[:30]))}{hint}")
    notes: list[str] = []
    sub = frame[needed]
    for c in columns:
        if not pd.api.types.is_numeric_dtype(sub[c]) and not pd.api.types.is_bool_dtype(sub[c]):
            raise InputError(f"{source}: column '{c}' is not numeric; convert it or choose another column")
    complete = sub.notna().all(axis=1).to_numpy().copy()
    numeric = sub[list(dict.fromkeys(columns))].to_numpy(dtype=float)
    inf = np.isinf(numeric)
    if inf.any():
        i, j = (int(a[0]) for a in np.nonzero(inf))
        where = f"row {i + 2}" if frame.attrs.get("source") else f"index {frame.index[i]!r}"
        raise InputError(f"{source}: column '{list(dict.fromkeys(columns))[j]}', {where}: value "
                         f"{numeric[i, j]:g} is infinite ({int(inf.any(axis=1).sum())} row(s) with an infinite "
                         "value); fix or drop the cell")
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
            if sub.empty:
                raise InputError(f"{source}: every observation is alone in a level of {', '.join(absorb)} "
                                 "(singletons are dropped, as reghdfe does): nothing is left to estimate; "
                                 "absorb fewer fixed effects or use more data")
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


def _demean(raw: np.ndarray, d: Design, names: list[str]) -> np.ndarray:
    return fwl.demean(raw, d.fe_codes, d.fe_sizes)


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
            keep_resid: bool = False, demean: Demeaner | None = None) -> PanelResult:
    """reghdfe y x, absorb(absorb) vce(cluster cluster): coefficients, clustered SEs, G−1 df t-tests."""
    xs, ab, cl = list(_split(x)), _split(absorb), _split(cluster)
    if not xs:
        raise InputError(f"{source}: give at least one regressor (--x)")
    _distinct(source, {"--y": [y], "--x": xs})
    d = prepare(frame, [y, *xs], ab, cl, source)
    raw = d.frame[[y, *xs]].to_numpy(dtype=float)
    unit = pow2_scales(raw)
    raw = raw / unit  # exact: results equal the unscaled ones, and nothing over- or underflows
    names = list(xs)
    if not ab:
        raw = np.column_stack([raw, np.ones(len(raw))])
        names = [*names, "_cons"]
    w = (demean or _demean)(raw, d, [y, *xs]) if ab else raw
    kept = _drop_collinear(w[:, 1:], raw[:, 1:], names, {xs[0]}, d.notes, "regressor")
    names = [names[j] for j in kept]
    xw = w[:, 1:][:, kept]
    yw = w[:, 0]
    res = _finish_ols(d, y, names, yw, xw, raw[:, 0], cl, ab, robust, keep_resid)
    of = dict(zip(xs, unit[1:], strict=True))
    return _unscale(res, float(unit[0]), np.array([of.get(nm, 1.0) for nm in names]))


def pow2_scales(a: np.ndarray) -> np.ndarray:
    """Per column, a power of two to divide it by: 1 in ordinary ranges, else one near its largest |value|.

    Dividing by a power of two is exact in binary floating point, so a column in units of 1e-200 or 1e200 no
    longer under- or overflows (x'x of 1e200 is inf) nor is mistaken for one without variation, and the fit in
    the caller's units is recovered exactly by `_unscale`."""
    m = np.max(np.abs(a), axis=0) if a.shape[0] else np.ones(a.shape[1])
    _, e = np.frexp(np.where(np.isfinite(m) & (m > 0), m, 1.0))
    # ordinary magnitudes are left alone (scale 1), so every fit there stays bit-identical (pivoting in the
    # solves may differ under scaling); only columns beyond 2^±64 are brought to max |value| in [1, 2)
    return np.where((e > 64) | (e < -64), np.ldexp(1.0, e - 1), 1.0)


def _unscale(res: PanelResult, dy: float, dx: np.ndarray) -> PanelResult:
    """Back to the caller's units: b = b̃·dy/dx, V = Ṽ·dy²/(dx dx'), sums of squares · dy²."""
    res.coef = res.coef * dy / dx
    scaled = np.diag(res.vcov).copy()
    with np.errstate(over="ignore", under="ignore"):
        res.vcov = res.vcov * dy / dx[:, None] * dy / dx[None, :]
    lost = np.isfinite(scaled) & (scaled > 0) & ~(np.isfinite(np.diag(res.vcov)) & (np.diag(res.vcov) > 0))
    for j in np.flatnonzero(lost):  # a variance beyond float64's range (SE² of 1e-170 is 1e-340): never 0 or inf
        res.warnings.append(f"the variance of {res.names[j]} is not representable in these units (its square "
                            "under- or overflows); no SE, t or p is reported for it: rescale the variable")
        res.vcov[j, :] = np.nan
        res.vcov[:, j] = np.nan
    res.rss, res.tss_within, res.tss_overall = (v * dy * dy for v in (res.rss, res.tss_within, res.tss_overall))
    if res.resid is not None:
        res.resid = res.resid * dy
    if res.xw is not None:
        res.xw = res.xw * dx
    return res


def _finish_ols(d: Design, y: str, names: list[str], yw: np.ndarray, xw: np.ndarray, yraw: np.ndarray,
                cl: tuple[str, ...], ab: tuple[str, ...], robust: bool, keep_resid: bool) -> PanelResult:
    n, k = xw.shape
    xtx = xw.T @ xw
    bread = _inv(xtx)
    beta = bread @ (xw.T @ yw)
    u = yw - xw @ beta
    df_abs = d.dof.df_ols
    vce, v, df_t, g = _vcov(xw * u[:, None], bread, u, n, k, df_abs, d.cl_codes, robust)
    warns: list[str] = []
    v = guard_variance(v, xw * u[:, None], bread, u, yw, names, cl, g, d.notes, warns)
    return PanelResult(
        method="ols", y=y, names=names, coef=beta, vcov=v, nobs=n, df_t=df_t, vce=vce, cluster=cl,
        absorb=ab, n_clusters=g, df_absorbed=df_abs, rss=float(u @ u),
        tss_within=float(((yw - yw.mean()) ** 2).sum()) if not ab else float(yw @ yw),
        tss_overall=float(((yraw - yraw.mean()) ** 2).sum()), notes=d.notes, warnings=warns,
        resid=u if keep_resid else None, xw=xw if keep_resid else None, rows=d.rows)


def _inv(a: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.inv(a)
    except np.linalg.LinAlgError as err:
        raise NumericalError("the cross-product matrix is singular after removing collinear columns") from err


def guard_variance(v: np.ndarray, scores: np.ndarray, bread: np.ndarray, u: np.ndarray, y: np.ndarray,
                   names: list[str], cluster: Sequence[str], g: int | None, notes: list[str],
                   warns: list[str]) -> np.ndarray:
    """Never a zero SE presented as a result: blank (NaN) the variances that carry no information, and say why.

    - exact fit (residuals zero up to rounding): every SE is blanked;
    - G < FEW_CLUSTERS: a warning (Stata's t(G−1) reference is kept);
    - a coefficient whose clustered variance is below ZERO_VARIANCE_RATIO × its heteroskedasticity-robust
      variance (the clusters' summed scores are zero in its direction): its row and column are blanked;
    - a cluster meat of rank below K is noted (a joint test of more than `rank` coefficients is impossible);
    - without clusters, a robust variance below ZERO_VARIANCE_RATIO × the homoskedastic one (leverage-1
      observations) is blanked likewise.
    """
    v = v.copy()
    k = v.shape[0]
    if float(u @ u) <= 1e-24 * max(float(y @ y), 1e-300):
        warns.append("the regressors fit the outcome exactly (all residuals are zero): standard errors are "
                     "not defined; none are reported")
        v[:] = np.nan
        return v
    if g is None:  # robust (HC) or unadjusted: compare with the homoskedastic variance of the same fit
        v_iid = bread * (float(u @ u) / max(u.size, 1))
        for j in range(k):
            if not (v[j, j] > ZERO_VARIANCE_RATIO * v_iid[j, j]):
                warns.append(f"the robust variance of {names[j]} is numerically zero: the observations that "
                             "identify it have zero residuals (e.g. a regressor that is nonzero in one "
                             "observation only, leverage 1); no SE, t or p is reported for it")
                v[j, :] = np.nan
                v[:, j] = np.nan
        return v
    label = " × ".join(cluster)
    if g < FEW_CLUSTERS:
        warns.append(f"only {g} clusters ({label}): cluster-robust standard errors are unreliable with fewer "
                     f"than {FEW_CLUSTERS} (Cameron & Miller 2015); p-values and intervals use t(G−1) = t({g - 1}) "
                     "as Stata does; treat them with caution")
    v_hc = pv.sandwich(bread, scores.T @ scores)
    scale = np.sqrt(np.clip(np.diag(v_hc), 1e-300, None))
    eig = np.linalg.eigvalsh(v / np.outer(scale, scale))  # the clustered covariance in correlation units
    rank = int(np.sum(eig > 1e-10 * max(float(eig.max()), 1e-300)))
    if rank < k:
        notes.append(f"the cluster-robust covariance has rank {rank} < {k} coefficients ({g} clusters): each "
                     f"SE is reported, but a joint test of more than {rank} coefficient(s) is not possible")
    for j in range(k):
        if not (v[j, j] > ZERO_VARIANCE_RATIO * v_hc[j, j]):
            warns.append(f"the cluster-robust variance of {names[j]} is numerically zero: its {g} clusters' "
                         "summed scores carry no information on it (e.g. two clusters with both fixed effects "
                         "absorbed); no SE, t or p is reported for it")
            v[j, :] = np.nan
            v[:, j] = np.nan
    return v


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


def _not_identified(xhat: np.ndarray, xw: np.ndarray, names: list[str], endog: list[str]) -> list[str]:
    """Endogenous regressors whose first-stage fitted values are (numerically) explained by the other columns
    of the fitted design: the excluded instruments do not move them, so xhat'x is singular."""
    out: list[str] = []
    for j, name in enumerate(names):
        if name not in endog:
            continue
        others = np.delete(xhat, j, axis=1)
        col = xhat[:, j]
        resid = col - others @ np.linalg.lstsq(others, col, rcond=None)[0] if others.shape[1] else col
        if float(resid @ resid) <= COLLINEAR_TOL * max(float(xw[:, j] @ xw[:, j]), 1e-300):
            out.append(name)
    return out



def fit_iv(frame: pd.DataFrame, y: str, endog: str | Sequence[str], instruments: str | Sequence[str], *,
           exog: str | Sequence[str] = (), absorb: str | Sequence[str] = (), cluster: str | Sequence[str] = (),
           robust: bool = False, small: bool = True, source: str = "data",
           keep_resid: bool = False, demean: Demeaner | None = None) -> PanelResult:
    """ivreghdfe y exog (endog = instruments), absorb() cluster(): 2SLS, first stage, KP/CD/Hansen J."""
    from ctfp.models.panel import ivdiag as diag

    en, zs, ex = list(_split(endog)), list(_split(instruments)), list(_split(exog))
    ab, cl = _split(absorb), _split(cluster)
    if not en or not zs:
        raise InputError(f"{source}: give an endogenous regressor (--endog) and at least one instrument")
    overlap = set(zs) & set(en + ex)
    if overlap:
        raise InputError(f"{source}: {', '.join(sorted(overlap))} cannot be both instrument and regressor")
    _distinct(source, {"--y": [y], "--endog": en, "--exog": ex, "--instruments": zs})
    d = prepare(frame, [y, *en, *ex, *zs], ab, cl, source)
    cols = [y, *en, *ex, *zs]
    raw = d.frame[cols].to_numpy(dtype=float)
    unit = dict(zip(cols, pow2_scales(raw), strict=True))
    raw = raw / np.array([unit[c] for c in cols])  # exact scaling, as in fit_ols
    if not ab:
        raw = np.column_stack([raw, np.ones(len(raw))])
        cols = [*cols, "_cons"]
    w = (demean or _demean)(raw, d, cols) if ab else raw
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
    sdof = d.dof.sdofminus
    z_excl = np.column_stack([col_of[c] for c in zs])
    z_exog = np.column_stack([col_of[c] for c in exog_names]) if exog_names else np.empty((n, 0))
    unidentified = _not_identified(xhat, xw, xnames, en)
    if unidentified:
        # the statistics say how far from identification the first stage is; then one clear line
        why = f"the excluded instrument(s) {', '.join(zs)} do not move {', '.join(unidentified)} once the " \
              "fixed effects and controls are partialled out"
        if len(en) == 1:
            fs, dg = diag.iv_diagnostics(
                x=col_of[en[0]], z_excl=z_excl, z_exog=z_exog, u=np.zeros(n), z_all=zw, x_all=xw, y=wy,
                cl_codes=d.cl_codes, sdofminus=sdof, robust=robust, small=small, endog=en[0], instruments=zs,
                with_j=False)
            why += (f" (first-stage partial R² = {fs.partial_r2:.3g}, Kleibergen-Paap rk LM = {dg['kp_rk_lm']:.3g}, "
                    f"p = {dg['kp_rk_lm_p']:.3g}, KP rk Wald F = {dg['kp_rk_wald_f']:.3g})")
        raise NumericalError(f"{source}: {why}: the second stage is not identified; choose instruments that "
                             "are correlated with the endogenous regressor")
    beta = np.linalg.solve(xhat.T @ xw, xhat.T @ wy)
    u = wy - xw @ beta
    vce, v, df_t, g = _vcov(xhat * u[:, None], _inv(xhat.T @ xhat), u, n, k, sdof, d.cl_codes, robust, small)
    warns: list[str] = []
    v = guard_variance(v, xhat * u[:, None], _inv(xhat.T @ xhat), u, wy, xnames, cl, g, d.notes, warns)
    res = PanelResult(
        method="2sls", y=y, names=xnames, coef=beta, vcov=v, nobs=n, df_t=df_t, vce=vce, cluster=cl,
        absorb=ab, n_clusters=g, df_absorbed=sdof, rss=float(u @ u),
        tss_within=float(((wy - wy.mean()) ** 2).sum()) if not ab else float(wy @ wy),
        tss_overall=float(((raw[:, 0] - raw[:, 0].mean()) ** 2).sum()), notes=d.notes, warnings=warns,
        resid=u if keep_resid else None, xw=xhat if keep_resid else None, rows=d.rows)
    if len(en) == 1:
        res.first_stage, res.diagnostics = diag.iv_diagnostics(
            x=col_of[en[0]], z_excl=z_excl, z_exog=z_exog,
            u=u, z_all=zw, x_all=xw, y=wy, cl_codes=d.cl_codes, sdofminus=sdof, robust=robust, small=small,
            endog=en[0], instruments=zs)
        res.warnings.extend(res.diagnostics.pop("warnings", []))
        fs = res.first_stage  # first stage of x on z: coefficients in units of x per z
        dz = np.array([unit[c] for c in zs])
        fs.coef, fs.se = fs.coef * unit[en[0]] / dz, fs.se * unit[en[0]] / dz
    else:
        res.notes.append("first-stage and Kleibergen–Paap diagnostics are reported for one endogenous "
                         "regressor only")
    return _unscale(res, unit[y], np.array([unit.get(c, 1.0) for c in xnames]))
