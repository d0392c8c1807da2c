"""Coordinated campaigns: many accounts posting copies of one message in a burst.

1. **Grouping.** Posts are linked when their texts are near-duplicates (MinHash LSH from `datasketch` over word and
   CJK-character shingles of the normalised text, links and @handles masked, hashtags left out), when they carry
   the same link within `WINDOW_MIN` minutes, or when their stored multilingual embeddings are nearly the same
   (re-worded copies) within that window. Connected posts form a group.
2. **Episodes.** A group's posts, in time order, split wherever `GAP_MIN` minutes pass without one; an episode by at
   least `MIN_ACCOUNTS` accounts is a candidate.
3. **Signals**, each with its value: how many accounts posted within one `WINDOW_MIN`-minute window
   (synchronised), the share of fresh accounts (created under `FRESH_DAYS` days before, or with almost no posts
   outside the episode), posts per account, hashtags and links per post, the share carrying the same link, and
   the share that credit a source ("RT @x", "via @x", as people resharing do).
4. **Decision.** A campaign is synchronised, not mostly credited reshares, and has fresh accounts or at least two
   of: repeat posting, stuffing, one shared link. Organic virality (many established accounts sharing one story
   over hours) has the burst and the link but not the accounts.

Imports no torch; stored embeddings are read when present (an imported store without them is grouped by text and
links alone).
"""
from __future__ import annotations

import hashlib
import re
import zlib
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
from datasketch import MinHash, MinHashLSH

from analytics.models.registry import EMBEDDING_MODEL, model_key

WINDOW_MIN = 60
GAP_MIN = 30
MIN_ACCOUNTS = 5
FRESH_DAYS = 30
JACCARD = 0.5  # MinHash LSH threshold on shingle sets
EMBED_COSINE = 0.95  # stored multilingual-e5 vectors this close are re-worded copies
NUM_PERM = 64

_URL = re.compile(r"(?i)\bhttps?://\S+|\bwww\.\S+")
_TOKEN = re.compile(r"[\u3400-\u9fff]|[^\W_]+", re.UNICODE)
_CREDIT = re.compile(r"(?i)^\s*rt\s+@|\bvia\s+@|^\s*\"?@\w+:")


@dataclass(frozen=True)
class Thresholds:
    """When an episode's signals count: accounts within one window, fresh-account share, posts per account,
    hashtags or links per post, same-link share, and the credited share above which it reads as resharing."""

    synchronised: int = MIN_ACCOUNTS
    fresh: float = 0.5
    repeat: float = 1.3
    hashtags: float = 3.0
    links: float = 2.0
    same_link: float = 0.8
    credited: float = 0.5


def links(text: str) -> list[str]:
    """The links in a post, lower-cased, without trailing punctuation."""
    return [u.rstrip(".,;:!?)\"'").lower() for u in _URL.findall(text or "")]


def shingles(text: str) -> set[str]:
    """Word unigrams and bigrams of the lower-cased text with links as 'URL', @handles as '@' and hashtags dropped;
    Chinese characters count as words."""
    t = _URL.sub(" URL ", text or "")
    t = re.sub(r"@\w+", " @ ", t)
    t = re.sub(r"#\w+", " ", t).lower()
    tokens = _TOKEN.findall(t)
    return set(tokens) | {a + " " + b for a, b in zip(tokens, tokens[1:])}


def _hash(b: bytes) -> int:
    return zlib.crc32(b)  # deterministic and ~4x faster than datasketch's default sha1 for short shingles


class _Union:
    def __init__(self, n: int) -> None:
        self.parent = np.arange(n)

    def find(self, i: int) -> int:
        p = self.parent
        while p[i] != i:
            p[i] = p[p[i]]
            i = p[i]
        return i

    def join(self, i: int, j: int) -> None:
        a, b = self.find(i), self.find(j)
        if a != b:
            self.parent[max(a, b)] = min(a, b)


