"""The report's words in English and Chinese: one message catalogue, not strings scattered over the writers.

`tr(key, lang, **fields)` returns the message for `lang` ("en" | "zh"), formatted with `fields`. Chinese terms
are those of Chinese economics journals (and of Shen & Chao 2025 where the reference study prints them):
变量, 控制变量 是, 城市固定效应, 年份固定效应, 括号内为t值, 样本量. Numbers are never translated.
"""

from __future__ import annotations

from typing import Literal

Lang = Literal["en", "zh"]
LANGS: tuple[str, ...] = ("en", "zh")

# key -> (English, Chinese). Fields in braces are filled by `tr`.
MESSAGES: dict[str, tuple[str, str]] = {
    # ---- regression tables
    "reg.variable": ("Variable", "变量"),
    "reg.controls": ("Controls", "控制变量"),
    "reg.yes": ("Yes", "是"),
    "reg.no": ("No", "否"),
    "reg.fe": ("{name} FE", "{name}固定效应"),
    "reg.cluster": ("Clustered by", "聚类层级"),
    "reg.robust": ("robust", "稳健标准误"),
    "reg.constant": ("Constant", "常数项"),
    "reg.n": ("N", "N"),
    "reg.r2": ("R²", "R²"),
    "reg.r2_within": ("Within R²", "组内R²"),
    "reg.kp_lm": ("Kleibergen-Paap rk LM", "Kleibergen-Paap rk LM统计量"),
    "reg.kp_f": ("Kleibergen-Paap Wald rk F", "Kleibergen-Paap Wald rk F统计量"),
    "reg.cd_f": ("Cragg-Donald Wald F", "Cragg-Donald Wald F统计量"),
    "reg.published": ("Published", "原文"),
    "reg.replica": ("Replica", "复现"),
    "reg.table": ("Table {id}", "表{id}"),
    "reg.first_stage": ("first stage", "第一阶段"),
    "reg.note_stars": ("*** p<0.01, ** p<0.05, * p<0.1", "***、**、*依次表示在1%、5%和10%的水平上显著"),
    "reg.note_t": ("t statistics in parentheses", "括号内为t值"),
    "reg.note_se": ("Standard errors in parentheses", "括号内为标准误"),
    "reg.note_kp": ("p-value of the KP LM statistic in brackets", "中括号内为p值"),
    "reg.note_pairs": ("Published: as printed in the paper; Replica: this run's estimate on its panel",
                       "原文:论文所报告的数值;复现:本次运行在其面板上的估计值"),
    "reg.note_cluster": ("standard errors clustered by {what} (t with G−1 df)", "标准误聚类到{what}层面(t分布自由度为G−1)"),
    "reg.note_robust": ("heteroskedasticity-robust standard errors", "异方差稳健标准误"),
    "reg.note_hidden": ("Controls: {terms}", "控制变量:{terms}"),
    "reg.note_diff": ("Difference in {term} between {a} and {b}: {method} p = {p}",
                      "{a}与{b}的{term}系数组间差异检验({method}):p = {p}"),
    "reg.note_diff_pub": (" (published {p})", "(原文 {p})"),
    "reg.method.permutation": ("permutation", "费舍尔组合检验"),
    "reg.method.chow": ("Chow", "邹检验"),
    "reg.method.suest": ("SUEST", "似无相关检验"),
    "reg.note_prefix": ("Note: ", "注:"),
    "reg.sep": ("; ", ";"),
    "reg.end": (".", "。"),
}

