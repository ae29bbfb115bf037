"""A decision table's conditions in words, in the reader's language (the policy supermarket's column).

Each condition of a granting rule is said the way a leaflet says it ("aged 65 or over",
"living in Chongming District", "an individual business"), never as the table's cell
(``age >= 65``, ``district == "310151"``): ages and firm ages in years, capital in CNY,
booleans as the fact held or not held, a district by its name (the caller looks the names up),
a firm's kind and industry section by their names in GB 32100 and GB/T 4754.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from onecity.benefits.compile import Condition
from onecity.benefits.facts import FACTS

#: GB 32100 registration kinds the tables name (统一社会信用代码第1-2位).
FIRM_KINDS: dict[str, tuple[str, str]] = {
    "91": ("企业", "a company"),
    "92": ("个体工商户", "an individual business"),
    "93": ("农民专业合作社", "a farmers' co-operative"),
}

#: GB/T 4754-2017 industry sections.
INDUSTRIES: dict[str, tuple[str, str]] = {
    "A": ("农、林、牧、渔业", "agriculture, forestry, animal husbandry and fishery"),
    "B": ("采矿业", "mining"),
    "C": ("制造业", "manufacturing"),
    "D": ("电力、热力、燃气及水生产和供应业", "electricity, heat, gas and water supply"),
    "E": ("建筑业", "construction"),
    "F": ("批发和零售业", "wholesale and retail"),
    "G": ("交通运输、仓储和邮政业", "transport, storage and post"),
    "H": ("住宿和餐饮业", "accommodation and catering"),
    "I": ("信息传输、软件和信息技术服务业", "information transmission, software and IT services"),
    "J": ("金融业", "finance"),
    "K": ("房地产业", "real estate"),
    "L": ("租赁和商务服务业", "leasing and business services"),
    "M": ("科学研究和技术服务业", "scientific research and technical services"),
    "N": ("水利、环境和公共设施管理业", "water, environment and public facilities management"),
    "O": ("居民服务、修理和其他服务业", "resident services, repair and other services"),
    "P": ("教育", "education"),
    "Q": ("卫生和社会工作", "health and social work"),
    "R": ("文化、体育和娱乐业", "culture, sports and entertainment"),
    "S": ("公共管理、社会保障和社会组织", "public administration, social security and social organisations"),
    "T": ("国际组织", "international organisations"),
}

#: Yes/no facts: (held, not held), Chinese and English.
FLAGS: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "shanghai_hukou": (
        ("本市户籍", "Shanghai household registration"),
        ("非本市户籍", "no Shanghai household registration"),
    ),
    "alive": (("在世且居住本市", "alive and living in the city"), ("已故或已迁出", "deceased or moved away")),
    "residence_permit": (("持有效居住证", "a valid residence permit"), ("无有效居住证", "no valid residence permit")),
    "married": (("已登记结婚", "married"), ("未登记结婚", "not married")),
    "owns_home": (("本市有房产", "owns a home in the city"), ("本市无房产", "owns no home in the city")),
    "drives": (("持机动车驾驶证", "holds a driving licence"), ("无驾驶证", "no driving licence")),
    "senior_card": (("已有敬老卡", "holds a senior citizen card"), ("尚无敬老卡", "no senior citizen card yet")),
    "social_security_card": (
        ("已有社保卡", "holds a social security card"),
        ("尚无社保卡", "no social security card yet"),
    ),
    "active": (("存续", "active (not struck off)"), ("已吊销或注销", "struck off")),
    "business_licence": (
        ("持有效营业执照", "a valid business licence"),
        ("无有效营业执照", "no valid business licence"),
    ),
    "food_licence": (
        ("持有效食品经营许可证", "a valid food business licence"),
        ("无食品经营许可证", "no food business licence"),
    ),
}

SEXES = {"F": ("女性", "female"), "M": ("男性", "male")}


def _either(values: list[str], lang: str) -> str:
    if lang == "zh":
        return "或".join(values)
    return values[0] if len(values) == 1 else ", ".join(values[:-1]) + " or " + values[-1]


def _named(table: Mapping[str, tuple[str, str]], value: Any, lang: str) -> str:
    zh, en = table.get(str(value), (str(value), str(value)))
    return zh if lang == "zh" else en


def _years(c: Condition, lang: str, *, firm: bool) -> str:
    v = c.value
    if c.op in ("in", "notin"):
        listed = _either([str(x) for x in v], lang)
        if lang == "zh":
            return ("成立" if firm else "") + listed + ("年" if firm else "周岁")
        return (f"established {listed} years ago" if firm else f"aged {listed}") + ("" if c.op == "in" else " (not)")
    zh = {
        ">=": f"满{v}",
        ">": f"超过{v}",
        "<": f"不满{v}",
        "<=": f"不超过{v}",
        "==": f"{v}",
        "!=": f"不是{v}",
    }[c.op]
    if lang == "zh":
        return ("成立" + zh + "年") if firm else (("年" if c.op == ">=" else "") + zh + "周岁")
    unit = "year" if v == 1 else "years"
    if firm:
        return {
            ">=": f"established {v} {unit} or more",
            ">": f"established over {v} {unit}",
            "<": f"established less than {v} {unit}",
            "<=": f"established {v} {unit} or less",
            "==": f"established {v} {unit}",
            "!=": f"not established {v} {unit}",
        }[c.op]
    return {
        ">=": f"aged {v} or over",
        ">": f"over {v}",
        "<": f"under {v}" if v != 1 else "under 1 year old",
        "<=": f"aged {v} or under",
        "==": f"aged {v}",
        "!=": f"not aged {v}",
    }[c.op]


def _capital(c: Condition, lang: str) -> str:
    v = c.value
    if lang == "zh":
        word = {">=": "不低于", ">": "高于", "<": "低于", "<=": "不超过", "==": "为", "!=": "不为"}.get(c.op, "")
        return f"注册资本{word}{v}万元"
    word = {">=": "at least", ">": "over", "<": "under", "<=": "at most", "==": "of", "!=": "other than"}.get(c.op, "")
    return f"registered capital {word} {float(v) * 10000:,.0f} CNY"


def _one_of(c: Condition, lang: str, name: Any) -> str:
    values = list(c.value) if c.op in ("in", "notin") else [c.value]
    listed = _either([name(v) for v in values], lang)
    negated = c.op in ("!=", "notin")
    if lang == "zh":
        return ("不是" if negated else "") + listed
    return ("not " if negated else "") + listed


def condition_words(c: Condition, lang: str, districts: Mapping[str, tuple[str, str]]) -> str:
    """One condition of a rule in words (``districts``: a 6-digit district code → its names)."""
    zh = lang == "zh"
    if c.fact in ("age", "firm_age"):
        return _years(c, lang, firm=c.fact == "firm_age")
    if c.fact == "capital":
        return _capital(c, lang)
    if c.fact in FLAGS:
        held, not_held = FLAGS[c.fact]
        yes = c.value is True if c.op == "==" else c.value is False
        pair = held if yes else not_held
        return pair[0] if zh else pair[1]
    if c.fact == "sex":
        return _one_of(c, lang, lambda v: _named(SEXES, v, lang))
    if c.fact == "firm_kind":
        return _one_of(c, lang, lambda v: _named(FIRM_KINDS, v, lang))
    if c.fact == "industry":
        words = _one_of(c, lang, lambda v: _named(INDUSTRIES, v, lang))
        return f"行业：{words}" if zh else f"in {words}"
    if c.fact in ("district", "firm_district"):
        words = _one_of(c, lang, lambda v: _named(districts, v, lang))
        if c.fact == "district":
            return f"居住在{words}" if zh else f"living in {words}"
        return f"注册在{words}" if zh else f"registered in {words}"
    fact = FACTS[c.fact]
    return f"{fact.label_zh if zh else fact.label_en}: {c.value}"