def _load(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return con.execute("""
        SELECT p.post_id, p.author_id, p.created_at, p.text, coalesce(len(p.hashtags), 0) AS n_hashtags,
               u.created_at AS account_created
        FROM posts p LEFT JOIN users u ON u.user_id = p.author_id
        ORDER BY p.created_at, p.post_id""").df()


def _text_edges(posts: pd.DataFrame, uf: _Union) -> None:
    """Join posts whose normalised texts are near-duplicates (every post of one shingle set, and LSH pairs of sets).
    Work is per distinct text, so a store that repeats texts costs what its distinct texts cost. The first joins
    into a fresh `uf`."""
    text_codes, texts = pd.factorize(posts["text"])
    set_codes, sets = pd.factorize(pd.Series([frozenset(shingles(t)) for t in texts], dtype=object))
    codes = set_codes[text_codes]  # each post's shingle set
    order = np.argsort(codes, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(codes[order]) != 0])
    first = np.empty(len(sets), dtype=np.int64)
    first[codes[order[starts]]] = order[starts]
    uf.parent = first[codes]  # every post under the first post of its set (the lowest row: a valid root)
    usable = [c for c, sh in enumerate(sets) if len(sh) >= 3]  # too short to call a copy
    lsh = MinHashLSH(threshold=JACCARD, num_perm=NUM_PERM)
    hashes = MinHash.bulk([[x.encode() for x in sets[c]] for c in usable], num_perm=NUM_PERM, hashfunc=_hash)
    with lsh.insertion_session() as session:
        for c, m in zip(usable, hashes):
            session.insert(c, m)
    for c, m in zip(usable, hashes):
        for other in lsh.query(m):
            if other != c:
                uf.join(first[c], first[other])


