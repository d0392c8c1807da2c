"""Highlighted-token rendering for attributions, built from escaped markdown (never raw HTML)."""
from __future__ import annotations

from components.post_card import escape_md


def attribution_markdown(pairs: list[tuple[str, float]], threshold: float = 0.02,
                         pos_color: str = "red", neg_color: str = "blue") -> str:
    """Markdown where words pushing toward the label get `pos_color` background, words pushing away `neg_color`.

    Every word is markdown-escaped first, so post text cannot inject markup.
    """
    out = []
    for word, a in pairs:
        w = escape_md(word)
        if a >= threshold:
            out.append(f":{pos_color}-background[{w}]")
        elif a <= -threshold:
            out.append(f":{neg_color}-background[{w}]")
        else:
            out.append(w)
    return " ".join(out)
