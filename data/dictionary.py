"""The variable dictionary: every raw and derived variable of the study, with unit, role and rules.

Column names are those of docs/contract.md. The dictionary drives the readers (which names a mapping may
target), validation (required columns, domains, where NaN is allowed) and docs/data.md (`markdown_table`).

Domains: "positive" (> 0), "nonnegative" (>= 0), "percent" (0..100), "share" (0..1), "any".
`nan` says where a raw cell may be missing: "never", "interpolate" (interior gaps within a city are filled
linearly and flagged) or "extrapolate" (FAI: trailing gaps after `FAI_LAST_YEAR` are extrapolated by growth,
interior gaps interpolated).
"""

from __future__ import annotations

from dataclasses import dataclass

# Official FAI series stop in 2017 (paper, note ①); later years are extrapolated by growth.
FAI_LAST_YEAR = 2017
PAPER_YEARS = (2006, 2021)

ROLES = {
    "id": "identifier",
    "sbm_input": "SBM input",
    "sbm_good": "SBM desirable output",
    "sbm_bad": "SBM undesirable output",
    "sbm_source": "raw series behind an SBM column",
    "deflator": "price or volume index",
    "outcome": "dependent variable",
    "treatment": "AI measure",
    "treatment_source": "raw series behind an AI measure",
    "control": "control (Table 2)",
    "control_extra": "extra control (Table 3 col 6)",
    "control_source": "raw series behind a control",
    "instrument": "instrument (Table 4)",
    "instrument_source": "raw series behind an instrument",
    "mechanism": "mechanism outcome (Table 5)",
    "split": "heterogeneity split flag (Table 6)",
    "split_source": "raw series behind a split",
    "fixed_effect": "fixed-effect or cluster id",
    "audit": "intermediate kept for auditing",
}


@dataclass(frozen=True)
class Variable:
    """One column of the raw or analysis panel."""

    name: str
    unit: str
    role: str
    kind: str  # "raw" | "derived"
    term_zh: str
    description: str
    rule: str = ""
    required: bool = False
    domain: str = "any"
    nan: str = "never"
    group: str = ""  # optional raw inputs that are only useful together (all or none)
    time_invariant: bool = False  # one value per city (1984 bases)
    national: bool = False  # one value per year, the same for every city

    @property
    def positive(self) -> bool:
        """Must be strictly positive (SBM inputs and outputs, divisors, indices)."""
        return self.domain == "positive"

    @property
    def nonnegative(self) -> bool:
        return self.domain in ("positive", "nonnegative", "percent", "share")

    @property
    def share(self) -> bool:
        return self.domain == "share"

    @property
    def nan_allowed(self) -> bool:
        return self.nan != "never"

    @property
    def numeric(self) -> bool:
        return self.name not in ("province", "city_name")


def _raw(name: str, unit: str, role: str, zh: str, en: str, **kw: object) -> Variable:
    kw.setdefault("nan", "interpolate")
    return Variable(name, unit, role, "raw", zh, en, **kw)  # type: ignore[arg-type]


def _der(name: str, unit: str, role: str, zh: str, en: str, rule: str, **kw: object) -> Variable:
    return Variable(name, unit, role, "derived", zh, en, rule=rule, **kw)  # type: ignore[arg-type]


_GF = [
    ("gf_credit", "绿色信贷", "green credit"),
    ("gf_invest", "绿色投资", "green investment"),
    ("gf_support", "绿色支持", "green support"),
    ("gf_insurance", "绿色保险", "green insurance"),
    ("gf_bond", "绿色债券", "green bonds"),
    ("gf_fund", "绿色基金", "green funds"),
    ("gf_equity", "绿色权益", "green equity"),
]

