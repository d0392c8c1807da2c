"""Read queries behind the pages. Connection in, DataFrame (or plain dict) out; SQL always parameterised."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import re

import duckdb
import pandas as pd

SENTIMENTS = ("negative", "neutral", "positive")
# A post's moderation state is its latest decision that no later 'undo' event cancels (decisions are append-only).
NOT_UNDONE = """d.action <> 'undo'
    AND NOT EXISTS (SELECT 1 FROM moderation_decisions u WHERE u.action = 'undo' AND u.undoes = d.decision_id)"""
STATES_CTE = f"""states AS (
    SELECT post_id, action AS state, decision_id, moderator, reason_code, created_at AS decided_at
    FROM moderation_decisions d WHERE {NOT_UNDONE}
    QUALIFY row_number() OVER (PARTITION BY post_id ORDER BY decision_id DESC) = 1)"""
_WORD = re.compile(r"^\w{1,60}$")


@dataclass(frozen=True)
class PostFilter:
    """A selection of posts; every field is optional and they combine with AND."""

    start: date | None = None
    end: date | None = None          # inclusive
    topics: tuple[str, ...] = ()
    keyword: str = ""                # case-insensitive substring of the text
    author: str = ""                 # exact handle, without '@'
    lang: str | None = None
    hashtags: tuple[str, ...] = ()   # any of these, without '#'
    sentiment: str | None = None     # label from the current sentiment model; only scored posts match
    window: tuple[datetime, datetime] | None = None  # [from, to) timestamps, e.g. one chart bucket

    def where(self, alias: str = "p") -> tuple[str, list]:
        """SQL condition over posts `alias` and its parameters."""
        conds, params = ["TRUE"], []
        if self.start:
            conds.append(f"{alias}.created_at >= ?")
            params.append(self.start)
        if self.end:
            conds.append(f"{alias}.created_at < ?")
            params.append(self.end + timedelta(days=1))
        if self.topics:
            conds.append(f"{alias}.topic IN ({', '.join('?' * len(self.topics))})")
            params.extend(self.topics)
        if self.keyword:
            conds.append(f"contains(lower({alias}.text), ?)")
            params.append(self.keyword.lower())
        if self.author:
            conds.append(f"{alias}.author_id IN (SELECT user_id FROM users WHERE handle = ?)")
            params.append(self.author.lstrip("@"))
        if self.lang:
            conds.append(f"{alias}.lang = ?")
            params.append(self.lang)
        if self.window:
            conds.append(f"{alias}.created_at >= ? AND {alias}.created_at < ?")
            params.extend(self.window)
        if self.hashtags:
            conds.append(f"list_has_any({alias}.hashtags, ?::VARCHAR[])")
            params.append([t.lstrip("#").lower() for t in self.hashtags])
        if self.sentiment:
            conds.append(f"""EXISTS (SELECT 1 FROM model_scores fs WHERE fs.post_id = {alias}.post_id
                             AND fs.model_id = ? AND fs.model_version = ? AND fs.label = ?)""")
            params.extend([*_model_key("sentiment"), self.sentiment])
        return " AND ".join(conds), params


def _model_key(name: str) -> tuple[str, str]:
    from analytics.scoring import model_key  # scoring imports this module

    return model_key(name)


def filter_to_params(f: PostFilter, opts: dict) -> dict[str, str | list[str]]:
    """The fields of `f` that differ from the defaults, as URL query parameters (read back by filter_from_params)."""
    out: dict[str, str | list[str]] = {}
    if f.start and f.start != opts["min_date"]:
        out["from"] = f.start.isoformat()
    if f.end and f.end != opts["max_date"]:
        out["to"] = f.end.isoformat()
    for name, values in (("topic", f.topics), ("tag", f.hashtags)):
        if values:
            out[name] = list(values)
    for name, value in (("q", f.keyword), ("author", f.author), ("lang", f.lang), ("sentiment", f.sentiment)):
        if value:
            out[name] = value
    return out


def filter_from_params(params: dict[str, list[str]], opts: dict) -> tuple[PostFilter, list[str]]:
    """PostFilter from URL query parameters (name -> list of values) checked against `opts` (filter_options).

    Invalid values fall back to the default and are described in the returned list of notices; unknown
    parameter names are left alone (other widgets may own them).
    """
    notices: list[str] = []
    lo, hi = opts["min_date"], opts["max_date"]

    def one(name: str) -> str:
        values = params.get(name) or [""]
        if len(values) > 1:
            notices.append(f"{name}: several values given, using the first")
        return values[0].strip()

    def day(name: str, default: date) -> date:
        raw = one(name)
        if not raw:
            return default
        try:
            d = date.fromisoformat(raw)
        except ValueError:
            notices.append(f"{name}={raw!r} is not a date (YYYY-MM-DD); using {default}")
            return default
        if not lo <= d <= hi:
            notices.append(f"{name}={raw} is outside the data ({lo} to {hi}); using {default}")
            return default
        return d

    start, end = day("from", lo), day("to", hi)
    if start > end:
        notices.append(f"from={start} is after to={end}; using the whole range")
        start, end = lo, hi
    topics = tuple(t for t in params.get("topic", []) if t in opts["topics"])
    notices += [f"topic {t!r} does not exist" for t in params.get("topic", []) if t not in opts["topics"]]
    tags = tuple(dict.fromkeys(t.lstrip("#").lower() for t in params.get("tag", []) if _WORD.match(t.lstrip("#"))))
    notices += [f"tag {t!r} is not a hashtag" for t in params.get("tag", []) if not _WORD.match(t.lstrip("#"))]
    keyword = one("q")
    if len(keyword) > 200:
        notices.append("q is longer than 200 characters; ignored")
        keyword = ""
    author = one("author").lstrip("@")
    if author and not _WORD.match(author):
        notices.append(f"author {author!r} is not a handle; ignored")
        author = ""
    lang = one("lang") or None
    if lang and lang not in opts["langs"]:
        notices.append(f"lang {lang!r} does not occur in the data; ignored")
        lang = None
    sentiment = one("sentiment") or None
    if sentiment and sentiment not in SENTIMENTS:
        notices.append(f"sentiment {sentiment!r} is not one of {', '.join(SENTIMENTS)}; ignored")
        sentiment = None
    return PostFilter(start=start, end=end, topics=topics, hashtags=tags, keyword=keyword, author=author, lang=lang,
                      sentiment=sentiment), notices


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


def _engagement_cte(ids_sql: str, since: bool = False) -> str:
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
        {_engagement_cte('SELECT post_id FROM sel', since is not None)}
        SELECT p.post_id, p.created_at, u.handle, p.topic, p.text, p.parent_id,
               coalesce(e.views, 0) AS views, coalesce(e.likes, 0) AS likes, coalesce(e.replies, 0) AS replies,
               coalesce(e.shares, 0) AS shares, s.label AS sentiment, round(s.score, 3) AS sentiment_p,
               round(CAST(t.scores->>'toxic' AS DOUBLE), 3) AS toxic_p
        FROM sel JOIN posts p USING (post_id) JOIN users u ON u.user_id = p.author_id LEFT JOIN eng e USING (post_id)
        LEFT JOIN model_scores s ON s.post_id = p.post_id AND s.model_id = ? AND s.model_version = ?
        LEFT JOIN model_scores t ON t.post_id = p.post_id AND t.model_id = ? AND t.model_version = ?
        ORDER BY {order_sql[order]}, p.post_id
    """, params + [limit] + ([since] if since else []) + [*_model_key("sentiment"), *_model_key("toxicity")])


