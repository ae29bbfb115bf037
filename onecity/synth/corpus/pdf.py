"""Documents as PDFs: a scan saved as PDF (an image per page) or an export with a text layer.

Uploads arrive as PDFs from two places: a scanner or a phone app that saves a PDF (pages are
images, nothing to read but pixels) and a system that exports the document (every string is
text with a font and a position, nothing to recognise). :func:`scan_pdf` makes the first from
page images, :func:`text_pdf` the second from what a family-B page printed
(:class:`~onecity.synth.corpus.family_b.TextPage`), with the faces it was printed in embedded.
"""

from __future__ import annotations

import ctypes
import io
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from PIL import Image

#: pixels per PDF point of the generated pages (150 dpi)
SCALE = 150 / 72

Text = tuple[float, float, int, str, Path, int]


def scan_pdf(images: Sequence[Image.Image]) -> bytes:
    """One page per image, each image filling its page at 150 dpi (JPEG-compressed, as scanners do)."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument.new()
    for image in images:
        w, h = image.width / SCALE, image.height / SCALE
        page = pdf.new_page(w, h)
        obj = pdfium.PdfImage.new(pdf)
        buf = io.BytesIO()
        image.convert("RGB").save(buf, "JPEG", quality=85)
        buf.seek(0)
        obj.load_jpeg(buf, inline=True)
        obj.set_matrix(pdfium.PdfMatrix().scale(w, h))
        page.insert_obj(obj)
        page.gen_content()
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


@cache
def _font_bytes(path: Path) -> bytes:
    return path.read_bytes()


def _subset(path: Path, chars: str) -> bytes:
    """The face at ``path`` cut to ``chars`` (and .notdef), as TrueType bytes pdfium can embed."""
    import logging

    from fontTools import subset
    from fontTools.ttLib import TTFont

    options = subset.Options()
    options.notdef_outline = True
    options.name_IDs = ["*"]
    options.drop_tables += ["mort"]
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    face = TTFont(io.BytesIO(_font_bytes(path)))
    cutter = subset.Subsetter(options)
    cutter.populate(text="".join(sorted(set(chars))))
    cutter.subset(face)
    out = io.BytesIO()
    face.save(out)
    return out.getvalue()


def text_pdf(pages: Sequence[tuple[tuple[int, int], Sequence[Text]]]) -> bytes:
    """Pages of text, each string at the place and size it was printed on the page image.

    Faces are embedded from their files (a .ttc collection is not embeddable: its strings fall
    back to the first .ttf face used on the document, or a Kai .ttf when there is none), each cut
    to the characters printed in it, as an issuing system's export does: a whole CJK face is
    10–20 MB, and a document embedding two was over the 15 MB an upload may be."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    pdf = pdfium.PdfDocument.new()
    fonts: dict[Path, object] = {}
    keep: list[object] = []  # buffers pdfium reads until the document is saved

    def resolved(path: Path) -> Path | None:
        if path.suffix.lower() != ".ttf":
            path = next((p for p in fonts if p.suffix.lower() == ".ttf"), path)
            if path.suffix.lower() != ".ttf":
                return None
        return path

    def font_for(path: Path) -> object | None:
        found = resolved(path)
        if found is None:
            return None
        path = found
        if path not in fonts:
            data = _subset(path, chars.get(path, ""))
            buf = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
            keep.append(buf)
            fonts[path] = raw.FPDFText_LoadFont(pdf.raw, buf, len(data), raw.FPDF_FONT_TRUETYPE, True)
        return fonts[path]

    fallback = next((p for _, texts in pages for t in texts for p in [t[4]] if p.suffix.lower() == ".ttf"), None)
    if fallback is None:  # every face on the page is in a collection (.ttc): embed a Kai .ttf instead
        from onecity.synth.corpus.family_b import faces

        fallback = next((p for p, _ in faces("kai") if p.suffix.lower() == ".ttf"), None)
    # the characters each embedded face prints (a .ttc's strings are printed in the fallback)
    chars: dict[Path, str] = {}
    ttf = [t[4] for _, texts in pages for t in texts if t[4].suffix.lower() == ".ttf"]
    for _, texts in pages:
        for t in texts:
            face = t[4] if t[4].suffix.lower() == ".ttf" else (ttf[0] if ttf else fallback)
            if face is not None:
                chars[face] = chars.get(face, "") + t[3]
    if fallback is not None:
        font_for(fallback)
    for (width, height), texts in pages:
        page = pdf.new_page(width / SCALE, height / SCALE)
        for x, y, size, s, path, _ in texts:
            font = font_for(path)
            if font is None:
                continue
            pt = size / SCALE
            obj = raw.FPDFPageObj_CreateTextObj(pdf.raw, font, pt)
            wide = ctypes.create_string_buffer((s + "\0").encode("utf-16-le"))
            keep.append(wide)
            raw.FPDFText_SetText(obj, ctypes.cast(wide, ctypes.POINTER(raw.FPDF_WCHAR)))
            # PIL draws from the top of the line box; PDF from the baseline (about 0.88 em lower)
            raw.FPDFPageObj_Transform(obj, 1, 0, 0, 1, x / SCALE, (height - y) / SCALE - 0.88 * pt)
            raw.FPDFPage_InsertObject(page.raw, obj)
        page.gen_content()
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()
