"""Second readings of what the page-level recogniser read badly, with an engine that answers by hand
(no OCR: milliseconds each): a doubtful line read again, a label the detector missed looked for
left of its lonely value, and a code's check character that no second reading may change."""

from __future__ import annotations

from PIL import Image

from onecity.documents.extract import Field, Page, check_uscc, checked, extract, probes
from onecity.documents.ocr import OcrLine, OcrResult
from onecity.documents.pipeline import reread
from onecity.hub.registries.identifiers import uscc_check_char, validate_uscc

H = 30


def line(text: str, x: float, y: float, *, score: float = 0.99) -> OcrLine:
    w = H * len(text)
    return OcrLine(text, score, ((x, y), (x + w, y), (x + w, y + H), (x, y + H)))


def page(*lines: OcrLine) -> OcrResult:
    return OcrResult("hand", 1240, 1754, tuple(lines), 0.0)


class Again:
    """An engine whose second reading of any line is ``text`` with ``score``."""

    name = "hand"

    def __init__(self, text: str, score: float) -> None:
        self.text, self.score, self.asked = text, score, 0

    def recognise(self, image: Image.Image) -> OcrResult:
        return OcrResult(self.name, image.width, image.height, (), 0.0)

    def recognise_line(self, image: Image.Image) -> tuple[str, float]:
        self.asked += 1
        return self.text, self.score


def blank() -> Image.Image:
    return Image.new("RGB", (1240, 1754), "white")


def test_a_doubtful_line_is_read_again_and_the_surer_reading_kept() -> None:
    code = "91310115MA02QGNHX" + "0"
    ocr = page(
        line("影币", 120, 300, score=0.87), line("上海市普陀区曹杨路1号", 400, 300), line(code, 400, 400, score=0.6)
    )
    engine = Again("坐落", 0.99)
    again = reread(ocr, blank, engine)
    assert [ln.text for ln in again.lines] == ["坐落", "上海市普陀区曹杨路1号", code]
    assert engine.asked == 1  # the sure line is not read again, nor the code (its check character decides)
    assert reread(ocr, blank, Again("坐落", 0.5)).lines[0].text == "影币"


def test_a_label_the_detector_missed_is_looked_for_left_of_its_lonely_value() -> None:
    ocr = page(
        line("不动产权证书", 400, 60),
        line("权利人", 120, 200),
        line("许怡琳", 420, 200),
        line("坐落", 120, 300),
        line("上海市长宁区新华路963弄18号402室", 420, 300),
        line("权利类型", 120, 400),
        line("国有建设用地使用权/房屋所有权", 420, 400),
        line("住宅", 420, 500),  # its label 用途 was not detected (a copy's toner streak)
        line("面积", 120, 600),
        line("房屋建筑面积90.75平方米", 420, 600),
    )
    ex = extract(ocr, "real_estate_certificate")
    assert ex.value("use") is None
    looks = probes(ocr, ex)
    bands = [box for key, box in looks.items() if key.startswith("label-")]
    assert len(bands) == 1
    left, top, right, bottom = bands[0]
    assert left <= 120 and right < 420 and top < 500 < bottom  # the label column on 住宅's row
    found = OcrLine("用途", 0.99, ((left, top), (right, top), (right, bottom), (left, bottom)))
    assert extract(OcrResult("hand", 1240, 1754, (*ocr.lines, found), 0.0), "real_estate_certificate").value("use") == (
        "住宅"
    )


def test_a_row_the_detector_missed_whole_is_looked_at_again() -> None:
    # an ID card under motion blur: the first row (姓名 and the name) was not detected at all
    rows = [
        line("性别", 100, 200),
        line("男", 220, 200),
        line("出生", 100, 280),
        line("1987年12月2日", 220, 280),
        line("住址", 100, 360),
        line("上海市青浦区重固镇中山北路68", 220, 360),
        line("9弄57号2302室", 220, 400),
        line("公民身份号码", 100, 560),
        line("310118198712026910", 300, 560),
    ]
    ocr = page(*rows)
    ex = extract(ocr, "id_card")
    assert ex.value("name") is None
    bands = [box for key, box in probes(ocr, ex).items() if key.startswith("row-")]
    above = [box for box in bands if box[1] < 135 < box[3]]  # one pitch above the first row
    assert len(above) == 1
    left, top, right, bottom = above[0]
    assert left <= 100 and right > 300 and bottom <= 200
    found = OcrLine("姓名邹华飞", 0.99, ((left, top), (right, top), (right, bottom), (left, bottom)))
    assert extract(OcrResult("hand", 1240, 1754, (*ocr.lines, found), 0.0), "id_card").value("name") == "邹华飞"
    # every row read (the name's too): nothing to look for
    whole = page(line("姓名", 100, 120), line("邹华飞", 220, 120), *rows)
    assert not [key for key in probes(whole, extract(whole, "id_card")) if key.startswith("row-")]


def test_a_second_reading_never_changes_a_check_character() -> None:
    body = "91310115MA02QGNHX"
    good = body + uscc_check_char(body)
    validate_uscc(good)
    forged = body + next(c for c in "0123456789ABCDEFGHJKLMNPQRTUWXY" if c != good[-1])
    first = line(forged, 400, 200, score=0.95)
    # a second reading of the same place that differs only in the check character, and passes
    again = line(good, 400, 200, score=0.99)
    f = check_uscc(Field("uscc", forged, 0.95, first.rect))
    assert "check_failed" in f.flags
    kept = checked(Page(page(first, again)), f, uscc=True)
    assert kept.value == forged and "check_failed" in kept.flags
