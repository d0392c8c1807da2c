"""'For You' recommendations with every stage visible: context -> candidates -> filters -> scoring -> MMR -> reasons.

Everything is read as of a moment `as_of` (default: just after the newest post or interaction in the store):
candidates are posts created before it and every behavioural signal (interactions, follows) is read with a time
before it, so the same code replays the feed a reader would have got in the past (analytics.feed.evaluation relies
on this). Model scores and moderation removals are content facts read as they are now: a removed post is never
recommended, not even in a replay.
"""
from __future__ import annotations

import json
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Iterator, Mapping, Sequence

import duckdb
import numpy as np
import pandas as pd

from analytics.feed.context import IS_POSITIVE, IS_PROOF, UserContext, resolve
from analytics.feed.index import EmbeddingIndex, embeddings, relatedness, stack
from analytics.feed.wording import count, handles, short
from analytics.models.registry import DEFAULT_THRESHOLDS, model_key
from analytics.models.registry import TOXICITY_LABELS as LABELS
from analytics.store.sql import STATES_CTE

COMPONENTS = ("semantic", "social_proof", "popularity", "recency", "sentiment_fit")
SOURCES = ("in_network", "similar", "popular")
FILTERS = ("own_post", "removed", "toxic", "hidden_author", "seen")  # checked in this order; the first match wins
_SOURCE_COLUMNS = ["post_id", "created_at", "source", "evidence"]
_ANCHOR = {"like": "a post you liked", "share": "a post you shared", "reply": "a post you replied to",
           "interest": "your interest"}


@dataclass(frozen=True)
class Weights:
    """Weights of the score components (scaled to sum to 1 when scoring) and the recency half-life."""

    semantic: float = 0.35
    social_proof: float = 0.2
    popularity: float = 0.15
    recency: float = 0.2
    sentiment_fit: float = 0.1
    half_life_hours: float = 24.0

    def normalised(self) -> dict[str, float]:
        """Component -> weight, scaled to sum to 1."""
        raw = {c: float(getattr(self, c)) for c in COMPONENTS}
        if min(raw.values()) < 0 or sum(raw.values()) <= 0:
            raise ValueError("weights must be non-negative and not all zero")
        total = sum(raw.values())
        return {c: w / total for c, w in raw.items()}


@dataclass(frozen=True)
class Settings:
    """Feed size, diversity, candidate window and limits, and the toxicity thresholds that filter candidates."""

    n: int = 20
    mmr_lambda: float = 0.7  # 1 = pure relevance, 0 = pure diversity
    mmr_pool: int = 100  # MMR re-ranks this many of the highest-scoring candidates
    window_days: float = 7.0  # candidates are posts created in the last window_days before as_of
    in_network_limit: int = 200
    similar_limit: int = 200
    popular_limit: int = 200
    popular_topics: int = 3  # the popular source looks at the reader's top topics
    thresholds: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_THRESHOLDS))

    def __post_init__(self) -> None:
        if not 0 <= self.mmr_lambda <= 1:
            raise ValueError("mmr_lambda must be within 0..1")
        unknown = set(self.thresholds) - set(LABELS)
        if unknown:
            raise ValueError(f"unknown toxicity label(s) {sorted(unknown)}; use {', '.join(LABELS)}")


@dataclass
class Feed:
    """A built feed and everything that led to it."""

    items: pd.DataFrame  # rank, post_id, ..., score, score_rank, components, raws, source, evidence, explanation
    filtered: pd.DataFrame  # post_id, reason (FILTERS or 'diversity'), detail, source
    candidates: dict[str, int]  # candidates per source before de-duplication, and 'unique'
    timings: dict[str, float]  # ms per stage, and 'total'
    context: UserContext
    notes: list[str] = field(default_factory=list)  # what limited this feed (no embeddings, unscored posts, ...)


class _Clock:
    def __init__(self) -> None:
        self.ms: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.ms[name] = self.ms.get(name, 0.0) + (time.perf_counter() - t0) * 1000


# --- candidates --------------------------------------------------------------------------------------------------


