"""Exposure: how far posts travelled before moderators acted, from the interactions. A post's cutoff is its
standing removal (or the current time while it stands); views, likes, shares and replies before it are counted,
and the distinct viewers are the feeds that showed it."""
from __future__ import annotations

from typing import Sequence

import duckdb
import pandas as pd

from analytics.store.sql import STATES_CTE

KINDS = {"view": "views", "like": "likes", "share": "shares", "reply": "replies", "report": "reports"}


def per_post(con: duckdb.DuckDBPyConnection, post_ids: Sequence[str]) -> pd.DataFrame:
    """Per post of `post_ids`: post_id, removed_at (its standing removal; NULL if none), viewers (distinct users
    who viewed it before then), views, likes, shares, replies, reports (interactions before then)."""
    counts = ", ".join(f"count(i.interaction_id) FILTER (i.kind = '{k}') AS {name}" for k, name in KINDS.items())
    return con.execute(f"""WITH {STATES_CTE},
        sel AS (SELECT unnest(?::VARCHAR[]) AS post_id),
        cut AS (SELECT sel.post_id, CASE WHEN s.state = 'remove' THEN s.decided_at END AS removed_at
                FROM sel LEFT JOIN states s USING (post_id))
        SELECT cut.post_id, cut.removed_at,
               count(DISTINCT i.user_id) FILTER (i.kind = 'view') AS viewers, {counts}
        FROM cut LEFT JOIN interactions i ON i.post_id = cut.post_id
             AND (cut.removed_at IS NULL OR i.ts < cut.removed_at)
        GROUP BY cut.post_id, cut.removed_at ORDER BY cut.post_id""", [list(post_ids)]).df()


def summary(con: duckdb.DuckDBPyConnection, post_ids: Sequence[str]) -> dict:
    """Totals over `post_ids`: posts, removed (standing removals), viewers (distinct users who saw any before its
    removal: the feeds that showed them), views, likes, shares, replies, reports."""
    rows = per_post(con, post_ids)
    viewers = con.execute(f"""WITH {STATES_CTE}
        SELECT count(DISTINCT i.user_id) FROM interactions i LEFT JOIN states s USING (post_id)
        WHERE i.post_id IN (SELECT unnest(?::VARCHAR[])) AND i.kind = 'view'
          AND (s.state IS DISTINCT FROM 'remove' OR i.ts < s.decided_at)""", [list(post_ids)]).fetchall()[0][0]
    return {"posts": len(rows), "removed": int(rows["removed_at"].notna().sum()), "viewers": int(viewers),
            **{name: int(rows[name].sum()) for name in KINDS.values()}}
