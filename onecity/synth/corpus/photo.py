"""Photos applicants upload where a recent bareheaded photo (近期免冠照片) is asked for, drawn, as JPEG.

``own`` is a head-and-shoulders photo of one person on a plain ground (what is asked for); the
mistakes are a ``group`` photo (two people), a ``distant`` snapshot (one person, small, in a scene)
and ``someone_else``'s photo (a close-up like ``own``: only a comparison with the applicant's face
tells it). Faces are drawn (an oval, hair, brows, eyes, nose and mouth, softened), varied by a seed
in skin and hair tone, size and position; a few variants of each kind are drawn once and reused.
"""

from __future__ import annotations

import io
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

KINDS = ("own", "group", "distant", "someone_else")
#: Variants drawn per kind (then reused: a photo is a few milliseconds to draw, but thousands are uploaded).
VARIANTS = 16


def _head(d: ImageDraw.ImageDraw, cx: float, cy: float, w: float, skin: int, hair: int) -> None:
    """One head and shoulders, the face ``w`` pixels wide centred on (cx, cy)."""
    h = w * 1.45
    x0, y0 = cx - w / 2, cy - h / 2
    d.ellipse((x0 - w * 0.12, y0 - h * 0.18, x0 + w * 1.12, y0 + h * 0.75), fill=hair)
    d.rectangle((cx - w * 0.2, y0 + h * 0.85, cx + w * 0.2, y0 + h * 1.25), fill=skin - 20)
    d.ellipse((cx - w, y0 + h * 1.1, cx + w, y0 + h * 2.2), fill=hair + 30)
    d.ellipse((x0, y0, x0 + w, y0 + h), fill=skin)
    ey, ew, eh = y0 + h * 0.42, w * 0.21, w * 0.12
    for ex in (cx - w * 0.22, cx + w * 0.22):
        d.line((ex - ew * 0.7, ey - h * 0.08, ex + ew * 0.7, ey - h * 0.09), fill=50, width=max(2, int(w * 0.045)))
        d.ellipse((ex - ew / 2, ey - eh / 2, ex + ew / 2, ey + eh / 2), fill=60)
        d.ellipse((ex - eh / 2.5, ey - eh / 2.5, ex + eh / 2.5, ey + eh / 2.5), fill=20)
    d.line((cx, ey + h * 0.02, cx - w * 0.04, ey + h * 0.25), fill=skin - 50, width=max(2, int(w * 0.03)))
    d.ellipse((cx - w * 0.09, ey + h * 0.23, cx + w * 0.09, ey + h * 0.3), fill=skin - 60)
    d.ellipse((cx - w * 0.17, ey + h * 0.37, cx + w * 0.17, ey + h * 0.47), fill=skin - 90)


@lru_cache(maxsize=len(KINDS) * VARIANTS)
def _draw(kind: str, variant: int) -> bytes:
    rng = np.random.default_rng([KINDS.index(kind), variant])
    ground, skin, hair = int(rng.integers(200, 250)), int(rng.integers(165, 225)), int(rng.integers(20, 70))
    if kind in ("own", "someone_else"):
        img = Image.new("L", (300, 400), ground)
        d = ImageDraw.Draw(img)
        _head(
            d,
            150 + int(rng.integers(-12, 13)),
            170 + int(rng.integers(-10, 11)),
            int(rng.integers(120, 150)),
            skin,
            hair,
        )
    elif kind == "group":
        img = Image.new("L", (600, 400), ground)
        d = ImageDraw.Draw(img)
        for cx in (170, 430):
            _head(d, cx + int(rng.integers(-10, 10)), 170, int(rng.integers(110, 130)), skin, hair)
    elif kind == "distant":
        img = Image.new("L", (600, 800), ground)
        d = ImageDraw.Draw(img)
        d.rectangle((0, 600, 600, 800), fill=ground - 60)
        _head(d, int(rng.integers(150, 450)), 300, int(rng.integers(36, 50)), skin, hair)
    else:
        raise ValueError(f"no photo of kind {kind!r}: one of {KINDS}")
    img = img.filter(ImageFilter.GaussianBlur(max(1.0, img.width / 150)))
    out = io.BytesIO()
    img.convert("RGB").save(out, format="JPEG", quality=85)
    return out.getvalue()


def photo(kind: str, rng: np.random.Generator) -> bytes:
    """A JPEG photo of ``kind`` (one of :data:`KINDS`), one of :data:`VARIANTS` drawn by ``rng``."""
    return _draw(kind, int(rng.integers(VARIANTS)))