def in_network(con: duckdb.DuckDBPyConnection, ctx: UserContext, since: datetime, limit: int) -> pd.DataFrame:
    """Newest posts by the reader's followees created in [since, as_of): post_id, created_at, source, evidence."""
    df = con.execute("""
        SELECT p.post_id, p.created_at, '@' || u.handle AS evidence FROM posts p JOIN users u ON u.user_id = p.author_id
        WHERE p.author_id IN (SELECT unnest(?::VARCHAR[])) AND p.created_at >= ? AND p.created_at < ?
        ORDER BY p.created_at DESC, p.post_id LIMIT ?""", [sorted(ctx.followees), since, ctx.as_of, limit]).df()
    return df.assign(source="in_network")[_SOURCE_COLUMNS]


def similar(index: EmbeddingIndex, ctx: UserContext, since: datetime, limit: int) -> pd.DataFrame:
    """Out-of-network posts (not by followees) created in [since, as_of) whose embedding is closest to the
    reader's interest vector: post_id, created_at, source, evidence. Empty without an interest vector."""
    if ctx.interest is None or not len(index):
        return pd.DataFrame(columns=_SOURCE_COLUMNS)
    hits = index.search(ctx.interest, limit, since, ctx.as_of, ctx.followees)
    return pd.DataFrame({"post_id": hits["post_id"], "created_at": hits["created_at"], "source": "similar",
                         "evidence": [f"similarity {r:.2f} to your interests (cosine {c:.2f})"
                                      for r, c in zip(relatedness(hits["cosine"], index.typical), hits["cosine"])]})


def popular(con: duckdb.DuckDBPyConnection, since: datetime, until: datetime, topics: Sequence[str] | None = None,
            limit: int = 200) -> pd.DataFrame:
    """Posts created in [since, until), in `topics` if given, by likes, replies and shares in that period (most
    first): post_id, created_at, topic, engagement."""
    conds, params = ["p.created_at >= ? AND p.created_at < ?"], [since, until]
    if topics is not None:
        conds.append("p.topic IN (SELECT unnest(?::VARCHAR[]))")
        params.append(list(topics))
    return con.execute(f"""
        WITH eng AS (SELECT post_id, count(*) AS engagement FROM interactions
                     WHERE kind {IS_POSITIVE} AND ts >= ? AND ts < ? GROUP BY 1)
        SELECT p.post_id, p.created_at, p.topic, eng.engagement FROM eng JOIN posts p USING (post_id)
        WHERE {' AND '.join(conds)} ORDER BY eng.engagement DESC, p.post_id LIMIT ?""",
                       [since, until, *params, limit]).df()


def candidates(con: duckdb.DuckDBPyConnection, ctx: UserContext, settings: Settings, index: EmbeddingIndex,
               clock: _Clock | None = None) -> tuple[pd.DataFrame, dict[str, int]]:
    """Every source's candidates merged: post_id, created_at, source ('+'-joined when several found it),
    evidence; and the count per source before merging plus 'unique'."""
    clock = clock or _Clock()
    since = ctx.as_of - timedelta(days=settings.window_days)
    topics = ctx.top_topics(settings.popular_topics)
    frames = []
    with clock.stage("candidates.in_network"):
        frames.append(in_network(con, ctx, since, settings.in_network_limit))
    with clock.stage("candidates.similar"):
        frames.append(similar(index, ctx, since, settings.similar_limit))
    with clock.stage("candidates.popular"):
        pop = popular(con, since, ctx.as_of, topics or None, settings.popular_limit)
        frames.append(pd.DataFrame({"post_id": pop["post_id"], "created_at": pop["created_at"], "source": "popular",
                                    "evidence": [f"{count(e, 'engagement', 'engagements')} in {t}"
                                                 for t, e in zip(pop["topic"], pop["engagement"])]}))
    counts = {name: len(f) for name, f in zip(SOURCES, frames)}
    merged: dict[str, list] = {}  # post_id -> [created_at, sources, evidence]; plain Python: ~50x a pandas groupby
    for f in frames:
        for post_id, created, source, evidence in zip(f["post_id"], f["created_at"], f["source"], f["evidence"]):
            entry = merged.setdefault(post_id, [created, [], []])
            entry[1].append(source)
            entry[2].append(evidence)
    counts["unique"] = len(merged)
    return pd.DataFrame({"post_id": pd.Series(list(merged), dtype=object),
                         "created_at": pd.to_datetime([e[0] for e in merged.values()]),
                         "source": ["+".join(e[1]) for e in merged.values()],
                         "evidence": ["; ".join(e[2]) for e in merged.values()]}), counts


# --- filters -----------------------------------------------------------------------------------------------------


