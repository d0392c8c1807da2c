"""Pure chart builders: data in, plotly Figure out (no streamlit), tested through Figure.to_dict()."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go


def volume_chart(df: pd.DataFrame, events: pd.DataFrame | None = None) -> go.Figure:
    """Stacked daily post volume per topic (columns day, topic, posts); events (name, starts_at, ends_at) shaded."""
    fig = go.Figure()
    for topic, g in df.groupby("topic", sort=False):
        fig.add_trace(go.Bar(x=g["day"].tolist(), y=g["posts"].tolist(), name=str(topic)))
    for ev in (events if events is not None else pd.DataFrame()).itertuples():
        fig.add_vrect(x0=ev.starts_at, x1=ev.ends_at, fillcolor="red", opacity=0.12, line_width=0,
                      annotation_text=ev.name, annotation_position="top left")
    fig.update_layout(barmode="stack", xaxis_title="day", yaxis_title="posts", legend_title="topic",
                      margin=dict(l=10, r=10, t=30, b=10), height=380)
    return fig


def topic_bar(df: pd.DataFrame) -> go.Figure:
    """Horizontal bars of posts per topic (columns topic, posts), largest on top."""
    d = df.sort_values("posts")
    fig = go.Figure(go.Bar(x=d["posts"].tolist(), y=d["topic"].tolist(), orientation="h", text=d["posts"].tolist(),
                           textposition="auto"))
    fig.update_layout(xaxis_title="posts", margin=dict(l=10, r=10, t=10, b=10), height=40 + 28 * len(d))
    return fig
