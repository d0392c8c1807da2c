"""Read queries behind the analyst pages. Connection in, DataFrame (or plain dict) out; SQL always parameterised."""
from __future__ import annotations

from datetime import datetime

import duckdb
import pandas as pd

from analytics.analyst.filters import PostFilter
from analytics.models.registry import model_key


def _df(con: duckdb.DuckDBPyConnection, sql: str, params: list | tuple = ()) -> pd.DataFrame:
    return con.execute(sql, list(params)).df()


def overview(con: duckdb.DuckDBPyConnection) -> dict:
    """Headline counts of the store."""
    row = con.execute("""
        SELECT (SELECT count(*) FROM posts), (SELECT count(DISTINCT author_id) FROM posts),
               (SELECT count(*) FROM users), (SELECT count(*) FROM interactions), (SELECT count(*) FROM follows),
               (SELECT min(created_at) FROM posts), (SELECT max(created_at) FROM posts),
               (SELECT count(*) FROM sentiment_labels), (SELECT count(*) FROM moderation_decisions)
    """).fetchone()
    keys = ["posts", "authors", "users", "interactions", "follows", "first_post", "last_post", "labelled", "decisions"]
    return dict(zip(keys, row))


def filter_options(con: duckdb.DuckDBPyConnection, n_hashtags: int = 300) -> dict:
    """Values the filter widgets offer: topics (largest first), languages, the most used hashtags, the date range."""
    topics = [r[0] for r in con.execute(
        "SELECT topic FROM posts WHERE topic IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1").fetchall()]
    langs = [r[0] for r in con.execute("SELECT DISTINCT lang FROM posts WHERE lang IS NOT NULL ORDER BY 1").fetchall()]
    tags = [r[0] for r in con.execute(
        "SELECT tag FROM (SELECT unnest(hashtags) AS tag FROM posts) GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT ?",
        [n_hashtags]).fetchall()]
    lo, hi = con.execute("SELECT min(created_at)::DATE, max(created_at)::DATE FROM posts").fetchone()
    return {"topics": topics, "langs": langs, "hashtags": tags, "min_date": lo, "max_date": hi}


def volume_by_day(con: duckdb.DuckDBPyConnection, f: PostFilter) -> pd.DataFrame:
    """Posts per day and topic in the selection: columns day, topic, posts."""
    where, params = f.where()
    return _df(con, f"""
        SELECT date_trunc('day', p.created_at) AS day, coalesce(p.topic, '(none)') AS topic, count(*) AS posts
        FROM posts p WHERE {where} GROUP BY ALL ORDER BY day, topic
    """, params)


def topic_summary(con: duckdb.DuckDBPyConnection, f: PostFilter) -> pd.DataFrame:
    """Per topic: posts, distinct authors, likes and share of the selection's posts."""
    where, params = f.where()
    return _df(con, f"""
        WITH sel AS (
            SELECT p.post_id, p.author_id, coalesce(p.topic, '(none)') AS topic
            FROM posts p WHERE {where}
        ), counts AS (
            SELECT topic, count(*) AS posts, count(DISTINCT author_id) AS authors FROM sel GROUP BY topic
        ), likes AS (  -- straight to 10 topic groups: grouping a million likes by post first costs twice as much
            SELECT sel.topic, count(*) AS likes FROM interactions i JOIN sel USING (post_id)
            WHERE i.kind = 'like' GROUP BY 1
        )
        SELECT topic, posts, authors, coalesce(likes.likes, 0)::BIGINT AS likes,
               round(posts / sum(posts) OVER (), 4) AS share
        FROM counts LEFT JOIN likes USING (topic) ORDER BY posts DESC, topic
    """, params)


def top_hashtags(con: duckdb.DuckDBPyConnection, f: PostFilter, n: int = 15) -> pd.DataFrame:
    """Most used hashtags in the selection: columns hashtag, posts."""
    where, params = f.where()
    return _df(con, f"""
        SELECT '#' || tag AS hashtag, count(*) AS posts
        FROM (SELECT unnest(p.hashtags) AS tag FROM posts p WHERE {where})
        GROUP BY tag ORDER BY posts DESC, tag LIMIT ?
    """, params + [n])