def _earliest(posts: pd.DataFrame) -> datetime | None:
    """The oldest created_at among the posts (None for none): a lower bound that lets scans skip old row groups."""
    return None if posts.empty else posts["created_at"].min().to_pydatetime()


def _hydrate(con: duckdb.DuckDBPyConnection, cands: pd.DataFrame) -> pd.DataFrame:
    """Candidate posts with author, sentiment label, toxicity scores (JSON) and current moderation state."""
    # The lower bound on created_at changes no result; posts are stored in time order, so it lets the scan skip
    # the row groups of older posts (at 1M posts, most of them).
    return con.execute(f"""
        WITH c AS (SELECT unnest(?::VARCHAR[]) AS post_id), {STATES_CTE},
        scores AS (
            SELECT post_id, any_value(label) FILTER (model_id = ? AND model_version = ?) AS sentiment,
                   any_value(scores) FILTER (model_id = ? AND model_version = ?) AS toxicity
            FROM model_scores WHERE post_id IN (SELECT post_id FROM c) GROUP BY 1)
        SELECT p.post_id, p.author_id, u.handle, p.topic, p.text, scores.sentiment, scores.toxicity, st.state,
               st.reason_code
        FROM c JOIN posts p USING (post_id) LEFT JOIN users u ON u.user_id = p.author_id
        LEFT JOIN scores USING (post_id) LEFT JOIN states st ON st.post_id = p.post_id
        WHERE p.created_at >= ?::TIMESTAMP""", [cands["post_id"].tolist(), *model_key("sentiment"),
                                                *model_key("toxicity"), _earliest(cands)]).df()


def _toxic(scores_json: str | float | None, thresholds: Mapping[str, float]) -> str | None:
    """'label p >= threshold' for the label furthest over its threshold, or None."""
    if not isinstance(scores_json, str):  # unscored
        return None
    scores = json.loads(scores_json)
    over = [(scores[label] - th, label, th) for label, th in thresholds.items() if scores.get(label, 0.0) >= th]
    if not over:
        return None
    _, label, th = max(over)
    return f"{label} {scores[label]:.2f} ≥ {th:.2f}"


def _drop_reason(post, ctx: UserContext, thresholds: Mapping[str, float]) -> tuple[str, str] | None:
    """(reason, detail) of the first filter in FILTERS that drops the post, or None."""
    if post.author_id == ctx.user_id:
        return "own_post", "your own post"
    if post.state == "remove":
        return "removed", f"removed by a moderator ({post.reason_code})"
    toxic = _toxic(post.toxicity, thresholds)
    if toxic:
        return "toxic", toxic
    if post.author_id in ctx.hidden_authors:
        return "hidden_author", f"you hid a post by @{post.handle}"
    if post.post_id in ctx.seen:
        return "seen", "you already interacted with it"
    return None


