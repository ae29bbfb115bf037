"""Fields by label and geometry, on OCR lines laid out by hand (no OCR: milliseconds each).

The lines are what a recogniser returns for the layouts of the issue's misses: a licence whose
address wraps above the business scope, a ruled table whose label is centred in a tall cell,
``性别 男 民族 汉`` on one line, a letter-spaced label read as two boxes, a blurred label."""

from __future__ import annotations

from onecity.documents.extract import extract
from onecity.documents.ocr import OcrLine, OcrResult
from onecity.hub.registries.identifiers import uscc_check_char, validate_uscc

H = 30


def line(text: str, x: float, y: float, *, width: float | None = None, score: float = 0.99) -> OcrLine:
    w = width if width is not None else H * len(text)
    return OcrLine(text, score, ((x, y), (x + w, y), (x + w, y + H), (x, y + H)))


def page(*lines: OcrLine, size: tuple[int, int] = (1240, 1754)) -> OcrResult:
    return OcrResult("hand", size[0], size[1], tuple(lines), 0.0)


def test_a_wrapped_address_stops_at_the_business_scope_below_it() -> None:
    """The issue's miss: the scope's value continues the address's column, its label sits left."""
    ocr = page(
        line("营业执照", 500, 80),
        line("统一社会信用代码", 120, 200),
        line("91310115MA02QGNHXK", 400, 200),
        line("名称", 120, 260),
        line("上海瑞金诚文化传媒有限公司", 400, 260),
        line("住所", 120, 320),
        line("上海市浦东新区万祥镇", 400, 320),
        line("友谊路403弄6号2901室", 400, 362),
        line("经营范国", 120, 404),  # the label misread: recognised by its place, not its text
        line("一般项目：技术服务、技术开发", 400, 404),
        line("技术咨询。", 400, 446),
    )
    ex = extract(ocr, "business_licence")
    assert ex.value("address") == "上海市浦东新区万祥镇友谊路403弄6号2901室"
    assert ex.value("name") == "上海瑞金诚文化传媒有限公司"
    inline = page(  # inline form: the scope's label, misread, starts the line under the address
        line("营业执照", 500, 80),
        line("地址：上海市浦东新区潍坊新村街道", 120, 320),
        line("莘庄路1051弄27号1205室", 210, 362),
        line("经营范园一般项目：技术服务", 210, 404),
    )
    assert extract(inline, "business_licence").value("address") == "上海市浦东新区潍坊新村街道莘庄路1051弄27号1205室"


def test_a_label_centred_in_a_tall_cell_gets_every_line_of_its_value() -> None:
    ocr = page(
        line("不动产权证书", 400, 60),
        line("权利人", 120, 200),
        line("许怡琳", 420, 200),
        line("坐落", 120, 300),  # centred in a three-line cell
        line("上海市长宁区新华路", 420, 258),
        line("街道天目西路963弄", 420, 300),
        line("18号402室", 420, 342),
        line("不动产单元号", 120, 420),
        line("340123857784GB87013F40582987", 420, 420),
    )
    ex = extract(ocr, "real_estate_certificate")
    assert ex.value("address") == "上海市长宁区新华路街道天目西路963弄18号402室"
    assert ex.value("holder_name") == "许怡琳"


def test_values_on_the_same_line_as_other_labels() -> None:
    ocr = page(
        line("姓名孟亮波", 240, 240),
        line("性别 男 民族 汉", 240, 316, width=300),
        line("出生1962年7月4日", 240, 386),
        line("住址", 240, 450),
        line("上海市宝山区友谊路街道世纪", 340, 450),
        line("大道1076弄8号801室", 340, 490),
        line("公民身份号码", 240, 630),
        line("310101196902230393", 460, 630),
        size=(1300, 860),
    )
    ex = extract(ocr, "id_card")
    assert ex.value("name") == "孟亮波" and ex.value("sex") == "男"
    assert ex.value("birth_date") == "1962-07-04"
    assert ex.value("address") == "上海市宝山区友谊路街道世纪大道1076弄8号801室"


def test_a_letter_spaced_label_read_as_two_boxes_and_a_blurred_label() -> None:
    ocr = page(
        line("增值税普通发票", 700, 40),
        line("发票号码：25312000004814392090", 1130, 130),
        line("购买方", 90, 270),
        line("名", 225, 270),
        line("称：上海恒达嘉企业管理咨询有限公司", 300, 270),
        line("纳税人识别号：", 220, 340),
        line("91310115MA0278367X", 630, 340),
        line("销售方", 90, 860),
        line("名", 225, 860),
        line("称：", 300, 860),
        line("上海元永恒信息技术有限公司", 370, 860),
        line("91310000128480082K", 630, 930),
        size=(1754, 1240),
    )
    ex = extract(ocr, "invoice")
    assert ex.value("buyer_name") == "上海恒达嘉企业管理咨询有限公司"
    assert ex.value("seller_name") == "上海元永恒信息技术有限公司"
    assert ex.value("buyer_uscc") == "91310115MA0278367X" and ex.value("seller_uscc") == "91310000128480082K"
    card = page(line("姓名孟亮波", 240, 240), line("性剂", 240, 316), line("男", 340, 316), size=(1300, 860))
    assert extract(card, "id_card").value("sex") == "男"


