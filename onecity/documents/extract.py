"""From OCR lines to typed fields: type detection, label-anchored extraction, identifier checks.

Each document type is read the way a clerk reads it: find the printed label (名称, 成立日期,
公民身份号码…), take the value after it on the same line or the next text to its right on the
same row — "the same row" follows the label's own slope, so a rotated photo still reads — and
let an address run on to the lines below it. Numbers with a known shape (credit codes, ID
numbers, certificate numbers) are also found by pattern anywhere on the page.

Every field carries a confidence (the recogniser's scores of the lines it came from, lowered
when the value does not parse) and its region (the union of those lines' boxes). Identifiers
are checked with their check characters: a code that fails keeps the characters read and gets
the flag ``check_failed`` with the reason; characters that cannot occur in a code at all (O, I,
S, Z, V in a credit code) are read as the digits they resemble *before* the check, which is
reading, not correcting — the check character is never changed to make a number valid.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from importlib import resources
from typing import Any

from onecity.documents.layout import Form
from onecity.documents.ocr import OcrLine, OcrResult, Rect
from onecity.hub.registries.identifiers import InvalidIdentifier, validate_resident_id, validate_uscc

DOC_TYPES = (
    "business_licence",
    "food_business_licence",
    "id_card",
    "real_estate_certificate",
    "invoice",
    "application_letter",
)

_WIDTH = str.maketrans(
    {
        "（": "(",
        "）": ")",
        "：": ":",
        "，": ",",
        "　": "",
        " ": "",
        "／": "/",
        "￥": "¥",
        "Ｘ": "X",
        "﹕": ":",
        # traditional or Japanese forms the recogniser sometimes returns for a label's character
        "別": "别",
        "號": "号",
        "書": "书",
        "證": "证",
        "記": "记",
        "關": "关",
    }
)


@lru_cache(maxsize=1)
def _folding() -> dict[int, str]:
    """``_WIDTH`` plus every traditional character outside GB 2312 whose simplified form is in it
    (瑤 → 瑶, 悅 → 悦, 黃 → 黄), from OpenCC's character table (data shipped in its wheel).

    Mainland documents print GB-encodable simplified characters, so a traditional form in the
    recogniser's output is a reading artefact, not what the page says; characters that are
    themselves in GB 2312 (乾, 於) are never touched, so a name is not "simplified" into another.
    """
    table = dict(_WIDTH)
    text = resources.files("opencc").joinpath("dictionary/TSCharacters.txt").read_text("utf-8")
    for line in text.splitlines():
        source, _, targets = line.partition("\t")
        target = targets.split(" ")[0]
        if len(source) == 1 and len(target) == 1 and not _in_gb2312(source) and _in_gb2312(target):
            table.setdefault(ord(source), target)
    return table


def _in_gb2312(ch: str) -> bool:
    try:
        ch.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def norm(text: str) -> str:
    """Half-width punctuation, no spaces, look-alike and traditional character forms folded: how
    labels and values are compared."""
    return text.translate(_folding())


@dataclass
class Field:
    name: str
    value: str | None
    confidence: float
    box: Rect | None
    flags: list[str] = field(default_factory=list)
    #: why a flag was raised (the check character expected, the date that does not exist)
    notes: list[str] = field(default_factory=list)
    #: the page the value is on (1 for a photo; a PDF's page number)
    page: int = 1

    def as_json(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "confidence": round(self.confidence, 4),
            "box": list(self.box) if self.box else None,
            "page": self.page,
            "flags": self.flags,
            "notes": self.notes,
        }


@dataclass
class Extraction:
    doc_type: str
    type_confidence: float
    fields: dict[str, Field]
    text: list[str]
    width: int
    height: int

    def value(self, name: str) -> str | None:
        f = self.fields.get(name)
        return f.value if f is not None else None

    def as_json(self) -> dict[str, Any]:
        return {
            "type": self.doc_type,
            "type_confidence": round(self.type_confidence, 4),
            "fields": {k: v.as_json() for k, v in self.fields.items()},
            "text": self.text,
            "size": [self.width, self.height],
        }


# -- type detection ---------------------------------------------------------------------------------

KEYWORDS: dict[str, tuple[tuple[str, float], ...]] = {
    "business_licence": (("营业执照", 3), ("统一社会信用代码", 1), ("登记机关", 1), ("成立日期", 1), ("注册资本", 1)),
    "food_business_licence": (("食品经营许可证", 4), ("经营项目", 1), ("许可证编号", 1), ("经营者名称", 1)),
    "id_card": (("公民身份号码", 3), ("民族", 1), ("住址", 1), ("出生", 0.5), ("性别", 0.5)),
    "real_estate_certificate": (("不动产权", 3), ("权利人", 1), ("坐落", 1), ("不动产单元号", 1), ("权利类型", 1)),
    "invoice": (("发票", 3), ("价税合计", 1), ("购买方", 1), ("销售方", 1), ("税额", 0.5)),
    "application_letter": (("申请书", 3), ("此致", 1), ("申请人", 1), ("敬礼", 1), ("现申请", 1)),
}


def detect_type(lines: Iterable[OcrLine]) -> tuple[str, float]:
    """The most likely type and a confidence (its share of the keyword score)."""
    text = "".join(norm(ln.text) for ln in lines)
    scores = {t: sum(w for k, w in kws if k in text) for t, kws in KEYWORDS.items()}
    best = max(scores, key=lambda t: scores[t])
    total = sum(scores.values())
    return best, (scores[best] / total if total else 0.0)


# -- geometry ---------------------------------------------------------------------------------------


def _union(lines: Iterable[OcrLine]) -> Rect | None:
    rects = [ln.rect for ln in lines]
    if not rects:
        return None
    return min(r[0] for r in rects), min(r[1] for r in rects), max(r[2] for r in rects), max(r[3] for r in rects)


class Page:
    """The OCR lines of one page with the lookups extraction needs."""

    def __init__(self, ocr: OcrResult) -> None:
        self.ocr = ocr
        self.lines = [ln for ln in ocr.lines if ln.text.strip()]
        self.slope = self._median_slope()

    def _median_slope(self) -> float:
        slopes = sorted(ln.slope for ln in self.lines if len(ln.text) >= 4)
        return slopes[len(slopes) // 2] if slopes else 0.0

    def reading_order(self) -> list[OcrLine]:
        """Top to bottom, left to right within a row, rows measured across the page's slope."""

        def key(ln: OcrLine) -> tuple[float, float]:
            x, y = ln.centre
            return y - self.slope * x, x

        ordered = sorted(self.lines, key=key)
        rows: list[list[OcrLine]] = []
        for ln in ordered:
            y = key(ln)[0]
            if rows and abs(key(rows[-1][0])[0] - y) < 0.5 * max(ln.height, rows[-1][0].height):
                rows[-1].append(ln)
            else:
                rows.append([ln])
        return [ln for row in rows for ln in sorted(row, key=lambda item: item.centre[0])]

    def find_label(self, label: str, *, where: Callable[[OcrLine], bool] | None = None) -> OcrLine | None:
        hits = [ln for ln in self.lines if label in norm(ln.text) and (where is None or where(ln))]
        return min(hits, key=lambda ln: len(ln.text)) if hits else None

    def right_of(self, anchor: OcrLine, *, max_gap: float | None = None) -> list[OcrLine]:
        """Lines on the anchor's row to its right, nearest first."""
        ax, ay = anchor.centre
        out = []
        for ln in self.lines:
            if ln is anchor:
                continue
            x, y = ln.centre
            if x <= anchor.rect[2] or ln.rect[0] < ax:
                continue
            expected = ay + self.slope * (x - ax)
            if abs(y - expected) < 0.55 * max(anchor.height, ln.height) and (
                max_gap is None or ln.rect[0] - anchor.rect[2] < max_gap
            ):
                out.append(ln)
        return sorted(out, key=lambda ln: ln.rect[0])

    def continuation(self, first: OcrLine, start_x: float, labels: set[str]) -> list[OcrLine]:
        """Lines that continue a wrapped value: just below, starting where the value started."""
        chain = [first]
        while True:
            last = chain[-1]
            lx, ly = last.centre
            nxt = None
            for ln in self.lines:
                if ln in chain:
                    continue
                x0 = ln.quad[0][0]
                dy = (ln.centre[1] - self.slope * ln.centre[0]) - (ly - self.slope * lx)
                if not 0.6 * last.height < dy < 1.65 * last.height:
                    continue
                if abs(x0 - (start_x - self.slope * dy)) > 0.9 * last.height:
                    continue
                if any(lab in norm(ln.text) for lab in labels):
                    continue
                nxt = ln
                break
            if nxt is None:
                return chain
            chain.append(nxt)


