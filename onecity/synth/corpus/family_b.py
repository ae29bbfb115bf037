"""A second, independently designed family of the six documents: other printings, other phones.

Family A (:mod:`~onecity.synth.corpus.layouts`) prints each type one way, in Noto CJK, with
every label in one place. Real uploads come from many printings: a licence issued by a district
bureau in 2016 is a portrait page with a ruled table, a copy shop prints an ID card front and
back on one A4 sheet, a certificate exported from another system runs its labels inline. This
family is drawn by separate code with separate choices, so that an extractor tuned on one
family can be measured on the other:

* page sizes A4 portrait and landscape at 150 dpi, A5 landscape, an ID card copied on A4;
* three form styles — a ruled table (label column, value column), inline ``label：value``
  with two fields sharing a line (``性别 男 民族 汉``), and stacked (a small label above its
  value);
* Kai, Song, Hei and FangSong faces from Debian's packages (``fonts-arphic-gkai00mp``,
  ``fonts-lxgw-wenkai``, ``fonts-arphic-gbsn00lp``, ``fonts-arphic-uming``,
  ``fonts-wqy-zenhei``, ``fonts-cwtex-fs``); Debian has no simplified-Chinese FangSong outside
  TeX Live, so cwTeX FangSong prints only the strings it covers and Kai the rest;
* label variants a real document uses (住所/地址/营业场所, 法定代表人/负责人,
  成立日期/注册日期…); addresses and business scopes wrapped over two or three lines, with
  the next field's label just below; seals stamped over dates and text; a photo overlapping
  the address;
* its own degradations: phone photos (strong perspective, glare, shadow, moiré, motion blur),
  a photocopy (binarised, toner streaks) and JPEG.

Ground truth is the same :data:`~onecity.synth.corpus.layouts.Values` as family A: the values
are drawn by the :class:`~onecity.synth.corpus.generate.Generator`, only the printing differs.
"""

from __future__ import annotations

import io
import math
import random
from collections.abc import Callable
from datetime import date
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

from onecity.core.config import ConfigurationError
from onecity.synth.corpus.draw import BLACK, RED, Box, Page, portrait, qr_like, seal
from onecity.synth.corpus.layouts import Regions, Values, amount_in_words

FONT_FILES: dict[str, tuple[tuple[str, int], ...]] = {
    "kai": (("gkai00mp.ttf", 0), ("LXGWWenKai-Regular.ttf", 0), ("ukai.ttc", 0)),
    "song": (("gbsn00lp.ttf", 0), ("uming.ttc", 0)),
    "hei": (("wqy-zenhei.ttc", 0),),
    "fangsong": (("cwfs.ttf", 0),),
}
FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"))
PACKAGES = (
    "fonts-arphic-gkai00mp fonts-lxgw-wenkai fonts-arphic-ukai fonts-arphic-gbsn00lp fonts-arphic-uming "
    "fonts-wqy-zenhei fonts-cwtex-fs"
)


@cache
def _find(filename: str) -> Path | None:
    for root in FONT_DIRS:
        for found in sorted(root.rglob(filename)) if root.is_dir() else ():
            return found
    return None


@cache
def faces(kind: str) -> tuple[tuple[Path, int], ...]:
    found = tuple((p, i) for name, i in FONT_FILES[kind] if (p := _find(name)) is not None)
    if not found:
        raise ConfigurationError(f"no {kind} font found: install {PACKAGES} (scripts/install-system-packages.sh)")
    return found


@cache
def _font(path: Path, index: int, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), size, index=index)


@cache
def _covers(path: Path, index: int, text: str) -> bool:
    """Whether the face has a glyph for every character (a missing one renders as .notdef)."""
    f = _font(path, index, 24)
    notdef = f.getmask("\U0010fffd")
    ref = (notdef.size, bytes(notdef))
    for ch in set(text) - {" ", "　"}:
        m = f.getmask(ch)
        if (m.size, bytes(m)) == ref:
            return False
    return True


