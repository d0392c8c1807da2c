"""The post-selection filter widgets, shared by the pages and mirrored in the URL (st.query_params)."""
from __future__ import annotations

from dataclasses import replace

import streamlit as st

from analytics.analyst.filters import PostFilter, filter_from_params, filter_to_params
from analytics.models.registry import SENTIMENT_LABELS
from components import data, privacy
from components.post_card import escape_md

URL_KEYS = ("from", "to", "topic", "tag", "q", "author", "lang", "sentiment")


def _seed(key: str, opts: dict) -> None:
    """First run of this page in the session: widget state from the URL, with a notice for what was invalid."""
    if f"{key}_dates" in st.session_state:
        return
    f, notices = filter_from_params({k: st.query_params.get_all(k) for k in URL_KEYS}, opts)
    st.session_state.update({
        f"{key}_dates": (f.start, f.end), f"{key}_topics": list(f.topics), f"{key}_tags": list(f.hashtags),
        f"{key}_kw": f.keyword, f"{key}_author": f.author, f"{key}_lang": f.lang or "any",
        f"{key}_sentiment": f.sentiment or "any", f"{key}_notices": notices})


def _mirror(f: PostFilter, opts: dict) -> None:
    params = filter_to_params(f, opts)
    for k in URL_KEYS:
        if k in params and st.query_params.get_all(k) != ([params[k]] if isinstance(params[k], str) else params[k]):
            st.query_params[k] = params[k]
        elif k not in params and k in st.query_params:
            del st.query_params[k]


def post_filter(key: str = "f") -> PostFilter:
    """Sidebar widgets for dates, topics, hashtags, keyword, author, language and sentiment; returns the selection.

    The selection is kept in the page URL so a view can be shared; invalid URL values fall back with a notice.
    """
    opts = data.filter_options()
    _seed(key, opts)
    lo, hi = opts["min_date"], opts["max_date"]
    with st.sidebar:
        st.subheader("Filters")
        notices = st.session_state[f"{key}_notices"]
        if notices:  # they quote the link's values: escaped, so a crafted link shows no link or image of its own
            st.warning("Some filters in the link were not valid and were reset:\n\n" +
                       "\n".join(f"- {escape_md(n)}" for n in notices), icon="⚠️")
        rng = st.date_input("Date range", min_value=lo, max_value=hi, key=f"{key}_dates")
        topics = st.multiselect("Topics", opts["topics"], key=f"{key}_topics", format_func=privacy.text)
        tags = st.multiselect("Hashtags", sorted(set(opts["hashtags"]) | set(st.session_state[f"{key}_tags"])),
                              key=f"{key}_tags", help="posts with any of these hashtags", format_func=privacy.text)
        keyword = st.text_input("Keyword", key=f"{key}_kw", help="case-insensitive text search")
        author = st.text_input("Author pseudonym" if privacy.pseudonymising() else "Author handle", key=f"{key}_author",
                               help="as shown on posts, e.g. u_1a2b3c4d5e6f" if privacy.pseudonymising() else None)
        author = author.strip().lstrip("@")
        lang = st.selectbox("Language", ["any"] + opts["langs"], key=f"{key}_lang")
        sentiment = st.selectbox("Sentiment", ["any", *SENTIMENT_LABELS], key=f"{key}_sentiment",
                                 help="label from the sentiment model: only scored posts match")
    picked = list(rng) if isinstance(rng, (list, tuple)) else [rng]
    start, end = (picked + [lo, hi][len(picked):])[:2]  # a half-picked range keeps its start
    f = PostFilter(start=start, end=end, topics=tuple(topics), hashtags=tuple(tags), keyword=keyword.strip(),
                   author=privacy.author(author), lang=None if lang == "any" else lang,
                   sentiment=None if sentiment == "any" else sentiment)
    _mirror(replace(f, author=author), opts)  # the link holds what was typed: a pseudonym stays one
    return f