@dataclass
class Read:
    """Raw text read for a field and the lines it came from."""

    text: str
    lines: list[OcrLine]

    @property
    def score(self) -> float:
        return min((ln.score for ln in self.lines), default=0.0)

    @property
    def box(self) -> Rect | None:
        return _union(self.lines)


def after_label(
    page: Page,
    label: str,
    labels: set[str],
    *,
    multiline: bool = False,
    where: Callable[[OcrLine], bool] | None = None,
    below: bool = False,
) -> Read | None:
    """The value printed after ``label``: the rest of its line, else the nearest text to its
    right on the same row, else (``below``) the line under it; ``multiline`` follows wraps."""
    anchor = page.find_label(label, where=where)
    if anchor is None:
        return None
    rest = norm(anchor.text).split(label, 1)[1].lstrip(":")
    if rest:
        first, text, start_x = anchor, rest, anchor.quad[0][0]
        # the value starts inside the anchor's box: estimate where, for the continuation test
        share = 1 - len(rest) / max(1, len(norm(anchor.text)))
        start_x = anchor.quad[0][0] + share * (anchor.quad[1][0] - anchor.quad[0][0])
    else:
        right = page.right_of(anchor)
        if right:
            first, text, start_x = right[0], norm(right[0].text).lstrip(":"), right[0].quad[0][0]
        elif below:
            under = [
                ln
                for ln in page.lines
                if 0.5 * anchor.height < ln.centre[1] - anchor.centre[1] < 2.2 * anchor.height
                and abs(ln.quad[0][0] - anchor.quad[0][0]) < 2 * anchor.height
            ]
            if not under:
                return None
            first = min(under, key=lambda ln: ln.centre[1])
            text, start_x = norm(first.text), first.quad[0][0]
        else:
            return None
    lines = [first]
    if multiline:
        more = page.continuation(first, start_x, labels)[1:]
        lines += more
        text += "".join(norm(ln.text) for ln in more)
    return Read(text, lines)


# -- value parsers ----------------------------------------------------------------------------------

_DATE = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})(?:日|(?!\d))")
_USCC_LOOSE = re.compile(r"[0-9A-Z]{18}")
_ID_LOOSE = re.compile(r"\d{17}[\dX]")
#: an amount: thousands grouped or not, two decimals after a point — or after a comma, which is how
#: a blurred point is read (8181,54); a comma followed by three digits still groups thousands
_MONEY = re.compile(r"\d+(?:,\d{3})*[.,]\d{2}(?!\d)")
_PHONE = re.compile(r"1[3-9]\d{9}")
_ESTATE_NO = re.compile(r"沪\(\d{4}\)[\u4e00-\u9fff]{1,4}字?不动产权第\d{7}号")
_FOOD_NO = re.compile(r"JY\d{14}")
USCC_READ = str.maketrans({"O": "0", "I": "1", "Z": "2", "S": "5", "V": "U"})


def parse_date(text: str) -> str | None:
    m = _DATE.search(norm(text))
    if not m:
        return None
    try:
        return date(int(m[1]), int(m[2]), int(m[3])).isoformat()
    except ValueError:
        return None