class TextPage(Page):
    """A page that remembers every string printed on it and where (left, top, size in pixels, face
    file and index): what a PDF exported from the issuing system carries as its text layer."""

    def __init__(self, width: int, height: int, background: tuple[int, int, int] = (255, 255, 255)) -> None:
        super().__init__(width, height, background)
        self.texts: list[tuple[float, float, int, str, Path, int]] = []


class Style:
    """One printing's choices: faces, sizes, form style, label variants."""

    def __init__(self, rng: random.Random, *, styles: tuple[str, ...] = ("table", "inline", "stacked")) -> None:
        self.rng = rng
        self.label_face = rng.choice(("kai", "song", "hei", "fangsong"))
        self.value_face = rng.choice(("kai", "song", "hei"))
        self.label_index = rng.randrange(len(faces(self.label_face)))
        self.value_index = rng.randrange(len(faces(self.value_face)))
        self.form = rng.choice(styles)
        self.colon = rng.choice(("：", ":", "", "："))
        self.pad_dates = rng.random() < 0.5

    def face(self, text: str, *, label: bool) -> tuple[Path, int]:
        kind, index = (self.label_face, self.label_index) if label else (self.value_face, self.value_index)
        path, i = faces(kind)[index % len(faces(kind))]
        if not _covers(path, i, text):  # FangSong (Big5 only) and rare characters: fall back to Kai
            path, i = faces("kai")[0]
        return path, i

    def font(self, size: int, text: str, *, label: bool) -> ImageFont.FreeTypeFont:
        return _font(*self.face(text, label=label), size)

    def date(self, iso: str) -> str:
        d = date.fromisoformat(iso)
        return f"{d.year}年{d.month:02d}月{d.day:02d}日" if self.pad_dates else f"{d.year}年{d.month}月{d.day}日"

    def pick(self, *variants: str) -> str:
        return self.rng.choice(variants)


class Printer:
    """Draws text in the style's faces and keeps the box of every value; ``edited`` is pasted over."""

    def __init__(self, page: Page, style: Style, edited: str | None) -> None:
        self.page, self.style, self.edited = page, style, edited
        self.regions: Regions = {}

    def text(
        self, xy: tuple[float, float], s: str, size: int, *, label: bool = False, fill: tuple[int, int, int] = BLACK
    ) -> Box:
        face = self.style.face(s, label=label)
        f = _font(*face, size)
        self.page.draw.text(xy, s, font=f, fill=fill)
        left, top, right, bottom = self.page.draw.textbbox(xy, s, font=f)
        if isinstance(self.page, TextPage) and fill != (255, 255, 255):
            self.page.texts.append((xy[0], xy[1], size, s, *face))
        return int(left), int(top), int(right), int(bottom)

    def lines_of(self, s: str, size: int, width: float, *, label: bool = False) -> list[str]:
        f = self.style.font(size, s, label=label)
        out: list[str] = []
        current = ""
        for ch in s:
            if current and f.getlength(current + ch) > width:
                out.append(current)
                current = ""
            current += ch
        return [*out, current] if current else out

    def value(
        self,
        name: str | None,
        xy: tuple[float, float],
        s: str,
        size: int,
        *,
        width: float | None = None,
        gap: float = 1.4,
    ) -> Box:
        """A value, wrapped within ``width``; the box of all its lines is the field's region."""
        lines = self.lines_of(s, size, width) if width else [s]
        fill = BLACK
        if name is not None and name == self.edited:  # the forger's patch: white-out, other ink, a size up
            size, fill = size + 1, (38, 42, 72)
            probe = [
                self.text((xy[0], xy[1] + k * size * gap), ln, size, fill=(255, 255, 255)) for k, ln in enumerate(lines)
            ]
            x0, y0 = min(b[0] for b in probe) - 4, min(b[1] for b in probe) - 4
            x1, y1 = max(b[2] for b in probe) + 4, max(b[3] for b in probe) + 4
            self.page.draw.rectangle((x0, y0, x1, y1), fill=(255, 255, 255))
            xy = (xy[0] + self.style.rng.uniform(0, 3), xy[1] + self.style.rng.uniform(-2, 2))
        boxes = [self.text((xy[0], xy[1] + k * size * gap), ln, size, fill=fill) for k, ln in enumerate(lines)]
        box = (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))
        if name is not None:
            self.regions[name] = box
        return box


