"""Pure chart builders: data in, plotly Figure out (no streamlit), tested through Figure.to_dict().

Every label that comes from data (topic names, handles, event names, hover text) goes through `plain_label`: Plotly
reads a subset of HTML in labels, so a topic named '<a href=...>' would otherwise be a link. customdata keeps the raw
values, which the drill-down filters on."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from analytics.access.inert import plain_label


def volume_chart(df: pd.DataFrame, events: pd.DataFrame | None = None, spikes: pd.DataFrame | None = None) -> go.Figure:
    """Stacked daily post volume per topic (columns day, topic, posts); events (name, starts_at, ends_at) that
    overlap its days shaded;
    `spikes` (day, topic, posts, z) marked above their day. Each bar carries its topic as customdata."""
    fig = go.Figure()
    for topic, g in df.groupby("topic", sort=False):
        fig.add_trace(go.Bar(x=g["day"].tolist(), y=g["posts"].tolist(), name=plain_label(topic),
                             customdata=[topic] * len(g)))
    if spikes is not None and not spikes.empty:
        totals = df.groupby("day")["posts"].sum()
        fig.add_trace(go.Scatter(
            x=spikes["day"].tolist(), y=[int(totals.get(d, 0)) for d in spikes["day"]], mode="markers",
            name="volume spike", marker=dict(symbol="triangle-down", size=12, color="black"),
            customdata=spikes["topic"].tolist(),
            hovertext=[f"{plain_label(t)}: {p:,} posts vs baseline {b:g} (z {z:.1f})" for t, p, b, z in
                       spikes[["topic", "posts", "baseline", "z"]].itertuples(index=False)], hoverinfo="text+x"))
    first, last = (df["day"].min(), df["day"].max() + pd.Timedelta(days=1)) if not df.empty else (None, None)
    for ev in (events if events is not None else pd.DataFrame()).itertuples():
        if first is None or ev.ends_at <= first or ev.starts_at >= last:
            continue  # outside the selection: drawing it would stretch the time axis
        fig.add_vrect(x0=ev.starts_at, x1=ev.ends_at, fillcolor="red", opacity=0.12, line_width=0,
                      annotation_text=plain_label(ev.name), annotation_position="top left")
    fig.update_layout(barmode="stack", xaxis_title="day", yaxis_title="posts", legend_title="topic",
                      margin=dict(l=10, r=10, t=30, b=10), height=380)
    return fig


def topic_bar(df: pd.DataFrame) -> go.Figure:
    """Horizontal bars of posts per topic (columns topic, posts), largest on top."""
    d = df.sort_values("posts")
    fig = go.Figure(go.Bar(x=d["posts"].tolist(), y=[plain_label(t) for t in d["topic"]], orientation="h",
                           text=d["posts"].tolist(), textposition="auto"))
    fig.update_layout(xaxis_title="posts", margin=dict(l=10, r=10, t=10, b=10), height=40 + 28 * len(d))
    return fig


def confusion_heatmap(matrix: list[list[int]], labels: list[str]) -> go.Figure:
    """Confusion matrix (rows true, columns predicted) with counts written in the cells."""
    labels = [plain_label(label) for label in labels]
    fig = go.Figure(go.Heatmap(z=matrix, x=labels, y=labels, colorscale="Blues", text=matrix, texttemplate="%{text}",
                               showscale=False))
    fig.update_layout(xaxis_title="predicted", yaxis_title="true", yaxis_autorange="reversed",
                      margin=dict(l=10, r=10, t=10, b=10), height=320)
    return fig


def calibration_chart(bins: list[dict], x_title: str = "confidence (max probability)",
                      y_title: str = "accuracy") -> go.Figure:
    """Reliability diagram: observed rate (`accuracy`) vs mean predicted probability (`mean_confidence`) per bin
    (keys mean_confidence, accuracy, count) + diagonal."""
    used = [b for b in bins if b["count"]]
    fig = go.Figure([
        go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfectly calibrated", line=dict(dash="dot", color="grey")),
        go.Scatter(x=[b["mean_confidence"] for b in used], y=[b["accuracy"] for b in used], mode="lines+markers",
                   name="model", text=[f"{b['count']} posts" for b in used]),
    ])
    fig.update_layout(xaxis_title=x_title, yaxis_title=y_title, xaxis_range=[0, 1],
                      yaxis_range=[0, 1], margin=dict(l=10, r=10, t=10, b=10), height=320)
    return fig


def probability_bars(probs: dict[str, float], threshold: float | None = None) -> go.Figure:
    """Horizontal bars of label probabilities, with an optional threshold line."""
    fig = go.Figure(go.Bar(x=list(probs.values()), y=[plain_label(label) for label in probs], orientation="h",
                           text=[f"{v:.2f}" for v in probs.values()], textposition="auto"))
    if threshold is not None:
        fig.add_vline(x=threshold, line_dash="dash", line_color="red", annotation_text="threshold")
    fig.update_layout(xaxis_range=[0, 1], margin=dict(l=10, r=10, t=10, b=10), height=40 + 30 * len(probs))
    return fig


def sentiment_chart(df: pd.DataFrame, rolling: int = 7, spikes: pd.DataFrame | None = None) -> go.Figure:
    """Stacked shares of negative/neutral/positive per bucket, net sentiment and its rolling mean on a second axis;
    `spikes` (rows with bucket, negative_share) are marked."""
    colors = {"negative": "#d62728", "neutral": "#9e9e9e", "positive": "#2ca02c"}
    x = df["bucket"].tolist()
    fig = go.Figure()
    for label, color in colors.items():
        fig.add_trace(go.Scatter(x=x, y=df[f"{label}_share"].tolist(), name=label, stackgroup="share",
                                 line=dict(width=0.5, color=color), customdata=[label] * len(df)))
    fig.add_trace(go.Scatter(x=x, y=df["net"].tolist(), name="net sentiment", yaxis="y2",
                             line=dict(color="black", width=1), opacity=0.4))
    fig.add_trace(go.Scatter(x=x, y=df["net"].rolling(rolling, min_periods=1).mean().tolist(),
                             name=f"net, {rolling}-bucket mean", yaxis="y2", line=dict(color="black", width=2)))
    if spikes is not None and not spikes.empty:
        fig.add_trace(go.Scatter(x=spikes["bucket"].tolist(), y=spikes["negative_share"].tolist(), mode="markers",
                                 name="negative-share spike", marker=dict(symbol="x", size=11, color="black")))
    fig.update_layout(yaxis=dict(title="share of scored posts", range=[0, 1]),
                      yaxis2=dict(title="net sentiment", overlaying="y", side="right", range=[-1, 1]),
                      margin=dict(l=10, r=10, t=30, b=10), height=380, legend_orientation="h")
    return fig


def topic_share_chart(df: pd.DataFrame) -> go.Figure:
    """Stacked area of each topic's share of the posts per bucket (columns day, topic, posts)."""
    wide = df.pivot_table(index="day", columns="topic", values="posts", aggfunc="sum", fill_value=0).sort_index()
    share = wide.div(wide.sum(axis=1), axis=0)
    fig = go.Figure([go.Scatter(x=share.index.tolist(), y=share[t].round(4).tolist(), name=plain_label(t),
                                stackgroup="s", line=dict(width=0.5), customdata=[t] * len(share))
                     for t in share.columns])
    fig.update_layout(yaxis=dict(title="share of posts", range=[0, 1]), margin=dict(l=10, r=10, t=10, b=10),
                      height=380, legend_orientation="h")
    return fig


