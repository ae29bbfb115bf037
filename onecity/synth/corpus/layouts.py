"""Page layouts of the six document types, modelled on the real ones.

Each ``render_*`` takes the document's canonical field values (ISO dates, plain numbers; the
ground truth) and prints them the way the real document does (``2023年05月29日``,
``人民币96.70万元``), returning the page and the box of every printed field. ``edited`` names a
field whose value was changed by hand after printing: it is pasted over a white patch in a
slightly different size and ink, as a forger with an image editor would.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date

from PIL import Image, ImageDraw

from onecity.synth.corpus.draw import BLACK, RED, Box, Page, guilloche_border, portrait, qr_like, seal

Values = dict[str, str]
Regions = dict[str, Box]


def cn_date(iso: str, *, pad: bool = True, spaced: bool = False) -> str:
    d = date.fromisoformat(iso)
    if spaced:
        return f"{d.year} 年 {d.month} 月 {d.day} 日"
    return f"{d.year}年{d.month:02d}月{d.day:02d}日" if pad else f"{d.year}年{d.month}月{d.day}日"


DIGITS_UPPER = "零壹贰叁肆伍陆柒捌玖"


def amount_in_words(amount: str) -> str:
    """价税合计（大写）: 1234.50 → 壹仟贰佰叁拾肆圆伍角整 (the form printed on Chinese invoices)."""
    yuan_s, _, fen_s = f"{float(amount):.2f}".partition(".")
    yuan = int(yuan_s)
    units = ["", "拾", "佰", "仟"]
    big = ["", "万", "亿"]
    out = ""
    if yuan == 0:
        out = "零"
    groups = []
    while yuan:
        groups.append(yuan % 10000)
        yuan //= 10000
    pending = False
    for gi in range(len(groups) - 1, -1, -1):
        g = groups[gi]
        if g == 0:
            pending = bool(out)
            continue
        s = ""
        zero = False
        for k in range(3, -1, -1):
            digit = g // 10**k % 10
            if digit == 0:
                zero = bool(s)
            else:
                if zero:
                    s += "零"
                    zero = False
                s += DIGITS_UPPER[digit] + units[k]
        if out and (pending or g < 1000):
            out += "零"
        pending = False
        out += s + big[gi]
    out += "圆"
    jiao, fen = int(fen_s[0]), int(fen_s[1])
    if jiao == 0 and fen == 0:
        return out + "整"
    if jiao:
        out += DIGITS_UPPER[jiao] + "角"
    elif fen:
        out += "零"
    if fen:
        out += DIGITS_UPPER[fen] + "分"
    else:
        out += "整"
    return out


class _Printer:
    """Prints label/value pairs and keeps each value's box; draws the hand-edited field as a patch."""

    def __init__(self, page: Page, values: Values, edited: str | None, rng: random.Random) -> None:
        self.page, self.values, self.edited, self.rng = page, values, edited, rng
        self.regions: Regions = {}

    def value(
        self,
        name: str,
        xy: tuple[float, float],
        shown: str,
        size: int,
        *,
        width: float | None = None,
        line_gap: float = 1.45,
    ) -> Box:
        if name == self.edited:
            # the forger's patch: white-out, then the new text a size off and in a bluish black
            box = (
                self.page.text(xy, shown, size + 1, fill=(40, 44, 70))
                if width is None
                else self.page.wrapped(xy, shown, size + 1, width, fill=(40, 44, 70), line_gap=line_gap)
            )
            pad = 4
            self.page.draw.rectangle((box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad), fill=(255, 255, 255))
            box = (
                self.page.text(
                    (xy[0] + self.rng.uniform(0, 3), xy[1] + self.rng.uniform(-2, 2)),
                    shown,
                    size + 1,
                    fill=(40, 44, 70),
                )
                if width is None
                else self.page.wrapped(xy, shown, size + 1, width, fill=(40, 44, 70), line_gap=line_gap)
            )
        else:
            box = (
                self.page.text(xy, shown, size)
                if width is None
                else self.page.wrapped(xy, shown, size, width, line_gap=line_gap)
            )
        self.regions[name] = box
        return box