#: (field or None, label, shown value, wrap) — one printed row of a form
Row = tuple[str | None, str, str, bool]


def form(p: Printer, rows: list[Row], *, x: int, y: int, width: int, size: int) -> int:
    """Print ``rows`` in the style's form; returns the y below the last row."""
    st = p.style
    if st.form == "table":
        label_w = int(size * max(len(r[1]) for r in rows) + 2 * size)
        for name, label, shown, wrap in rows:
            lines = p.lines_of(shown, size, width - label_w - size) if wrap else [shown]
            h = int(max(2.2, 0.8 + 1.4 * len(lines)) * size)
            p.page.rect((x, y, x + label_w, y + h), width=2)
            p.page.rect((x + label_w, y, x + width, y + h), width=2)
            ly = y + (h - size) / 2
            p.text((x + size * 0.6, ly), label, size, label=True)
            p.value(
                name,
                (x + label_w + size * 0.6, y + 0.55 * size),
                shown,
                size,
                width=width - label_w - size if wrap else None,
            )
            y += h
        return y
    if st.form == "stacked":
        for name, label, shown, wrap in rows:
            p.text((x, y), label, int(size * 0.8), label=True, fill=(70, 70, 80))
            y += int(size * 1.05)
            box = p.value(name, (x + size * 0.3, y), shown, size, width=width - size if wrap else None)
            y = box[3] + int(size * 0.9)
        return y
    # inline: "label：value", short fields two to a line
    i = 0
    while i < len(rows):
        name, label, shown, wrap = rows[i]
        head = label + st.colon
        short = not wrap and len(shown) <= 10
        nxt = rows[i + 1] if i + 1 < len(rows) else None
        lb = p.text((x, y), head, size, label=True)
        vx = lb[2] + (size * 0.3 if not st.colon else size * 0.1)
        box = p.value(name, (vx, y), shown, size, width=(x + width - vx) if wrap else None)
        if short and nxt is not None and not nxt[3] and len(nxt[2]) <= 14:
            n2, l2, s2, _ = nxt
            x2 = max(box[2] + 2 * size, x + width // 2)
            lb2 = p.text((x2, y), l2 + st.colon, size, label=True)
            p.value(n2, (lb2[2] + size * 0.2, y), s2, size)
            i += 1
        y = box[3] + int(size * 1.0)
        i += 1
    return y


def _title(p: Printer, text: str, y: int, size: int, *, fill: tuple[int, int, int] = BLACK) -> None:
    w = p.page.image.width
    spaced = " ".join(text) if len(text) <= 5 else text
    width = p.style.font(size, spaced, label=True).getlength(spaced)
    p.text((w / 2 - width / 2, y), spaced, size, label=True, fill=fill)


def _page(rng: random.Random, sizes: tuple[tuple[int, int], ...]) -> Page:
    w, h = rng.choice(sizes)
    tint = rng.choice(((255, 255, 255), (250, 247, 238), (246, 248, 250)))
    return TextPage(w, h, tint)


PORTRAIT, LANDSCAPE, A5 = (1240, 1754), (1754, 1240), (1240, 874)


def _capital(style: Style, amount: str) -> str:
    v = float(amount)
    return style.pick(f"人民币{v:.2f}万元", f"{v:g}万元人民币", f"人民币{v:g}万元整")


def render_business_licence(values: Values, rng: random.Random, edited: str | None = None) -> tuple[Page, Regions]:
    st = Style(rng)
    page = _page(rng, (PORTRAIT, LANDSCAPE))
    p = Printer(page, st, edited)
    w, h = page.image.size
    size = rng.randint(27, 33)
    _title(p, "营业执照", 90, 64, fill=RED)
    p.text((w / 2 - 3 * size, 180), st.pick("（正本）", "（副本）", "（副　本）"), size - 4, label=True)
    code_label = st.pick("统一社会信用代码", "社会信用代码")
    rows: list[Row] = [
        ("uscc", code_label, values["uscc"], False),
        ("name", st.pick("名称", "名 称", "企业名称"), values["name"], False),
        (None, st.pick("类型", "主体类型"), values["kind"], False),
        ("legal_rep", st.pick("法定代表人", "负责人", "经营者"), values["legal_rep"], False),
        ("registered_capital", st.pick("注册资本", "注册资金"), _capital(st, values["registered_capital"]), False),
        ("established_on", st.pick("成立日期", "注册日期"), st.date(values["established_on"]), False),
        ("address", st.pick("住所", "地址", "营业场所"), values["address"], True),
        (
            None,
            "经营范围",
            values.get("scope", "一般项目：技术服务、技术开发、技术咨询、技术交流、技术转让、技术推广；软件开发。"),
            True,
        ),
        (None, "营业期限", f"{st.date(values['established_on'])}至长期", False),
    ]
    if rng.random() < 0.5:  # the scope right after the address: the value that used to be swallowed
        rows = rows[:5] + [rows[6], rows[7], rows[5], rows[8]]
    width = int(w * 0.55) if st.form != "table" else w - 260
    x0 = 130
    y = form(p, rows, x=x0, y=260, width=width if w > h else w - 260, size=size)
    if w > h and st.form != "table":
        qr_like(page, (w - 330, 260), 25, 7, rng)
    issuer = values.get("issuer", "上海市市场监督管理局")
    y = max(y + 60, h - 330)
    p.text((w - 560, y), st.pick("登记机关", "发照机关"), size, label=True)
    p.value("issued_on", (w - 560, y + 80), st.date(values["issued_on"]), size)
    seal(page, (w - 430 + rng.randint(-40, 40), y + 40 + rng.randint(-20, 30)), 115, issuer, rng=rng)
    return page, p.regions


def render_food_licence(values: Values, rng: random.Random, edited: str | None = None) -> tuple[Page, Regions]:
    st = Style(rng)
    page = _page(rng, (LANDSCAPE, PORTRAIT))
    p = Printer(page, st, edited)
    w, h = page.image.size
    size = rng.randint(27, 32)
    _title(p, "食品经营许可证", 80, 58, fill=(30, 60, 120))
    rows: list[Row] = [
        ("name", st.pick("经营者名称", "名称"), values["name"], False),
        ("uscc", st.pick("社会信用代码", "统一社会信用代码", "社会信用代码（身份证号码）"), values["uscc"], False),
        ("legal_rep", st.pick("法定代表人（负责人）", "负责人", "法定代表人"), values["legal_rep"], False),
        ("premises", st.pick("经营场所", "住所"), values["premises"], True),
        (None, "主体业态", st.pick("餐饮服务经营者", "食品销售经营者"), False),
        ("business_items", st.pick("经营项目", "许可项目"), values["business_items"], True),
        ("number", st.pick("许可证编号", "编号"), values["number"], False),
        ("valid_until", "有效期至", st.date(values["valid_until"]), False),
    ]
    y = form(p, rows, x=120, y=200, width=w - 240, size=size)
    issuer = values.get("issuer", "上海市市场监督管理局")
    y = max(y + 50, h - 300)
    p.text((w - 620, y), f"发证机关：{issuer}", size - 2, label=True)
    p.value("issued_on", (w - 520, y + 70), st.date(values["issued_on"]), size)
    seal(page, (w - 380, y + 40), 105, issuer, rng=rng)
    return page, p.regions


def _card(page: Page, box: Box, rng: random.Random) -> None:
    face = Image.new("RGB", (box[2] - box[0], box[3] - box[1]), (236, 240, 241))
    fd = ImageDraw.Draw(face)
    for k in range(0, face.width, 22):
        fd.arc((k - 260, 40, k + 260, face.height + 220), 200, 340, fill=(212, 222, 226), width=1)
    mask = Image.new("L", face.size, 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, face.width - 1, face.height - 1), 30, fill=255)
    page.image.paste(face, box[:2], mask)
    page.draw.rounded_rectangle(box, 30, outline=(150, 150, 150), width=2)


