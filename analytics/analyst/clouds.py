"""Word-cloud images from term counts, drawn by `wordcloud`; Chinese terms need a CJK font (Debian fonts-noto-cjk)."""
from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
from wordcloud import WordCloud

# Where Debian's fonts-noto-cjk puts its fonts; SOCIAL_CJK_FONT names any other font file that covers Chinese.
CJK_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
)
FONT_HINT = "install Debian's fonts-noto-cjk (sudo apt-get install fonts-noto-cjk) or set SOCIAL_CJK_FONT to a CJK font file"
_CJK = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")


class MissingFontError(RuntimeError):
    """Terms need a CJK font and none is installed."""


def cjk_font(candidates: tuple[str, ...] = CJK_FONTS) -> str | None:
    """Path of the first installed CJK font (SOCIAL_CJK_FONT first), or None."""
    env = os.environ.get("SOCIAL_CJK_FONT")
    return next((p for p in ((env,) if env else ()) + tuple(candidates) if Path(p).is_file()), None)


def is_cjk(term: str) -> bool:
    """Whether `term` holds a Chinese, Japanese or Korean character."""
    return bool(_CJK.search(term))


def render(freqs: dict[str, int], width: int = 800, height: int = 400,
           fonts: tuple[str, ...] = CJK_FONTS) -> np.ndarray:
    """RGB image (height x width x 3) of a word cloud of `freqs` (term -> weight); the same input gives the same image.

    Raises ValueError when `freqs` is empty and MissingFontError when a term is CJK and no CJK font is installed
    (wordcloud's default font would draw those as empty boxes).
    """
    if not freqs:
        raise ValueError("no terms to draw")
    font = None
    if any(is_cjk(t) for t in freqs):
        font = cjk_font(fonts)
        if font is None:
            raise MissingFontError(f"Chinese terms need a CJK font: {FONT_HINT}.")
    wc = WordCloud(width=width, height=height, background_color="white", font_path=font, random_state=0,
                   collocations=False, max_words=len(freqs))
    return wc.generate_from_frequencies(freqs).to_array()