def apply_filters(con: duckdb.DuckDBPyConnection, ctx: UserContext, cands: pd.DataFrame,
                  thresholds: Mapping[str, float] = DEFAULT_THRESHOLDS) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Split candidates into (kept, with post details; dropped: post_id, reason, detail, source; how many kept
    posts have no toxicity score). Reasons, first match wins: own_post, removed (current moderation state,
    undo-aware), toxic (any label at or above its threshold, current toxicity model), hidden_author, seen."""
    posts = cands.merge(_hydrate(con, cands), on="post_id")
    why = [_drop_reason(post, ctx, thresholds) for post in posts.itertuples()]
    drop = np.array([w is not None for w in why], bool)
    dropped = posts.loc[drop, ["post_id", "source"]].assign(
        reason=[w[0] for w in why if w], detail=[w[1] for w in why if w])
    kept = posts[~drop].reset_index(drop=True)
    return (kept.drop(columns=["toxicity", "state", "reason_code"]),
            dropped[["post_id", "reason", "detail", "source"]].reset_index(drop=True),
            int(kept["toxicity"].isna().sum()))


# --- scoring -----------------------------------------------------------------------------------------------------


def _signals(con: duckdb.DuckDBPyConnection, ctx: UserContext, posts: pd.DataFrame) -> pd.DataFrame:
    """Per post: engagement (likes, replies, shares) and proof (handles of followees who liked or shared it)."""
    # No interaction precedes its post and interactions are appended in time order: the lower bound on ts
    # changes no count but lets the scan skip most of the table.
    return con.execute(f"""
        WITH c AS (SELECT unnest(?::VARCHAR[]) AS post_id), f AS (SELECT unnest(?::VARCHAR[]) AS user_id)
        SELECT i.post_id, count(*) AS engagement,
               list(DISTINCT u.handle ORDER BY u.handle) FILTER (i.kind {IS_PROOF} AND f.user_id IS NOT NULL) AS proof
        FROM interactions i JOIN c USING (post_id) LEFT JOIN f ON f.user_id = i.user_id
        LEFT JOIN users u ON u.user_id = f.user_id
        WHERE i.kind {IS_POSITIVE} AND i.ts >= ?::TIMESTAMP AND i.ts < ? GROUP BY 1""",
                       [posts["post_id"].tolist(), sorted(ctx.followees), _earliest(posts), ctx.as_of]).df()


def _candidate_vecs(con: duckdb.DuckDBPyConnection, post_ids: list[str], index: EmbeddingIndex) -> list:
    """Embedding of each post (None where it has none): from the index, else from the store."""
    rows = index.rows(post_ids)
    out: list = [index.vecs[r] if r >= 0 else None for r in rows]
    missing = [p for p, r in zip(post_ids, rows) if r < 0]
    if missing:
        found = dict(zip(*embeddings(con, missing)))
        out = [v if v is not None else found.get(p) for p, v in zip(post_ids, out)]
    return out


def score(con: duckdb.DuckDBPyConnection, ctx: UserContext, kept: pd.DataFrame, weights: Weights,
          index: EmbeddingIndex) -> pd.DataFrame:
    """Score the kept candidates, highest first. Per component: `<name>_raw` (cosine to the interest vector;
    followees who liked or shared; likes + replies + shares; age in hours; the reader's share of engaged posts
    with this sentiment), its value normalised to 0..1 (the cosine's relatedness over the index's typical pair;
    1 - 0.5^followees; log engagement over the candidates' max; 0.5^(age / half-life); the share) times its weight
    as `<name>`, and their sum as `score`."""
    df = kept.merge(_signals(con, ctx, kept), on="post_id", how="left")
    df["engagement"] = df["engagement"].fillna(0).astype(int)
    df["proof"] = [list(p) if isinstance(p, (list, np.ndarray)) else [] for p in df["proof"]]
    df["vec"] = _candidate_vecs(con, df["post_id"].tolist(), index)
    cos = np.array([float(v @ ctx.interest) if v is not None and ctx.interest is not None else np.nan
                    for v in df["vec"]])
    age_h = (pd.Timestamp(ctx.as_of) - pd.to_datetime(df["created_at"])).dt.total_seconds().to_numpy() / 3600
    max_log = np.log1p(df["engagement"].max()) if len(df) else 0.0
    raw = {
        "semantic": cos,
        "social_proof": df["proof"].map(len).to_numpy(),
        "popularity": df["engagement"].to_numpy(),
        "recency": age_h,
        "sentiment_fit": df["sentiment"].map(ctx.sentiment_mix).fillna(0.0).to_numpy(),
    }
    norm = {
        "semantic": relatedness(np.nan_to_num(cos), index.typical),
        "social_proof": 1 - 0.5 ** raw["social_proof"],
        "popularity": np.log1p(raw["popularity"]) / max_log if max_log > 0 else np.zeros(len(df)),
        "recency": 0.5 ** (age_h / weights.half_life_hours),
        "sentiment_fit": raw["sentiment_fit"],
    }
    w = weights.normalised()
    for c in COMPONENTS:
        df[c] = w[c] * norm[c]
        df[f"{c}_raw"] = raw[c]
    df["score"] = df[list(COMPONENTS)].sum(axis=1)
    df = df.sort_values(["score", "created_at", "post_id"], ascending=[False, False, True], kind="stable")
    return df.reset_index(drop=True).assign(score_rank=lambda d: np.arange(1, len(d) + 1))


# --- re-ranking --------------------------------------------------------------------------------------------------


def similarity_matrix(vecs: Sequence[np.ndarray | None], topics: Sequence[str | None],
                      typical: float = 0.0) -> np.ndarray:
    """Pairwise similarity: the cosine's relatedness (over `typical`) where both posts have an embedding, else 1 for
    the same topic and 0 otherwise."""
    n = len(vecs)
    has = np.array([v is not None for v in vecs], bool)
    sim = np.zeros((n, n))
    if has.any():
        m = stack([v for v in vecs if v is not None])
        sim[np.ix_(has, has)] = relatedness(m @ m.T, typical)
    codes, _ = pd.factorize(pd.Series(topics, dtype=object))  # -1 for no topic
    same_topic = (codes[:, None] == codes[None, :]) & (codes[:, None] >= 0)
    fallback = ~(has[:, None] & has[None, :])
    sim[fallback] = same_topic[fallback].astype(float)
    return sim


def mmr(relevance: np.ndarray, similarity: np.ndarray, n: int, lam: float) -> list[int]:
    """Maximal marginal relevance: n indices picked greedily by lam * relevance - (1 - lam) * (highest similarity
    to an item already picked); ties go to the lower index."""
    relevance = np.asarray(relevance, float)
    picked: list[int] = []
    closest = np.zeros(len(relevance))
    for _ in range(min(n, len(relevance))):
        value = lam * relevance - (1 - lam) * closest
        value[picked] = -np.inf
        best = int(np.argmax(value))
        picked.append(best)
        closest = np.maximum(closest, similarity[best])
    return picked


def rerank(scored: pd.DataFrame, n: int, lam: float, pool: int,
           typical: float = 0.0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """MMR over the `pool` highest scores: (the n picked, in order; the posts among the n highest scores that
    were left out for diversity: post_id, reason 'diversity', detail, source)."""
    top = scored.head(max(pool, n)).reset_index(drop=True)
    sim = similarity_matrix(list(top["vec"]), list(top["topic"]), typical)
    picked = mmr(top["score"].to_numpy(), sim, n, lam)
    items = top.iloc[picked].reset_index(drop=True)
    left_out = [i for i in range(min(n, len(top))) if i not in picked]
    details = []
    for i in left_out:
        j = max(range(len(picked)), key=lambda r: sim[i, picked[r]])
        details.append(f"score #{i + 1}, too similar to #{j + 1} ({sim[i, picked[j]]:.2f})")
    dropped = pd.DataFrame({"post_id": top["post_id"].iloc[left_out].tolist(), "reason": "diversity",
                            "detail": details, "source": top["source"].iloc[left_out].tolist()})
    return items, dropped


# --- explanations ------------------------------------------------------------------------------------------------


def _reasons(row: pd.Series, nearest: tuple[str, str, float] | None, window_days: float, max_reasons: int,
             typical: float) -> str:
    """How the item was found and who vouched for it, then its other components by contribution."""
    first, rest = [], []
    sources = row["source"].split("+")
    if "in_network" in sources:
        first.append(f"from @{row['handle']}, whom you follow")
    if "popular" in sources:
        period = "this week" if window_days == 7 else f"in the last {window_days:g} days"
        first.append(f"popular in {row['topic']} {period} "
                     f"({count(row['popularity_raw'], 'like, reply or share', 'likes, replies and shares')})")
    if row["social_proof_raw"]:
        who = row["proof"]
        first.append(f"{count(len(who), 'person', 'people')} you follow liked or shared this ({handles(who)})")
    if row["semantic_raw"] > 0:  # NaN (no embedding) is not
        if nearest:
            kind, text, sim = nearest
            reason = f"similar to {_ANCHOR[kind]}: '{short(text)}' ({sim:.2f})"
        else:
            reason = f"close to your topics ({relatedness(row['semantic_raw'], typical):.2f})"
        if "similar" in sources:
            first.append(reason)
        else:
            rest.append((row["semantic"], reason))
    if row["sentiment_fit"] > 0:
        rest.append((row["sentiment_fit"], f"{row['sentiment']}, like {row['sentiment_fit_raw']:.0%} of the posts "
                                           "you liked, replied to or shared"))
    hours = row["recency_raw"]
    rest.append((row["recency"], f"posted {hours:.0f} h ago" if hours < 48 else f"posted {hours / 24:.0f} days ago"))
    ordered = first + [text for _, text in sorted(rest, key=lambda r: -r[0])]
    return "; ".join(ordered[:max(max_reasons, len(first))])


def explain(con: duckdb.DuckDBPyConnection, items: pd.DataFrame, ctx: UserContext, window_days: float,
            max_reasons: int = 3, typical: float = 0.0) -> list[str]:
    """Plain reasons per scored item, from its data: how it was found and how many followees liked or shared it,
    then its other components by contribution, up to max_reasons (more only when the first kind needs them).
    Semantic reasons quote the engaged post (or persona text) nearest to the item, with their relatedness."""
    nearest: list = [None] * len(items)
    if len(ctx.anchor_vecs):
        for i, vec in enumerate(items["vec"]):
            if vec is not None:
                sims = ctx.anchor_vecs @ vec
                nearest[i] = (int(np.argmax(sims)), float(relatedness(sims.max(), typical)))
    quoted = sorted({ctx.anchors["post_id"].iloc[j] for j, _ in filter(None, nearest)} - {None})
    texts = dict(con.execute("SELECT post_id, text FROM posts WHERE post_id IN (SELECT unnest(?::VARCHAR[]))",
                             [quoted]).fetchall()) if quoted else {}
    texts[None] = ctx.interest_text
    out = []
    for (_, row), near in zip(items.iterrows(), nearest):
        if near:
            anchor = ctx.anchors.iloc[near[0]]
            near = (anchor["kind"], texts.get(anchor["post_id"]) or "", near[1])
        out.append(_reasons(row, near, window_days, max_reasons, typical))
    return out


# --- the pipeline ------------------------------------------------------------------------------------------------

_ITEM_COLUMNS = ["rank", "post_id", "handle", "topic", "text", "created_at", "score", "score_rank", *COMPONENTS,
                 *[f"{c}_raw" for c in COMPONENTS], "sentiment", "source", "evidence", "explanation"]


def recommend(con: duckdb.DuckDBPyConnection, user: str | UserContext, weights: Weights = Weights(),
              settings: Settings = Settings(), index: EmbeddingIndex | None = None,
              as_of: datetime | None = None) -> Feed:
    """The reader's feed: context, candidates from every source, filters with reasons, weighted scoring, MMR
    re-ranking and explanations, with counts and timings per stage.

    `user` is a user_id or a context (user_context / persona_context; its as_of is used). Without `index` one is
    built for the candidate window (timed as 'index'): pass a cached EmbeddingIndex instead.
    """
    clock = _Clock()
    t0 = time.perf_counter()
    with clock.stage("context"):
        ctx = resolve(con, user, as_of)
    since = ctx.as_of - timedelta(days=settings.window_days)
    if index is None:
        with clock.stage("index"):
            index = EmbeddingIndex.build(con, settings.window_days, ctx.as_of)
    notes = []
    if ctx.interest is None:
        notes.append("no embeddings for what this reader engaged with: semantic relevance is 0 and the similar-posts "
                     "source is off (the background enrichment stores them)")
    elif not index.covers(since, ctx.as_of):
        notes.append(f"the embedding index covers {index.since:%Y-%m-%d %H:%M} to {index.until:%Y-%m-%d %H:%M}, not "
                     f"the whole candidate window: similar-post candidates come from the overlap only")
    cands, counts = candidates(con, ctx, settings, index, clock)
    with clock.stage("filters"):
        kept, dropped, unscreened = apply_filters(con, ctx, cands, settings.thresholds)
    if unscreened:
        notes.append(f"{count(unscreened, 'candidate has', 'candidates have')} no toxicity score and "
                     "went unscreened for toxicity")
    with clock.stage("scoring"):
        scored = score(con, ctx, kept, weights, index)
    with clock.stage("rerank"):
        items, diverse = rerank(scored, settings.n, settings.mmr_lambda, settings.mmr_pool, index.typical)
    with clock.stage("explain"):
        items["explanation"] = explain(con, items, ctx, settings.window_days, typical=index.typical)
        items["rank"] = np.arange(1, len(items) + 1)
    clock.ms["total"] = (time.perf_counter() - t0) * 1000
    filtered = pd.concat([dropped, diverse], ignore_index=True) if len(diverse) else dropped
    return Feed(items=items.reindex(columns=_ITEM_COLUMNS), filtered=filtered, candidates=counts,
                timings=clock.ms, context=ctx, notes=notes)


def overlap(feed_a: Feed, feed_b: Feed) -> dict:
    """How two feeds (e.g. two weightings) compare: shared post ids (in feed_a's order), only_a, only_b, jaccard."""
    a, b = feed_a.items["post_id"].tolist(), feed_b.items["post_id"].tolist()
    union = set(a) | set(b)
    return {"shared": [p for p in a if p in set(b)], "only_a": [p for p in a if p not in set(b)],
            "only_b": [p for p in b if p not in set(a)],
            "jaccard": len(set(a) & set(b)) / len(union) if union else 1.0}
