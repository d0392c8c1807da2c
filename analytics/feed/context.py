"""The reader: what the feed knows about a user as of a moment, or a cold-start persona."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Sequence

import duckdb
import numpy as np
import pandas as pd

from analytics import models
from analytics.feed.index import DIM, data_end, embeddings, stack, unit
from analytics.models.registry import model_key

POSITIVE = ("like", "reply", "share")  # engagement: what interests, popularity and the evaluation count
PROOF = ("like", "share")  # social proof: followees who liked or shared a post
# SQL conditions from those constants (fixed words, not input): "kind IN ('like', 'reply', 'share')"
IS_POSITIVE, IS_PROOF = (f"IN ({', '.join(repr(k) for k in kinds)})" for kinds in (POSITIVE, PROOF))


def _empty_anchors() -> pd.DataFrame:
    return pd.DataFrame({"post_id": pd.Series(dtype=object), "kind": pd.Series(dtype=object)})


@dataclass(frozen=True)
class UserContext:
    """What the pipeline knows about the reader as of `as_of`; a cold-start persona has user_id None."""

    user_id: str | None
    handle: str | None
    as_of: datetime
    followees: frozenset[str] = frozenset()
    seen: frozenset[str] = frozenset()  # posts the reader interacted with in any way
    hidden_authors: frozenset[str] = frozenset()  # authors of posts the reader hid
    interest: np.ndarray | None = None  # normalised mean embedding of the anchors; None without embeddings
    anchors: pd.DataFrame = field(default_factory=_empty_anchors)  # post_id, kind: what `interest` is the mean of
    anchor_vecs: np.ndarray = field(default_factory=lambda: np.zeros((0, DIM), np.float32))  # their embeddings
    interest_text: str | None = None  # a persona's free-text interest (its anchor has kind 'interest')
    sentiment_mix: dict[str, float] = field(default_factory=dict)  # label -> share of the engaged (scored) posts
    topics: dict[str, float] = field(default_factory=dict)  # topic -> share of engaged posts, largest first
    community: str | None = None
    engaged: int = 0  # posts liked, replied to or shared

    @property
    def label(self) -> str:
        """'@handle', or 'persona: <topics>' for a cold-start reader."""
        return f"@{self.handle}" if self.user_id else "persona: " + (", ".join(self.topics) or "free text")

    def top_topics(self, k: int) -> list[str]:
        """The reader's k main topics; the community stands in when there is no engagement yet."""
        return list(self.topics)[:k] or ([self.community] if self.community else [])


def user_context(con: duckdb.DuckDBPyConnection, user_id: str, as_of: datetime | None = None) -> UserContext:
    """The reader as of `as_of`: followees, seen posts, hidden authors, interest vector (mean embedding of the posts
    they liked, replied to or shared), sentiment mix and topics of those posts. KeyError for an unknown user."""
    as_of = as_of or data_end(con)
    found = con.execute("SELECT handle, community FROM users WHERE user_id = ?", [user_id]).fetchall()
    if not found:
        raise KeyError(f"unknown user {user_id!r}")
    handle, community = found[0]
    followees = frozenset(r[0] for r in con.execute(
        "SELECT followee_id FROM follows WHERE follower_id = ? AND (created_at IS NULL OR created_at < ?)",
        [user_id, as_of]).fetchall())
    acts = con.execute("SELECT post_id, kind FROM interactions WHERE user_id = ? AND ts < ? "
                       "ORDER BY ts, interaction_id", [user_id, as_of]).df()
    # One row per engaged post; its kind for explanations is the first of like, share, reply it got.
    engaged = acts[acts["kind"].isin(POSITIVE)].copy()
    engaged["rank"] = engaged["kind"].map({"like": 0, "share": 1, "reply": 2})
    engaged = engaged.sort_values("rank", kind="stable").drop_duplicates("post_id")
    hidden = acts.loc[acts["kind"] == "hide", "post_id"]
    # Details of these posts only, and no texts (explain() fetches the few it quotes): at 1M posts, reading the
    # text column costs more than the rest of the context together.
    details = con.execute("""
        WITH c AS (SELECT unnest(?::VARCHAR[]) AS post_id),
        s AS (SELECT post_id, label FROM model_scores WHERE model_id = ? AND model_version = ?
              AND post_id IN (SELECT post_id FROM c))
        SELECT p.post_id, p.author_id, p.topic, s.label AS sentiment
        FROM posts p LEFT JOIN s USING (post_id) WHERE p.post_id IN (SELECT post_id FROM c)""",
                          [sorted(set(engaged["post_id"]) | set(hidden)), *model_key("sentiment")]).df()
    engaged = engaged.merge(details, on="post_id")
    ids, vecs = embeddings(con, engaged["post_id"].tolist())
    anchors = engaged.set_index("post_id").loc[ids, ["kind"]].reset_index()
    topics = engaged["topic"].dropna().value_counts(normalize=True)
    sentiment_mix = engaged["sentiment"].dropna().value_counts(normalize=True)
    return UserContext(
        user_id=user_id, handle=handle, as_of=as_of, followees=followees, seen=frozenset(acts["post_id"]),
        hidden_authors=frozenset(details.loc[details["post_id"].isin(hidden), "author_id"]),
        interest=unit(vecs.mean(axis=0)) if len(vecs) else None, anchors=anchors, anchor_vecs=vecs,
        sentiment_mix={k: float(v) for k, v in sentiment_mix.items()},
        topics={k: float(v) for k, v in sorted(topics.items(), key=lambda kv: (-kv[1], kv[0]))},
        community=community, engaged=len(engaged))


def persona_context(con: duckdb.DuckDBPyConnection, topics: Sequence[str] = (), interest_text: str | None = None,
                    as_of: datetime | None = None, sample: int = 500) -> UserContext:
    """A cold-start reader with no history, interested in `topics` and/or described by `interest_text`.

    The interest vector is the text's embedding (analytics.models, which loads the multilingual encoder) or else the
    mean embedding of the `sample` newest posts in those topics.
    """
    if not topics and not (interest_text or "").strip():
        raise ValueError("a persona needs topics or an interest text")
    as_of = as_of or data_end(con)
    anchors, vecs = _empty_anchors(), stack([])
    if interest_text and interest_text.strip():
        vecs = models.embed([interest_text.strip()]).astype(np.float32)  # loads torch: only cold-start text needs it
        anchors = pd.DataFrame({"post_id": [None], "kind": ["interest"]})
        interest = unit(vecs[0])
    else:
        recent = [r[0] for r in con.execute(
            """SELECT post_id FROM posts WHERE topic IN (SELECT unnest(?::VARCHAR[])) AND created_at < ?
               ORDER BY created_at DESC, post_id LIMIT ?""", [list(topics), as_of, sample]).fetchall()]
        _, topic_vecs = embeddings(con, recent)
        interest = unit(topic_vecs.mean(axis=0)) if len(topic_vecs) else None
    return UserContext(user_id=None, handle=None, as_of=as_of, interest=interest, anchors=anchors, anchor_vecs=vecs,
                       interest_text=(interest_text or "").strip() or None, topics={t: 1 / len(topics) for t in topics})


def resolve(con: duckdb.DuckDBPyConnection, user: str | UserContext, as_of: datetime | None) -> UserContext:
    if isinstance(user, UserContext):
        if as_of is not None and as_of != user.as_of:
            raise ValueError("as_of differs from the context's; build the context with that as_of")
        return user
    return user_context(con, user, as_of)