def topic_sentiment_chart(df: pd.DataFrame, topics: list[str], rolling: int = 3) -> go.Figure:
    """Net sentiment over time per topic, side by side (one small panel per topic, shared axes); columns bucket,
    topic, net, scored. Lines are `rolling`-bucket means; marker size follows the scored posts."""
    cols = min(3, max(1, len(topics)))
    rows = -(-len(topics) // cols)
    fig = make_subplots(rows=rows, cols=cols, shared_xaxes=True, shared_yaxes=True,
                        subplot_titles=[plain_label(t) for t in topics],
                        vertical_spacing=0.12 if rows > 1 else 0.0)
    for i, topic in enumerate(topics):
        g = df[df["topic"] == topic].sort_values("bucket")
        fig.add_trace(go.Scatter(x=g["bucket"].tolist(), y=g["net"].rolling(rolling, min_periods=1).mean().round(4)
                                 .tolist(), name=plain_label(topic), mode="lines", showlegend=False,
                                 customdata=[topic] * len(g),
                                 text=[f"{n} scored" for n in g["scored"]]),
                      row=i // cols + 1, col=i % cols + 1)
        fig.add_hline(y=0, line_dash="dot", line_color="grey", row=i // cols + 1, col=i % cols + 1)
    fig.update_yaxes(range=[-1, 1])
    fig.update_layout(height=max(220, 200 * rows), margin=dict(l=10, r=10, t=30, b=10))
    return fig


def comparison_bars(df: pd.DataFrame, metric: str, label: str) -> go.Figure:
    """Current vs previous period of `metric` per topic (columns topic, metric, prev_<metric>), grouped bars."""
    d = df.sort_values(metric)
    topics = [plain_label(t) for t in d["topic"]]
    fig = go.Figure([
        go.Bar(y=topics, x=d[f"prev_{metric}"].round(4).tolist(), name="previous period",
               orientation="h", marker_color="#b0b0b0"),
        go.Bar(y=topics, x=d[metric].round(4).tolist(), name="this period", orientation="h",
               marker_color="#1f77b4"),
    ])
    fig.update_layout(barmode="group", xaxis_title=label, margin=dict(l=10, r=10, t=10, b=10),
                      height=60 + 40 * len(d), legend_orientation="h")
    return fig


def threshold_chart(df: pd.DataFrame, label: str, current: float | None = None) -> go.Figure:
    """Queue size (bars) and precision from past decisions (line, right axis) per threshold of one label, with
    the `current` threshold as a dashed line."""
    fig = go.Figure([
        go.Bar(x=df["threshold"].tolist(), y=df["queue_items"].tolist(), name="undecided posts flagged"),
        go.Scatter(x=df["threshold"].tolist(), y=df["precision"].tolist(), name="precision", mode="lines+markers",
                   yaxis="y2"),
    ])
    fig.update_layout(xaxis_title=f"{plain_label(label)} threshold", yaxis_title="posts in the queue",
                      yaxis2=dict(title="precision", overlaying="y", side="right", range=[0, 1]),
                      legend=dict(orientation="h"), margin=dict(t=30))
    if current is not None:
        fig.add_vline(x=current, line_dash="dash", annotation_text="current")
    return fig


def score_components_chart(items: pd.DataFrame, components: tuple[str, ...]) -> go.Figure:
    """Per feed item (rank order, top first) its weighted score components as stacked horizontal bars."""
    labels = [plain_label(f"#{r} @{h}") for r, h in zip(items["rank"], items["handle"])]
    fig = go.Figure([go.Bar(y=labels, x=items[c].round(4).tolist(), name=c.replace("_", " "), orientation="h")
                     for c in components])
    fig.update_layout(barmode="stack", xaxis_title="score (weighted components)",
                      yaxis=dict(autorange="reversed"), height=max(300, 24 * len(items) + 80),
                      legend=dict(orientation="h"), margin=dict(l=10, r=10, t=30, b=10))
    return fig


def evaluation_chart(df: pd.DataFrame) -> go.Figure:
    """Offline metrics (tidy strategy, metric, value) as grouped bars, one group per metric."""
    fig = go.Figure([go.Bar(x=[plain_label(m) for m in g["metric"]], y=g["value"].round(4).tolist(),
                            name=plain_label(strategy))
                     for strategy, g in df.groupby("strategy", sort=False)])
    fig.update_layout(barmode="group", yaxis_title="value", legend_title="strategy", margin=dict(t=30))
    return fig


def claim_spread_chart(df: pd.DataFrame) -> go.Figure:
    """A claim's matched posts per day, stacked by language (columns day, lang, posts, cumulative), with the
    running total on a second axis."""
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    for lang, g in df.groupby("lang", sort=True):
        fig.add_trace(go.Bar(x=g["day"].tolist(), y=g["posts"].tolist(), name=plain_label(lang),
                             customdata=[lang] * len(g)), secondary_y=False)
    total = df.groupby("day", sort=True)["cumulative"].max()
    fig.add_trace(go.Scatter(x=total.index.tolist(), y=[int(v) for v in total], name="total so far",
                             mode="lines+markers", line=dict(color="black")), secondary_y=True)
    fig.update_layout(barmode="stack", legend_title="language", margin=dict(l=10, r=10, t=30, b=10), height=340)
    fig.update_xaxes(title_text="day")
    fig.update_yaxes(title_text="matching posts", secondary_y=False)
    fig.update_yaxes(title_text="total so far", secondary_y=True, rangemode="tozero")
    return fig