def render_business_licence(values: Values, rng: random.Random, edited: str | None = None) -> tuple[Page, Regions]:
    """营业执照 (副本), the 2019 SAMR layout: credit code top left, QR code top right, two columns."""
    page = Page(1600, 1130, (253, 251, 245))
    guilloche_border(page, 28, (176, 128, 64), rng)
    p = _Printer(page, values, edited, rng)
    page.spaced((560, 120), "营业执照", 76, 480, serif=True, fill=RED)
    page.text((800, 225), "（副　本）", 30, anchor="ma")
    page.text((90, 150), "统一社会信用代码", 28)
    p.value("uscc", (90, 192), values["uscc"], 32)
    qr_like(page, (1330, 90), 25, 7, rng)
    page.text((1330 + 88, 280), "扫描二维码登录国家企业信用信息公示系统", 14, anchor="ma")
    size, y0, gap = 31, 330, 78
    left = (
        ("名称", "name", values["name"]),
        ("类型", "kind", values["kind"]),
        ("法定代表人", "legal_rep", values["legal_rep"]),
    )
    for i, (label, name, shown) in enumerate(left):
        page.text((110, y0 + i * gap), label, size)
        p.value(name, (290, y0 + i * gap), shown, size, width=560 if name != "name" else None)
    page.text((110, y0 + 3 * gap), "经营范围", size)
    page.wrapped(
        (290, y0 + 3 * gap), values.get("scope", "一般项目：技术服务、技术开发、技术咨询。"), 26, 520, line_gap=1.5
    )
    right = (
        ("注册资本", "registered_capital", f"人民币{float(values['registered_capital']):.2f}万元"),
        ("成立日期", "established_on", cn_date(values["established_on"])),
        ("营业期限", "term", "长期"),
    )
    for i, (label, name, shown) in enumerate(right):
        page.text((930, y0 + 80 + i * gap), label, size)
        if name == "term":
            page.text((1090, y0 + 80 + i * gap), f"{cn_date(values['established_on'])}至{shown}", size - 3)
        else:
            p.value(name, (1090, y0 + 80 + i * gap), shown, size)
    page.text((930, y0 + 80 + 3 * gap), "住所", size)
    p.value("address", (1090, y0 + 80 + 3 * gap), values["address"], size - 2, width=400)
    page.text((1040, 930), "登记机关", 30)
    issuer = values.get("issuer", "上海市市场监督管理局")
    p.value("issued_on", (1150, 1010), cn_date(values["issued_on"]), 30)
    seal(page, (1330, 930), 118, issuer, rng=rng)
    page.text((800, 1070), "国家企业信用信息公示系统网址：http://www.gsxt.gov.cn", 18, anchor="ma")
    page.text((800, 1095), "国家市场监督管理总局监制", 18, anchor="ma")
    return page, p.regions


def render_food_licence(values: Values, rng: random.Random, edited: str | None = None) -> tuple[Page, Regions]:
    """食品经营许可证 (副本): a table of holder, credit code, representative, premises, items, validity."""
    page = Page(1600, 1130, (252, 252, 250))
    guilloche_border(page, 28, (40, 110, 160), rng)
    p = _Printer(page, values, edited, rng)
    page.spaced((480, 100), "食品经营许可证", 64, 640, serif=True, fill=(30, 60, 120))
    page.text((800, 190), "（副　本）", 28, anchor="ma")
    rows = (
        ("经营者名称", "name", values["name"]),
        ("社会信用代码", "uscc", values["uscc"]),
        ("法定代表人（负责人）", "legal_rep", values["legal_rep"]),
        ("经营场所", "premises", values["premises"]),
        ("主体业态", "form", "餐饮服务经营者"),
        ("经营项目", "business_items", values["business_items"]),
        ("许可证编号", "number", values["number"]),
        ("有效期至", "valid_until", cn_date(values["valid_until"])),
    )
    x0, x1, x2, top, h = 110, 520, 1490, 250, 86
    for i, (label, name, shown) in enumerate(rows):
        y = top + i * h
        page.rect((x0, y, x1, y + h), width=1)
        page.rect((x1, y, x2, y + h), width=1)
        page.text((x0 + 20, y + h / 2), label, 28, anchor="lm")
        if name == "form":
            page.text((x1 + 24, y + h / 2), shown, 29, anchor="lm")
        else:
            p.value(name, (x1 + 24, y + 24), shown, 29)
    issuer = values.get("issuer", "上海市市场监督管理局")
    page.text((1000, top + 8 * h + 40), f"发证机关：{issuer}", 26)
    p.value("issued_on", (1140, top + 8 * h + 90), cn_date(values["issued_on"]), 28)
    seal(page, (1290, top + 8 * h + 60), 105, issuer, rng=rng)
    page.text((800, 1085), "监制机关：国家市场监督管理总局", 18, anchor="ma")
    return page, p.regions