def field_from(name: str, read: Read | None, value: str | None, *, ok: bool = True) -> Field:
    if read is None:
        return Field(name, None, 0.0, None, ["missing"])
    if value is None or value == "":
        return Field(name, None, 0.2 * read.score, read.box, ["unparsed"], [f"read {read.text!r}"])
    return Field(name, value, read.score if ok else 0.5 * read.score, read.box)


def check_uscc(f: Field) -> Field:
    if f.value is not None:
        try:
            validate_uscc(f.value)
        except InvalidIdentifier as err:
            f.flags.append("check_failed")
            f.notes.append(err.detail)
    return f


def check_id(f: Field) -> Field:
    if f.value is not None:
        try:
            validate_resident_id(f.value)
        except InvalidIdentifier as err:
            f.flags.append("check_failed")
            f.notes.append(err.detail)
    return f


def find_pattern(
    page: Page,
    pattern: re.Pattern[str],
    *,
    translate: dict[int, str] | None = None,
    where: Callable[[OcrLine], bool] | None = None,
) -> tuple[str, Read] | None:
    for ln in page.reading_order():
        if where is not None and not where(ln):
            continue
        t = norm(ln.text).upper() if translate is None else norm(ln.text).upper().translate(translate)
        m = pattern.search(t)
        if m:
            return m[0], Read(ln.text, [ln])
    return None


def uscc_field(page: Page, name: str, where: Callable[[OcrLine], bool] | None = None) -> Field:
    """A credit code by pattern (18 characters of the code's alphabet after reading look-alikes)."""
    found = find_pattern(page, re.compile(r"(?<![0-9A-Z])[0-9A-Z]{18}(?![0-9A-Z])"), translate=USCC_READ, where=where)
    if found is None:
        return Field(name, None, 0.0, None, ["missing"])
    return check_uscc(field_from(name, found[1], found[0]))


def id_field(page: Page, name: str = "id_number") -> Field:
    found = find_pattern(page, re.compile(r"(?<!\d)\d{17}[\dX](?![\dX])"))
    if found is None:
        return Field(name, None, 0.0, None, ["missing"])
    return check_id(field_from(name, found[1], found[0]))


def _clean_name(text: str) -> str:
    return re.sub(r"[:;,.。，、\"'“”]", "", text)


def _money(text: str) -> str | None:
    m = _MONEY.search(norm(text).replace("¥", ""))
    if not m:
        return None
    whole, cents = m[0][:-3], m[0][-2:]
    return whole.replace(",", "") + "." + cents


def bottom_date(
    page: Page, *, exclude: Iterable[str] = ("至",), below_share: float = 0.6, skip: set[int] | None = None
) -> Field:
    """The issue date printed at the foot of a certificate (the lowest date on the page)."""
    cut = page.ocr.height * below_share
    cands = [
        ln
        for ln in page.lines
        if parse_date(ln.text)
        and ln.centre[1] > cut
        and not any(x in ln.text for x in exclude)
        and id(ln) not in (skip or set())
    ]
    if not cands:  # a date half hidden under the seal: report where it is, unparsed, for a second look
        partial = [
            ln
            for ln in page.lines
            # 2021年…, or a bare year or part of one (the rest under the seal): 202, 2021, 20234
            if (re.search(r"\d{4}年", norm(ln.text)) or re.fullmatch(r"(19|20)\d{1,4}", norm(ln.text)))
            and ln.centre[1] > cut
            and not any(x in ln.text for x in exclude)
            and id(ln) not in (skip or set())
        ]
        if partial:
            ln = max(partial, key=lambda item: item.centre[1])
            return field_from("issued_on", Read(ln.text, [ln]), None)
        return Field("issued_on", None, 0.0, None, ["missing"])
    ln = max(cands, key=lambda item: item.centre[1])
    return field_from("issued_on", Read(ln.text, [ln]), parse_date(ln.text))


# -- per-type extractors ----------------------------------------------------------------------------

#: The labels each field is printed after, in the wordings real printings use (the first is the
#: one the probes and the second look use), and the other labels of the type (where a value stops).
LABELS: dict[str, dict[str, tuple[str, ...]]] = {
    "business_licence": {
        "uscc": ("统一社会信用代码", "社会信用代码"),
        "name": ("名称", "企业名称"),
        "legal_rep": ("法定代表人", "负责人", "经营者", "执行事务合伙人", "投资人"),
        "registered_capital": ("注册资本", "注册资金"),
        "established_on": ("成立日期", "注册日期"),
        "address": ("住所", "地址", "营业场所", "经营场所"),
        "": ("类型", "主体类型", "经营范围", "营业期限", "登记机关", "发照机关", "组成形式", "(副本)", "(正本)"),
    },
    "food_business_licence": {
        "name": ("经营者名称", "名称"),
        "uscc": ("社会信用代码", "统一社会信用代码", "社会信用代码(身份证号码)"),
        "legal_rep": ("法定代表人(负责人)", "负责人", "法定代表人"),
        "premises": ("经营场所", "住所"),
        "business_items": ("经营项目", "许可项目"),
        "valid_until": ("有效期至",),
        "": ("主体业态", "许可证编号", "编号", "发证机关", "日常监督管理机构", "签发人"),
    },
    "id_card": {
        "name": ("姓名",),
        "sex": ("性别",),
        "birth_date": ("出生",),
        "address": ("住址",),
        "id_number": ("公民身份号码",),
        "": ("民族", "签发机关", "有效期限"),
    },
    "real_estate_certificate": {
        "holder_name": ("权利人", "权利人(申请人)", "产权人"),
        "address": ("坐落", "房屋坐落"),
        "use": ("用途", "规划用途"),
        "area_m2": ("面积",),
        "": ("共有情况", "不动产单元号", "权利类型", "权利性质", "使用期限", "附记", "登记机构", "登记机构(章)"),
    },
    "application_letter": {
        "name": ("申请人", "申请人姓名"),
        "id_number": ("公民身份号码", "身份证号码", "身份证号"),
        "address": ("现住址", "居住地址", "住址", "现住"),
        "phone": ("联系电话", "手机号码"),
        "item": ("申请事项", "申请办理"),
        "": ("申请人(签名)",),
    },
}


