"""Drawing helpers for documents: text that remembers where it went, red seals, QR-like codes.

Every value a layout prints is drawn through :meth:`Page.text`, which returns its box, so the
ground truth carries the region of each field (what the workbench highlights and what the
benchmark can compare the extractor's region with).
"""

from __future__ import annotations

import math
import random

from PIL import Image, ImageChops, ImageDraw, ImageFilter

from onecity.synth.corpus.fonts import font

Box = tuple[int, int, int, int]
BLACK = (20, 20, 24)
RED = (205, 30, 36)


class Page:
    """A white (or tinted) page with a drawing context; boxes are (left, top, right, bottom)."""

    def __init__(self, width: int, height: int, background: tuple[int, int, int] = (252, 252, 249)) -> None:
        self.image = Image.new("RGB", (width, height), background)
        self.draw = ImageDraw.Draw(self.image)

    def text(
        self,
        xy: tuple[float, float],
        s: str,
        size: int,
        *,
        serif: bool = False,
        fill: tuple[int, int, int] = BLACK,
        anchor: str = "la",
    ) -> Box:
        f = font(size, serif=serif)
        self.draw.text(xy, s, font=f, fill=fill, anchor=anchor)
        left, top, right, bottom = self.draw.textbbox(xy, s, font=f, anchor=anchor)
        return int(left), int(top), int(right), int(bottom)

    def spaced(
        self,
        xy: tuple[float, float],
        s: str,
        size: int,
        width: float,
        *,
        serif: bool = False,
        fill: tuple[int, int, int] = BLACK,
    ) -> Box:
        """Characters spread evenly over ``width`` (titles such as 营 业 执 照)."""
        f = font(size, serif=serif)
        step = width / max(1, len(s))
        boxes = []
        for i, ch in enumerate(s):
            x = xy[0] + i * step + (step - f.getlength(ch)) / 2
            self.draw.text((x, xy[1]), ch, font=f, fill=fill)
            boxes.append(self.draw.textbbox((x, xy[1]), ch, font=f))
        return (
            int(min(b[0] for b in boxes)),
            int(min(b[1] for b in boxes)),
            int(max(b[2] for b in boxes)),
            int(max(b[3] for b in boxes)),
        )

    def wrapped(
        self,
        xy: tuple[float, float],
        s: str,
        size: int,
        width: float,
        *,
        line_gap: float = 1.45,
        fill: tuple[int, int, int] = BLACK,
        first_indent: float = 0.0,
    ) -> Box:
        """``s`` broken into lines no wider than ``width``; returns the box around all of them."""
        f = font(size)
        lines: list[str] = []
        current = ""
        limit = width - first_indent
        for ch in s:
            if current and f.getlength(current + ch) > limit:
                lines.append(current)
                current = ""
                limit = width
            current += ch
        if current:
            lines.append(current)
        boxes = []
        for i, line in enumerate(lines):
            x = xy[0] + (first_indent if i == 0 else 0)
            boxes.append(self.text((x, xy[1] + i * size * line_gap), line, size, fill=fill))
        return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))

    def rect(
        self,
        box: Box,
        *,
        outline: tuple[int, int, int] = BLACK,
        width: int = 2,
        fill: tuple[int, int, int] | None = None,
    ) -> None:
        self.draw.rectangle(box, outline=outline, width=width, fill=fill)

    def line(
        self, a: tuple[float, float], b: tuple[float, float], *, fill: tuple[int, int, int] = BLACK, width: int = 2
    ) -> None:
        self.draw.line([a, b], fill=fill, width=width)