def render_id_card(values: Values, rng: random.Random, edited: str | None = None) -> tuple[Page, Regions]:
    """居民身份证 (front, the side with the photo), photographed on a desk."""
    page = Page(1100, 720, (118, 110, 98))
    card = (50, 45, 1050, 675)
    face = Image.new("RGB", (card[2] - card[0], card[3] - card[1]), (238, 242, 240))
    fd = ImageDraw.Draw(face)
    for k in range(0, 1000, 26):  # the faint security pattern
        fd.arc((k - 300, 60, k + 300, face.height + 260), 200, 340, fill=(214, 226, 228), width=1)
    mask = Image.new("L", face.size, 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, face.width - 1, face.height - 1), 36, fill=255)
    page.image.paste(face, card[:2], mask)
    page.draw.rounded_rectangle(card, 36, outline=(200, 205, 205), width=2)
    p = _Printer(page, values, edited, rng)
    label = (60, 104, 160)
    lx, vx, size = 110, 230, 34
    page.text((lx, 110), "姓名", 28, fill=label)
    p.value("name", (vx, 104), values["name"], 38)
    page.text((lx, 190), "性别", 28, fill=label)
    p.value("sex", (vx, 186), values["sex"], size)
    page.text((400, 190), "民族", 28, fill=label)
    page.text((510, 186), values.get("ethnicity", "汉"), size)
    page.text((lx, 270), "出生", 28, fill=label)
    p.value("birth_date", (vx, 266), cn_date(values["birth_date"], spaced=True), size)
    page.text((lx, 350), "住址", 28, fill=label)
    p.value("address", (vx, 346), values["address"], size, width=490, line_gap=1.4)
    page.text((lx, 560), "公民身份号码", 28, fill=label)
    p.value("id_number", (360, 553), values["id_number"], 40)
    portrait(page, (760, 110, 1010, 430), rng)
    return page, p.regions


def render_real_estate(values: Values, rng: random.Random, edited: str | None = None) -> tuple[Page, Regions]:
    """不动产权证书, the register page: the number above a ruled table of the right's particulars."""
    page = Page(1240, 1600, (251, 250, 246))
    p = _Printer(page, values, edited, rng)
    p.value("number", (120, 110), values["number"], 34)
    rows = (
        ("权利人", "holder_name", values["holder_name"]),
        ("共有情况", "shared", "单独所有"),
        ("坐落", "address", values["address"]),
        ("不动产单元号", "unit", values.get("unit", "")),
        ("权利类型", "right", "国有建设用地使用权/房屋所有权"),
        ("权利性质", "nature", "出让/市场化商品房"),
        ("用途", "use", values["use"]),
        ("面积", "area_m2", f"房屋建筑面积{values['area_m2']}平方米"),
        ("使用期限", "term", "国有建设用地使用权 70年"),
    )
    x0, x1, x2, top = 100, 360, 1140, 200
    y = top
    for label, name, shown in rows:
        h = 130 if name == "address" else 100
        page.rect((x0, y, x1, y + h), width=2)
        page.rect((x1, y, x2, y + h), width=2)
        page.text(((x0 + x1) / 2, y + h / 2), label, 30, anchor="mm")
        if name in ("holder_name", "address", "use", "area_m2"):
            p.value(name, (x1 + 24, y + 30), shown, 30, width=740, line_gap=1.35)
        else:
            page.text((x1 + 24, y + h / 2), shown, 28, anchor="lm")
        y += h
    page.text((x0, y + 40), "附记", 30)
    page.text((x0 + 20, y + 100), "本证书记载的事项与不动产登记簿一致。", 26)
    issuer = values.get("issuer", "上海市规划和自然资源局")
    page.text((700, 1420), "登记机构（章）", 28)
    p.value("issued_on", (730, 1480), cn_date(values["issued_on"]), 30)
    seal(page, (900, 1400), 120, issuer, rng=rng, below="不动产登记专用章")
    return page, p.regions


