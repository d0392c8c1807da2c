"""Who to follow and topics to explore, each with its reason."""
from __future__ import annotations

from datetime import datetime, timedelta

import duckdb
import numpy as np
import pandas as pd

from analytics.feed.context import IS_POSITIVE, UserContext, resolve
from analytics.feed.wording import count, handles


def _blend(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mean of a / max(a) and log1p(b) / log1p(max(b)) (each 0 when its max is 0)."""
    a, b = np.asarray(a, float), np.log1p(np.asarray(b, float))
    scale = lambda x: x / x.max() if len(x) and x.max() > 0 else np.zeros(len(x))  # noqa: E731
    return (scale(a) + scale(b)) / 2


def who_to_follow(con: duckdb.DuckDBPyConnection, user: str | UserContext, n: int = 10, days: float = 30.0,
                  as_of: datetime | None = None) -> pd.DataFrame:
    """Accounts the reader might follow: followed by people they follow, or posting in their topics in the last
    `days`. Columns: user_id, handle, community, followed_by (of the reader's followees), topic_posts (in the
    topic they post most in, of the reader's top 3), topic, score (mean of the two, each scaled to 0..1), reason.
    Leaves out the reader, accounts they follow and authors they hid."""
    ctx = resolve(con, user, as_of)
    exclude = sorted(ctx.followees | ctx.hidden_authors | ({ctx.user_id} if ctx.user_id else set()))
    df = con.execute("""
        WITH fol AS (SELECT unnest(?::VARCHAR[]) AS user_id),
        via AS (SELECT f.followee_id AS user_id, count(*) AS followed_by, list(u.handle ORDER BY u.handle) AS via
                FROM follows f JOIN fol ON fol.user_id = f.follower_id JOIN users u ON u.user_id = f.follower_id
                WHERE f.created_at IS NULL OR f.created_at < ? GROUP BY 1),
        act AS (SELECT author_id AS user_id, topic, count(*) AS topic_posts FROM posts
                WHERE topic IN (SELECT unnest(?::VARCHAR[])) AND created_at >= ? AND created_at < ? GROUP BY 1, 2
                QUALIFY row_number() OVER (PARTITION BY author_id ORDER BY count(*) DESC, topic) = 1)
        SELECT user_id, u.handle, u.community, coalesce(via.followed_by, 0) AS followed_by, via.via,
               coalesce(act.topic_posts, 0) AS topic_posts, act.topic
        FROM via FULL JOIN act USING (user_id) JOIN users u USING (user_id)
        WHERE user_id NOT IN (SELECT unnest(?::VARCHAR[]))""",
                     [sorted(ctx.followees), ctx.as_of, ctx.top_topics(3), ctx.as_of - timedelta(days=days),
                      ctx.as_of, exclude]).df()
    df["score"] = _blend(df["followed_by"], df["topic_posts"])
    df = df.sort_values(["score", "handle"], ascending=[False, True]).head(n).reset_index(drop=True)

    def reason(r: pd.Series) -> str:
        parts = []
        if r["followed_by"]:
            via = list(r["via"])
            parts.append(f"followed by {count(len(via), 'person', 'people')} you follow ({handles(via)})")
        if r["topic_posts"]:
            parts.append(f"{count(r['topic_posts'], 'post', 'posts')} in {r['topic']} in the last {days:g} days")
        return "; ".join(parts)

    df["reason"] = [reason(r) for _, r in df.iterrows()]
    return df.drop(columns="via")


def topic_suggestions(con: duckdb.DuckDBPyConnection, user: str | UserContext, n: int = 5, days: float = 30.0,
                      as_of: datetime | None = None) -> pd.DataFrame:
    """Topics the reader engages with little but their network (and everyone) is active in, over the last `days`.

    Columns: topic, followee_posts, followee_engagement (likes, replies and shares by followees on the topic's
    posts), engagement (by everyone), your_share (of the reader's engaged posts), score = mean of followee activity
    and log engagement, each scaled to 0..1, times (1 - your_share), reason.
    """
    ctx = resolve(con, user, as_of)
    since = ctx.as_of - timedelta(days=days)
    df = con.execute(f"""
        WITH fol AS (SELECT unnest(?::VARCHAR[]) AS user_id),
        recent AS (SELECT post_id, author_id, topic FROM posts
                   WHERE topic IS NOT NULL AND created_at >= ? AND created_at < ?),
        by_fol AS (SELECT topic, count(*) AS followee_posts FROM recent JOIN fol ON fol.user_id = recent.author_id
                   GROUP BY 1),
        eng AS (SELECT r.topic, count(*) AS engagement, count(fol.user_id) AS followee_engagement
                FROM interactions i JOIN recent r USING (post_id) LEFT JOIN fol ON fol.user_id = i.user_id
                WHERE i.kind {IS_POSITIVE} AND i.ts >= ? AND i.ts < ? GROUP BY 1)
        SELECT topic, coalesce(followee_posts, 0) AS followee_posts,
               coalesce(followee_engagement, 0) AS followee_engagement, coalesce(engagement, 0) AS engagement
        FROM (SELECT DISTINCT topic FROM recent) LEFT JOIN by_fol USING (topic) LEFT JOIN eng USING (topic)""",
                     [sorted(ctx.followees), since, ctx.as_of, since, ctx.as_of]).df()
    df["your_share"] = df["topic"].map(ctx.topics).fillna(0.0)
    df["score"] = _blend(df["followee_posts"] + df["followee_engagement"], df["engagement"]) * (1 - df["your_share"])
    df = df.sort_values(["score", "topic"], ascending=[False, True]).head(n).reset_index(drop=True)

    def reason(r: pd.Series) -> str:
        parts = []
        if r["followee_posts"] or r["followee_engagement"]:
            parts.append(f"people you follow posted {count(r['followee_posts'], 'time', 'times')} and liked, "
                         f"replied to or shared {count(r['followee_engagement'], 'time', 'times')} in it in the "
                         f"last {days:g} days")
        parts.append(f"{r['engagement']:,} likes, replies and shares overall")
        parts.append(f"{r['your_share']:.0%} of what you engaged with" if r["your_share"] else "new to you")
        return "; ".join(parts)

    df["reason"] = [reason(r) for _, r in df.iterrows()]
    return df
