"""Drill-down: a Plotly selection (click, box or lasso) narrows the page's selection to the posts behind it."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from analytics.analyst.filters import PostFilter
from analytics.analyst.releases import Release
from components import data, privacy
from components.post_card import escape_md

STEP = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1)}
POST_COLUMNS = ["created_at", "handle", "topic", "text", "sentiment", "sentiment_p", "toxic_p", "likes", "replies",
                "shares", "views", "post_id"]


def selectable_chart(fig: go.Figure, key: str) -> list[dict]:
    """Render `fig`; returns the points the user clicked or box/lasso-selected (empty when none)."""
    event = st.plotly_chart(fig, width="stretch", on_select="rerun", selection_mode=("points", "box", "lasso"),
                            key=key)
    return list(event.selection.points) if event else []


def drill_filter(f: PostFilter, points: list[dict], grain: str, field: str | None = None) -> PostFilter | None:
    """`f` narrowed to the time buckets spanned by `points` (x = bucket start) and, with `field` ('topics' or
    'sentiment'), to the series the points belong to (their customdata). None when no point has an x."""
    xs = [pd.Timestamp(p["x"]) for p in points if p.get("x") is not None]
    if not xs:
        return None
    g = replace(f, window=(min(xs).to_pydatetime(), (max(xs) + STEP[grain]).to_pydatetime()))
    values = sorted({c[0] if isinstance(c, list) else c for p in points if (c := p.get("customdata")) is not None})
    if field == "topics" and values:
        g = replace(g, topics=tuple(values))
    elif field == "sentiment" and len(values) == 1:
        g = replace(g, sentiment=values[0])
    return g


def table(df: pd.DataFrame, key: str, filename: str, columns: list[str] | None = None,
          release: Release | None = None) -> None:
    """A dataframe (cells are plain text) with a CSV download of exactly what it shows, both under the session's
    privacy settings; an aggregate table (`release`: what it counts) exports as a private release of it."""
    selected = df[[c for c in columns if c in df.columns]] if columns else df
    st.dataframe(privacy.shown(selected), hide_index=True, width="stretch")
    privacy.download(selected, filename, key, release)


def drill_down(f: PostFilter | None, key: str, limit: int = 500) -> None:
    """The posts behind a chart selection (newest first), with scores and CSV export; nothing when f is None."""
    if f is None:
        return
    posts = data.list_posts(f, limit, "newest")
    start, end = f.window
    with st.container(border=True):
        parts = [f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M}", *privacy.texts(f.topics), f.sentiment or "",
                 f"first {limit:,}" if len(posts) == limit else f"{len(posts):,} posts"]
        st.markdown("**Posts behind the selection** · " + " · ".join(escape_md(p) for p in parts if p))
        table(posts, key, "selection.csv", POST_COLUMNS)