def _window_groups(times: np.ndarray, keys: pd.Series) -> list[np.ndarray]:
    """Row indices per (key, window) bucket, for keys that are not empty."""
    bucket = (times.astype("datetime64[m]").astype(np.int64) // WINDOW_MIN).astype(np.int64)
    df = pd.DataFrame({"key": keys, "bucket": bucket, "row": np.arange(len(keys))}).dropna(subset=["key"])
    df = df[df.duplicated(["key", "bucket"], keep=False)]  # only buckets of two or more posts
    return [g.to_numpy() for _, g in df.groupby(["key", "bucket"], sort=False)["row"]]


def _link_edges(posts: pd.DataFrame, uf: _Union) -> None:
    """Join posts carrying the same link within the same window."""
    codes, texts = pd.factorize(posts["text"])
    first_link = np.array([(links(t) or [None])[0] for t in texts], dtype=object)[codes]
    for rows in _window_groups(posts["created_at"].to_numpy(), pd.Series(first_link)):
        for r in rows[1:]:
            uf.join(rows[0], r)


def _embedding_edges(con: duckdb.DuckDBPyConnection, posts: pd.DataFrame, uf: _Union) -> bool:
    """Join posts whose stored embeddings are within EMBED_COSINE, posted in the same window. Returns whether any
    embeddings were stored."""
    got = con.execute("SELECT post_id, vec FROM embeddings WHERE model_id = ? AND model_version = ?",
                      list(model_key(EMBEDDING_MODEL))).fetchnumpy()
    if not len(got["post_id"]):
        return False
    row_of = pd.Series(np.arange(len(posts)), index=posts["post_id"])
    rows = row_of.reindex(got["post_id"]).to_numpy()
    keep = ~np.isnan(rows)
    rows, vecs = rows[keep].astype(int), np.stack(got["vec"][keep]).astype(np.float32)
    order = np.argsort(rows)
    rows, vecs = rows[order], vecs[order]
    minutes = posts["created_at"].to_numpy()[rows].astype("datetime64[m]").astype(np.int64)
    bucket = minutes // WINDOW_MIN
    bounds = np.flatnonzero(np.diff(bucket)) + 1
    for block in np.split(np.arange(len(rows)), bounds):
        if len(block) < 2:
            continue
        sims = vecs[block] @ vecs[block].T
        a, b = np.nonzero(np.triu(sims >= EMBED_COSINE, 1))
        for i, j in zip(a, b):
            uf.join(rows[block[i]], rows[block[j]])
    return True


def _signals(ep: pd.DataFrame, posts_per_author: pd.Series) -> dict:
    accounts = ep["author_id"].nunique()
    t = ep["created_at"].to_numpy().astype("datetime64[s]")
    lo = np.searchsorted(t, t - np.timedelta64(WINDOW_MIN * 60, "s"), side="left")
    authors = ep["author_id"].to_numpy()
    synchronised = max(len(set(authors[lo[i]:i + 1])) for i in range(len(t)))
    first = ep.groupby("author_id")["created_at"].min()
    created = ep.groupby("author_id")["account_created"].first()
    age_days = (first - created).dt.total_seconds() / 86400
    in_episode = ep["author_id"].value_counts()
    single_purpose = (in_episode / posts_per_author.reindex(in_episode.index) >= 0.8)
    fresh = ((age_days < FRESH_DAYS).reindex(in_episode.index).fillna(False) | single_purpose).mean()
    post_links = ep["text"].map(links)
    flat = [u for us in post_links for u in us]
    top_link = pd.Series(flat).mode().iloc[0] if flat else None
    return {
        "accounts": int(accounts), "posts": int(len(ep)),
        "minutes": round((t[-1] - t[0]).astype(int) / 60, 1),
        "accounts_within_window": int(synchronised),
        "fresh_accounts": round(float(fresh), 3),
        "posts_per_account": round(len(ep) / accounts, 2),
        "hashtags_per_post": round(float(ep["n_hashtags"].mean()), 2),
        "links_per_post": round(float(post_links.map(len).mean()), 2),
        "same_link": round(float(post_links.map(lambda us: top_link in us).mean()) if top_link else 0.0, 3),
        "credited": round(float(ep["text"].str.contains(_CREDIT).mean()), 3),
        "top_link": top_link,
    }


def decide(s: dict, th: Thresholds = Thresholds()) -> tuple[bool, list[str]]:
    """(is it a campaign, the reasons that count: each signal over its threshold, with its value)."""
    why = []
    if s["fresh_accounts"] >= th.fresh:
        why.append(f"{s['fresh_accounts']:.0%} of the accounts are fresh")
    others = []
    if s["posts_per_account"] >= th.repeat:
        others.append(f"{s['posts_per_account']:.1f} posts per account")
    if s["hashtags_per_post"] >= th.hashtags or s["links_per_post"] >= th.links:
        others.append(f"{s['hashtags_per_post']:.1f} hashtags and {s['links_per_post']:.1f} links per post")
    if s["same_link"] >= th.same_link:
        others.append(f"{s['same_link']:.0%} carry the same link ({s['top_link']})")
    synced = s["accounts_within_window"] >= th.synchronised
    credited = s["credited"] >= th.credited
    flagged = synced and not credited and (bool(why) or len(others) >= 2)
    reasons = ([f"{s['accounts_within_window']} accounts posted copies within {WINDOW_MIN} minutes"] if synced else [])
    reasons += why + others
    if credited:
        reasons.append(f"{s['credited']:.0%} credit a source (resharing)")
    return flagged, reasons


def detect(con: duckdb.DuckDBPyConnection, thresholds: Thresholds = Thresholds(),
           include_unflagged: bool = False) -> pd.DataFrame:
    """Candidate episodes of copies across accounts, flagged ones first (only those unless `include_unflagged`):
    campaign_id, flagged, start, end, n_posts, n_accounts, post_ids, author_ids, shared_text, links, signals
    (dict), reason (text)."""
    posts = _load(con)
    columns = ["campaign_id", "flagged", "start", "end", "n_posts", "n_accounts", "post_ids", "author_ids",
               "shared_text", "links", "signals", "reason"]
    if posts.empty:
        return pd.DataFrame(columns=columns)
    uf = _Union(len(posts))
    _text_edges(posts, uf)
    _link_edges(posts, uf)
    with_embeddings = _embedding_edges(con, posts, uf)
    posts["group"] = [uf.find(i) for i in range(len(posts))]
    posts_per_author = posts["author_id"].value_counts()
    # Episodes, vectorised: in (group, time) order a new one starts at each group change or gap over GAP_MIN.
    cand = posts.sort_values(["group", "created_at", "post_id"], kind="stable")
    t = cand["created_at"].to_numpy()
    g = cand["group"].to_numpy()
    new = np.r_[True, (g[1:] != g[:-1]) | (np.diff(t) > np.timedelta64(GAP_MIN, "m"))]
    cand = cand.assign(episode=np.cumsum(new))
    accounts = cand.groupby("episode")["author_id"].transform("nunique")
    cand = cand[accounts.to_numpy() >= MIN_ACCOUNTS]
    rows = []
    for _, ep in cand.groupby("episode", sort=False):
        s = _signals(ep, posts_per_author)
        flagged, reasons = decide(s, thresholds)
        if not (flagged or include_unflagged):
            continue
        ids = ep["post_id"].tolist()
        rows.append({
            "campaign_id": "cmp-" + hashlib.sha256(" ".join(sorted(ids)).encode()).hexdigest()[:10],
            "flagged": flagged, "start": ep["created_at"].min(), "end": ep["created_at"].max(),
            "n_posts": len(ids), "n_accounts": s["accounts"], "post_ids": ids,
            "author_ids": sorted(ep["author_id"].unique()),
            "shared_text": ep["text"].mode().iloc[0], "links": sorted({u for t in ep["text"] for u in links(t)}),
            "signals": {**s, "embeddings_used": with_embeddings}, "reason": "; ".join(reasons)})
    out = pd.DataFrame(rows, columns=columns)
    return out.sort_values(["flagged", "n_accounts", "start"], ascending=[False, False, True], ignore_index=True)