def engagement_cte(ids_sql: str, since: bool = False) -> str:
    """CTE `eng`: interaction counts per post of `ids_sql`. With `since`, it takes one more parameter, a time no
    later than the posts' creation: no interaction predates its post, and DuckDB then skips older row groups."""
    return f"""eng AS (
        SELECT post_id, count(*) FILTER (kind = 'view') AS views, count(*) FILTER (kind = 'like') AS likes,
               count(*) FILTER (kind = 'reply') AS replies, count(*) FILTER (kind = 'share') AS shares,
               count(*) FILTER (kind = 'report') AS reports
        FROM interactions WHERE post_id IN ({ids_sql}) {'AND ts >= ?' if since else ''} GROUP BY post_id)"""


def list_posts(con: duckdb.DuckDBPyConnection, f: PostFilter, limit: int = 100, order: str = "newest") -> pd.DataFrame:
    """Posts in the selection with author handle, engagement counts and current model scores (NULL if unscored):
    sentiment label and its probability, P(toxic). Order 'newest', 'oldest' or 'likes'."""
    order_sql = {"newest": "p.created_at DESC", "oldest": "p.created_at ASC", "likes": "likes DESC, p.created_at DESC"}
    if order not in order_sql:
        raise ValueError(f"order must be one of {sorted(order_sql)}")
    where, params = f.where()
    # The page of posts is picked first (likes need only 'like' rows), then only its posts get engagement counts
    # and scores: at 1M posts that is ~10x faster than counting every interaction of the whole selection.
    if order == "likes":
        pick = f"""SELECT p.post_id FROM posts p LEFT JOIN (
                       SELECT post_id, count(*) AS likes FROM interactions WHERE kind = 'like' GROUP BY 1) l
                       USING (post_id)
                   WHERE {where} ORDER BY coalesce(l.likes, 0) DESC, p.created_at DESC, p.post_id LIMIT ?"""
    else:
        pick = f"SELECT p.post_id FROM posts p WHERE {where} ORDER BY {order_sql[order]}, p.post_id LIMIT ?"
    since = f.window[0] if f.window else datetime.combine(f.start, datetime.min.time()) if f.start else None
    return _df(con, f"""
        WITH sel AS ({pick}),
        {engagement_cte('SELECT post_id FROM sel', since is not None)}
        SELECT p.post_id, p.created_at, u.handle, p.topic, p.text, p.parent_id,
               coalesce(e.views, 0) AS views, coalesce(e.likes, 0) AS likes, coalesce(e.replies, 0) AS replies,
               coalesce(e.shares, 0) AS shares, s.label AS sentiment, round(s.score, 3) AS sentiment_p,
               round(CAST(t.scores->>'toxic' AS DOUBLE), 3) AS toxic_p
        FROM sel JOIN posts p USING (post_id) JOIN users u ON u.user_id = p.author_id LEFT JOIN eng e USING (post_id)
        LEFT JOIN model_scores s ON s.post_id = p.post_id AND s.model_id = ? AND s.model_version = ?
        LEFT JOIN model_scores t ON t.post_id = p.post_id AND t.model_id = ? AND t.model_version = ?
        ORDER BY {order_sql[order]}, p.post_id
    """, params + [limit] + ([since] if since else []) + [*model_key("sentiment"), *model_key("toxicity")])


def get_post(con: duckdb.DuckDBPyConnection, post_id: str) -> pd.DataFrame:
    """One post with its author handle (empty frame if unknown)."""
    return _df(con, """SELECT p.*, u.handle FROM posts p LEFT JOIN users u ON u.user_id = p.author_id
                       WHERE p.post_id = ?""", [post_id])


def sim_events(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The events injected into the simulated sample (ground truth for spike detection)."""
    return _df(con, "SELECT * FROM sim_events ORDER BY starts_at")


def imported_post_ids(con: duckdb.DuckDBPyConnection) -> frozenset[str]:
    """Ids of the posts that came from an import (source 'import:<file>'): they may be ids on another platform."""
    return frozenset(r[0] for r in con.execute("SELECT post_id FROM posts WHERE starts_with(source, 'import:')")
                     .fetchall())
