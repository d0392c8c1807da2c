"""Offline evaluation of the recommender: replay feeds at a cutoff and score them against what users did after it.

Train is everything before `cutoff`: the pipeline reads nothing later (see analytics.feed.pipeline). A user's test
positives are the posts they liked, replied to or shared in [cutoff, cutoff + horizon) that a feed at the cutoff
could have shown: created in the candidate window before the cutoff, not their own, and not interacted with before
it. Strategies: 'pipeline' (analytics.feed.pipeline), 'popularity' (the window's most engaged posts) and 'random' (a
seeded shuffle of the window); the baselines skip the user's seen and own posts too.
"""
from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Collection, Mapping, Sequence

import duckdb
import numpy as np
import pandas as pd

from analytics.feed.context import IS_POSITIVE, user_context
from analytics.feed.index import EmbeddingIndex, embeddings, relatedness
from analytics.feed.pipeline import Settings, Weights, popular, recommend

STRATEGIES = ("pipeline", "popularity", "random")


def precision_at_k(recommended: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Share of the first k recommendations that are relevant (a short list still divides by k)."""
    return sum(p in relevant for p in recommended[:k]) / k


def recall_at_k(recommended: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Share of the relevant items found in the first k recommendations (NaN without relevant items)."""
    if not relevant:
        return math.nan
    return sum(p in relevant for p in recommended[:k]) / len(relevant)


def ndcg_at_k(recommended: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Binary-gain NDCG@k: sum of 1/log2(rank + 1) over relevant hits, over the best possible such sum."""
    if not relevant:
        return math.nan
    dcg = sum(1 / math.log2(i + 2) for i, p in enumerate(recommended[:k]) if p in relevant)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(k, len(relevant))))
    return dcg / ideal


def catalogue_coverage(lists: Sequence[Sequence[str]], catalogue_size: int) -> float:
    """Share of the catalogue that appears in at least one list."""
    return len({p for items in lists for p in items}) / catalogue_size if catalogue_size else math.nan


def intra_list_diversity(vecs: np.ndarray, typical: float = 0.0) -> float:
    """1 - mean relatedness (cosine rescaled over `typical`, the feed's similarity) over the pairs of
    (L2-normalised) rows; NaN with fewer than two rows."""
    n = len(vecs)
    if n < 2:
        return math.nan
    sims = relatedness(vecs @ vecs.T, typical)
    return 1 - float(sims[np.triu_indices(n, 1)].mean())


def novelty(recommended: Sequence[str], popularity_share: Mapping[str, float]) -> float:
    """Mean -log2 of the items' popularity share (share of users who had interacted with each); NaN if empty."""
    if not len(recommended):
        return math.nan
    return float(np.mean([-math.log2(popularity_share[p]) for p in recommended]))


def held_out_positives(con: duckdb.DuckDBPyConnection, cutoff: datetime, horizon_days: float,
                       window_days: float) -> dict[str, set[str]]:
    """Per user, the posts they liked, replied to or shared in [cutoff, cutoff + horizon) that were created in the
    window_days before the cutoff by someone else and that they had not interacted with before the cutoff."""
    rows = con.execute(f"""
        SELECT DISTINCT i.user_id, i.post_id FROM interactions i JOIN posts p USING (post_id)
        WHERE i.kind {IS_POSITIVE} AND i.ts >= ? AND i.ts < ?
          AND p.created_at >= ? AND p.created_at < ? AND p.author_id <> i.user_id
          AND NOT EXISTS (SELECT 1 FROM interactions e WHERE e.user_id = i.user_id AND e.post_id = i.post_id
                          AND e.ts < ?)
        ORDER BY 1, 2""", [cutoff, cutoff + timedelta(days=horizon_days), cutoff - timedelta(days=window_days),
                           cutoff, cutoff]).fetchall()
    out: dict[str, set[str]] = {}
    for user, post in rows:
        out.setdefault(user, set()).add(post)
    return out


def _popularity_share(con: duckdb.DuckDBPyConnection, post_ids: list[str], cutoff: datetime) -> dict[str, float]:
    """Share of all users who interacted with each post before the cutoff; a post nobody had seen counts as seen
    by one user, so its novelty stays finite."""
    (n_users,) = con.execute("SELECT count(*) FROM users").fetchall()[0]
    counts = dict(con.execute("""SELECT post_id, count(DISTINCT user_id) FROM interactions
                                 WHERE post_id IN (SELECT unnest(?::VARCHAR[])) AND ts < ? GROUP BY 1""",
                              [post_ids, cutoff]).fetchall())
    return {p: max(counts.get(p, 0), 1) / n_users for p in post_ids}


def _vectors(con: duckdb.DuckDBPyConnection, post_ids: list[str], index: EmbeddingIndex) -> np.ndarray:
    """Embeddings of those of the posts that have one."""
    rows = index.rows(post_ids)
    _, stored = embeddings(con, [p for p, r in zip(post_ids, rows) if r < 0])
    return np.concatenate([index.vecs[rows[rows >= 0]], stored])


def evaluate(con: duckdb.DuckDBPyConnection, cutoff: datetime, k: int = 10, n_users: int = 50,
             horizon_days: float = 7.0, seed: int = 0, weights: Weights = Weights(), settings: Settings = Settings(),
             index: EmbeddingIndex | None = None) -> pd.DataFrame:
    """Compare the strategies at `cutoff` for up to n_users users (seeded sample of those with test positives).

    Returns a tidy frame strategy, metric, value: precision@k, recall@k and ndcg@k (means over users), coverage
    (of the window's posts), diversity (mean intra-list diversity over feeds with embeddings) and novelty (mean).
    attrs holds cutoff, k, users and catalogue (posts in the window).
    """
    rng = np.random.default_rng(seed)
    since = cutoff - timedelta(days=settings.window_days)
    positives = held_out_positives(con, cutoff, horizon_days, settings.window_days)
    users = sorted(positives)
    if len(users) > n_users:
        users = sorted(rng.choice(users, n_users, replace=False).tolist())
    index = index or EmbeddingIndex.build(con, settings.window_days, cutoff)
    catalogue = con.execute("SELECT post_id, author_id FROM posts WHERE created_at >= ? AND created_at < ? "
                            "ORDER BY post_id", [since, cutoff]).df()
    ranked = popular(con, since, cutoff, limit=len(catalogue))["post_id"].tolist()
    author = dict(zip(catalogue["post_id"], catalogue["author_id"]))
    feeds: dict[str, list[list[str]]] = {s: [] for s in STRATEGIES}
    for user in users:
        ctx = user_context(con, user, cutoff)
        fresh = lambda ids: [p for p in ids if p not in ctx.seen and author[p] != user][:k]  # noqa: E731
        feeds["pipeline"].append(
            recommend(con, ctx, weights, replace(settings, n=k), index).items["post_id"].tolist())
        feeds["popularity"].append(fresh(ranked))
        feeds["random"].append(fresh(rng.permutation(catalogue["post_id"].to_numpy()).tolist()))
    shown = sorted({p for lists in feeds.values() for items in lists for p in items})
    share = _popularity_share(con, shown, cutoff)
    rows = []
    for strategy, lists in feeds.items():
        relevant = [positives[u] for u in users]
        per_user = {
            f"precision@{k}": [precision_at_k(f, r, k) for f, r in zip(lists, relevant)],
            f"recall@{k}": [recall_at_k(f, r, k) for f, r in zip(lists, relevant)],
            f"ndcg@{k}": [ndcg_at_k(f, r, k) for f, r in zip(lists, relevant)],
            "diversity": [intra_list_diversity(_vectors(con, f, index), index.typical) for f in lists],
            "novelty": [novelty(f, share) for f in lists],
        }
        for metric, values in per_user.items():
            rows.append((strategy, metric, float(np.nanmean(values)) if not np.isnan(values).all() else math.nan))
        rows.append((strategy, "coverage", catalogue_coverage(lists, len(catalogue))))
    out = pd.DataFrame(rows, columns=["strategy", "metric", "value"])
    out.attrs = {"cutoff": cutoff, "k": k, "users": len(users), "catalogue": len(catalogue)}
    return out
