"""What an uploaded material may be: a PDF, a JPEG or a PNG, told by its content and opened to prove it.

A file name or a browser's ``Content-Type`` says nothing about what a file is: a text file or
a program renamed ``.png`` would be kept as a "scan" and shown to an officer as one. So the
first bytes must be a PDF's, a JPEG's or a PNG's, and the file must then open as one (a PDF
with 1 to :data:`MAX_PAGES` pages, an image decoded whole and of at most :data:`MAX_PIXELS`).
The type kept is the one found, never the one claimed. A refusal says what was wrong in the
reader's language (:class:`~onecity.core.errors.Words`), the file name included.
"""

from __future__ import annotations

import io
import warnings

from PIL import Image, UnidentifiedImageError

from onecity.core.errors import InvalidInput, Words
from onecity.documents import ocr

#: The largest material kept (a scan at 300 dpi of a few pages fits; a photo from a phone too).
MAX_BYTES = 5 * 1024 * 1024
#: An image larger than this is refused before it is decoded (a "decompression bomb" costs memory).
MAX_PIXELS = 40_000_000
MAX_NAME = 200
#: The pages of a PDF material: as many as the pre-review reads.
MAX_PAGES = ocr.MAX_PAGES

#: First bytes of each accepted kind → the media type kept.
MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)
#: What Pillow calls each image kind.
PILLOW_FORMAT = {"image/jpeg": "JPEG", "image/png": "PNG"}


def _refuse(detail: str, key: str, **values: str) -> InvalidInput:
    return InvalidInput(detail, words=Words(f"services.upload.{key}", dict(values)))


def sniff(content: bytes) -> str | None:
    """The media type the first bytes announce, or None for anything but a PDF, a JPEG or a PNG."""
    for magic, media_type in MAGIC:
        if content.startswith(magic):
            return media_type
    return None


def _open_pdf(name: str, content: bytes) -> None:
    import pypdfium2 as pdfium

    try:
        doc = pdfium.PdfDocument(content)
    except pdfium.PdfiumError as err:
        raise _refuse(f"{name} is not a readable PDF: export or scan it again", "unreadable", name=name) from err
    try:
        pages = len(doc)
    finally:
        doc.close()
    if pages == 0:
        raise _refuse(f"{name} has no pages", "unreadable", name=name)
    if pages > MAX_PAGES:
        raise _refuse(
            f"{name} has {pages} pages; a material is at most {MAX_PAGES} pages",
            "pages",
            name=name,
            pages=str(pages),
            limit=str(MAX_PAGES),
        )


def _open_image(name: str, content: bytes, media_type: str) -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content)) as img:
                if img.format != PILLOW_FORMAT[media_type]:
                    raise _refuse(f"{name} is not a readable image", "unreadable", name=name)
                if img.width * img.height > MAX_PIXELS:
                    raise _refuse(
                        f"{name} is {img.width}×{img.height} pixels; scan it at a lower resolution",
                        "pixels",
                        name=name,
                    )
                img.load()  # decode it whole: a truncated or corrupt file fails here
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        raise _refuse(f"{name} is not a readable image: scan it again", "unreadable", name=name) from err
    except Image.DecompressionBombWarning as err:
        raise _refuse(f"{name} is too large an image; scan it at a lower resolution", "pixels", name=name) from err


#: A page is blank when less than this share of it is ink (:data:`INK_CONTRAST` levels darker than
#: the paper), seen at :data:`INK_WIDTH` pixels across: an empty sheet, a scan of nothing.
BLANK_INK = 0.001
INK_CONTRAST = 60
INK_WIDTH = 200


def _first_page(content: bytes, media_type: str) -> Image.Image:
    """The first page (or the image) in grey, about :data:`INK_WIDTH` pixels across."""
    if media_type == "application/pdf":
        import pypdfium2 as pdfium

        doc = pdfium.PdfDocument(content)
        try:
            page = doc[0]
            scale = min(1.0, INK_WIDTH / max(page.get_width(), 1.0))
            rendered: Image.Image = page.render(scale=scale).to_pil()
            return rendered.convert("L")
        finally:
            doc.close()
    with Image.open(io.BytesIO(content)) as img:
        img.draft("L", (INK_WIDTH, INK_WIDTH))  # a JPEG decodes smaller at once
        grey = img.convert("L")
    grey.thumbnail((INK_WIDTH, 10 * INK_WIDTH))
    return grey


def blank(content: bytes, media_type: str) -> bool:
    """Whether the first page has (next to) nothing on it: checked as the upload arrives, so the
    applicant hears it before submitting rather than from the clerk (补正) after."""
    grey = _first_page(content, media_type)
    histogram = grey.histogram()
    total = max(grey.width * grey.height, 1)
    seen, paper = 0, 255
    for level, count in enumerate(histogram):  # the median: the paper's own shade
        seen += count
        if seen * 2 >= total:
            paper = level
            break
    ink = sum(histogram[: max(paper - INK_CONTRAST, 0)])
    return ink < BLANK_INK * total


def checked(filename: str, content: bytes) -> str:
    """The upload's media type, found from its content, once it has opened as that kind; else a refusal in words.

    Checks, in this order: a file name (1–200 characters), not empty, at most :data:`MAX_BYTES`,
    the first bytes of a PDF, JPEG or PNG, the file opening as one within the page and pixel limits,
    and its first page not blank (:func:`blank`).
    """
    name = filename.strip()
    if not name or len(name) > MAX_NAME:
        raise _refuse(f"give the document a file name of 1–{MAX_NAME} characters", "name", limit=str(MAX_NAME))
    if not content:
        raise _refuse(f"{name} is empty", "empty", name=name)
    if len(content) > MAX_BYTES:
        mb = str(MAX_BYTES // (1024 * 1024))
        raise _refuse(f"{name} is larger than {mb} MB; scan it at a lower resolution", "too_big", name=name, mb=mb)
    media_type = sniff(content)
    if media_type is None:
        raise _refuse(
            f"{name} is not a PDF, JPEG or PNG file (told by its content, not its name): "
            "upload a scan or a photo of the document",
            "kind",
            name=name,
        )
    if media_type == "application/pdf":
        _open_pdf(name, content)
    else:
        _open_image(name, content, media_type)
    if blank(content, media_type):
        raise _refuse(f"the first page of {name} is blank: scan or photograph the document itself", "blank", name=name)
    return media_type
