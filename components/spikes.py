"""Spike list: every flagged window in a table, and the one the user picks explained against its baseline."""
from __future__ import annotations

from dataclasses import replace

import pandas as pd
import streamlit as st

from analytics.analyst.filters import PostFilter
from analytics.analyst.releases import Release
from analytics.models import drafts
from components import data, privacy
from components.drafts import draft
from components.drilldown import STEP, table
from components.post_card import post_card

TERM_COLUMNS = ["term", "window_posts", "baseline_posts", "lift", "z"]
EXPORT_LIMIT = 1000


def _label(row: pd.Series, time: str, value: str) -> str:
    topic = f" · {row['topic']}" if "topic" in row else ""
    shown = f"{row[value]:.0%}" if value.endswith("share") else f"{row[value]:,.0f}"
    return f"{pd.Timestamp(row[time]):%Y-%m-%d %H:%M}{topic} · {value.replace('_', ' ')} {shown} (z {row['z']:.1f})"


def spike_list(f: PostFilter, spikes: pd.DataFrame, grain: str, value: str, key: str,
               sentiment: str | None = None) -> None:
    """Spikes of `value` (rows of detect_spikes / volume_spikes: a time column 'day' or 'bucket', optional topic,
    `value`, baseline, z) with an explanation of the chosen one: what the selection's posts (of `sentiment`, if
    given) in that window say more than in the 14 days before."""
    if spikes.empty:
        st.caption(f"No {value.replace('_', ' ')} spikes in this selection.")
        return
    time = "day" if "day" in spikes.columns else "bucket"
    rows = spikes.reset_index(drop=True)
    labels = [privacy.text(_label(r, time, value)) for _, r in rows.iterrows()]
    pick = st.selectbox(f"Explain a {value.replace('_', ' ')} spike ({len(rows)} found, strongest first)",
                        range(len(rows)), format_func=labels.__getitem__, key=key)
    row = rows.iloc[pick]
    start = pd.Timestamp(row[time]).to_pydatetime()
    # The whole selection, not only the spiking topic: within a topic a burst is mostly more of the same, while
    # against everything else its terms and the topic itself stand out.
    g = f if sentiment is None else replace(f, sentiment=sentiment)
    with st.spinner("Comparing the window with its baseline…"):
        ex = data.explain_window(g, start, start + STEP[grain], redact=privacy.redacting())
    in_window = replace(g, window=(start, start + STEP[grain]))
    if "topic" in row and row["topic"] != "(none)":
        in_window = replace(in_window, topics=(row["topic"],))
    window_posts = data.list_posts(in_window, EXPORT_LIMIT, "likes")
    privacy.download(window_posts, f"spike_{start:%Y%m%d_%H%M}_posts.csv", f"{key}_posts",
                     label=f"Export the window's posts (CSV, {len(window_posts):,} most liked)")
    st.caption(f"{value.replace('_', ' ').capitalize()} {row[value]:.3g} against a trailing median of "
               f"{row['baseline']:.3g} (robust z {row['z']:.1f}).")
    _explanation(ex, key, g)


def _explanation(ex: dict, key: str, g: PostFilter) -> None:
    window = (ex["start"].to_pydatetime(), ex["end"].to_pydatetime())  # what a private export of its tables counts
    with st.container(border=True):
        c = st.columns(3)
        c[0].metric("Posts in the window", f"{ex['window_posts']:,}")
        c[1].metric("Baseline per window", f"{ex['baseline_mean']:,.1f}")
        c[2].metric("Ratio", "new" if ex["ratio"] == float("inf") else f"{ex['ratio']:.1f}x")
        st.caption(f"Baseline: {ex['baseline_start']:%Y-%m-%d} to {ex['start']:%Y-%m-%d %H:%M}. Terms, topics and "
                   "hashtags ranked by the z-score of their log-odds ratio, window against baseline.")
        left, mid, right = st.columns(3)
        with left:
            st.markdown("**Terms**")
            table(ex["terms"], f"{key}_terms", "spike_terms.csv", TERM_COLUMNS,
                  Release("term", g, window, n=len(ex["terms"]), redact=privacy.redacting()))
        with mid:
            st.markdown("**Topics**")
            table(ex["topics"], f"{key}_topics", "spike_topics.csv", ["topic", *TERM_COLUMNS[1:]],
                  Release("topic", g, window, n=len(ex["topics"])))
        with right:
            st.markdown("**Hashtags**")
            table(ex["hashtags"], f"{key}_tags", "spike_hashtags.csv", ["hashtag", *TERM_COLUMNS[1:]],
                  Release("hashtag", g, window, n=len(ex["hashtags"])))
        # The prompt holds only what this session may see: the model's draft is shown to it (and may quote it).
        facts = drafts.spike_summary_prompt(
            f"{ex['start']:%Y-%m-%d %H:%M} to {ex['end']:%Y-%m-%d %H:%M}",
            privacy.texts(ex["terms"]["term"].head(8)),
            privacy.texts(ex["topics"].loc[ex["topics"]["z"] > 0, "topic"].head(3)),
            privacy.texts(ex["posts"]["text"].head(3)))
        if summary := draft(facts, f"{key}_summary", "Draft a two-sentence summary"):
            st.text(summary)
            st.caption("Fed only by the top 8 terms, the rising topics and the first 3 posts below.")
        st.markdown("**Most engaged posts in the window**")
        for p in ex["posts"].to_dict("records"):
            scores = [f"{p['sentiment']} ({p['sentiment_score']:.2f})" if isinstance(p["sentiment"], str) else "",
                      f"P(toxic) {p['toxicity']:.2f}" if pd.notna(p["toxicity"]) else ""]
            post_card(p, " · ".join([f"{p['likes']} likes · {p['replies']} replies · {p['shares']} shares",
                                     *filter(None, scores)]))
        if ex["posts"].empty:
            st.caption("No posts in the window.")