def render_id_card(values: Values, rng: random.Random, edited: str | None = None) -> tuple[Page, Regions]:
    """The card's front and back copied onto one A4 sheet (what a copy shop prints), or the front
    alone photographed large; 性别 and 民族 on one line, the address wrapped over two or three."""
    st = Style(rng, styles=("card",))
    copy = rng.random() < 0.6
    page = TextPage(*(PORTRAIT if copy else (1300, 860)), (255, 255, 255) if copy else (96, 92, 88))
    p = Printer(page, st, edited)
    scale = rng.uniform(0.9, 1.05) if copy else 1.15
    cw, ch = int(856 * scale), int(540 * scale)
    x0 = (page.image.width - cw) // 2
    y0 = 200 if copy else (page.image.height - ch) // 2
    _card(page, (x0, y0, x0 + cw, y0 + ch), rng)
    s = int(30 * scale)
    blue = (50, 96, 150)
    lx, vx = x0 + int(50 * scale), x0 + int(150 * scale)
    p.text((lx, y0 + 55 * scale), "姓名", int(s * 0.85), label=True, fill=blue)
    p.value("name", (vx, y0 + 50 * scale), values["name"], s + 4)
    y = y0 + 125 * scale
    p.text((lx, y + 4), "性别", int(s * 0.85), label=True, fill=blue)
    p.value("sex", (vx, y), values["sex"], s)
    p.text((vx + 110 * scale, y + 4), "民族", int(s * 0.85), label=True, fill=blue)
    p.text((vx + 200 * scale, y), values.get("ethnicity", "汉"), s)
    y = y0 + 195 * scale
    d = date.fromisoformat(values["birth_date"])
    p.text((lx, y + 4), "出生", int(s * 0.85), label=True, fill=blue)
    spaced = st.rng.random() < 0.5
    shown = f"{d.year} 年 {d.month} 月 {d.day} 日" if spaced else f"{d.year}年{d.month}月{d.day}日"
    p.value("birth_date", (vx, y), shown, s)
    y = y0 + 265 * scale
    p.text((lx, y + 4), "住址", int(s * 0.85), label=True, fill=blue)
    p.value("address", (vx, y), values["address"], s, width=int(rng.uniform(330, 420) * scale), gap=1.35)
    p.text((lx, y0 + 455 * scale), "公民身份号码", int(s * 0.85), label=True, fill=blue)
    p.value("id_number", (x0 + 265 * scale, y0 + 448 * scale), values["id_number"], s + 4)
    px = x0 + int(rng.uniform(545, 575) * scale)  # the photo, its left edge close to the address's end
    portrait(page, (px, int(y0 + 60 * scale), int(px + 260 * scale), int(y0 + 390 * scale)), rng)
    if copy:  # the back: issuing authority and validity — dates that are not the birth date
        by = y0 + ch + 120
        _card(page, (x0, by, x0 + cw, by + ch), rng)
        p.text((x0 + cw / 2 - 5 * s, by + 70), "中华人民共和国", int(s * 1.3), label=True)
        p.text((x0 + cw / 2 - 4 * s, by + 140), "居民身份证", int(s * 1.4), label=True)
        issued = date(max(d.year + 18, 2008), d.month, min(d.day, 28))
        p.text((x0 + 110 * scale, by + 370 * scale), "签发机关", int(s * 0.85), label=True, fill=blue)
        p.text((x0 + 250 * scale, by + 366 * scale), "上海市公安局" + st.pick("浦东分局", "徐汇分局", "黄浦分局"), s)
        p.text((x0 + 110 * scale, by + 440 * scale), "有效期限", int(s * 0.85), label=True, fill=blue)
        p.text((x0 + 250 * scale, by + 436 * scale), f"{issued:%Y.%m.%d}-{issued.year + 20}.{issued:%m.%d}", s)
    return page, p.regions


