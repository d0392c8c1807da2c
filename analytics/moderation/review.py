"""The review queue: flagged, undecided posts in the moderator's order, claims so two moderators never get the same
post, and the context a card shows (author's record, thread)."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Iterable, Sequence

import duckdb
import numpy as np
import pandas as pd

from analytics import store
from analytics.access.auth import User, require
from analytics.models import abuse
from analytics.models.registry import DEFAULT_THRESHOLDS, EMBEDDING_MODEL, model_key
from analytics.moderation.flags import (
    SCORES_CTE,
    flag_condition,
    flagged_ctes,
    query_params,
    run,
)
from analytics.moderation.policy import ACTIONS
from analytics.moderation.thresholds import abuse_thresholds
from analytics.store.sql import NOT_UNDONE, STATES_CTE

ORDERS = {"score": "max_score DESC", "newest": "created_at DESC", "oldest": "created_at ASC", "reach": "reach DESC"}
CLAIM_TTL = timedelta(minutes=10)


def _state(con: duckdb.DuckDBPyConnection, post_id: str) -> str | None:
    rows = con.execute(f"SELECT action FROM moderation_decisions d WHERE post_id = ? AND {NOT_UNDONE} "
                       "ORDER BY decision_id DESC LIMIT 1", [post_id]).fetchall()
    return rows[0][0] if rows else None


def queue(con: duckdb.DuckDBPyConnection, thresholds: dict[str, float] = DEFAULT_THRESHOLDS, order: str = "score",
          labels: Iterable[str] | None = None, topics: Sequence[str] = (), author: str | None = None,
          moderator: str | None = None, include_escalated: bool = False, limit: int = 50,
          now: datetime | None = None, unscreened: bool = False,
          families: Iterable[str] | None = None) -> pd.DataFrame:
    """Posts to review: flagged by any of the label `families` (default all: toxicity, a detected campaign, a
    known claim; see flags.flagged_ctes), for toxicity with any selected label (default: every label in
    `thresholds`) at or above its threshold, undecided (plus escalated ones with include_escalated), and not held
    by another moderator's live claim (`moderator`'s own claims stay in, claimed_by says so). With `unscreened`,
    also the posts in languages the toxicity model cannot screen (max_label 'not screened', max_score NULL: they
    come after the flagged ones in score order).

    Columns: post_id, created_at, handle, author_id, topic, text, parent_id, lang, max_label, max_score (over the
    selected labels; NULL when toxicity did not flag it), one column per toxicity label, families, campaign_id,
    campaign_reason, claim_id, claim_similarity, claim_text, followers (of the author), interactions (on the post),
    reach (their sum), state, decision_id (the standing decision: NULL while undecided, the escalation for an
    escalated post; what a decision on the item passes as `seen`), claimed_by. Order 'score', 'newest', 'oldest'
    or 'reach'. Text is returned as stored: render it as plain text.
    """
    if order not in ORDERS:
        raise ValueError(f"order must be one of {', '.join(ORDERS)}")
    ctes, flag_params = flagged_ctes(thresholds, labels, include_escalated, unscreened, families,
                                     abuse_thresholds(con))
    params = query_params(now, **flag_params, moderator=moderator, topics=list(topics),
                          author=(author or "").lstrip("@"), limit=limit)
    conds = ["(claimed_by IS NULL OR claimed_by = $moderator)" if moderator else "claimed_by IS NULL"]
    if topics:
        conds.append("topic IN (SELECT unnest($topics::VARCHAR[]))")
    if author:
        conds.append("handle = $author")
    return run(con, f"""WITH {ctes},
        sel AS (SELECT * FROM flagged WHERE {' AND '.join(conds)}),
        fol AS (SELECT followee_id AS author_id, count(*) AS followers FROM follows
                WHERE followee_id IN (SELECT author_id FROM sel) GROUP BY 1),
        ia AS (SELECT post_id, count(*) AS interactions FROM interactions
               WHERE post_id IN (SELECT post_id FROM sel) GROUP BY 1)
        SELECT sel.* EXCLUDE (state, decision_id, claimed_by), coalesce(fol.followers, 0) AS followers,
               coalesce(ia.interactions, 0) AS interactions,
               coalesce(fol.followers, 0) + coalesce(ia.interactions, 0) AS reach,
               sel.state, sel.decision_id, sel.claimed_by
        FROM sel LEFT JOIN fol USING (author_id) LEFT JOIN ia USING (post_id)
        ORDER BY {ORDERS[order]}, post_id LIMIT $limit""", params).df()


def claim_next(con: duckdb.DuckDBPyConnection, user: User | None, thresholds: dict[str, float] = DEFAULT_THRESHOLDS,
               order: str = "score", labels: Iterable[str] | None = None, topics: Sequence[str] = (),
               author: str | None = None, include_escalated: bool = False, ttl: timedelta = CLAIM_TTL,
               now: datetime | None = None, rounds: int = 5, unscreened: bool = False,
               families: Iterable[str] | None = None) -> str | None:
    """Claim the first queue item that is free (or already `user`'s) for `ttl`; returns its post_id, or None when
    the queue is empty (or every item was lost to other moderators `rounds` times over). Needs 'moderate'.

    Safe for concurrent callers on separate cursors. The claim (store.claim) is one upsert under the store's write
    lock that takes the row only if it is free, expired or the caller's own; a caller that loses a post to another
    moderator moves on to the next item. A claim can still succeed on a post decided meanwhile (the decider deleted
    its claim row after this caller read the queue), so the state is re-read once the claim is committed: any
    decision made under the earlier claim is visible by then, and such a claim is dropped.
    """
    require(user, "moderate")
    moderator = user.username
    allowed = (None, "escalate") if include_escalated else (None,)
    for _ in range(rounds):
        at = now or datetime.now()
        items = queue(con, thresholds, order, labels, topics, author, moderator, include_escalated, 20, at,
                      unscreened, families)
        if items.empty:
            return None
        for post_id in items["post_id"]:
            won = store.claim(con, post_id, moderator, at, at + ttl)
            if won and _state(con, post_id) in allowed:
                return post_id
            if won:
                release(con, user, post_id)
    return None


def release(con: duckdb.DuckDBPyConnection, user: User | None, post_id: str) -> bool:
    """Drop `user`'s claim on `post_id` (needs 'moderate'); False if they held none."""
    require(user, "moderate")
    return bool(store.release_claims(con, [post_id], user.username))


def author_history(con: duckdb.DuckDBPyConnection, author_id: str,
                   thresholds: dict[str, float] = DEFAULT_THRESHOLDS) -> dict:
    """An author's record: posts, scored (by the current toxicity model), flagged (at `thresholds`),
    flagged_share (of scored; None if none scored) and states: current decisions {approve, remove, escalate}."""
    _, cond, flag_params = flag_condition(thresholds)
    posts, scored, flagged, *states = run(con, f"""WITH {SCORES_CTE}, {STATES_CTE}
        SELECT count(*), count(tox.post_id), count(*) FILTER ({cond}), count(*) FILTER (s.state = 'approve'),
               count(*) FILTER (s.state = 'remove'), count(*) FILTER (s.state = 'escalate')
        FROM posts p LEFT JOIN tox USING (post_id) LEFT JOIN states s USING (post_id)
        WHERE p.author_id = $author_id""", query_params(**flag_params, author_id=author_id)).fetchall()[0]
    return {"posts": posts, "scored": scored, "flagged": flagged, "flagged_share": flagged / scored if scored else None,
            "states": dict(zip(ACTIONS, states))}


def nearest_policy_examples(con: duckdb.DuckDBPyConnection, post_id: str, category: str | None = None,
                            k: int = 3) -> pd.DataFrame:
    """The policy examples nearest in meaning to the post's stored vector (of `category` if given): text, lang,
    category, kind, similarity; empty while the post has no current embedding. Why the meaning model flagged it."""
    rows = con.execute("SELECT vec FROM embeddings WHERE post_id = ? AND model_id = ? AND model_version = ?",
                       [post_id, *model_key(EMBEDDING_MODEL)]).fetchall()
    if not rows:
        return pd.DataFrame(columns=["text", "lang", "category", "kind", "similarity"])
    return abuse.nearest_examples(np.asarray(rows[0][0], np.float32), k, category)


def thread_context(con: duckdb.DuckDBPyConnection, post_id: str, levels: int = 3) -> pd.DataFrame:
    """The posts `post_id` replies to, up to `levels` parents up, oldest first: depth (1 = direct parent),
    post_id, created_at, handle, text. Parents missing from the store end the chain."""
    return con.execute("""
        WITH RECURSIVE chain(post_id, depth) AS (
            SELECT parent_id, 1 FROM posts WHERE post_id = ? AND parent_id IS NOT NULL
            UNION ALL
            SELECT p.parent_id, c.depth + 1 FROM chain c JOIN posts p USING (post_id)
            WHERE p.parent_id IS NOT NULL AND c.depth < ?
        )
        SELECT c.depth, p.post_id, p.created_at, u.handle, p.text
        FROM chain c JOIN posts p USING (post_id) LEFT JOIN users u ON u.user_id = p.author_id
        ORDER BY c.depth DESC""", [post_id, levels]).df()