_LIST: list[Variable] = [
    # identifiers
    _raw("city", "GB/T 2260 code", "id", "城市代码", "prefecture code, e.g. 140100", required=True, nan="never"),
    _raw("year", "year", "id", "年份", "calendar year", required=True, nan="never"),
    # SBM inputs and outputs (raw)
    _raw("emp", "10k persons", "sbm_input", "就业人数", "employment", required=True, domain="positive"),
    _raw("fai", "100M yuan, nominal", "sbm_source", "全社会固定资产投资", "fixed-asset investment",
         required=True, domain="positive", nan="extrapolate"),
    _raw("fai_pi", "previous year = 100", "deflator", "固定资产投资价格指数", "fixed-asset investment price index",
         required=True, domain="positive"),
    _raw("energy", "10k tce", "sbm_input", "能源消耗总量", "total energy consumption", required=True,
         domain="positive"),
    _raw("gdp", "100M yuan, nominal", "sbm_source", "地区生产总值", "GDP", required=True, domain="positive"),
    _raw("gdp_index", "previous year = 100", "deflator", "地区生产总值指数", "real GDP index", required=True,
         domain="positive"),
    _raw("green", "%", "sbm_good", "建成区绿化覆盖率", "built-up area green coverage", required=True,
         domain="positive"),
    _raw("co2", "10k t", "sbm_bad", "CO2排放量", "CO2 emissions", required=True, domain="positive"),
    # AI patents (counts: hand-searched, never interpolated)
    _raw("ai_inv", "count", "treatment_source", "人工智能发明专利申请数", "AI invention patent applications (14 keywords)",
         required=True, domain="nonnegative", nan="never"),
    _raw("ai_util", "count", "treatment_source", "人工智能实用新型专利申请数", "AI utility-model applications (14 keywords)",
         required=True, domain="nonnegative", nan="never"),
    _raw("ai_design", "count", "treatment_source", "人工智能外观设计专利申请数", "AI design applications (14 keywords)",
         required=True, domain="nonnegative", nan="never"),
    _raw("ai1_inv", "count", "treatment_source", "“人工智能”发明专利申请数", "AI invention applications, keyword 人工智能 only",
         domain="nonnegative", nan="never", group="ai_kw1"),
    _raw("ai1_util", "count", "treatment_source", "“人工智能”实用新型专利申请数", "AI utility-model applications, keyword 人工智能 only",
         domain="nonnegative", nan="never", group="ai_kw1"),
    _raw("ai1_design", "count", "treatment_source", "“人工智能”外观设计专利申请数", "AI design applications, keyword 人工智能 only",
         domain="nonnegative", nan="never", group="ai_kw1"),
    # control sources
    _raw("pop_total", "10k persons", "control_source", "户籍人口", "registered population", required=True,
         domain="positive"),
    _raw("area", "km²", "control_source", "行政区域土地面积", "administrative area", required=True, domain="positive"),
    _raw("edu_exp", "100M yuan", "control_source", "教育支出", "education expenditure", required=True,
         domain="nonnegative"),
    _raw("sci_exp", "100M yuan", "control_source", "科学技术支出", "science and technology expenditure",
         required=True, domain="nonnegative"),
    _raw("fiscal_exp", "100M yuan", "control_source", "一般公共预算支出", "total fiscal expenditure", required=True,
         domain="positive"),
    _raw("road_km", "km", "control_source", "公路里程", "highway mileage", required=True, domain="positive"),
    _raw("va_secondary", "100M yuan", "control_source", "第二产业增加值", "value added, secondary sector",
         required=True, domain="positive"),
    _raw("va_tertiary", "100M yuan", "control_source", "第三产业增加值", "value added, tertiary sector",
         required=True, domain="nonnegative"),
    _raw("trade_total", "100M yuan", "control_source", "进出口总额", "imports + exports", required=True,
         domain="nonnegative"),
    _raw("wastewater", "10k t", "control_source", "工业废水排放量", "industrial wastewater (ER, negative, per GDP)",
         required=True, domain="nonnegative"),
    _raw("so2", "10k t", "control_source", "工业二氧化硫排放量", "industrial SO2 (ER, negative, per GDP)",
         required=True, domain="nonnegative"),
    _raw("dust", "10k t", "control_source", "工业烟粉尘排放量", "industrial smoke and dust (ER, negative, per GDP)",
         required=True, domain="nonnegative"),
    _raw("solidwaste_util", "%", "control_source", "一般工业固体废物综合利用率",
         "general industrial solid-waste utilisation rate (ER, positive; may exceed 100 with stock reuse)",
         required=True, domain="nonnegative"),
    # extra controls (Table 3 col 6)
    _raw("broadband", "10k households", "control_source", "互联网宽带接入户数", "internet broadband subscribers (newinf)",
         domain="nonnegative", group="newinf"),
    *[_raw(n, "index input", "control_source", zh, f"{en} (green finance, positive)", domain="nonnegative",
           group="gfin") for n, zh, en in _GF],
    # instrument sources (Table 4)
    _raw("tel1984", "count", "instrument_source", "1984年固定电话数量", "fixed telephones in 1984 (time-invariant)",
         domain="positive", nan="never", group="iv_tel", time_invariant=True),
    _raw("res1984", "count", "instrument_source", "1984年自然科学研究人员数量",
         "natural-science researchers in 1984 (time-invariant)", domain="positive", nan="never",
         group="iv_res", time_invariant=True),
    _raw("broadband_nat_prev", "10k users", "instrument_source", "上一年全国互联网宽带接入用户数",
         "national internet broadband users in the previous year (same for every city)", domain="positive",
         nan="never", group="iv", national=True),
    # mechanisms (Table 5), supplied as ratios
    _raw("dig1", "share of GDP", "mechanism", "数字化投资占GDP比重",
         "digital fixed + intangible investment of listed firms / GDP", domain="nonnegative", group="dig1"),
    _raw("dig2", "share of GDP", "mechanism", "数字化企业数量占GDP比重", "number of digital firms / GDP",
         domain="nonnegative", group="dig2"),
    _raw("green1", "share of GDP", "mechanism", "绿色企业总资产占GDP比重", "total assets of green listed firms / GDP",
         domain="nonnegative", group="green1"),
    _raw("green2", "share of GDP", "mechanism", "绿色企业营业收入占GDP比重", "operating revenue of green listed firms / GDP",
         domain="nonnegative", group="green2"),
    # split sources (Table 6)
    _raw("env_words", "count", "split_source", "政府工作报告环境词频",
         "environment-related words in the government work report", domain="nonnegative", nan="never",
         group="g_attention"),
    _raw("env_invest", "100M yuan", "split_source", "城市环境基础设施建设投资额",
         "urban environmental infrastructure investment", domain="nonnegative", group="g_envinv"),
    _raw("students", "10k persons", "split_source", "普通高等学校在校学生数", "regular higher-education students",
         domain="nonnegative", group="g_hum"),
    _raw("water_household", "10k t", "split_source", "居民家庭用水量", "household water use (green consumption, negative)",
         domain="nonnegative", group="gcons"),
    _raw("lpg_household", "10k t", "split_source", "液化石油气家庭用量", "household LPG use (green consumption, negative)",
         domain="nonnegative", group="gcons"),
    _raw("buses", "vehicles", "split_source", "公共汽车营运车辆数", "public buses in operation (green consumption, positive)",
         domain="nonnegative", group="gcons"),
    _raw("sewage_rate", "%", "split_source", "污水处理厂集中处理率",
         "sewage treatment rate (green consumption, positive)", domain="percent", group="gcons"),
    _raw("garbage_rate", "%", "split_source", "生活垃圾无害化处理率",
         "harmless garbage treatment rate (green consumption, positive)", domain="percent", group="gcons"),
    # marker written by `ctfp data synth` so a synthetic panel can never pass for real data
    _raw("synthetic", "0/1", "audit", "合成数据标记", "1 = row of the SYNTHETIC paper-world panel (passed through)",
         domain="nonnegative", nan="never", group="synthetic"),
    # derived: identifiers and fixed effects
    _der("province", "name", "fixed_effect", "省份", "province (Chinese name)",
         "city facts (data/cities.py); other cities: GB/T 2260 province of the code's first two digits"),
    _der("city_name", "pinyin", "id", "城市名称", "city name (pinyin)", "city facts (data/cities.py); empty for other cities"),
    _der("provyear", "id", "fixed_effect", "省份×年份", "province × year cluster id",
         "int(code // 10000) × 10000 + year, e.g. 142006"),
    # derived: SBM columns
    _der("labor", "10k persons", "sbm_input", "劳动投入", "labour input", "emp", domain="positive"),
    _der("rfai", "100M yuan, 2006 prices", "audit", "实际固定资产投资", "real fixed-asset investment",
         "fai / D_t, D_base = 1, D_t = D_{t-1} · fai_pi_t / 100", domain="positive"),
    _der("capital", "100M yuan, 2006 prices", "sbm_input", "固定资本存量", "real capital stock",
         "K_t = (1 − δ) K_{t−1} + I_t, δ = 0.096, K_base = I_base / (g + δ), g = geometric mean growth of I",
         domain="positive"),
    _der("rgdp", "100M yuan, 2006 prices", "sbm_good", "实际GDP", "real GDP",
         "rgdp_base = gdp_base, rgdp_t = rgdp_{t−1} · gdp_index_t / 100", domain="positive"),
    _der("ctfp", "score in (0, 1]", "outcome", "碳全要素生产率", "carbon TFP: SBM with undesirable CO2",
         "models.dea: SBM, non-oriented, CRS, global frontier; inputs labor, capital, energy; good rgdp, green; bad co2",
         domain="positive"),
    _der("ctfp_bcc", "score in (0, 1]", "outcome", "DEA-BCC碳全要素生产率", "robustness score",
         "models.dea: input-oriented BCC, CO2 negatively normalised as a good output", domain="positive"),
    # derived: AI measures
    _der("ai", "hundreds of applications", "treatment", "人工智能技术创新质量", "AI innovation quality", "ai_inv / 100",
         domain="nonnegative"),
    _der("scale", "hundreds of applications", "treatment", "人工智能技术创新规模", "AI innovation scale",
         "(ai_inv + ai_util + ai_design) / 100", domain="nonnegative"),
    _der("ai_kw1", "hundreds of applications", "treatment", "创新质量(单一关键词)", "AI quality, keyword 人工智能",
         "ai1_inv / 100", domain="nonnegative"),
    _der("scale_kw1", "hundreds of applications", "treatment", "创新规模(单一关键词)", "AI scale, keyword 人工智能",
         "(ai1_inv + ai1_util + ai1_design) / 100", domain="nonnegative"),
    # derived: controls
    _der("pop", "1000 persons / km²", "control", "人口密度", "population density", "pop_total × 1e4 / area / 1000",
         domain="positive"),
    _der("hum", "share", "control", "人力资本水平", "human capital: education share of fiscal expenditure",
         "edu_exp / fiscal_exp", domain="nonnegative"),
    _der("lninf", "ln km", "control", "基础设施建设", "infrastructure", "ln(road_km)"),
    _der("isu", "ratio", "control", "产业结构优化", "industrial structure", "va_tertiary / va_secondary",
         domain="nonnegative"),
    _der("trade", "share of GDP", "control", "贸易开放度", "trade openness", "trade_total / gdp", domain="nonnegative"),
    _der("er", "index in [0, 1]", "control", "环境规制水平", "environmental regulation",
         "entropy weight of wastewater/gdp, so2/gdp, dust/gdp (negative), solidwaste_util (positive)",
         domain="share"),
    _der("tec", "share", "control", "科技投入水平", "science spending share of fiscal expenditure", "sci_exp / fiscal_exp",
         domain="nonnegative"),
    _der("newinf", "households per person", "control_extra", "新型基础设施建设", "new infrastructure",
         "broadband / pop_total", domain="nonnegative"),
    _der("gfin", "index in [0, 1]", "control_extra", "绿色金融水平", "green finance",
         "entropy weight of the seven gf_* (all positive)", domain="share"),
    # derived: instruments
    _der("iv_tel", "count × 10k users", "instrument", "tel工具变量", "shift-share instrument, telephones",
         "tel1984 × broadband_nat_prev", domain="nonnegative"),
    _der("iv_res", "count × 10k users", "instrument", "res工具变量", "shift-share instrument, researchers",
         "res1984 × broadband_nat_prev", domain="nonnegative"),
    # derived: green consumption and splits
    _der("gcons", "index in [0, 1]", "split_source", "绿色消费综合指数", "green consumption index",
         "entropy weight of water_household, lpg_household (negative), buses, sewage_rate, garbage_rate (positive)",
         domain="share"),
    _der("g_ua", "0/1", "split", "城市群城市", "urban-agglomeration city",
         "data/cities.py ua_membership(rule), rule any|whole"),
    _der("g_resource", "0/1", "split", "资源型城市", "resource-based city", "State Council 2013 list (data/cities.py)"),
    _der("g_attention", "0/1", "split", "高政府环保关注度", "high government environmental attention",
         "env_words ≥ pooled median"),
    _der("g_envinv", "0/1", "split", "高环保投资", "high environmental investment", "env_invest ≥ pooled median"),
    _der("g_hum", "0/1", "split", "高人力资本", "high human capital", "students ≥ pooled median"),
    _der("g_gcons", "0/1", "split", "高绿色消费", "high green consumption", "gcons ≥ pooled median"),
]

