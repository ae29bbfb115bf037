"""What scanning and phone photos do to a page: rotation, perspective, blur, noise, low light,
JPEG compression, photocopying. Each takes the page and a seeded generator and returns a new
image; strengths are drawn from ranges seen on real uploads (a few degrees of skew, a
quality-30 JPEG from a messaging app), not from ranges chosen to break the reader.
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter, ImageOps


def rotation(img: Image.Image, rng: random.Random) -> Image.Image:
    angle = rng.choice((-1, 1)) * rng.uniform(1.0, 4.0)
    return img.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(200, 198, 192))


def perspective(img: Image.Image, rng: random.Random) -> Image.Image:
    """A phone held slightly off square: each corner moved by up to 4 % of the side."""
    w, h = img.size
    pad = int(0.05 * max(w, h))
    canvas = Image.new("RGB", (w + 2 * pad, h + 2 * pad), (190, 186, 178))
    canvas.paste(img, (pad, pad))
    W, H = canvas.size

    def j(side: int) -> float:
        return rng.uniform(0, 0.04) * side

    src = [
        (pad + j(w), pad + j(h)),
        (pad + w - j(w), pad + j(h)),
        (pad + w - j(w), pad + h - j(h)),
        (pad + j(w), pad + h - j(h)),
    ]
    dst: list[tuple[float, float]] = [(0.0, 0.0), (float(W), 0.0), (float(W), float(H)), (0.0, float(H))]
    coeffs = _perspective_coeffs(dst, src)
    return canvas.transform(
        (W, H), Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BICUBIC, fillcolor=(190, 186, 178)
    )


def _perspective_coeffs(dst: list[tuple[float, float]], src: list[tuple[float, float]]) -> list[float]:
    rows = []
    for (x, y), (u, v) in zip(dst, src, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    a = np.array(rows, dtype=float)
    b = np.array([c for pt in src for c in pt], dtype=float)
    return [float(v) for v in np.linalg.solve(a, b)]


def blur(img: Image.Image, rng: random.Random) -> Image.Image:
    return img.filter(ImageFilter.GaussianBlur(rng.uniform(0.8, 1.5)))


def noise(img: Image.Image, rng: random.Random) -> Image.Image:
    arr = np.asarray(img).astype(np.int16)
    gen = np.random.default_rng(rng.getrandbits(32))
    arr = arr + gen.normal(0, rng.uniform(6, 14), arr.shape).astype(np.int16)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def low_light(img: Image.Image, rng: random.Random) -> Image.Image:
    """A dim room: darker, warmer, less contrast, a vignette."""
    img = ImageEnhance.Brightness(img).enhance(rng.uniform(0.45, 0.65))
    img = ImageEnhance.Contrast(img).enhance(rng.uniform(0.7, 0.85))
    w, h = img.size
    yy, xx = np.mgrid[0:h, 0:w]
    r = np.sqrt(((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2)
    shade = np.clip(1.0 - 0.35 * r**2, 0.4, 1.0)
    arr = np.asarray(img).astype(np.float32) * shade[..., None] * np.array([1.0, 0.96, 0.85])
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def jpeg(img: Image.Image, rng: random.Random) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=rng.randint(22, 40))
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def photocopy(img: Image.Image, rng: random.Random) -> Image.Image:
    """Grey, hard contrast, toner specks: a copy of a copy."""
    grey = ImageOps.grayscale(img)
    grey = ImageEnhance.Contrast(grey).enhance(rng.uniform(1.6, 2.2))
    arr = np.asarray(grey).astype(np.int16)
    gen = np.random.default_rng(rng.getrandbits(32))
    specks = gen.random(arr.shape) < 0.002
    arr[specks] = 30
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).convert("RGB")


DEGRADATIONS: dict[str, Callable[[Image.Image, random.Random], Image.Image]] = {
    "rotation": rotation,
    "perspective": perspective,
    "blur": blur,
    "noise": noise,
    "low_light": low_light,
    "jpeg": jpeg,
    "photocopy": photocopy,
}

#: The order degradations happen in the world: the page is photocopied, then photographed in
#: some light from some angle, then the photo is blurred, noisy and compressed.
ORDER = ("photocopy", "low_light", "rotation", "perspective", "blur", "noise", "jpeg")


def apply(img: Image.Image, names: list[str], rng: random.Random) -> Image.Image:
    for name in sorted(names, key=ORDER.index):
        img = DEGRADATIONS[name](img, rng)
    return img
