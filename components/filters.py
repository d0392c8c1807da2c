"""The post-selection filter widgets, shared by the pages."""
from __future__ import annotations

import streamlit as st

from analytics.queries import PostFilter
from components import data


def post_filter(key: str = "f") -> PostFilter:
    """Sidebar widgets for date range, topics, keyword and author; returns the selection."""
    opts = data.filter_options()
    with st.sidebar:
        st.subheader("Filters")
        lo, hi = opts["min_date"], opts["max_date"]
        rng = st.date_input("Date range", value=(lo, hi), min_value=lo, max_value=hi, key=f"{key}_dates")
        topics = st.multiselect("Topics", opts["topics"], key=f"{key}_topics")
        keyword = st.text_input("Keyword", key=f"{key}_kw", help="case-insensitive text search")
        author = st.text_input("Author handle", key=f"{key}_author")
        lang = st.selectbox("Language", ["any"] + opts["langs"], key=f"{key}_lang") if len(opts["langs"]) > 1 else "any"
    picked = list(rng) if isinstance(rng, (list, tuple)) else [rng]
    start, end = (picked + [lo, hi][len(picked):])[:2]  # a half-picked range keeps its start
    return PostFilter(start=start, end=end, topics=tuple(topics), keyword=keyword.strip(),
                      author=author.strip(), lang=None if lang == "any" else lang)
