"""Labelled trust-and-safety ground truth injected into the simulated sample (sample_data/config.json, "injections").

- a **spam campaign**: fresh accounts posting copies and re-wordings of one message, with the same link and stuffed
  hashtags, within minutes of each other;
- a **false-claim narrative**: established users re-wording one false claim (in English and Chinese) over days; the
  claim is also seeded into `known_claims`, as a moderator would have added it, with two of the posts (one English,
  one Chinese) as confirmed examples;
- **organic virality**: established users sharing one news headline and link over a day, which must not look like
  a campaign.

The texts are written for the sample (source 'simulated', unlike the real tweets and reviews), and every injected
post is listed in `sim_truth` with its kind and truth id, so detection can be scored. Seeded on its own generator,
so the rest of the simulation is unchanged by it.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from analytics.data import language
from analytics.data.corpus import extract_hashtags
from analytics.data.simulate import make_handles

SOURCE = "simulated"
BUILD_ACTOR = "sample build"


def _topic(posts: pd.DataFrame, pattern: str) -> str | None:
    """The most common topic of the posts whose text matches `pattern`."""
    hits = posts.loc[posts["text"].str.contains(pattern, case=False, regex=True), "topic"].dropna()
    return hits.mode().iloc[0] if len(hits) else None


def _established(rng: np.random.Generator, posts: pd.DataFrame, n: int, min_posts: int = 5) -> np.ndarray:
    """`n` distinct users with at least `min_posts` posts: accounts with a history."""
    counts = posts["author_id"].value_counts()
    pool = np.sort(counts[counts >= min_posts].index.to_numpy())
    return rng.choice(pool, size=min(n, len(pool)), replace=False)


def _post_frame(ids, authors, times, texts, topic, kind, truth_id) -> tuple[pd.DataFrame, pd.DataFrame]:
    posts = pd.DataFrame({"post_id": ids, "author_id": authors, "created_at": pd.to_datetime(times), "text": texts,
                          "lang": language.detect(list(texts)), "hashtags": [extract_hashtags(t) for t in texts],
                          "topic": topic, "parent_id": None, "source": SOURCE})
    return posts, pd.DataFrame({"post_id": ids, "kind": kind, "truth_id": truth_id})


def _campaign(rng, spec: dict, users: pd.DataFrame, posts: pd.DataFrame, next_post: int):
    n = spec["accounts"]
    start = datetime.fromisoformat(spec["start"])
    first_id = len(users)
    ids = np.array([f"u{first_id + i:06d}" for i in range(n)])
    handles = make_handles(rng, n)
    new_users = pd.DataFrame({
        "user_id": ids, "handle": handles, "display_name": [h.capitalize() for h in handles],
        "created_at": [start - timedelta(days=float(d)) for d in rng.uniform(0.1, spec["account_age_days"], n)],
        "community": rng.choice(users["community"].dropna().unique(), n), "source": "simulated"})
    lo, hi = spec["posts_per_account"]
    per = rng.integers(lo, hi + 1, n)
    authors = np.repeat(ids, per)
    times = [start + timedelta(minutes=float(m)) for m in np.sort(rng.uniform(0, spec["minutes"], len(authors)))]
    texts = []
    for _ in authors:
        tags = rng.choice(spec["hashtags"], rng.integers(3, len(spec["hashtags"]) + 1), replace=False)
        text = rng.choice(spec["texts"]) + rng.choice(["", "!", " 🎁", " 📱🔥"])
        texts.append(f"{text} {spec['link']} {' '.join(tags)}")
    post_ids = [f"x{next_post + i:05d}" for i in range(len(authors))]
    return (new_users, *_post_frame(post_ids, authors, times, texts, _topic(posts, spec.get("topic_match", "iphone")),
                                    "campaign", spec["truth_id"]))


def _claim(rng, spec: dict, posts: pd.DataFrame, next_post: int):
    texts = spec["texts"]
    authors = _established(rng, posts, len(texts))
    start = datetime.fromisoformat(spec["start"])
    hours = np.sort(rng.gamma(1.2, spec["days"] * 24 / 4, len(texts)).clip(0, spec["days"] * 24 - 1))
    times = [start + timedelta(hours=float(h)) for h in hours]
    post_ids = [f"x{next_post + i:05d}" for i in range(len(texts))]
    return _post_frame(post_ids, authors, times, texts, _topic(posts, spec.get("topic_match", "cancel+ed|flightled")),
                       "claim", spec["truth_id"])


def _organic(rng, spec: dict, posts: pd.DataFrame, next_post: int):
    authors = _established(rng, posts, spec["accounts"])
    start = datetime.fromisoformat(spec["start"])
    hours = np.sort(rng.gamma(1.0, spec["hours"] / 4, len(authors)).clip(0, spec["hours"]))
    times = [start + timedelta(hours=float(h)) for h in hours]
    texts = [f"{c} {spec['text']} {spec['link']}".strip() for c in rng.choice(spec["comments"], len(authors))]
    post_ids = [f"x{next_post + i:05d}" for i in range(len(authors))]
    return _post_frame(post_ids, authors, times, texts, _topic(posts, spec.get("topic_match", "cancel+ed|flightled")),
                       "organic", spec["truth_id"])


def _interactions(rng, new_posts: pd.DataFrame, user_ids: np.ndarray, first_id: int) -> pd.DataFrame:
    """Views, likes and shares of the injected posts by random users in the hours after each post."""
    per_post = rng.poisson(6, len(new_posts))
    post_rows = np.repeat(np.arange(len(new_posts)), per_post)
    kinds = rng.choice(["view", "view", "view", "like", "share"], len(post_rows))
    delay = pd.to_timedelta(rng.exponential(3 * 3600, len(post_rows)), unit="s")
    return pd.DataFrame({"interaction_id": np.arange(first_id, first_id + len(post_rows), dtype=np.int64),
                         "user_id": rng.choice(user_ids, len(post_rows)),
                         "post_id": new_posts["post_id"].to_numpy()[post_rows], "kind": kinds,
                         "ts": new_posts["created_at"].to_numpy()[post_rows] + delay.to_numpy()})


def inject(tables: dict[str, pd.DataFrame], spec: dict, seed: int) -> dict[str, pd.DataFrame]:
    """Add the injections in `spec` to the simulated `tables` (users, posts, interactions); returns the new
    tables, with `sim_truth` (post_id, kind, truth_id) and `known_claims` (the seeded claims)."""
    rng = np.random.default_rng(seed + 1)
    users, posts = tables["users"], tables["posts"]
    new_users, new_posts, truth, claims = [], [], [], []
    next_post = 0
    for c in spec.get("campaigns", []):
        u, p, t = _campaign(rng, c, pd.concat([users, *new_users]), posts, next_post)
        new_users.append(u)
        new_posts.append(p)
        truth.append(t)
        next_post += len(p)
    for c in spec.get("claims", []):
        p, t = _claim(rng, c, posts, next_post)
        new_posts.append(p)
        truth.append(t)
        next_post += len(p)
        claims.append({"text": c["claim"], "verdict": c["verdict"], "source_url": c["source"],
                       "added_at": datetime.fromisoformat(c["start"]) + timedelta(days=1),
                       "examples": list(c.get("examples", []))})
    for c in spec.get("organic", []):
        p, t = _organic(rng, c, posts, next_post)
        new_posts.append(p)
        truth.append(t)
        next_post += len(p)
    if not new_posts:
        return {**tables, "sim_truth": pd.DataFrame(columns=["post_id", "kind", "truth_id"])}
    all_users = pd.concat([users, *new_users], ignore_index=True)
    added = pd.concat(new_posts, ignore_index=True)
    inter = tables["interactions"]
    first = int(inter["interaction_id"].max()) + 1 if len(inter) else 0
    out = {**tables, "users": all_users, "posts": pd.concat([posts, added], ignore_index=True),
           "interactions": pd.concat([inter, _interactions(rng, added, all_users["user_id"].to_numpy(), first)],
                                     ignore_index=True),
           "sim_truth": pd.concat(truth, ignore_index=True)}
    if claims:
        out["known_claims"] = pd.DataFrame([{"claim_id": i + 1, **c, "added_by": BUILD_ACTOR, "retired_at": None,
                                             "model_version": None, "vecs": None} for i, c in enumerate(claims)])
    return out
