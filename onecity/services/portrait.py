"""The photo check (照片合规检测): an upload of a recent bareheaded photo (近期免冠照片) shows one face, close up.

A photo material (the catalogue's ``portrait``) is not read by OCR: nothing on it is words. What a
machine can still tell as it arrives is whether it is a head-and-shoulders photo of one person —
the wrong file (a scanned form, a card, a receipt), a group photo or a snapshot taken from afar
are the mistakes applicants make with it. OpenCV's frontal-face cascade (the Viola–Jones
detector whose trained file ships inside ``opencv-python-headless``, a dependency already: nothing
is downloaded) finds the faces on the picture, seen :data:`WIDTH` pixels across:

* none → ``no_face`` (not a photo of a person);
* more than one → ``several_faces``;
* one narrower than :data:`MIN_FACE` of the picture → ``face_small`` (not a close-up).

Whether it is the applicant's own face is not checked here (that needs a reference photo to compare
with): an officer sees it, as before. A few milliseconds a picture, run before the case is locked.
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from onecity.services.uploadstate import FLAGGED, OFFICER, OK

#: Width the picture is seen at (a PDF's first page rendered to it, an image scaled to it).
WIDTH = 320
#: The least share of the picture's width one face takes in a head-and-shoulders photo (the standard
#: photo's face is about two thirds of its width; a snapshot of someone standing, under a tenth).
MIN_FACE = 0.3


@lru_cache(maxsize=1)
def _detector() -> Any:
    import cv2

    path = Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"  # type: ignore[attr-defined]
    found = cv2.CascadeClassifier(str(path))
    if found.empty():  # pragma: no cover - the wheel always ships it
        raise RuntimeError(f"OpenCV's face detector is missing: {path}")
    return found


def _picture(content: bytes, media_type: str) -> Image.Image:
    if media_type == "application/pdf":
        import pypdfium2 as pdfium

        doc = pdfium.PdfDocument(content)
        try:
            page = doc[0]
            rendered: Image.Image = page.render(scale=WIDTH / max(page.get_width(), 1.0)).to_pil()
            return rendered.convert("L")
        finally:
            doc.close()
    with Image.open(io.BytesIO(content)) as img:
        img.draft("L", (WIDTH, WIDTH))
        grey = img.convert("L")
    grey.thumbnail((WIDTH, 4 * WIDTH))
    if grey.width < WIDTH:
        grey = grey.resize((WIDTH, round(grey.height * WIDTH / grey.width)))
    return grey


def faces(content: bytes, media_type: str) -> list[tuple[int, int, int, int]]:
    """The faces found on the picture (x, y, width, height at :data:`WIDTH` pixels across)."""
    grey = np.asarray(_picture(content, media_type), dtype=np.uint8)
    found = _detector().detectMultiScale(grey, scaleFactor=1.1, minNeighbors=5, minSize=(24, 24))
    return [(int(x), int(y), int(w), int(h)) for x, y, w, h in found]


def check(content: bytes, media_type: str) -> dict[str, Any]:
    """The upload check's result for a photo: ``ok``, or ``flagged`` with what is wrong."""
    try:
        found = faces(content, media_type)
    except (OSError, ValueError):  # a picture that opened for the upload but not here: an officer looks at it
        return {"status": OFFICER}
    if not found:
        problem = "no_face"
    elif len(found) > 1:
        problem = "several_faces"
    elif max(w for _x, _y, w, _h in found) < MIN_FACE * WIDTH:
        problem = "face_small"
    else:
        return {"status": OK}
    return {"status": FLAGGED, "problems": [{"problem": problem}]}
