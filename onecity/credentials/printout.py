"""A printable PDF of an e-certificate: its fields, the issuer, the dates and the verification QR code.

The PDF is drawn server-side with pdfium (``pypdfium2``, already used to read uploads): text
objects in an embedded TrueType face, so the printout has a text layer (copyable, searchable,
read back by the tests), and the QR code as filled squares (vector, sharp at any print size).
The QR code holds the short link ``<public URL>/verify/<credential id>`` (see
:mod:`onecity.credentials.pages` for why not the JWT): the printout proves nothing by itself,
the check behind the link does, so a revoked certificate's old printout scans as revoked.

The face is AR PL SungtiL GB (``fonts-arphic-gbsn00lp``, a Song face as official documents use,
with Latin letters and digits). pdfium embeds a face as it is given and cannot take one from a
.ttc collection such as Noto CJK; the whole face is 5 MB (2.3 MB compressed in every printout),
so each printout embeds a subset cut by fontTools to the characters it shows (tens of KB).
A missing font is an error naming the package (``scripts/install-system-packages.sh``).
"""

from __future__ import annotations

import ctypes
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import segno
from PIL import ImageFont

from onecity.core.config import ConfigurationError

FONT_FILE = "gbsn00lp.ttf"
FONT_PACKAGE = "fonts-arphic-gbsn00lp"
FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"))

A4 = (595.0, 842.0)  # points
MARGIN = 56.0


@dataclass(frozen=True)
class Line:
    """One labelled field of the printout: the label in the page's language(s) and the value."""

    label: str
    value: str


@dataclass(frozen=True)
class Printout:
    """What a printout shows; built by :func:`onecity.credentials.service.printout`."""

    title: str  # the certificate type in Chinese
    subtitle: str  # in English on an English printout, else ""
    lines: Sequence[Line]
    issuer: str
    verify_link: str
    status_note: str  # "" when the credential is active; else what a reader must know (revoked, suspended)
    scan_hint: str
    footer: Sequence[str]


@cache
def font_path() -> Path:
    for root in FONT_DIRS:
        for found in sorted(root.rglob(FONT_FILE)) if root.is_dir() else ():
            return found
    raise ConfigurationError(
        f"font {FONT_FILE} not found: install the Debian package {FONT_PACKAGE} (scripts/install-system-packages.sh)"
    )


@cache
def _font_bytes() -> bytes:
    return font_path().read_bytes()