def test_a_forged_check_character_is_flagged_not_corrected() -> None:
    """A credit code whose check character fails keeps what was printed and says why."""
    ocr = page(
        line("营业执照", 500, 80),
        line("统一社会信用代码", 120, 200),
        line("91310115MA02QGNHX7", 400, 200),
        line("名称", 120, 260),
        line("上海瑞金诚文化传媒有限公司", 400, 260),
    )
    f = extract(ocr, "business_licence").fields["uscc"]
    assert f.value == "91310115MA02QGNHX7" and "check_failed" in f.flags


def test_a_code_read_twice_takes_the_reading_that_passes_its_check_but_a_forgery_stays_flagged() -> None:
    """The check character chooses between two readings of the same place; it never invents one."""
    body = "91310115MA02QGNH"  # 16 characters; the 17th is where the recogniser hesitates
    good = body + "X" + uscc_check_char(body + "X")
    misread = body + "K" + good[-1]  # X read as K: fails the check
    assert validate_uscc(good) and misread != good
    first = line(misread, 400, 200, score=0.93)
    again = OcrLine(good, 0.97, ((410.0, 196.0), (945.0, 196.0), (945.0, 234.0), (410.0, 234.0)))
    ocr = page(line("营业执照", 500, 80), line("统一社会信用代码", 120, 200), first, again)
    f = extract(ocr, "business_licence").fields["uscc"]
    assert f.value == good and f.flags == [] and "read twice" in f.notes[0]
    forged = good[:-1] + ("1" if good[-1] != "1" else "2")  # a forged check character, read the same twice
    ocr = page(
        line("营业执照", 500, 80),
        line("统一社会信用代码", 120, 200),
        line(forged, 400, 200),
        OcrLine(forged, 0.97, again.quad),
    )
    f = extract(ocr, "business_licence").fields["uscc"]
    assert f.value == forged and "check_failed" in f.flags


def test_invoice_amounts_are_chosen_by_the_total_they_add_up_to() -> None:
    """A blurred invoice: 合计 read as 合 alone and its amount's point read as a comma. The amounts
    are taken from the row they add up on — the constraint chooses among what was read — and a
    comma before two final digits is the decimal point, while a comma before three groups
    thousands."""
    ocr = page(
        line("增值税普通发票", 700, 40),
        line("购买方", 90, 270),
        line("名称：上海恒达嘉企业管理咨询有限公司", 225, 270),
        line("金额", 1070, 440, width=64),
        line("税率", 1270, 440, width=64),
        line("税额", 1410, 440, width=64),
        line("*餐饮服务*餐费", 90, 492),
        line("8181.54", 1070, 492, width=100),
        line("6%", 1270, 492, width=44),
        line("490.89", 1410, 492, width=90),
        line("合", 97, 662, width=31),
        line("8181,54", 1094, 662, width=108),
        line("490.80", 1436, 662, width=95),  # the 合计 row's tax misread: this row does not add up
        line("价税合计(大写)", 95, 748),
        line("(小写)", 1083, 748, width=88),
        line("8,672.43", 1217, 748, width=120),
        line("销售方", 90, 864),
    )
    ex = extract(ocr, "invoice")
    assert (ex.value("amount"), ex.value("tax"), ex.value("total")) == ("8181.54", "490.89", "8672.43")
    wrong_total = page(*[ln for ln in ocr.lines if ln.text != "8,672.43"], line("9999.99", 1217, 748, width=100))
    ex = extract(wrong_total, "invoice")  # nothing adds up: the 合计 row as read, comma and all
    assert (ex.value("amount"), ex.value("tax"), ex.value("total")) == ("8181.54", "490.80", "9999.99")


def test_a_value_whose_box_reaches_back_over_its_letter_spaced_label() -> None:
    """名　称： read as 名 and 称：, and the value's box starting over the colon: still its value."""
    ocr = page(
        line("增值税电子普通发票", 630, 50),
        line("购买方", 93, 277),
        line("名", 227, 279, width=32),
        line("称：上海润元制造有限公司", 300, 277, width=350),
        line("销售方", 91, 865),
        line("名", 227, 869, width=32),
        line("称：", 301, 867, width=59),
        line("上海辰信企业管理咨询有限公司", 343, 867, width=417),
        line("统一社会信用代码/纳税人识别号：", 227, 934, width=361),
    )
    ex = extract(ocr, "invoice")
    assert (ex.value("buyer_name"), ex.value("seller_name")) == ("上海润元制造有限公司", "上海辰信企业管理咨询有限公司")
    # a photocopy lost the seller's 名: 称：上海辰信… still names the seller
    copied = page(*ocr.lines[:5], line("称：上海辰信企业管理咨询有限公司", 292, 865, width=470), ocr.lines[-1])
    assert extract(copied, "invoice").value("seller_name") == "上海辰信企业管理咨询有限公司"