def reported_posts(con: duckdb.DuckDBPyConnection, f: PostFilter, limit: int = 50) -> pd.DataFrame:
    """Posts users reported, most reports first, with their current moderation state (NULL if undecided)."""
    where, params = f.where()
    return _df(con, f"""
        WITH rep AS (
            SELECT i.post_id, count(*) AS reports, count(DISTINCT i.user_id) AS reporters, max(i.ts) AS last_report
            FROM interactions i WHERE i.kind = 'report' GROUP BY 1
        ), {STATES_CTE}
        SELECT p.post_id, p.created_at, u.handle, p.topic, p.text, p.parent_id, rep.reports, rep.reporters,
               rep.last_report, states.state AS decision
        FROM rep JOIN posts p USING (post_id) JOIN users u ON u.user_id = p.author_id
        LEFT JOIN states USING (post_id)
        WHERE {where}
        ORDER BY rep.reports DESC, rep.last_report DESC, p.post_id LIMIT ?
    """, params + [limit])


def get_post(con: duckdb.DuckDBPyConnection, post_id: str) -> pd.DataFrame:
    """One post with its author handle (empty frame if unknown)."""
    return _df(con, """SELECT p.*, u.handle FROM posts p LEFT JOIN users u ON u.user_id = p.author_id
                       WHERE p.post_id = ?""", [post_id])


def search_users(con: duckdb.DuckDBPyConnection, query: str = "", limit: int = 20) -> pd.DataFrame:
    """Users whose handle contains `query`, most followed first: user_id, handle, community, followers, posts."""
    return _df(con, """
        WITH fol AS (SELECT followee_id AS user_id, count(*) AS followers FROM follows GROUP BY 1),
             pc AS (SELECT author_id AS user_id, count(*) AS posts FROM posts GROUP BY 1)
        SELECT u.user_id, u.handle, u.community, coalesce(fol.followers, 0) AS followers, coalesce(pc.posts, 0) AS posts
        FROM users u LEFT JOIN fol USING (user_id) LEFT JOIN pc USING (user_id)
        WHERE contains(lower(u.handle), ?)
        ORDER BY followers DESC, u.handle LIMIT ?
    """, [query.lower().lstrip("@"), limit])


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
    return _df(con, """
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
    """, [user_id, user_id, limit])


def sim_events(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The events injected into the simulated sample (ground truth for spike detection)."""
    return _df(con, "SELECT * FROM sim_events ORDER BY starts_at")