def render_invoice(values: Values, rng: random.Random, edited: str | None = None) -> tuple[Page, Regions]:
    """电子发票（普通发票）, the fully digital invoice (全电发票) layout since 2021."""
    page = Page(1600, 1000, (253, 253, 253))
    brown = (150, 80, 40)
    p = _Printer(page, values, edited, rng)
    page.spaced((540, 60), "电子发票（普通发票）", 44, 560, serif=True, fill=brown)
    page.draw.line((560, 125, 1080, 125), fill=brown, width=2)
    page.draw.line((560, 131, 1080, 131), fill=brown, width=2)
    page.text((1130, 70), "发票号码：", 24, fill=brown)
    p.value("number", (1250, 68), values["number"], 25)
    page.text((1130, 110), "开票日期：", 24, fill=brown)
    p.value("issued_on", (1250, 108), cn_date(values["issued_on"]), 25)
    qr_like(page, (90, 40), 21, 5, rng)
    top, mid, x0, x1 = 190, 800, 70, 1530
    page.rect((x0, top, x1, top + 170), outline=brown, width=2)
    page.line((mid, top), (mid, top + 170), fill=brown)
    page.text((x0 + 20, top + 20), "购买方信息", 22, fill=brown)
    page.text((mid + 20, top + 20), "销售方信息", 22, fill=brown)
    for side, x in (("buyer", x0 + 30), ("seller", mid + 30)):
        page.text((x, top + 70), "名称：", 26, fill=brown)
        p.value(f"{side}_name", (x + 80, top + 68), values[f"{side}_name"], 26)
        page.text((x, top + 120), "统一社会信用代码/纳税人识别号：", 22, fill=brown)
        p.value(f"{side}_uscc", (x + 340, top + 118), values[f"{side}_uscc"], 25)
    t = top + 170
    page.rect((x0, t, x1, t + 330), outline=brown, width=2)
    heads = (
        ("项目名称", 100),
        ("规格型号", 430),
        ("单位", 600),
        ("数量", 720),
        ("单价", 840),
        ("金额", 1000),
        ("税率/征收率", 1150),
        ("税额", 1360),
    )
    for head, x in heads:
        page.text((x, t + 18), head, 22, fill=brown)
    page.text((100, t + 70), values.get("item", "*餐饮服务*餐费"), 24)
    page.text((600, t + 70), "次", 24)
    page.text((720, t + 70), "1", 24)
    page.text((840, t + 70), values["amount"], 24)
    page.text((1000, t + 70), values["amount"], 24)
    page.text((1150, t + 70), values.get("rate", "6%"), 24)
    page.text((1360, t + 70), values["tax"], 24)
    page.text((100, t + 270), "合　　计", 24, fill=brown)
    p.value("amount", (1000, t + 268), f"¥{values['amount']}", 25)
    p.value("tax", (1360, t + 268), f"¥{values['tax']}", 25)
    t2 = t + 330
    page.rect((x0, t2, x1, t2 + 80), outline=brown, width=2)
    page.text((100, t2 + 26), "价税合计（大写）", 24, fill=brown)
    page.text((340, t2 + 24), "⊗" + amount_in_words(values["total"]), 26)
    page.text((1000, t2 + 26), "（小写）", 24, fill=brown)
    p.value("total", (1110, t2 + 24), f"¥{values['total']}", 26)
    t3 = t2 + 80
    page.rect((x0, t3, x1, t3 + 110), outline=brown, width=2)
    page.text((100, t3 + 20), "备", 24, fill=brown)
    page.text((100, t3 + 60), "注", 24, fill=brown)
    page.text((100, t3 + 150), f"开票人：{values.get('clerk', '王敏')}", 24, fill=brown)
    return page, p.regions


def render_letter(values: Values, rng: random.Random, edited: str | None = None) -> tuple[Page, Regions]:
    """申请书, a free-form application letter as a resident writes and prints it."""
    page = Page(1240, 1600, (250, 250, 247))
    p = _Printer(page, values, edited, rng)
    page.spaced((520, 120), "申请书", 56, 200, serif=True)
    page.text((110, 260), f"{values['addressee']}：", 32)
    size, gap = 31, 1.7
    body = (
        f"本人{values['name']}，公民身份号码{values['id_number']}，现住{values['address']}，"
        f"联系电话{values['phone']}。{values['reason']}现申请办理{values['item']}，请予审核批准。"
    )
    box = page.wrapped((110, 340), body, size, 1020, line_gap=gap, first_indent=2 * size)
    for name in ("name", "id_number", "address", "phone", "item"):
        p.regions[name] = box
    y = box[3] + 60
    page.text((110 + 2 * size, y), "此致", size)
    page.text((110, y + 60), "敬礼！", size)
    page.text((700, y + 180), "申请人：", size)
    page.text((700 + 4 * size, y + 180), values["name"], size)
    p.value("signed_on", (700, y + 250), cn_date(values["signed_on"]), size)
    return page, p.regions


LAYOUTS: dict[str, Callable[[Values, random.Random, str | None], tuple[Page, Regions]]] = {
    "business_licence": render_business_licence,
    "food_business_licence": render_food_licence,
    "id_card": render_id_card,
    "real_estate_certificate": render_real_estate,
    "invoice": render_invoice,
    "application_letter": render_letter,
}

__all__ = ["BLACK", "LAYOUTS", "RED", "amount_in_words", "cn_date"]
