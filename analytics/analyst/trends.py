"""Sentiment over time for a selection of posts, from the stored scores of the current sentiment model."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time, timedelta

import duckdb
import pandas as pd

from analytics.analyst.filters import PostFilter
from analytics.analyst.queries import topic_summary
from analytics.models.registry import SENTIMENT_LABELS, model_key

GRAINS = ("hour", "day", "week")


def _counts(con: duckdb.DuckDBPyConnection, f: PostFilter, keys: list[str], key_params: list | None = None
            ) -> pd.DataFrame:
    """posts, scored and per-label counts grouped by the SQL expressions `keys` (named k0, k1, ...; their `?`
    take `key_params`), with shares of scored posts and net = (positive - negative) / scored (NaN where nothing
    is scored)."""
    model_id, version = model_key("sentiment")
    where, params = f.where()
    cols = "".join(f"{k} AS k{i}, " for i, k in enumerate(keys))
    group = "GROUP BY ALL ORDER BY ALL" if keys else ""
    df = con.execute(f"""
        SELECT {cols}count(*) AS posts, count(s.post_id) AS scored,
               {", ".join(f"count(*) FILTER (s.label = '{label}') AS {label}" for label in SENTIMENT_LABELS)}
        FROM posts p
        LEFT JOIN model_scores s ON s.post_id = p.post_id AND s.model_id = ? AND s.model_version = ?
        WHERE {where} {group}
    """, (key_params or []) + [model_id, version] + params).df()
    scored = df["scored"].where(df["scored"] > 0)
    for label in SENTIMENT_LABELS:
        df[f"{label}_share"] = df[label] / scored
    df["net"] = (df["positive"] - df["negative"]) / scored
    return df


def sentiment_over_time(con: duckdb.DuckDBPyConnection, f: PostFilter, grain: str = "day",
                        by_topic: bool = False) -> pd.DataFrame:
    """Per time bucket (and topic, with `by_topic`): posts, scored, negative/neutral/positive counts, their shares
    of scored, and net sentiment = (positive - negative) / scored in [-1, 1]; NaN where nothing is scored yet.
    """
    if grain not in GRAINS:
        raise ValueError(f"grain must be one of {GRAINS}")
    keys = [f"date_trunc('{grain}', p.created_at)"] + (["coalesce(p.topic, '(none)')"] if by_topic else [])
    return _counts(con, f, keys).rename(columns={"k0": "bucket", "k1": "topic"})


def previous_period(f: PostFilter) -> PostFilter:
    """The same selection over the equally long period that ends the day before `f.start` (needs start and end)."""
    if not (f.start and f.end):
        raise ValueError("a previous period needs a selection with both start and end dates")
    length = f.end - f.start + timedelta(days=1)
    return replace(f, start=f.start - length, end=f.start - timedelta(days=1))


def period_comparison(con: duckdb.DuckDBPyConnection, f: PostFilter, by_topic: bool = False) -> pd.DataFrame:
    """Posts and sentiment of the selection next to its previous period (and per topic, with `by_topic`).

    Columns: [topic], posts, prev_posts, posts_change_pct, and for each of negative_share, positive_share, net the
    current value, `prev_` value and `_change` in points (shares x 100, net x 100); NaN where undefined.
    """
    # One scan of both periods, split by a period key k0, rather than one query per period.
    keys = ["p.created_at >= ?"] + (["coalesce(p.topic, '(none)')"] if by_topic else [])
    both = _counts(con, replace(f, start=previous_period(f).start), keys, [datetime.combine(f.start, time.min)])
    if by_topic:
        on = ["topic"]
        cur, prev = (both[both["k0"] == flag].drop(columns="k0").rename(columns={"k1": "topic"})
                     for flag in (True, False))
    else:  # a period without posts still gets its row: zero posts, undefined shares
        on = ["_"]
        both = both.set_index("k0").reindex([True, False]).assign(_=0)
        both[["posts", "scored"]] = both[["posts", "scored"]].fillna(0).astype(int)
        cur, prev = both.iloc[[0]], both.iloc[[1]]
    metrics = ["negative_share", "positive_share", "net"]
    df = cur[on + ["posts", "scored"] + metrics].merge(
        prev[on + ["posts"] + metrics].rename(columns=lambda c: c if c in on else f"prev_{c}"), on=on, how="left")
    df["prev_posts"] = df["prev_posts"].fillna(0).astype(int)
    df["posts_change_pct"] = (100 * (df["posts"] - df["prev_posts"]) / df["prev_posts"].where(df["prev_posts"] > 0))
    for m in metrics:
        df[f"{m}_change"] = 100 * (df[m] - df[f"prev_{m}"])
    return df.drop(columns=["_"], errors="ignore").sort_values("posts", ascending=False, ignore_index=True)


def topic_table(con: duckdb.DuckDBPyConnection, f: PostFilter) -> pd.DataFrame:
    """One row per topic: posts, share, authors, likes (queries.topic_summary) with sentiment and the change
    against the previous period (period_comparison), largest topic first."""
    cmp = period_comparison(con, f, by_topic=True)
    return topic_summary(con, f).merge(cmp.drop(columns="posts"), on="topic", how="left")
