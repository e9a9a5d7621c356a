"""The fonts the picture is drawn with, and a CJK font for Traditional Chinese labels.

matplotlib's own DejaVu Sans has no Chinese glyphs. A CJK font is looked for in this order: a
file in `CJK_FONT_FILES` (Debian's `fonts-noto-cjk` package installs the first one), then any
font matplotlib already knows by a name in `CJK_FAMILIES`. Without one, a zh-TW report is drawn
with English labels and a warning saying how to install it (`INSTALL_HINT`). Whatever the
fonts, text drawn is first passed through `FontChoice.displayable`, which replaces characters no
chosen font has (a Chinese question in an English picture without a CJK font, an emoji) by "□"
instead of letting matplotlib warn about missing glyphs and draw empty boxes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

logger = logging.getLogger(__name__)

INSTALL_HINT = "apt-get install fonts-noto-cjk"
CJK_FONT_FILES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",  # Debian / Ubuntu fonts-noto-cjk
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",  # Arch, Fedora
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
)
# Traditional Chinese faces first (a .ttc holds JP, KR, SC, TC and HK faces of one design).
CJK_FAMILIES = (
    "Noto Sans CJK TC", "Source Han Sans TC", "Noto Sans TC", "Noto Sans CJK HK",
    "Noto Sans CJK JP", "Noto Sans CJK SC", "Source Han Sans", "WenQuanYi Zen Hei",
    "AR PL UMing TW", "Microsoft JhengHei", "PingFang TC",
)  # fmt: skip
BASE_FAMILY = "DejaVu Sans"  # matplotlib ships it
MISSING = "□"


@dataclass(frozen=True)
class FontChoice:
    """The font families to draw with (first wins, the next ones fill missing glyphs), the
    language the labels are written in, and the characters those fonts cover."""

    families: tuple[str, ...]
    language: str
    cjk: str | None  # the CJK family used, if any
    covered: frozenset[int] = field(repr=False, default=frozenset())

    def displayable(self, text: str) -> str:
        """`text` with every character no chosen font can draw replaced by "□"."""
        if not self.covered:
            return text
        return "".join(
            ch if ord(ch) in self.covered or ch in "\n\t " else MISSING for ch in text
        )


def find_cjk_font(
    files: tuple[str, ...] = CJK_FONT_FILES, families: tuple[str, ...] = CJK_FAMILIES
) -> str | None:
    """The family name of a CJK font matplotlib can use (registering a known file first, in case
    matplotlib's font cache predates its installation), or None."""
    from matplotlib import font_manager

    for path in files:
        if Path(path).is_file():
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError) as exc:
                logger.warning("cannot read the font %s: %s", path, exc)
    known = {font.name for font in font_manager.fontManager.ttflist}
    return next((family for family in families if family in known), None)


def choose_fonts(
    language: str, *, files: tuple[str, ...] = CJK_FONT_FILES,
    families: tuple[str, ...] = CJK_FAMILIES,
) -> FontChoice:  # fmt: skip
    """The fonts for labels in `language`; zh-TW without a CJK font falls back to English (with
    a warning that says how to install one)."""
    cjk = find_cjk_font(files, families)
    if language == "zh-TW" and cjk is None:
        logger.warning(
            "no CJK font for Traditional Chinese labels: the report is drawn in English. "
            "Install one with `%s` (Debian, Ubuntu), then run the report again",
            INSTALL_HINT,
        )
        language = "en"
    # Chinese labels read best in the CJK font itself; other labels keep DejaVu Sans and use
    # the CJK font only for the characters it lacks (a Chinese question quoted in the picture).
    if cjk is None:
        families: tuple[str, ...] = (BASE_FAMILY,)
    elif language == "zh-TW":
        families = (cjk, BASE_FAMILY)
    else:
        families = (BASE_FAMILY, cjk)
    return FontChoice(families, language, cjk, _coverage(families))


def _coverage(families: tuple[str, ...]) -> frozenset[int]:
    covered: set[int] = set()
    for family in families:
        covered |= _charmap(family)
    return frozenset(covered)


@lru_cache(maxsize=8)
def _charmap(family: str) -> frozenset[int]:
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    path = font_manager.findfont(
        font_manager.FontProperties(family=family), fallback_to_default=False
    )
    return frozenset(FT2Font(path).get_charmap())