def seal(page: Page, center: tuple[int, int], radius: int, around: str, *, rng: random.Random, below: str = "") -> None:
    """A round red official seal (公章): a ring, a five-pointed star, the issuer's name along the
    upper arc; stamped by multiplying, so the black print under it stays legible as on paper."""
    size = radius * 2 + 8
    layer = Image.new("RGB", (size, size), (255, 255, 255))
    d = ImageDraw.Draw(layer)
    c = size / 2
    d.ellipse((4, 4, size - 4, size - 4), outline=RED, width=max(4, radius // 18))
    star = []
    for k in range(10):
        r = radius * (0.28 if k % 2 == 0 else 0.11)
        a = -math.pi / 2 + k * math.pi / 5
        star.append((c + r * math.cos(a), c + r * math.sin(a)))
    d.polygon(star, fill=RED)
    f = font(max(12, int(radius * 0.24)))
    n = len(around)
    span = math.radians(min(250.0, 22.0 * n))
    for i, ch in enumerate(around):
        a = -math.pi / 2 - span / 2 + (span * (i + 0.5) / n)
        glyph = Image.new("L", (int(radius * 0.4), int(radius * 0.4)), 0)
        ImageDraw.Draw(glyph).text((glyph.width / 2, glyph.height / 2), ch, font=f, fill=255, anchor="mm")
        glyph = glyph.rotate(-math.degrees(a) - 90, resample=Image.Resampling.BICUBIC)
        r = radius * 0.74
        x, y = c + r * math.cos(a) - glyph.width / 2, c + r * math.sin(a) - glyph.height / 2
        layer.paste(Image.new("RGB", glyph.size, RED), (int(x), int(y)), glyph)
    if below:
        d.text((c, c + radius * 0.5), below, font=font(max(10, int(radius * 0.17))), fill=RED, anchor="mm")
    # uneven ink: fade random blotches towards white
    fade = Image.new("L", layer.size, 0)
    fd = ImageDraw.Draw(fade)
    for _ in range(12):
        x, y, r = rng.uniform(0, size), rng.uniform(0, size), rng.uniform(radius * 0.1, radius * 0.35)
        fd.ellipse((x - r, y - r, x + r, y + r), fill=rng.randint(60, 140))
    fade = fade.filter(ImageFilter.GaussianBlur(radius * 0.08))
    layer = Image.composite(Image.new("RGB", layer.size, (255, 255, 255)), layer, fade)
    layer = layer.rotate(rng.uniform(-12, 12), fillcolor=(255, 255, 255))
    box = (center[0] - size // 2, center[1] - size // 2)
    region = page.image.crop((box[0], box[1], box[0] + size, box[1] + size))
    page.image.paste(ImageChops.multiply(region, layer), box)


def qr_like(page: Page, xy: tuple[int, int], modules: int, cell: int, rng: random.Random) -> None:
    """A QR-code-like square (finder patterns and random modules): the code printed on licences."""
    x0, y0 = xy
    d = page.draw
    for r in range(modules):
        for c in range(modules):
            if rng.random() < 0.5:
                d.rectangle(
                    (x0 + c * cell, y0 + r * cell, x0 + (c + 1) * cell - 1, y0 + (r + 1) * cell - 1), fill=BLACK
                )
    for fx, fy in ((0, 0), (modules - 7, 0), (0, modules - 7)):
        ox, oy = x0 + fx * cell, y0 + fy * cell
        d.rectangle((ox - cell, oy - cell, ox + 8 * cell - 1, oy + 8 * cell - 1), fill=(255, 255, 255))
        d.rectangle((ox, oy, ox + 7 * cell - 1, oy + 7 * cell - 1), fill=BLACK)
        d.rectangle((ox + cell, oy + cell, ox + 6 * cell - 1, oy + 6 * cell - 1), fill=(255, 255, 255))
        d.rectangle((ox + 2 * cell, oy + 2 * cell, ox + 5 * cell - 1, oy + 5 * cell - 1), fill=BLACK)


def guilloche_border(page: Page, margin: int, colour: tuple[int, int, int], rng: random.Random) -> None:
    """The ornamental frame of a licence: a double rule with a wave between the lines."""
    w, h = page.image.size
    page.rect((margin, margin, w - margin, h - margin), outline=colour, width=3)
    page.rect((margin + 14, margin + 14, w - margin - 14, h - margin - 14), outline=colour, width=1)
    phase = rng.uniform(0, math.pi)
    pts_top = [(x, margin + 7 + 4 * math.sin(x / 9 + phase)) for x in range(margin, w - margin, 3)]
    pts_bottom = [(x, h - margin - 7 + 4 * math.sin(x / 9 + phase)) for x in range(margin, w - margin, 3)]
    page.draw.line(pts_top, fill=colour, width=1)
    page.draw.line(pts_bottom, fill=colour, width=1)


def portrait(page: Page, box: Box, rng: random.Random) -> None:
    """The holder's photo on an ID card: a grey head and shoulders on a pale ground."""
    x0, y0, x1, y1 = box
    tone = rng.randint(150, 190)
    w, h = x1 - x0, y1 - y0
    photo = Image.new("RGB", (w, h), (236, 240, 244))
    d = ImageDraw.Draw(photo)
    d.ellipse((w * 0.3, h * 0.15, w * 0.7, h * 0.55), fill=(tone, tone - 10, tone - 20))
    d.ellipse((w * 0.05, h * 0.58, w * 0.95, h * 1.3), fill=(tone - 60,) * 3)
    page.image.paste(photo, (x0, y0))