VARIABLES: dict[str, Variable] = {v.name: v for v in _LIST}

RAW: tuple[str, ...] = tuple(v.name for v in _LIST if v.kind == "raw")
REQUIRED: tuple[str, ...] = tuple(v.name for v in _LIST if v.kind == "raw" and v.required)
OPTIONAL_GROUPS: dict[str, tuple[str, ...]] = {}
for _v in _LIST:
    if _v.kind == "raw" and _v.group:
        OPTIONAL_GROUPS.setdefault(_v.group, ())
        OPTIONAL_GROUPS[_v.group] += (_v.name,)
# Instruments need the national series too.
OPTIONAL_GROUPS["iv_tel"] += ("broadband_nat_prev",)
OPTIONAL_GROUPS["iv_res"] += ("broadband_nat_prev",)
del OPTIONAL_GROUPS["iv"]

CONTROLS: tuple[str, ...] = ("pop", "hum", "lninf", "isu", "trade", "er", "tec")
EXTRA_CONTROLS: tuple[str, ...] = ("newinf", "gfin")
SPLITS: tuple[str, ...] = ("g_ua", "g_resource", "g_attention", "g_envinv", "g_hum", "g_gcons")
MECHANISMS: tuple[str, ...] = ("dig1", "dig2", "green1", "green2")


def markdown_table(kind: str | None = None) -> str:
    """The dictionary as a Markdown table (docs/data.md is generated from this)."""
    head = "| name | kind | role | unit | 中文 | description | rule | required | domain | NaN |\n"
    head += "|---|---|---|---|---|---|---|---|---|---|\n"
    rows = []
    for v in _LIST:
        if kind is not None and v.kind != kind:
            continue
        rule = v.rule.replace("|", "\\|") if v.rule else ""
        desc = v.description
        if v.group:
            desc += f" [optional group `{v.group}`]"
        nan = v.nan if v.kind == "raw" else ""
        req = "yes" if v.required else ""
        rows.append(f"| `{v.name}` | {v.kind} | {ROLES[v.role]} | {v.unit} | {v.term_zh} | {desc} | {rule} | "
                    f"{req} | {v.domain} | {nan} |")
    return head + "\n".join(rows) + "\n"
