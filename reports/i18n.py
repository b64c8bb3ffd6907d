"""The report's words in English and Chinese: one message catalogue, not strings scattered over the writers.

Two ways in, one catalogue: `tr(key, lang, **fields)` returns the keyed message (regression tables, notes) for
`lang` ("en" | "zh"); the report's prose goes through `_(english, **fields)` (gettext style: the English text
is the key, `ZH` its Chinese), in the language set by `use_language(lang)` around a build. Chinese terms
are those of Chinese economics journals (and of Shen & Chao 2025 where the reference study prints them):
变量, 控制变量 是, 城市固定效应, 年份固定效应, 括号内为t值, 样本量. Numbers are never translated.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
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
    "fork": ("{where}: the sampler's worker processes were forked from a multi-threaded process, which Python "
             "warns can deadlock; the step finished, so it did not",
             "{where}:抽样器的工作进程由多线程进程fork而来,Python提示这可能导致死锁;该步骤已完成,未发生死锁"),
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


# ---------------------------------------------------------------------------------------------- report prose
_LANG: ContextVar[str] = ContextVar("ctfp_report_language", default="en")
MISSING: set[str] = set()  # English texts asked for in Chinese that the catalogue lacks (a test keeps it empty)


@contextmanager
def use_language(lang: str) -> Iterator[str]:
    """Set the language of `_()` for the block (one report build)."""
    token = _LANG.set(check_lang(lang))
    try:
        yield lang
    finally:
        _LANG.reset(token)


def current_language() -> str:
    return _LANG.get()


def _(text: str, **fields: object) -> str:
    """`text` in the current language (ZH[text] for Chinese; the English itself otherwise), then formatted."""
    if _LANG.get() == "zh":
        zh = ZH.get(text)
        if zh is None:
            MISSING.add(text)
        else:
            text = zh
    return text.format(**fields) if fields else text


def split_names(split: str) -> tuple[str, str, str] | None:
    """(split name, level-1 label, level-0 label) of a known split column, in the current language."""
    pair = SPLITS.get(split)
    if pair is None:
        return None
    return pair[1] if _LANG.get() == "zh" else pair[0]


# Known split columns of the reference study (as the paper names its groups).
SPLITS: dict[str, tuple[tuple[str, str, str], tuple[str, str, str]]] = {
    "g_ua": (("Urban agglomeration", "UA city", "non-UA city"), ("城市群", "城市群城市", "非城市群城市")),
    "g_resource": (("Resource endowment", "resource-based", "non-resource"), ("资源禀赋", "资源型", "非资源型")),
    "g_attention": (("Gov. environmental attention", "high attention", "low attention"),
                    ("政府环保关注度", "高政府环保关注度", "低政府环保关注度")),
    "g_envinv": (("Environmental investment", "high investment", "low investment"),
                 ("环保投资", "高环保投资", "低环保投资")),
    "g_hum": (("Human capital", "high human capital", "low human capital"), ("人力资本", "高人力资本", "低人力资本")),
    "g_gcons": (("Green consumption", "high green consumption", "low green consumption"),
                ("绿色消费", "高绿色消费", "低绿色消费")),
}

ZH: dict[str, str] = {}  # filled below, grouped by where the text appears

# Section titles, lead lines and the page frame.
ZH.update({
    "ctfp report": "ctfp 报告",
    "Run report": "运行报告",
    "1 · Data": "1 · 数据",
    "2 · Carbon TFP (SBM-DEA)": "2 · 碳全要素生产率(SBM-DEA)",
    "3 · Frequentist replicas": "3 · 频率学派复现",
    "4 · Heterogeneity across groups": "4 · 组间异质性",
    "5 · Model checking": "5 · 模型检验",
    "6 · Validation summary": "6 · 验证汇总",
    "7 · Notes on this run": "7 · 本次运行的提示",
    "At a glance": "概览",
    "run folder": "运行目录",
    "data source": "数据来源",
    "run created": "运行时间",
    "report built": "报告生成时间",
    "synthetic": "合成数据",
    "user": "用户数据",
    "unknown": "未知",
    "also": "另存为",
    "Missing:": "缺失:",
    "SYNTHETIC DATA — not real observations": "合成数据(SYNTHETIC)— 并非真实观测",
    "This run uses a synthetic panel (simulated values from a documented data-generating process). The numbers "
    "show how the method behaves; they are not evidence about the real units.":
        "本次运行使用合成面板(按已记录的数据生成过程模拟的数值)。这些数字展示方法的表现,并不构成关于真实个体的证据。",
    "Colours throughout:": "全文配色:",
    "published": "原文",
    "frequentist replica on this panel": "本面板上的频率学派复现",
    "Bayesian posterior": "贝叶斯后验",
    "Posterior intervals: {ci}; frequentist intervals: 95% confidence intervals.":
        "后验区间:{ci};频率学派区间:95%置信区间。",
    "Stars: *** p<0.01, ** p<0.05, * p<0.1; t-values in parentheses.":
        "***、**、*依次表示在1%、5%和10%的水平上显著;括号内为t值。",
    "Source: {source}{input}. Panel: {nobs} observations, {units} units × {periods} periods ({first}–{last}), "
    "{balanced}.": "来源:{source}{input}。面板:{nobs}个观测值,{units}个个体 × {periods}期({first}–{last}),{balanced}。",
    ". ": "。",
    "SYNTHETIC panel": "合成面板(SYNTHETIC)",
    "your panel": "用户面板",
    "number of observations": "观测值个数",
    "balanced": "平衡面板",
    "unbalanced": "非平衡面板",
    "The paper: {n} observations.": "原文:{n}个观测值。",
    "CTFP is Tone's SBM with CO2 as an undesirable output. Of {n} observations, {k} ({share}) lie on the frontier "
    "(CTFP = 1), in {units} units; mean CTFP {mean}.":
        "碳全要素生产率(CTFP)由Tone的SBM模型测算,CO2为非期望产出。{n}个观测值中有{k}个({share})位于前沿面"
        "(CTFP = 1),分属{units}个个体;CTFP均值为{mean}。",
    "(paper: {m})": "(原文:{m})",
    "Each table as papers print it: models as columns, coefficients with stars and t in parentheses.":
        "各表按论文的排版呈现:每列一个模型,系数附显著性星号,括号内为t值。",
    "Where the study has published values every model is a Published | Replica pair, and every published cell is "
    "judged below the table: sign: same sign; stars: same significance band; pub. in CI: the published coefficient "
    "lies inside the replica's 95% CI; statistics (N, R², KP) are ✓ when they match to the printed precision.":
        "研究有原文数值时,每个模型分为“原文 | 复现”两列,表下逐格判定:符号:符号相同;星号:显著性水平相同;"
        "原文在CI内:原文系数落在复现的95%置信区间内;统计量(N、R²、KP)按原文印刷精度一致时记为✓。",
    "First the average effect in every fit; then the slope of every group of every split, its posterior beside the "
    "split-sample regression replicated on this panel, and each between-group difference with P(difference > 0) "
    "next to the replica's permutation p.":
        "先给出各拟合的平均效应;再给出每种分组中各组的斜率,其后验与本面板上复现的分样本回归并列,"
        "以及每个组间差异的P(差异 > 0)与复现的置换检验p值。",
    "Gate per fit: R-hat ≤ 1.01, bulk and tail ESS ≥ 400, zero divergences. The predictive check asks whether each "
    "likelihood reproduces the observations exactly on the frontier.":
        "每个拟合的收敛检验:R-hat ≤ 1.01,bulk与tail ESS ≥ 400,无发散。预测检验考察各似然能否再现恰好位于前沿面的观测值。",
    "Without a log_likelihood (not in LOO):": "无log_likelihood(未参与LOO):",
    "What the run's steps reported, each kind once, in plain words.": "本次运行各步骤的提示,每类一次,用平实的语言说明。",
    "The messages themselves are in `log.txt` in the run folder.": "原始信息见运行目录中的`log.txt`。",
    "Built by `ctfp report`. Figures: `figures/*.png`, `.svg` and `.pdf`; tables: `tables/*.csv` in the run folder; "
    "`ctfp table` writes the regression tables as LaTeX, Word, Markdown or HTML. Posterior plots drawn with ArviZ "
    "(arviz_plots); frequentist overlays with matplotlib.":
        "由`ctfp report`生成。图:运行目录中的`figures/*.png`、`.svg`与`.pdf`;表:`tables/*.csv`;"
        "`ctfp table`可将回归表导出为LaTeX、Word、Markdown或HTML。后验图由ArviZ(arviz_plots)绘制,"
        "频率学派叠加图由matplotlib绘制。",
    "Figure labels are in English: no Chinese font is installed (Debian: fonts-noto-cjk).":
        "图中标签为英文:未安装中文字体(Debian:fonts-noto-cjk)。",
})

# Glance lines.
ZH.update({
    "{label}, {table} {column}": "{label},{table} {column}",
    "published {pub} {t}": "原文 {pub} {t}",
    "replica {rep} {t}": "复现 {rep} {t}",
    "Average effect, posterior (headline model)": "平均效应,后验(基准模型)",
    "{mean}, 95% ETI {ci}, P(> 0) = {p}": "{mean},95% ETI {ci},P(> 0) = {p}",
    "Replica vs published coefficients": "复现与原文系数",
    "same sign {a}/{n} · same stars {b}/{n} · published inside the replica's 95% CI {c}/{n}":
        "符号相同 {a}/{n} · 星号相同 {b}/{n} · 原文落在复现95%置信区间内 {c}/{n}",
    "posterior {mean}, P(diff > 0) = {p}": "后验 {mean},P(差异 > 0) = {p}",
    "Published claims supported": "原文结论获支持",
    "by the replica {a}/{n} · by the posterior {b}/{n}": "复现支持 {a}/{n} · 后验支持 {b}/{n}",
    "Sampler gate": "抽样收敛检验",
    "{a} of {n} fits passed": "{n}个拟合中{a}个通过",
    " — see Model checking": " — 见模型检验",
})

# Missing pieces (the commands stay as they are).
ZH.update({
    "run.json is missing, so the data source is unknown: rebuild the run with `ctfp run STUDY.toml --out {root}`.":
        "缺少run.json,数据来源未知:请用`ctfp run STUDY.toml --out {root}`重建。",
    "panel/analysis.csv is missing: produce it with `ctfp run STUDY.toml --out {root}`.":
        "缺少panel/analysis.csv:请用`ctfp run STUDY.toml --out {root}`生成。",
    "tables/table1.csv is missing: `ctfp run STUDY.toml --out {root}` writes it.":
        "缺少tables/table1.csv:`ctfp run STUDY.toml --out {root}`会写入。",
    "Table 1 · Descriptive statistics": "表1 · 描述性统计",
    "No CTFP scores: dea/scores.csv is missing and the panel has no `ctfp` column; score the panel with "
    "`ctfp run STUDY.toml --out {root}` (its [[measure]]).":
        "没有CTFP得分:缺少dea/scores.csv且面板无`ctfp`列;请用`ctfp run STUDY.toml --out {root}`测算(其[[measure]])。",
    "tables/replicas.csv is missing: run the study's [[tables]] with `ctfp run STUDY.toml --out {root}`.":
        "缺少tables/replicas.csv:请用`ctfp run STUDY.toml --out {root}`运行研究的[[tables]]。",
    "No posterior group slopes (bayes/hetero/posterior.nc with `slope_group`): fit the study's Bayesian model with "
    "`by` groups with `ctfp run STUDY.toml --out {root}`.":
        "没有后验组斜率(bayes/hetero/posterior.nc中的`slope_group`):请用`ctfp run STUDY.toml --out {root}`"
        "拟合带`by`分组的贝叶斯模型。",
    "No split-sample replicas (models estimated on `group == 1` / `group == 0` samples in tables/columns.csv): add "
    "them to the study's [[tables]] and rerun `ctfp run`.":
        "没有分样本复现(tables/columns.csv中以`group == 1` / `group == 0`为样本的模型):请将其加入研究的[[tables]]"
        "并重新运行`ctfp run`。",
    "No between-group difference tests (tables/tests.csv): add `tests` to the study's [[tables]] and rerun "
    "`ctfp run`.":
        "没有组间差异检验(tables/tests.csv):请在研究的[[tables]]中加入`tests`并重新运行`ctfp run`。",
    "No Bayesian fits in {folder}: run the study's [bayes] models with `ctfp run STUDY.toml --out {root}`.":
        "{folder}中没有贝叶斯拟合:请用`ctfp run STUDY.toml --out {root}`运行研究的[bayes]模型。",
    "No posterior predictive draws of `y` in any posterior.nc: refit with `ctfp fit` (it stores "
    "posterior_predictive).":
        "posterior.nc中没有`y`的后验预测抽样:请用`ctfp fit`重新拟合(它会保存posterior_predictive)。",
    "No log_likelihood group in any posterior.nc: LOO needs `pm.compute_log_likelihood` after sampling (ctfp fit "
    "does this).":
        "posterior.nc中没有log_likelihood组:LOO需要在抽样后运行`pm.compute_log_likelihood`(ctfp fit会执行)。",
    "validation.json is missing: `ctfp run` writes it once replicas and fits exist.":
        "缺少validation.json:`ctfp run`在复现与拟合完成后写入。",
})

# Figures and their captions.
ZH.update({
    "Distribution of CTFP": "CTFP的分布",
    "The orange bar, set apart at the right, counts the observations exactly on the frontier (CTFP = 1): the mass "
    "a bounded likelihood has to reproduce.":
        "右侧单独的橙色柱为恰好位于前沿面(CTFP = 1)的观测值个数:有界似然需要再现的概率质量。",
    "CTFP by year": "各年份的CTFP",
    "Ranking of cities by mean CTFP": "各城市CTFP均值排名",
    "Treatment effect for every group of every split": "各分组中每组的处理效应",
    "Green: posterior mean with 50% (thick) and {ci} (thin) of the hetero model. Blue squares below each row: the "
    "split-sample two-way FE estimate with its 95% confidence interval (clustered, t with G−1 df). Red diamonds: the "
    "published coefficient.":
        "绿色:异质性模型的后验均值及50%(粗线)与{ci}(细线)。每行下方蓝色方块:分样本双向固定效应估计及其95%置信区间"
        "(聚类标准误,t分布自由度为G−1)。红色菱形:原文系数。",
    "Posterior of each between-group difference": "各组间差异的后验分布",
    "P(diff > 0) is the posterior share of draws where group 1's slope exceeds group 0's; the permutation p is the "
    "replica's one-sided Fisher test.":
        "P(差异 > 0)为第1组斜率大于第0组斜率的后验抽样占比;置换p值为复现的单侧费舍尔组合检验。",
    "Posterior predictive check of CTFP, including the mass at 1": "CTFP的后验预测检验(含1处的概率质量)",
    "A normal likelihood puts no replicated observation exactly at 1 and spills above 1; a censored or ordered-beta "
    "likelihood should reproduce the observed share.":
        "正态似然不会生成恰好等于1的观测值且会超出1;截尾或有序贝塔似然应能再现观测到的比例。",
    "CTFP < 1": "CTFP < 1",
    "CTFP = 1 (frontier)": "CTFP = 1(前沿面)",
    "mean {v}": "均值 {v}",
    "CTFP (SBM, undesirable CO2)": "CTFP(SBM,CO2为非期望产出)",
    "{n} at 1\n({share})": "{n}个等于1\n({share})",
    "mean CTFP over the years": "各年CTFP均值",
    "Ranking by city (orange: on the frontier in some year)": "城市排名(橙色:某年位于前沿面)",
    "± 1 sd": "± 1个标准差",
    "Mean CTFP by year": "各年CTFP均值",
    "Share of cities on the frontier (CTFP = 1)": "位于前沿面(CTFP = 1)的城市占比",
    "year": "年份",
    "posterior mean, 50% and {ci}": "后验均值,50%与{ci}",
    "split-sample FE replica, 95% CI": "分样本固定效应复现,95%置信区间",
    "effect of the treatment on the outcome": "处理变量对结果变量的效应",
    "Effect by group: posterior vs split-sample replica vs published": "分组效应:后验、分样本复现与原文",
    "replica perm. p = {p}": "复现置换检验 p = {p}",
    "published p = {p}": "原文 p = {p}",
    "P(diff > 0) = {p}": "P(差异 > 0) = {p}",
    "Between-group difference (group 1 − group 0): posterior with {ci} (bar); dashed: replica difference":
        "组间差异(第1组 − 第0组):后验及{ci}(横线);虚线:复现的差异",
    "{name}: observed (black) vs 40 replicated panels (green)": "{name}:观测(黑)与40个复制面板(绿)",
    "share of CTFP = 1: observed {o}, replicated {r}": "CTFP = 1的比例:观测 {o},复制 {r}",
    "group 1": "第1组",
    "group 0": "第0组",
})

# Report tables: captions, column headings, words in cells.
ZH.update({
    "Table 1 · Descriptive statistics: published | this panel": "表1 · 描述性统计:原文 | 本面板",
    "agreement ✓ when mean and sd lie within {tol} of the published values.": "均值与标准差均在原文数值的{tol}以内时记为✓。",
    "Mean CTFP by city": "各城市CTFP均值",
    " (top and bottom 10; all in the CSV)": "(前10与后10;全部见CSV)",
    "Cities on the SBM frontier (CTFP = 1)": "位于SBM前沿面(CTFP = 1)的城市",
    "SBM settings of this run": "本次运行的SBM设定",
    "{table}: every published cell against the replica": "{table}:逐格对照原文与复现",
    " — same sign {a}/{n}, same stars {b}/{n}, published in CI {c}/{n}":
        " — 符号相同 {a}/{n},星号相同 {b}/{n},原文在CI内 {c}/{n}",
    "equal as printed": "按印刷精度一致",
    "differs from print": "与原文不同",
    "Average effect of AI on E[CTFP] by fit: posterior mean, {ci}, P(> 0)":
        "各拟合中AI对E[CTFP]的平均效应:后验均值,{ci},P(> 0)",
    "{table} {column}, {label}: published {pub} {pub_t}, replica {rep} {rep_t}, 95% CI {ci}. Censored and "
    "ordered-beta effects are average marginal effects on E[CTFP], comparable with the linear coefficients.":
        "{table} {column},{label}:原文 {pub} {pub_t},复现 {rep} {rep_t},95%置信区间 {ci}。"
        "截尾与有序贝塔模型的效应为对E[CTFP]的平均边际效应,可与线性系数比较。",
    "AI effect by group: posterior (mean, {ci}) | replica | published": "分组的AI效应:后验(均值,{ci})| 复现 | 原文",
    "Between-group difference (group 1 − group 0): posterior ({ci}) | replica permutation test":
        "组间差异(第1组 − 第0组):后验({ci})| 复现的置换检验",
    "Sampler diagnostics and the gate (R-hat ≤ 1.01, bulk and tail ESS ≥ 400, no divergences)":
        "抽样诊断与收敛检验(R-hat ≤ 1.01,bulk与tail ESS ≥ 400,无发散)",
    "Posterior predictive check: share of observations with CTFP = 1": "后验预测检验:CTFP = 1的观测值比例",
    "LOO (PSIS) expected log predictive density; az.compare among bounded likelihoods only":
        "LOO(PSIS)期望对数预测密度;az.compare仅比较有界似然",
    "A normal likelihood is a density on the real line while the censored and ordered-beta likelihoods put "
    "probability mass at CTFP = 1: their log scores are on different measures, so only the bounded models are "
    "ranked against each other; the normal model's elpd is shown for reference, not ranked.":
        "正态似然是实数轴上的密度,而截尾与有序贝塔似然在CTFP = 1处有概率质量:二者的对数得分基于不同测度,"
        "因此只在有界模型之间排序;正态模型的elpd仅供参考,不参与排序。",
    "Published claims: the verdict of the replica and of the posterior": "原文结论:复现与后验的判断",
    "95% ETI (equal-tailed interval)": "95% ETI(等尾区间)",
    "95% ETI": "95% ETI",
    "yes": "是",
    "no": "否",
    "not ranked": "不排序",
    # column headings
    "variable": "变量", "N pub.": "原文样本量", "N": "样本量", "mean pub.": "原文均值", "mean": "均值",
    "sd pub.": "原文标准差", "sd": "标准差", "min pub.": "原文最小值", "min": "最小值", "max pub.": "原文最大值",
    "max": "最大值", "agreement": "一致", "rank": "排名", "city": "城市", "mean CTFP": "CTFP均值",
    "years at 1": "等于1的年数", "cities": "城市数", "share at 1": "等于1的比例", "years": "年份",
    "setting": "设定", "value": "取值", "column": "列", "row": "变量", "replica": "复现",
    "replica 95% CI": "复现95%置信区间", "sign": "符号", "stars": "星号", "pub. in CI": "原文在CI内",
    "note": "备注", "model": "模型", "likelihood": "似然", "posterior mean": "后验均值",
    "P(AME > 0)": "P(AME > 0)", "split": "分组", "group": "组别", "posterior 95% ETI": "后验95% ETI",
    "P(diff > 0)": "P(差异 > 0)", "replica diff": "复现差异", "perm. p (1-sided)": "置换p值(单侧)",
    "perm. p (2-sided)": "置换p值(双侧)", "published p": "原文p值", "max R-hat": "最大R-hat",
    "min ESS bulk": "最小bulk ESS", "min ESS tail": "最小tail ESS", "divergences": "发散次数", "gate": "检验",
    "why": "原因", "observed": "观测", "replicated (mean)": "复制(均值)", "replicated 95% interval": "复制95%区间",
    "replicated > 1": "复制值 > 1", "mass at 1": "1处有质量", "elpd_loo": "elpd_loo", "se": "标准误",
    "p_loo": "p_loo", "k̂ > 0.7": "k̂ > 0.7", "Δelpd": "Δelpd", "dse": "dse", "weight": "权重",
    "claim": "结论", "replica evidence": "复现证据", "replica verdict": "复现判断",
    "posterior evidence": "后验证据", "posterior verdict": "后验判断",
    # prior sensitivity (reports/section_sensitivity.py), AR(1) and LOO notes
    "Prior sensitivity": "先验敏感性",
    "Power-scaling sensitivity (Kallioinen et al. 2024): how far each reported posterior moves when the prior, "
    "or the likelihood, is raised to the power 0.99 or 1.01 (cumulative Jensen-Shannon distance, by "
    "Pareto-smoothed importance weights, no refit). {flag} marks a quantity whose prior sensitivity is at "
    "least {thr}: the prior, not only the data, shapes it (prior-data conflict when the likelihood moves it "
    "too). A likelihood sensitivity under {thr} means the data barely move the quantity.":
        "幂缩放敏感性(Kallioinen et al. 2024):将先验或似然取0.99或1.01次幂时各报告后验量的变化程度"
        "(累积Jensen-Shannon距离,基于帕累托平滑重要性权重,无需重新拟合)。{flag}表示先验敏感性不低于{thr}:"
        "该量不仅由数据决定,也受先验影响(若似然敏感性同样较高,则为先验与数据冲突)。似然敏感性低于{thr}表示数据几乎不影响该量。",
    "No prior sensitivity in summary.json of {models}: refit with `ctfp run` (every fit stores it).":
        "{models}的summary.json中没有先验敏感性:请用`ctfp run`重新拟合(每次拟合都会保存)。",
    "The sensitivity computation failed for {models}.": "{models}的敏感性计算失败。",
    "Prior and likelihood sensitivity of every reported quantity": "各报告量的先验与似然敏感性",
    "quantity": "报告量", "prior sensitivity": "先验敏感性", "likelihood sensitivity": "似然敏感性",
    "flag": "标记", "diagnosis": "诊断", "weak likelihood": "似然较弱",
    "{n} of {m} reported quantities flagged.": "{m}个报告量中有{n}个被标记。",
    "{a} of {n} reported quantities flagged": "{n}个报告量中有{a}个被标记",
    "{models}: AR(1) errors within unit, so the posterior weights the observations as feasible GLS does "
    "(quasi-differenced within each unit, noisy units weighing less) while the replica is OLS with clustered "
    "standard errors. Both estimate the slope, with different weights: their point estimates may differ by more "
    "than their precision suggests without the data disagreeing, and the posterior sd may be smaller than the "
    "clustered SE. Compare signs and intervals, not digits.":
        "{models}:误差在单位内服从AR(1),后验对观测的加权方式类似可行GLS(单位内准差分,噪声大的单位权重较小),"
        "而复现为OLS加聚类标准误。二者估计同一斜率但权重不同:点估计之差可能超过其精度所示,并不意味着数据矛盾;"
        "后验标准差也可能小于聚类标准误。请比较符号与区间,而非数字本身。",
    "Formula (bambi) models are ranked against the built-in models with iid normal errors (Δelpd within that "
    "set); a model with AR(1) errors is not: its pointwise terms are densities given the previous year's "
    "observation.":
        "公式(bambi)模型与误差独立同分布的内置正态模型一同排序(Δelpd在该组内计算);AR(1)误差模型不参与:"
        "其逐点项是给定上一年观测的条件密度。",
})