def _subset(chars: str) -> bytes:
    """The face cut to ``chars`` (and .notdef), as TrueType bytes pdfium can embed."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    options = subset.Options()
    options.notdef_outline = True  # a character the face lacks prints as a box, not as nothing
    options.name_IDs = ["*"]  # keep the face's names: a reader's font list shows what it is
    options.drop_tables += ["mort"]  # an old Apple table fontTools cannot cut (it would drop it, noisily)
    # the face's glyf table has 4 bytes of padding past its end, which fontTools reports on every read
    logging.getLogger("fontTools.ttLib.tables._g_l_y_f").setLevel(logging.ERROR)
    face = TTFont(io.BytesIO(_font_bytes()))
    cutter = subset.Subsetter(options)
    cutter.populate(text=chars)
    cutter.subset(face)
    out = io.BytesIO()
    face.save(out)
    return out.getvalue()


def _shown(printout: Printout) -> str:
    """Every character the printout shows (the subset's contents)."""
    parts = [printout.title, printout.subtitle, printout.issuer, printout.verify_link, printout.status_note]
    parts += [printout.scan_hint, *printout.footer]
    parts += [line.label + line.value for line in printout.lines]
    return "".join(sorted(set("".join(parts)) - {"\n", "\r"}))


@cache
def _measure(size: int) -> ImageFont.FreeTypeFont:
    # measured at 10x the point size, so widths are exact to a tenth of a point
    return ImageFont.truetype(str(font_path()), size * 10)


def width(text: str, size: float) -> float:
    """The width in points of ``text`` set at ``size`` points in the printout's face."""
    return float(_measure(round(size)).getlength(text)) / 10 * size / round(size)


def wrap(text: str, size: float, room: float) -> list[str]:
    """``text`` cut into lines no wider than ``room`` points (at spaces where it can, else anywhere: CJK)."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for ch in paragraph:
            if width(line + ch, size) <= room or not line:
                line += ch
                continue
            cut = line.rfind(" ")
            if ch != " " and cut > 0 and line[:cut].isascii() is line.isascii():
                lines.append(line[:cut])
                line = line[cut + 1 :] + ch
            else:
                lines.append(line.rstrip())
                line = ch.lstrip()
        lines.append(line)
    return lines


def render(printout: Printout) -> bytes:
    """The printout as a one-page A4 PDF (bytes)."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    pdf = pdfium.PdfDocument.new()
    data = _subset(_shown(printout))
    buf = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
    keep: list[object] = [buf]  # buffers pdfium reads until the document is saved
    font = raw.FPDFText_LoadFont(pdf.raw, buf, len(data), raw.FPDF_FONT_TRUETYPE, True)
    page_w, page_h = A4
    page = pdf.new_page(page_w, page_h)

    def text(x: float, y: float, s: str, size: float, rgb: tuple[int, int, int] = (0, 0, 0)) -> None:
        """``s`` with its baseline at ``y`` points from the top."""
        obj = raw.FPDFPageObj_CreateTextObj(pdf.raw, font, size)
        wide = ctypes.create_string_buffer((s + "\0").encode("utf-16-le"))
        keep.append(wide)
        raw.FPDFText_SetText(obj, ctypes.cast(wide, ctypes.POINTER(raw.FPDF_WCHAR)))
        raw.FPDFPageObj_SetFillColor(obj, *rgb, 255)
        raw.FPDFPageObj_Transform(obj, 1, 0, 0, 1, x, page_h - y)
        raw.FPDFPage_InsertObject(page.raw, obj)

    def rect(x: float, y: float, w: float, h: float, rgb: tuple[int, int, int], *, fill: bool = True) -> None:
        """A rectangle whose top-left corner is ``y`` points from the top."""
        obj = raw.FPDFPageObj_CreateNewRect(x, page_h - y - h, w, h)
        if fill:
            raw.FPDFPageObj_SetFillColor(obj, *rgb, 255)
            raw.FPDFPath_SetDrawMode(obj, raw.FPDF_FILLMODE_WINDING, False)
        else:
            raw.FPDFPageObj_SetStrokeColor(obj, *rgb, 255)
            raw.FPDFPageObj_SetStrokeWidth(obj, 1.5)
            raw.FPDFPath_SetDrawMode(obj, raw.FPDF_FILLMODE_NONE, True)
        raw.FPDFPage_InsertObject(page.raw, obj)

    def centred(y: float, s: str, size: float, rgb: tuple[int, int, int] = (0, 0, 0)) -> None:
        text((page_w - width(s, size)) / 2, y, s, size, rgb)

    red = (176, 30, 35)
    rect(MARGIN - 16, MARGIN - 16, page_w - 2 * MARGIN + 32, page_h - 2 * MARGIN + 32, red, fill=False)
    y = MARGIN + 40
    centred(y, printout.title, 30, red)
    if printout.subtitle:
        y += 26
        centred(y, printout.subtitle, 15, red)
    y += 36
    if printout.status_note:
        for part in wrap(printout.status_note, 13, page_w - 2 * MARGIN - 24):
            rect(MARGIN, y - 14, page_w - 2 * MARGIN, 20, (253, 236, 234))
            text(MARGIN + 12, y, part, 13, red)
            y += 20
        y += 14

    # the fields, in the room above the QR code: set smaller (down to 9 pt) when long values need it
    foot = wrap(printout.verify_link, 9, page_w - 2 * MARGIN)
    notes = [part for note in printout.footer for part in wrap(note, 9, page_w - 2 * MARGIN)]
    fy = page_h - MARGIN - 13 * (len(foot) + len(notes) - 1)
    side = 113.0  # points: the QR code is 40 mm across
    qy = fy - 36 - side
    for size in (13.0, 12.0, 11.0, 10.0, 9.0):
        label_w = max([width(line.label, size - 1) for line in printout.lines] + [80.0]) + 16
        room = page_w - 2 * MARGIN - label_w
        laid = [(line, wrap(line.value, size, room)) for line in printout.lines]
        lead = size * 1.55
        if y + sum(len(parts) * lead + 6 for _, parts in laid) <= qy - 8:
            break
    for line, parts in laid:
        text(MARGIN, y, line.label, size - 1, (90, 90, 90))
        for part in parts:
            text(MARGIN + label_w, y, part, size)
            y += lead
        y += 6

    # the foot: the link and the notes, bottom-aligned inside the border
    for i, part in enumerate(foot + notes):
        text(MARGIN, fy + 13 * i, part, 9, (40, 40, 40) if i < len(foot) else (90, 90, 90))

    # the QR code of the verification link above it, on the right (version 5 or so: 37 modules)
    qr = segno.make_qr(printout.verify_link, error="m", boost_error=False)
    matrix = qr.matrix
    quiet = 4
    module = side / (len(matrix) + 2 * quiet)
    qx = page_w - MARGIN - side
    for r, row in enumerate(matrix):
        c = 0
        while c < len(row):
            if row[c]:
                run = c
                while run < len(row) and row[run]:
                    run += 1
                rect(qx + (quiet + c) * module, qy + (quiet + r) * module, (run - c) * module, module, (0, 0, 0))
                c = run
            else:
                c += 1
    hint_w = width(printout.scan_hint, 10)
    text(min(qx + (side - hint_w) / 2, page_w - MARGIN - hint_w), qy + side + 8, printout.scan_hint, 10, (90, 90, 90))

    # the issuer (where the seal goes), left of the code
    iy = qy + side / 2
    text(MARGIN, iy, printout.issuer, 15)
    page.gen_content()
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()