def render_real_estate(values: Values, rng: random.Random, edited: str | None = None) -> tuple[Page, Regions]:
    st = Style(rng)
    page = _page(rng, (PORTRAIT,))
    p = Printer(page, st, edited)
    w, h = page.image.size
    size = rng.randint(27, 32)
    _title(p, st.pick("不动产权证书", "不动产权证明"), 70, 50)
    p.value("number", (130, 170), values["number"], size + 2)
    rows: list[Row] = [
        ("holder_name", st.pick("权利人", "权利人（申请人）"), values["holder_name"], False),
        (None, "共有情况", "单独所有", False),
        ("address", st.pick("坐落", "房屋坐落"), values["address"], True),
        (None, "不动产单元号", values.get("unit", ""), False),
        (None, "权利类型", "国有建设用地使用权/房屋所有权", True),
        ("use", st.pick("用途", "规划用途"), values["use"], False),
        ("area_m2", "面积", f"{st.pick('房屋建筑面积', '建筑面积')}{values['area_m2']}平方米", False),
        (None, "使用期限", "70年", False),
    ]
    y = form(p, rows, x=120, y=260, width=w - 240, size=size)
    issuer = values.get("issuer", "上海市规划和自然资源局")
    y = max(y + 80, h - 300)
    p.text((w - 560, y), st.pick("登记机构（章）", "登记机构"), size, label=True)
    p.value("issued_on", (w - 540, y + 70), st.date(values["issued_on"]), size)
    seal(page, (w - 360, y + 30), 120, issuer, rng=rng, below="不动产登记专用章")
    return page, p.regions


