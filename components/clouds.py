"""Word cloud of the selection, for all its posts or one sentiment, with the counts behind it."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import streamlit as st

from analytics.analyst import clouds
from analytics.analyst.filters import PostFilter
from analytics.analyst.releases import Release
from analytics.models.registry import SENTIMENT_LABELS
from components import data, privacy
from components.drilldown import table


@st.cache_data(ttl=600, max_entries=32, show_spinner="Drawing the word cloud…")
def _image(freqs: tuple[tuple[str, int], ...]) -> np.ndarray:
    return clouds.render(dict(freqs))


def word_cloud_panel(f: PostFilter, key: str) -> None:
    """Pick all posts or a sentiment (unless the filter already fixes one), draw its terms, offer them as CSV."""
    g = f
    if f.sentiment is None:
        choice = st.radio("Posts", ["all", *SENTIMENT_LABELS], horizontal=True, key=f"{key}_sentiment",
                          format_func=str.capitalize)
        g = f if choice == "all" else replace(f, sentiment=choice)
    counts = data.term_counts(g, redact=privacy.redacting())  # terms of the text this session may see
    if counts.empty:
        st.info("No terms to draw: no scored posts of this sentiment match the filters."
                if g.sentiment else "No terms to draw: no posts match the filters.")
        return
    freqs = dict(zip(privacy.texts(counts["term"]), counts["posts"].astype(int)))
    try:
        img = _image(tuple(freqs.items()))
    except clouds.MissingFontError as e:
        st.warning(f"{e} Chinese terms are left out of this cloud.")
        freqs = {t: n for t, n in freqs.items() if not clouds.is_cjk(t)}
        img = _image(tuple(freqs.items())) if freqs else None
    if img is not None:
        st.image(img, width="stretch")
    sampled, total = counts.attrs["sampled"], counts.attrs["total"]
    st.caption(f"The {len(counts)} most frequent terms by posts containing them"
               + (f", from a sample of {sampled:,} of {total:,} posts" if sampled < total else f", {total:,} posts")
               + ". Stopwords, URLs, @handles and numbers removed; Chinese segmented with jieba.")
    with st.expander("Term counts"):
        table(counts, key, "terms.csv", release=Release("term", g, n=len(counts), redact=privacy.redacting()))
