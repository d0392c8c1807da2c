"""Post cards. Post text and handles are untrusted: text goes through st.text, metadata is markdown-escaped; both
lose zero-width and bidi controls."""
from __future__ import annotations

import re

import streamlit as st

from analytics.access.inert import strip_controls
from components import privacy

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&])")


def escape_md(s: object) -> str:
    """Escape every markdown-significant character so user data renders literally inside st.markdown/caption (and
    widget labels, metric values, alerts); zero-width and bidi controls are stripped first."""
    return _MD_SPECIAL.sub(r"\\\1", strip_controls(str(s)))


def post_card(post: dict, extra: str = "") -> None:
    """Render one post: author, time, topic and counts as escaped caption; the text itself as plain text."""
    with st.container(border=True):
        meta = [f"@{privacy.handle(post['handle'])}", str(post["created_at"])[:16]]
        if post.get("topic"):
            meta.append(privacy.text(post["topic"]))
        st.caption(" · ".join(escape_md(m) for m in meta))
        st.text(privacy.text(post["text"]))
        if extra:
            st.caption(escape_md(extra))