def render_invoice(values: Values, rng: random.Random, edited: str | None = None) -> tuple[Page, Regions]:
    """增值税普通发票 in the older layout: the buyer's block on top, the seller's at the foot."""
    st = Style(rng, styles=("inline",))
    st.colon = "："
    page = _page(rng, (LANDSCAPE,))
    p = Printer(page, st, edited)
    w, _ = page.image.size
    brown = (140, 70, 40)
    _title(p, st.pick("上海增值税电子普通发票", "增值税普通发票"), 50, 46, fill=brown)
    p.text((w - 620, 140), "发票号码：", 26, label=True, fill=brown)
    p.value("number", (w - 480, 140), values["number"], 26)
    p.text((w - 620, 185), "开票日期：", 26, label=True, fill=brown)
    p.value("issued_on", (w - 480, 185), st.date(values["issued_on"]), 26)
    qr_like(page, (90, 40), 21, 5, rng)

    def party(side: str, title: str, y: int) -> None:
        p.page.rect((80, y, w - 80, y + 160), outline=brown, width=2)
        p.text((100, y + 30), title, 26, label=True, fill=brown)
        p.text((230, y + 30), "名　　称：", 26, label=True, fill=brown)
        p.value(f"{side}_name", (380, y + 30), values[f"{side}_name"], 27)
        p.text((230, y + 95), st.pick("纳税人识别号：", "统一社会信用代码/纳税人识别号："), 24, label=True, fill=brown)
        p.value(f"{side}_uscc", (640, y + 95), values[f"{side}_uscc"], 27)

    party("buyer", "购买方", 250)
    t = 430
    p.page.rect((80, t, w - 80, t + 300), outline=brown, width=2)
    for head, x in (
        ("货物或应税劳务、服务名称", 100),
        ("数量", 760),
        ("单价", 900),
        ("金额", 1080),
        ("税率", 1280),
        ("税额", 1420),
    ):
        p.text((x, t + 18), head, 22, label=True, fill=brown)
    p.text((100, t + 70), values.get("item", "*餐饮服务*餐费"), 24)
    p.text((1080, t + 70), values["amount"], 24)
    p.text((1280, t + 70), "6%", 24)
    p.text((1420, t + 70), values["tax"], 24)
    p.text((100, t + 240), "合　　计", 24, label=True, fill=brown)
    p.value("amount", (1080, t + 238), f"¥{values['amount']}", 25)
    p.value("tax", (1420, t + 238), f"¥{values['tax']}", 25)
    t2 = t + 300
    p.page.rect((80, t2, w - 80, t2 + 80), outline=brown, width=2)
    p.text((100, t2 + 26), "价税合计（大写）", 24, label=True, fill=brown)
    p.text((360, t2 + 24), "⊗" + amount_in_words(values["total"]), 26)
    p.text((1080, t2 + 26), "（小写）", 24, label=True, fill=brown)
    p.value("total", (1200, t2 + 24), f"¥{values['total']}", 26)
    party("seller", "销售方", t2 + 110)
    p.text(
        (100, t2 + 310),
        f"收款人：{st.pick('李娜', '陈静')}　复核：{st.pick('王强', '赵磊')}　开票人：王敏",
        24,
        label=True,
        fill=brown,
    )
    return page, p.regions