def form_of(page: Page, doc_type: str, extra: Iterable[str] = ()) -> Form:
    labels = [lab for group in LABELS.get(doc_type, {}).values() for lab in group]
    return Form(page, [*labels, *extra], norm)


def labelled(
    form: Form, name: str, variants: Iterable[str], parse: Callable[[str], str | None], *, multiline: bool = False
) -> Field:
    """The first candidate after one of ``variants`` that parses (a date that is a date, a code of
    the right shape): the constraint chooses among what was read, it never changes it."""
    first: Read | None = None
    for segments in form.values(variants, multiline=multiline):
        read = Read("".join(seg.text for seg in segments), [seg.line for seg in segments])
        value = parse(read.text)
        if value:
            return field_from(name, read, value)
        first = first or read
    return field_from(name, first, None)


def _text(text: str) -> str | None:
    return text or None


def _name(text: str) -> str | None:
    return _clean_name(text) or None


def _capital(text: str) -> str | None:
    cap = re.search(r"(\d+(?:\.\d+)?)万", text)
    return f"{float(cap[1]):.2f}" if cap else None


def _uscc_in(text: str) -> str | None:
    m = re.search(r"(?<![0-9A-Z])[0-9A-Z]{18}(?![0-9A-Z])", norm(text).upper().translate(USCC_READ))
    return m[0] if m else None


def _id_in(text: str) -> str | None:
    m = re.search(r"(?<!\d)\d{17}[\dX](?![\dX])", norm(text).upper())
    return m[0] if m else None


def _code(form: Form, page: Page, name: str, variants: Iterable[str], *, uscc: bool) -> Field:
    """A credit code or ID number: after its label, else by pattern anywhere; checked, never corrected."""
    f = labelled(form, name, variants, _uscc_in if uscc else _id_in)
    if f.value is None:
        f = uscc_field(page, name) if uscc else id_field(page, name)
    return checked(page, check_uscc(f) if uscc else check_id(f), uscc=uscc)


def _overlap(a: Rect, b: Rect) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    return w * h / min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))


def checked(page: Page, f: Field, *, uscc: bool) -> Field:
    """The check character as a constraint that chooses among readings, never a correction.

    When a code fails its check and the same printed place was read again (the second look
    re-recognises a failed code's line on its own), the other reading is taken only if it passes
    the check, differs from the first in at most two characters — never in the check character
    itself — and was read with confidence ≥ 0.9: two readings of the same pixels, one of which is
    consistent. A forged check character is printed as forged: both readings agree on it, every
    reading of the body that passes would need it changed, and the code keeps the characters
    printed with the flag ``check_failed``.
    """
    if f.value is None or "check_failed" not in f.flags or f.box is None:
        return f
    parse = _uscc_in if uscc else _id_in
    for ln in page.lines:
        other = parse(ln.text)
        if (
            other is None
            or other == f.value
            or ln.score < 0.9
            or _overlap(ln.rect, f.box) < 0.5
            or sum(a != b for a, b in zip(other, f.value, strict=True)) > 2
            or other[-1] != f.value[-1]  # the check character itself is never what a reading changes
        ):
            continue
        again = (
            check_uscc(Field(f.name, other, ln.score, ln.rect))
            if uscc
            else check_id(Field(f.name, other, ln.score, ln.rect))
        )
        if "check_failed" not in again.flags:
            again.notes.append(f"read twice: first as {f.value}, again as {other}, which passes its check")
            again.confidence = min(again.confidence, f.confidence)
            return again
    return f


def _business_licence(page: Page) -> dict[str, Field]:
    lab = LABELS["business_licence"]
    form = form_of(page, "business_licence")
    f: dict[str, Field] = {"uscc": _code(form, page, "uscc", lab["uscc"], uscc=True)}
    f["name"] = labelled(form, "name", lab["name"], _name)
    f["legal_rep"] = labelled(form, "legal_rep", lab["legal_rep"], _name)
    f["registered_capital"] = labelled(form, "registered_capital", lab["registered_capital"], _capital)
    f["established_on"] = labelled(form, "established_on", lab["established_on"], parse_date)
    f["address"] = labelled(form, "address", lab["address"], _text, multiline=True)
    f["issued_on"] = bottom_date(page)
    return f


def _food_licence(page: Page) -> dict[str, Field]:
    lab = LABELS["food_business_licence"]
    form = form_of(page, "food_business_licence")
    f: dict[str, Field] = {}
    f["name"] = labelled(form, "name", lab["name"], _name)
    f["uscc"] = _code(form, page, "uscc", lab["uscc"], uscc=True)
    f["legal_rep"] = labelled(form, "legal_rep", lab["legal_rep"], _name)
    f["premises"] = labelled(form, "premises", lab["premises"], _text, multiline=True)
    f["business_items"] = labelled(form, "business_items", lab["business_items"], _text, multiline=True)
    found = find_pattern(page, _FOOD_NO, translate={ord("O"): "0"})
    f["number"] = field_from("number", found[1], found[0]) if found else Field("number", None, 0.0, None, ["missing"])
    f["valid_until"] = labelled(form, "valid_until", lab["valid_until"], parse_date)
    until = page.find_label("有效期至")
    beside = set(map(id, page.right_of(until))) | {id(until)} if until is not None else set()
    f["issued_on"] = bottom_date(page, below_share=0.6, skip=beside)
    return f


def _birth(text: str) -> str | None:
    return parse_date(text)


