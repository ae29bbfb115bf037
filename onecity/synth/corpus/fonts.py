"""The Chinese fonts documents are drawn with: Debian's Noto CJK (``fonts-noto-cjk``).

Real certificates are printed in Song/Hei faces; Noto Sans CJK (a Hei) and Noto Serif CJK
(a Song) stand in for them. Fonts are located on the system, never downloaded; a missing font
is an error naming the package to install.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from PIL import ImageFont

from onecity.core.config import ConfigurationError

FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"))
SANS = "NotoSansCJK-Regular.ttc"
SERIF = "NotoSerifCJK-Bold.ttc"


@cache
def _path(filename: str) -> Path:
    for root in FONT_DIRS:
        for found in sorted(root.rglob(filename)) if root.is_dir() else ():
            return found
    raise ConfigurationError(
        f"font {filename} not found: install the Debian package fonts-noto-cjk (scripts/install-system-packages.sh)"
    )


@cache
def _sc_index(filename: str) -> int:
    """The collection index of the Simplified Chinese face (SC) in a Noto CJK .ttc."""
    path = _path(filename)
    for index in range(10):
        try:
            family = ImageFont.truetype(str(path), 12, index=index).getname()[0]
        except OSError:
            break
        if family is not None and family.endswith(" SC"):
            return index
    return 0


@cache
def font(size: int, *, serif: bool = False) -> ImageFont.FreeTypeFont:
    """A Simplified Chinese font of ``size`` pixels (sans by default, bold serif for titles)."""
    filename = SERIF if serif else SANS
    return ImageFont.truetype(str(_path(filename)), size, index=_sc_index(filename))