def render_letter(values: Values, rng: random.Random, edited: str | None = None) -> tuple[Page, Regions]:
    """申请书 as a filled-in form (申请人、身份证号、住址、电话、申请事项) rather than a paragraph."""
    st = Style(rng)
    page = _page(rng, (PORTRAIT,))
    p = Printer(page, st, edited)
    w, _ = page.image.size
    size = rng.randint(28, 32)
    _title(p, st.pick("申请书", "申 请 书", "办理申请书"), 110, 52)
    p.text((120, 230), f"{values['addressee']}：", size, label=True)
    rows: list[Row] = [
        ("name", st.pick("申请人", "申请人姓名"), values["name"], False),
        ("id_number", st.pick("公民身份号码", "身份证号码", "身份证号"), values["id_number"], False),
        ("address", st.pick("现住址", "居住地址", "住址"), values["address"], True),
        ("phone", st.pick("联系电话", "手机号码"), values["phone"], False),
        ("item", st.pick("申请事项", "申请办理"), values["item"], False),
    ]
    y = form(p, rows, x=120, y=310, width=w - 240, size=size)
    p.value(None, (120, y + 40), values["reason"] + "特此申请，请予审核批准。", size, width=w - 240)
    y += 260
    p.text((120 + 2 * size, y), "此致", size, label=True)
    p.text((120, y + 60), "敬礼！", size, label=True)
    p.text((w - 560, y + 170), "申请人（签名）：", size, label=True)
    p.text((w - 560 + 8 * size, y + 168), values["name"], size + 4)
    p.value("signed_on", (w - 520, y + 240), st.date(values["signed_on"]), size)
    return page, p.regions


LAYOUTS: dict[str, Callable[[Values, random.Random, str | None], tuple[Page, Regions]]] = {
    "business_licence": render_business_licence,
    "food_business_licence": render_food_licence,
    "id_card": render_id_card,
    "real_estate_certificate": render_real_estate,
    "invoice": render_invoice,
    "application_letter": render_letter,
}


# -- degradations: phones and photocopiers ----------------------------------------------------------


def phone_perspective(img: Image.Image, rng: random.Random) -> Image.Image:
    """A phone held at an angle over a desk: corners moved by up to 8 %, a little rotation."""
    w, h = img.size
    pad = int(0.08 * max(w, h))
    canvas = Image.new("RGB", (w + 2 * pad, h + 2 * pad), rng.choice(((120, 100, 80), (60, 62, 66), (180, 176, 168))))
    canvas.paste(img, (pad, pad))
    W, H = canvas.size
    tilt = rng.uniform(-0.03, 0.03)

    def j(side: int) -> float:
        return rng.uniform(0.0, 0.08) * side

    src = [
        (pad + j(w) + tilt * h, pad + j(h)),
        (pad + w - j(w) + tilt * h, pad + j(h) - tilt * w),
        (pad + w - j(w), pad + h - j(h) - tilt * w),
        (pad + j(w), pad + h - j(h)),
    ]
    from onecity.synth.corpus.degrade import _perspective_coeffs

    dst: list[tuple[float, float]] = [(0.0, 0.0), (float(W), 0.0), (float(W), float(H)), (0.0, float(H))]
    return canvas.transform(
        (W, H), Image.Transform.PERSPECTIVE, _perspective_coeffs(dst, src), Image.Resampling.BICUBIC
    )


def glare(img: Image.Image, rng: random.Random) -> Image.Image:
    """A lamp's reflection: a bright soft ellipse washing out part of the page."""
    w, h = img.size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, cy = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h
    rx, ry = rng.uniform(0.12, 0.25) * w, rng.uniform(0.1, 0.2) * h
    d = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2
    strength = rng.uniform(0.45, 0.7)
    a = (strength * np.exp(-d))[..., None]
    arr = np.asarray(img).astype(np.float32)
    return Image.fromarray(np.clip(arr * (1 - a) + 255 * a, 0, 255).astype(np.uint8))