def _id_card(page: Page) -> dict[str, Field]:
    lab = LABELS["id_card"]
    form = form_of(page, "id_card")
    f: dict[str, Field] = {}
    f["name"] = labelled(form, "name", lab["name"], _name)
    f["sex"] = labelled(form, "sex", lab["sex"], lambda t: next((c for c in t if c in "男女"), None))
    f["birth_date"] = labelled(form, "birth_date", lab["birth_date"], _birth)
    if f["birth_date"].value is None:  # "1987 年 2 月 3 日" read as separate boxes: the whole row
        anchor = next(iter(form.anchors(lab["birth_date"])), None)
        if anchor is not None:
            row = page.right_of(anchor[0])
            joined = "".join(norm(ln.text) for ln in [anchor[0], *row])
            if parse_date(joined):
                f["birth_date"] = field_from("birth_date", Read(joined, [anchor[0], *row]), parse_date(joined))
    f["address"] = labelled(form, "address", lab["address"], _text, multiline=True)
    f["id_number"] = _code(form, page, "id_number", lab["id_number"], uscc=False)
    return f


def _area(text: str) -> str | None:
    area = re.search(r"(\d+\.\d+)平方米", text)
    return area[1] if area else None


def _real_estate(page: Page) -> dict[str, Field]:
    lab = LABELS["real_estate_certificate"]
    form = form_of(page, "real_estate_certificate")
    f: dict[str, Field] = {}
    found = find_pattern(page, _ESTATE_NO, translate={})
    f["number"] = field_from("number", found[1], found[0]) if found else Field("number", None, 0.0, None, ["missing"])
    f["holder_name"] = labelled(form, "holder_name", lab["holder_name"], _name)
    f["address"] = labelled(form, "address", lab["address"], _text, multiline=True)
    f["use"] = labelled(form, "use", lab["use"], _name)
    f["area_m2"] = labelled(form, "area_m2", lab["area_m2"], _area)
    if f["area_m2"].value is None:  # "房屋建筑面积93.91平方米" printed in one piece
        hit = next((ln for ln in page.lines if _area(norm(ln.text))), None)
        if hit is not None:
            f["area_m2"] = field_from("area_m2", Read(hit.text, [hit]), _area(norm(hit.text)))
    f["issued_on"] = bottom_date(page, below_share=0.7)
    return f


INVOICE_LABELS = (
    "发票号码",
    "开票日期",
    "名称",
    # the second half of a letter-spaced 名　称： whose 名 was not read (a photocopy)
    "称:",
    "购买方",
    "销售方",
    "购买方信息",
    "销售方信息",
    "统一社会信用代码/纳税人识别号",
    "纳税人识别号",
    "统一社会信用代码",
    "项目名称",
    "合计",
    "价税合计(大写)",
    "(小写)",
)


def _invoice(page: Page) -> dict[str, Field]:
    form = Form(page, INVOICE_LABELS, norm)
    f: dict[str, Field] = {}
    f["number"] = labelled(form, "number", ("发票号码",), lambda t: m[0] if (m := re.search(r"\d{20}", t)) else None)
    f["issued_on"] = labelled(form, "issued_on", ("开票日期",), parse_date)
    # buyer and seller by their section (the 购买方/销售方 header nearest above or left of each 名称),
    # not by which half of the page they are in: printings put the seller right of or below the buyer
    headers = [(ln, tok.label[:3]) for ln, tok in form.anchors(("购买方", "销售方", "购买方信息", "销售方信息"))]
    names: dict[str, tuple[OcrLine, Field]] = {}
    for ln, tok in form.anchors(("名称", "称:")):
        x, y = ln.centre
        h = ln.height
        owners = [
            (((x - hx) ** 2 + (y - hy) ** 2) ** 0.5, side)
            for hl, side in headers
            for hx, hy in [hl.centre]
            if hy <= y + h and hl.rect[0] <= ln.rect[0] + h
        ]
        if not owners:
            continue
        side = "buyer" if min(owners)[1] == "购买方" else "seller"
        if side in names:
            continue
        segs = form.value_at(ln, tok)
        read = Read("".join(seg.text for seg in segs), [seg.line for seg in segs]) if segs else None
        names[side] = (ln, field_from(f"{side}_name", read, _name(read.text) if read else None))
    codes = [ln for ln in page.lines if _uscc_in(ln.text)]
    mid = page.ocr.width / 2
    for side in ("buyer", "seller"):
        if side in names:
            anchor, named = names[side]
            f[f"{side}_name"] = named
            ax, ay = anchor.centre
            near = [
                (((ln.centre[0] - ax) ** 2 + (ln.centre[1] - ay) ** 2) ** 0.5, ln)
                for ln in codes
                if ln.centre[1] > ay - 0.5 * anchor.height and ln.centre[1] - ay < 6 * anchor.height
            ]
            if near:
                ln = min(near, key=lambda p: p[0])[1]
                code = check_uscc(field_from(f"{side}_uscc", Read(ln.text, [ln]), _uscc_in(ln.text)))
                f[f"{side}_uscc"] = checked(page, code, uscc=True)
                continue
        else:
            f[f"{side}_name"] = Field(f"{side}_name", None, 0.0, None, ["missing"])

        def half(ln: OcrLine, buyer: bool = side == "buyer") -> bool:
            return (ln.centre[0] < mid) == buyer

        f[f"{side}_uscc"] = uscc_field(page, f"{side}_uscc", where=half)
    f["total"] = labelled(form, "total", ("(小写)",), _money)
    # amount and tax: candidate rows, the first whose amount + tax is the total printed in figures
    # (the constraint chooses among what was read; it never changes a figure), else the first found
    rows = [row for row in (_total_row(page), *_column_rows(page), _yen_row(page)) if row]
    pick = next((row for row in rows if _adds_up(row, f["total"].value)), rows[0] if rows else [])
    f["amount"] = (
        field_from("amount", Read(pick[0].text, [pick[0]]), _money(pick[0].text))
        if pick
        else Field("amount", None, 0.0, None, ["missing"])
    )
    f["tax"] = (
        field_from("tax", Read(pick[-1].text, [pick[-1]]), _money(pick[-1].text))
        if len(pick) > 1
        else Field("tax", None, 0.0, None, ["missing"])
    )
    return f