# Plain-words notes of ctfp.inference.quiet (terminal, notes.json, the report): what a captured third-party
# warning means for the result. Fields: where, package, example, count, and the kind's own (k, model, category).
NOTES: dict[str, tuple[str, str]] = {
    "pareto_k": ("{where}: Pareto k > {k} for some observations - its LOO estimate and any LOO comparison are "
                 "unreliable",
                 "{where}:部分观测的Pareto k > {k},其LOO估计及LOO比较不可靠"),
    "loo_bad_k": ("LOO for `{model}`: {count} observation(s) with Pareto k > {k} - its LOO comparison is unreliable",
                  "`{model}`的LOO:{count}个观测的Pareto k > {k},其LOO比较不可靠"),
    "overflow": ("{where}: {count} floating-point overflow warning(s) in {package} (\u201c{example}\u201d) - an "
                 "intermediate value overflowed; the result stands only where its solver status or convergence "
                 "gate passed",
                 "{where}:{package}出现{count}次浮点溢出警告(\u201c{example}\u201d),中间计算溢出;"
                 "仅当求解状态或收敛检验通过时结果才可用"),
    "invalid_value": ("{where}: {count} invalid-value or division warning(s) in {package} (\u201c{example}\u201d) - "
                      "a NaN appeared in an intermediate step; check that step's status in the report",
                      "{where}:{package}出现{count}次无效值或除零警告(\u201c{example}\u201d),中间步骤出现NaN;"
                      "请在报告中核对该步骤的状态"),
    "numba": ("{where}: {count} numba notice(s) (\u201c{example}\u201d) - speed only, the results are the same",
              "{where}:{count}条numba提示(\u201c{example}\u201d),只影响速度,不影响结果"),
    "no_compiler": ("PyTensor found no C compiler - models run in Python mode: slower, the same results",
                    "PyTensor未找到C编译器,模型以Python模式运行:更慢,结果相同"),
    "sampler": ("{where}: sampler warning (\u201c{example}\u201d) - the convergence gate in the report decides "
                "whether this fit is used",
                "{where}:抽样器警告(\u201c{example}\u201d),是否采用该拟合由报告中的收敛检验决定"),
    "deprecation": ("{where}: {count} deprecation notice(s) from {package} - about future versions of the library, "
                    "not these results",
                    "{where}:{package}的{count}条弃用提示,涉及该库的未来版本,与本次结果无关"),
    "other": ("{where}: {count} {category} from {package}: \u201c{example}\u201d",
              "{where}:{package}的{count}条{category}:\u201c{example}\u201d"),
}


def note_text(kind: str, lang: str, fields: dict[str, object], count: int = 1) -> str:
    """The plain sentence of a captured notice (NOTES[kind]) in `lang`; a kind the catalogue lacks reads as
    "other"."""
    en, zh = NOTES.get(kind, NOTES["other"])
    values = {"where": "", "package": "", "example": "", "category": "warning", "k": "0.7", "model": "", **fields,
              "count": count}
    text = (zh if lang == "zh" else en).format(**values)
    return text.removeprefix(": ").removeprefix(":")


# Names of common unit and period columns, for "City FE" / "城市固定效应". Other names are shown as they are.
DIMENSIONS: dict[str, tuple[str, str]] = {
    "city": ("City", "城市"),
    "year": ("Year", "年份"),
    "province": ("Province", "省份"),
    "provyear": ("Province × year", "省份×年份"),
    "state": ("State", "州"),
    "county": ("County", "县"),
    "firm": ("Firm", "企业"),
    "industry": ("Industry", "行业"),
    "country": ("Country", "国家"),
    "region": ("Region", "地区"),
    "month": ("Month", "月份"),
    "quarter": ("Quarter", "季度"),
    "unit": ("Unit", "个体"),
    "period": ("Period", "时间"),
}


def check_lang(lang: str) -> Lang:
    """`lang` itself when it is a supported language; ValueError otherwise (callers turn it into InputError)."""
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; use one of {', '.join(LANGS)}")
    return lang  # type: ignore[return-value]


def tr(key: str, lang: str, **fields: object) -> str:
    """The message `key` in `lang`, formatted with `fields` (KeyError for an unknown key: a bug, not input)."""
    en, zh = MESSAGES[key]
    text = zh if lang == "zh" else en
    return text.format(**fields) if fields else text


def dimension(name: str, lang: str) -> str:
    """A unit/period column's display name: `city` -> "City" / "城市"; unknown names as they are."""
    pair = DIMENSIONS.get(name)
    if pair is None:
        return name
    return pair[1] if lang == "zh" else pair[0]