def shadow(img: Image.Image, rng: random.Random) -> Image.Image:
    """The phone's or the hand's shadow: one side of a soft line darker."""
    w, h = img.size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = rng.uniform(0, 2 * math.pi)
    nx, ny = math.cos(angle), math.sin(angle)
    c = rng.uniform(0.3, 0.7) * (abs(nx) * w + abs(ny) * h)
    s = (xx * abs(nx) + yy * abs(ny) - c) / (0.04 * max(w, h))
    dark = rng.uniform(0.45, 0.65)
    shade = 1 - (1 - dark) / (1 + np.exp(-s))
    arr = np.asarray(img).astype(np.float32) * shade[..., None] * np.array([0.97, 0.98, 1.0])
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def moire(img: Image.Image, rng: random.Random) -> Image.Image:
    """A photo of a screen or a fine print: interfering stripes."""
    w, h = img.size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    a, b = rng.uniform(0, math.pi), rng.uniform(2.5, 5.0)
    wave = np.sin((xx * math.cos(a) + yy * math.sin(a)) * 2 * math.pi / b) * np.sin(
        (xx * math.cos(a + 0.07) + yy * math.sin(a + 0.07)) * 2 * math.pi / b
    )
    amp = rng.uniform(10, 18)
    arr = np.asarray(img).astype(np.float32) + amp * wave[..., None] * np.array([1.0, 0.8, 1.1])
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def motion_blur(img: Image.Image, rng: random.Random) -> Image.Image:
    """A hand that moved: a short linear blur (3–7 px) in one direction."""
    import cv2

    n = rng.choice((3, 5, 7))
    line = np.zeros((n, n), np.float32)
    line[n // 2, :] = 1.0 / n
    m = cv2.getRotationMatrix2D((n / 2 - 0.5, n / 2 - 0.5), rng.uniform(0, 180), 1.0)
    turned = np.asarray(cv2.warpAffine(line, m, (n, n)), dtype=np.float32)
    kernel = turned / max(1e-6, float(turned.sum()))
    return Image.fromarray(cv2.filter2D(np.asarray(img), -1, kernel))


def copier(img: Image.Image, rng: random.Random) -> Image.Image:
    """A photocopy on a tired machine: grey, hard threshold-like contrast, toner streaks, dark edges."""
    grey = ImageOps.grayscale(img).filter(ImageFilter.GaussianBlur(0.6))
    grey = ImageEnhance.Contrast(grey).enhance(rng.uniform(2.0, 2.8))
    arr = np.asarray(grey).astype(np.int16)
    gen = np.random.default_rng(rng.getrandbits(32))
    for _ in range(rng.randint(1, 3)):  # vertical toner streaks
        x = int(gen.integers(0, arr.shape[1]))
        arr[:, x : x + int(gen.integers(1, 4))] -= int(gen.integers(40, 90))
    arr[gen.random(arr.shape) < 0.003] = 25
    edge = max(4, arr.shape[1] // 80)
    arr[:, :edge] -= 80
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).convert("RGB")


def jpeg(img: Image.Image, rng: random.Random) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=rng.randint(30, 50))
    buf.seek(0)
    return Image.open(buf).convert("RGB")


DEGRADATIONS: dict[str, Callable[[Image.Image, random.Random], Image.Image]] = {
    "copier": copier,
    "shadow": shadow,
    "glare": glare,
    "moire": moire,
    "phone_perspective": phone_perspective,
    "motion_blur": motion_blur,
    "jpeg": jpeg,
}
ORDER = ("copier", "moire", "shadow", "glare", "phone_perspective", "motion_blur", "jpeg")


def apply(img: Image.Image, names: list[str], rng: random.Random) -> Image.Image:
    for name in sorted(names, key=ORDER.index):
        img = DEGRADATIONS[name](img, rng)
    return img