def _adds_up(row: list[OcrLine], total: str | None) -> bool:
    if total is None or len(row) < 2:
        return False
    amount, tax = _money(row[0].text), _money(row[-1].text)
    return amount is not None and tax is not None and round(float(amount) + float(tax) - float(total), 2) == 0


def _on_row(page: Page, anchor: OcrLine) -> list[OcrLine]:
    """The amounts right of ``anchor`` on its row, left to right."""
    ay = anchor.centre[1] - page.slope * anchor.centre[0]
    return sorted(
        (
            ln
            for ln in page.lines
            if _money(ln.text)
            and ln.rect[0] > anchor.rect[2]
            and abs(ln.centre[1] - page.slope * ln.centre[0] - ay) < 0.6 * max(ln.height, anchor.height)
        ),
        key=lambda ln: ln.centre[0],
    )


def _total_row(page: Page) -> list[OcrLine]:
    """The 合计 row: the amounts on the row of its label (read as 合计, or as 合 and 计)."""
    label = next((ln for ln in page.lines if norm(ln.text).strip(":") in ("合计", "合")), None)
    row = _on_row(page, label) if label is not None else []
    return row if len(row) >= 2 else []


def _column_rows(page: Page) -> list[list[OcrLine]]:
    """Rows with an amount under the 金额 header and one under the 税额 header, above 价税合计,
    lowest first (one item: its amounts are the totals; several: the 合计 row is the lowest)."""
    amount_head = next((ln for ln in page.lines if norm(ln.text).strip(":") == "金额"), None)
    tax_head = next((ln for ln in page.lines if norm(ln.text).strip(":") == "税额"), None)
    grand = page.find_label("价税合计")
    if amount_head is None or tax_head is None:
        return []
    limit = grand.rect[1] if grand is not None else page.ocr.height

    def under(head: OcrLine) -> list[OcrLine]:
        x0, x1 = head.rect[0] - 2 * head.height, head.rect[2] + 2 * head.height
        return [
            ln
            for ln in page.lines
            if _money(ln.text) and ln.rect[1] > head.rect[3] and ln.rect[3] <= limit and x0 < ln.centre[0] < x1
        ]

    def row_y(ln: OcrLine) -> float:
        return ln.centre[1] - page.slope * ln.centre[0]

    pairs = [
        (a, t)
        for a in under(amount_head)
        for t in under(tax_head)
        if abs(row_y(a) - row_y(t)) < 0.6 * max(a.height, t.height)
    ]
    return [[a, t] for a, t in sorted(pairs, key=lambda p: -row_y(p[0]))]


def _yen_row(page: Page) -> list[OcrLine]:
    """The two amounts with ¥ just above 价税合计 (a printing without a 合计 label)."""
    grand = page.find_label("价税合计")
    if grand is None:
        return []
    gy = grand.centre[1] - page.slope * grand.centre[0]
    above = [
        (gy - (ln.centre[1] - page.slope * ln.centre[0]), ln)
        for ln in page.lines
        if _money(ln.text) and "¥" in norm(ln.text).replace("Y", "¥")
    ]
    above = [(dy, ln) for dy, ln in above if 0.8 * grand.height < dy < 6 * grand.height]
    if not above:
        return []
    nearest = min(dy for dy, _ in above)
    return sorted((ln for dy, ln in above if dy - nearest < 0.6 * grand.height), key=lambda ln: ln.centre[0])


def _letter(page: Page) -> dict[str, Field]:
    ordered = page.reading_order()
    body = [ln for ln in ordered if not any(k in ln.text for k in ("申请书", "此致", "敬礼"))]
    joined = "".join(norm(ln.text) for ln in body)
    whole = Read(joined, body)
    f: dict[str, Field] = {}

    def from_body(name: str, pattern: str) -> Field:
        m = re.search(pattern, joined)
        return field_from(name, whole, m[1] if m else None)

    f["name"] = labelled(form_of(page, "application_letter"), "name", LABELS["application_letter"]["name"], _name)
    if f["name"].value is None:
        f["name"] = from_body("name", r"本人([\u4e00-\u9fff]{2,4}),")
    f["id_number"] = check_id(from_body("id_number", r"身份号码(\d{17}[\dXx])"))
    if f["id_number"].value:
        f["id_number"].value = f["id_number"].value.upper()
    f["address"] = from_body("address", r"现住(.+?),联系电话")
    f["phone"] = from_body("phone", r"联系电话(1[3-9]\d{9})")
    f["item"] = from_body("item", r"现申请办理(.+?),请予")
    if any(f[k].value is None for k in ("name", "id_number", "address", "phone", "item")):
        # a filled-in form rather than a paragraph: the same fields after their labels
        lab = LABELS["application_letter"]
        form = form_of(page, "application_letter")
        parsers: dict[str, Callable[[str], str | None]] = {
            "name": _name,
            "id_number": _id_in,
            "address": _text,
            "phone": lambda t: m[0] if (m := _PHONE.search(t)) else None,
            "item": _name,
        }
        for key, parse in parsers.items():
            if f[key].value is None:
                got = labelled(form, key, lab[key], parse, multiline=key == "address")
                if got.value is not None:
                    f[key] = check_id(got) if key == "id_number" else got
    dates = [ln for ln in ordered if parse_date(ln.text)]
    f["signed_on"] = (
        field_from("signed_on", Read(dates[-1].text, [dates[-1]]), parse_date(dates[-1].text))
        if dates
        else Field("signed_on", None, 0.0, None, ["missing"])
    )
    for name in ("id_number", "address", "phone", "item"):  # one region for the paragraph: narrow it
        value = f[name].value
        if value:
            hit = [ln for ln in body if norm(ln.text) and norm(ln.text)[:4] in value or value[:4] in norm(ln.text)]
            if hit:
                f[name].box = _union(hit)
    return f


