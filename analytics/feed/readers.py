"""The readers a feed can be previewed for: search by handle, profile counts, the chronological baseline feed."""
from __future__ import annotations

import duckdb
import pandas as pd


def search_users(con: duckdb.DuckDBPyConnection, query: str = "", limit: int = 20) -> pd.DataFrame:
    """Users whose handle contains `query`, most followed first: user_id, handle, community, followers, posts."""
    return con.execute("""
        WITH fol AS (SELECT followee_id AS user_id, count(*) AS followers FROM follows GROUP BY 1),
             pc AS (SELECT author_id AS user_id, count(*) AS posts FROM posts GROUP BY 1)
        SELECT u.user_id, u.handle, u.community, coalesce(fol.followers, 0) AS followers, coalesce(pc.posts, 0) AS posts
        FROM users u LEFT JOIN fol USING (user_id) LEFT JOIN pc USING (user_id)
        WHERE contains(lower(u.handle), ?)
        ORDER BY followers DESC, u.handle LIMIT ?
    """, [query.lower().lstrip("@"), limit]).df()


def user_profile(con: duckdb.DuckDBPyConnection, user_id: str) -> dict:
    """Profile counts of one user: handle, community, followers, following, posts, likes given."""
    row = con.execute("""
        SELECT u.handle, u.community, u.created_at,
               (SELECT count(*) FROM follows WHERE followee_id = u.user_id),
               (SELECT count(*) FROM follows WHERE follower_id = u.user_id),
               (SELECT count(*) FROM posts WHERE author_id = u.user_id),
               (SELECT count(*) FROM interactions WHERE user_id = u.user_id AND kind = 'like')
        FROM users u WHERE u.user_id = ?
    """, [user_id]).fetchone()
    if row is None:
        raise KeyError(f"unknown user {user_id!r}")
    keys = ["handle", "community", "created_at", "followers", "following", "posts", "likes_given"]
    return dict(zip(keys, row))


def following_feed(con: duckdb.DuckDBPyConnection, user_id: str, limit: int = 30) -> pd.DataFrame:
    """Newest posts by accounts the user follows that the user has not viewed, with how many followees liked each.

    This is the chronological in-network baseline; ranked recommendations build on it.
    """
    return con.execute("""
        WITH fol AS (SELECT followee_id FROM follows WHERE follower_id = ?),
        cand AS (
            SELECT p.* FROM posts p JOIN fol ON fol.followee_id = p.author_id
            WHERE NOT EXISTS (SELECT 1 FROM interactions s WHERE s.user_id = ? AND s.post_id = p.post_id)
            ORDER BY p.created_at DESC LIMIT ?
        ),
        proof AS (
            SELECT i.post_id, count(DISTINCT i.user_id) AS followees_liked
            FROM interactions i JOIN fol ON fol.followee_id = i.user_id
            WHERE i.kind = 'like' AND i.post_id IN (SELECT post_id FROM cand) GROUP BY 1
        )
        SELECT c.post_id, c.created_at, u.handle, c.topic, c.text, coalesce(proof.followees_liked, 0) AS followees_liked
        FROM cand c JOIN users u ON u.user_id = c.author_id LEFT JOIN proof USING (post_id)
        ORDER BY c.created_at DESC, c.post_id
    """, [user_id, user_id, limit]).df()
