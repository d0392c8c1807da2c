"""Sentiment over time for a selection of posts, from the stored scores of the current sentiment model."""
from __future__ import annotations

import duckdb
import pandas as pd

from analytics.queries import PostFilter
from analytics.scoring import model_key

GRAINS = ("hour", "day", "week")


def sentiment_over_time(con: duckdb.DuckDBPyConnection, f: PostFilter, grain: str = "day") -> pd.DataFrame:
    """Per time bucket: posts, scored, negative/neutral/positive counts, their shares of scored, and net sentiment.

    net = (positive - negative) / scored, in [-1, 1]; shares and net are NaN where nothing is scored yet.
    """
    if grain not in GRAINS:
        raise ValueError(f"grain must be one of {GRAINS}")
    model_id, version = model_key("sentiment")
    where, params = f.where()
    df = con.execute(f"""
        SELECT date_trunc('{grain}', p.created_at) AS bucket, count(*) AS posts, count(s.post_id) AS scored,
               count(*) FILTER (s.label = 'negative') AS negative, count(*) FILTER (s.label = 'neutral') AS neutral,
               count(*) FILTER (s.label = 'positive') AS positive
        FROM posts p JOIN users u ON u.user_id = p.author_id
        LEFT JOIN model_scores s ON s.post_id = p.post_id AND s.model_id = ? AND s.model_version = ?
        WHERE {where} GROUP BY 1 ORDER BY 1
    """, [model_id, version] + params).df()
    scored = df["scored"].where(df["scored"] > 0)
    for label in ("negative", "neutral", "positive"):
        df[f"{label}_share"] = df[label] / scored
    df["net"] = (df["positive"] - df["negative"]) / scored
    return df