#: Values printed to the right of a label, per type: where a second look can find a value the
#: page-level detector missed (short values — a two-character name, 男/女 — are the usual ones).
LABELLED: dict[str, dict[str, str]] = {
    "business_licence": {
        "name": "名称",
        "legal_rep": "法定代表人",
        "registered_capital": "注册资本",
        "established_on": "成立日期",
    },
    "food_business_licence": {"name": "经营者名称", "legal_rep": "(负责人)", "valid_until": "有效期至"},
    "id_card": {"name": "姓名", "sex": "性别", "birth_date": "出生"},
    "real_estate_certificate": {"holder_name": "权利人", "use": "用途", "area_m2": "面积"},
    "invoice": {"issued_on": "开票日期", "number": "发票号码"},
    "application_letter": {},
}


def probes(ocr: OcrResult, ex: Extraction) -> dict[str, Rect]:
    """Where to look again for each field that was not read: a line read only in part, or the
    band right of a field's label up to the next text on the row (or about ten characters)."""
    page = Page(ocr)
    out: dict[str, Rect] = {}
    heights = sorted(ln.height for ln in page.lines) or [0.0]
    line_height = heights[len(heights) // 2]
    for name, code in ex.fields.items():  # a code that fails its check: its line once more, on its own
        if name in IDENTIFIER_FIELDS and "check_failed" in code.flags and code.box is not None:
            left, top, right, bottom = code.box
            if bottom - top > 1.8 * line_height or ex.doc_type == "application_letter":
                continue  # a paragraph's region or line, not the code's own line
            pad = 0.25 * (bottom - top)
            out[name] = (
                max(0, int(left - pad)),
                max(0, int(top - pad)),
                min(ocr.width, int(right + pad)),
                min(ocr.height, int(bottom + pad)),
            )
    for name, partial in ex.fields.items():  # read in part (a date under a seal): the line, a little wider
        if partial.value is None and "unparsed" in partial.flags and partial.box is not None:
            left, top, right, bottom = partial.box
            size = bottom - top
            out[name] = (
                max(0, int(left - 0.5 * size)),
                max(0, int(top - 0.2 * size)),
                min(ocr.width, int(right + (7 if name == "issued_on" else 3) * size)),
                min(ocr.height, int(bottom + 0.2 * size)),
            )
    for name, label in LABELLED.get(ex.doc_type, {}).items():
        f = ex.fields.get(name)
        if f is None or f.value is not None:
            continue
        anchor = page.find_label(label)
        if anchor is None or norm(anchor.text).split(label, 1)[1].lstrip(":"):
            continue
        h = anchor.height
        x0 = anchor.rect[2] + 0.2 * h
        beside = page.right_of(anchor)
        x1 = min(beside[0].rect[0] - 0.2 * h if beside else x0 + 10 * h, x0 + 14 * h, ocr.width)
        if x1 - x0 < h:
            continue
        dy = page.slope * (x1 - x0)
        y0 = anchor.rect[1] - 0.25 * h + min(0.0, dy)
        y1 = anchor.rect[3] + 0.25 * h + max(0.0, dy)
        out[name] = (int(x0), int(max(0, y0)), int(x1), int(min(ocr.height, y1)))
    out.update(_unlabelled(page, ex, line_height))
    out.update(_missed_rows(page, ex, line_height))
    issued = ex.fields.get("issued_on")
    if issued is not None and issued.value is None and "issued_on" not in out:
        # the issue date, unseen under the seal: printed below the issuing authority's label
        # (登记机关, 发证机关, 登记机构 — itself perhaps half hidden, read as 照机关)
        authority = [
            ln
            for ln in page.lines
            if ln.centre[1] > 0.5 * ocr.height
            and any(k in norm(ln.text) for k in ("机关", "登记机", "发证机", "发照机"))
        ]
        if authority:
            a = max(authority, key=lambda ln: ln.centre[1])
            h = a.height
            out["issued_on"] = (
                int(max(0, a.rect[0] - 1.5 * h)),
                int(a.rect[3] + 0.3 * h),
                int(min(ocr.width, a.rect[0] + 14 * h)),
                int(min(ocr.height, a.rect[3] + 3 * h)),
            )
    return out


def _unlabelled(page: Page, ex: Extraction, line_height: float) -> dict[str, Rect]:
    """Where a label the detector did not see may be: left of a value that stands alone in the
    value column. A field is missing and none of its label's wordings was read (a toner streak,
    a faint copy), yet some line has no text left of it on its row although the page's labels
    are printed left of their values: the band left of that line is looked at again. If it reads
    as a label, the value beside it is paired as any other — the label is read, not assumed."""
    variants = LABELS.get(ex.doc_type, {})
    wanted = [
        name
        for name, f in ex.fields.items()
        if f.value is None
        and "missing" in f.flags
        and variants.get(name)
        and not any(norm(v) in norm(ln.text) for v in variants[name] for ln in page.lines)
    ]
    if not wanted:
        return {}
    labels = {norm(v) for group in variants.values() for v in group}
    starts = [ln for ln in page.lines if any(norm(ln.text).lstrip("(").startswith(lab) for lab in labels)]
    if len(starts) < 3:
        return {}
    out: dict[str, Rect] = {}
    first, last = min(lab.rect[1] for lab in starts), max(lab.rect[3] for lab in starts)
    for k, ln in enumerate(sorted(page.lines, key=lambda item: item.centre[1])):
        text = norm(ln.text)
        h = max(ln.height, line_height)
        x0 = ln.rect[0]
        if any(lab in text for lab in labels) or x0 < 3 * h or not first - h < ln.centre[1] < last + h:
            continue  # a label's own line, a line at the margin, or above or below the form (a title)
        y = ln.centre[1] - page.slope * ln.centre[0]
        if any(
            other is not ln
            and other.rect[2] < x0
            and abs(other.centre[1] - page.slope * other.centre[0] - y) < 0.6 * max(h, other.height)
            for other in page.lines
        ):
            continue  # something is read left of it: a label (read however), or a value of the row
        # the page's labels stand left of their values: some label ends left of this line's start
        if not any(lab.rect[2] < x0 - 0.2 * h and lab.rect[0] < x0 - 2 * h for lab in starts):
            continue
        left = float(min(lab.rect[0] for lab in starts if lab.rect[2] < x0))
        if x0 - 0.5 * h - left < h:
            continue
        top = ln.rect[1] - 0.35 * h + min(0.0, page.slope * (left - x0))
        bottom = ln.rect[3] + 0.35 * h + max(0.0, page.slope * (left - x0))
        out[f"label-{k}"] = (int(left), int(max(0, top)), int(x0 - 0.5 * h), int(min(page.ocr.height, bottom)))
        if len(out) >= 4:
            break
    return out


def _missed_rows(page: Page, ex: Extraction, line_height: float) -> dict[str, Rect]:
    """Where a whole row of the form may be that the detector did not see at all (neither label
    nor value: an ID card's first row under motion blur): a field is missing and none of its
    label's wordings was read; the rows that start with a label are evenly spaced, and one pitch
    above the first of them — or in a gap of two pitches or more between two of them — no line
    was read. That row is looked at again, from the label column across the form; what it reads
    is paired as any other line (nothing is assumed about what the row holds)."""
    variants = LABELS.get(ex.doc_type, {})
    if not any(
        f.value is None
        and "missing" in f.flags
        and variants.get(name)
        and not any(norm(v) in norm(ln.text) for v in variants[name] for ln in page.lines)
        for name, f in ex.fields.items()
    ):
        return {}
    labels = {norm(v) for group in variants.values() for v in group}
    starts = [ln for ln in page.lines if any(norm(ln.text).lstrip("(").startswith(lab) for lab in labels)]
    if len(starts) < 3:
        return {}

    def level(ln: OcrLine) -> float:  # the line's height on the page as if it were not rotated
        return ln.centre[1] - page.slope * ln.centre[0]

    rows: list[float] = []
    for y in sorted(level(ln) for ln in starts):
        if not rows or y - rows[-1] > 0.6 * line_height:
            rows.append(y)
    steps = sorted(b - a for a, b in zip(rows, rows[1:], strict=False))
    if len(steps) < 2:
        return {}
    pitch = steps[len(steps) // 2]
    if not 1.2 * line_height < pitch < 4 * line_height:
        return {}
    wanted = [rows[0] - pitch]
    for a, b in zip(rows, rows[1:], strict=False):
        if b - a > 1.8 * pitch:
            wanted.append(a + pitch)
    left = min(ln.rect[0] for ln in starts) - 0.5 * line_height
    right = min(float(page.ocr.width), max(ln.rect[2] for ln in page.lines) + line_height)
    out: dict[str, Rect] = {}
    for k, y in enumerate(wanted):
        top, bottom = y - 0.8 * line_height, y + 0.8 * line_height
        if top < 0 or any(
            level(ln) - 0.5 * ln.height < bottom - 0.3 * line_height
            and level(ln) + 0.5 * ln.height > top + 0.3 * line_height
            for ln in page.lines
        ):
            continue  # something was read on that row: not a row the detector missed
        dy = page.slope * (right - left)
        out[f"row-{k}"] = (
            int(max(0.0, left)),
            int(max(0.0, top + page.slope * left + min(0.0, dy))),
            int(right),
            int(min(float(page.ocr.height), bottom + page.slope * left + max(0.0, dy))),
        )
        if len(out) >= 2:
            break
    return out


def with_lines(ocr: OcrResult, extra: list[OcrLine]) -> OcrResult:
    """The OCR result with lines found by a second look added."""
    return OcrResult(ocr.engine, ocr.width, ocr.height, ocr.lines + tuple(extra), ocr.seconds)


EXTRACTORS: dict[str, Callable[[Page], dict[str, Field]]] = {
    "business_licence": _business_licence,
    "food_business_licence": _food_licence,
    "id_card": _id_card,
    "real_estate_certificate": _real_estate,
    "invoice": _invoice,
    "application_letter": _letter,
}


def extract(ocr: OcrResult, doc_type: str | None = None) -> Extraction:
    """The fields of the document OCR read; the type is detected unless given."""
    page = Page(ocr)
    if doc_type is None:
        doc_type, confidence = detect_type(page.lines)
    else:
        if doc_type not in EXTRACTORS:
            from onecity.core.errors import InvalidInput

            raise InvalidInput(f"unknown document type {doc_type!r}; one of {', '.join(EXTRACTORS)}")
        confidence = 1.0
    fields = EXTRACTORS[doc_type](page)
    return Extraction(doc_type, confidence, fields, [ln.text for ln in page.reading_order()], ocr.width, ocr.height)


def merge_pages(pages: list[Extraction]) -> Extraction:
    """One extraction of a multi-page upload: each field from the first page that has a value
    (a licence's second page, a certificate's annex), with that page's number; the text of all."""
    first = pages[0]
    fields: dict[str, Field] = {}
    for number, ex in enumerate(pages, start=1):
        for name, f in ex.fields.items():
            if name not in fields or (fields[name].value is None and f.value is not None):
                f.page = number
                fields[name] = f
    text = [line for ex in pages for line in ex.text]
    return Extraction(first.doc_type, first.type_confidence, fields, text, first.width, first.height)


IDENTIFIER_FIELDS: dict[str, Callable[[Field], Field]] = {
    "uscc": check_uscc,
    "buyer_uscc": check_uscc,
    "seller_uscc": check_uscc,
    "id_number": check_id,
}


def from_values(
    doc_type: str, values: dict[str, str], *, confidence: float = 1.0, regions: dict[str, Rect] | None = None
) -> Extraction:
    """An extraction whose values are known rather than read: keyed in by a counter clerk, or a
    corpus document's ground truth (to test the cross-checks apart from OCR). Identifiers get
    the same check-character test as read ones."""
    fields: dict[str, Field] = {}
    for name, value in values.items():
        f = Field(name, value, confidence, (regions or {}).get(name))
        fields[name] = IDENTIFIER_FIELDS[name](f) if name in IDENTIFIER_FIELDS else f
    return Extraction(doc_type, 1.0, fields, [], 0, 0)
