"""The in-memory embedding index of recent posts for the feed's similarity search, and stored embeddings by post."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Collection, Sequence

import duckdb
import numpy as np
import pandas as pd

from analytics.models.registry import EMBED_DIM as DIM
from analytics.models.registry import EMBEDDING_MODEL, model_key


def stack(vecs: Sequence[np.ndarray]) -> np.ndarray:
    return np.stack(vecs).astype(np.float32) if len(vecs) else np.zeros((0, DIM), np.float32)


def unit(v: np.ndarray) -> np.ndarray | None:
    norm = float(np.linalg.norm(v))
    return (v / norm).astype(np.float32) if norm > 0 else None


def typical_cosine(vecs: np.ndarray, pairs: int = 2000, seed: int = 0) -> float:
    """The median cosine of `pairs` seeded random pairs of distinct rows (0 with fewer than two rows, never below 0):
    what two unrelated posts score. An encoder like e5 puts them at about 0.8, MiniLM at about 0.15."""
    n = len(vecs)
    if n < 2:
        return 0.0
    rng = np.random.default_rng(seed)
    i = rng.integers(0, n, pairs)
    j = (i + rng.integers(1, n, pairs)) % n  # never i itself
    return max(0.0, float(np.median(np.einsum("ij,ij->i", vecs[i], vecs[j]))))


def relatedness(cos, typical: float):
    """Cosine rescaled so a typical pair of posts is 0 and the same text 1 (clipped to 0..1): what the feed scores,
    re-ranks and explains with, so its weights mean the same for any encoder."""
    return np.clip((np.asarray(cos, dtype=float) - typical) / (1 - typical), 0, 1)


def data_end(con: duckdb.DuckDBPyConnection) -> datetime:
    """One second after the newest post or interaction: the store's 'now', the default `as_of`."""
    end = con.execute("SELECT greatest((SELECT max(created_at) FROM posts), (SELECT max(ts) FROM interactions))"
                      ).fetchall()[0][0]
    return (end or datetime.now()) + timedelta(seconds=1)


def embeddings(con: duckdb.DuckDBPyConnection, post_ids: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """Stored current-model embeddings of those posts that have one: (their ids, (m, 384) float32)."""
    if not len(post_ids):
        return [], stack([])
    got = con.execute("""SELECT post_id, vec FROM embeddings WHERE model_id = ? AND model_version = ?
                         AND post_id IN (SELECT unnest(?::VARCHAR[])) ORDER BY post_id""",
                      [*model_key(EMBEDDING_MODEL), [str(p) for p in post_ids]]).fetchnumpy()
    return got["post_id"].tolist(), stack(list(got["vec"]))


@dataclass
class EmbeddingIndex:
    """Embeddings of the posts created in [since, until), in memory (rows in created_at order) for cosine search.

    Build once and reuse across feeds: the app holds it with st.cache_resource, keyed by store and window.
    """

    post_ids: np.ndarray
    created_at: np.ndarray  # datetime64[us], ascending
    author_ids: np.ndarray
    vecs: np.ndarray  # (n, 384) float32, L2-normalised
    since: datetime
    until: datetime
    build_ms: float = 0.0
    typical: float = field(init=False, default=0.0)  # typical_cosine of the indexed posts

    def __post_init__(self) -> None:
        self.typical = typical_cosine(self.vecs)
        self._row = {p: i for i, p in enumerate(self.post_ids)}
        codes, authors = pd.factorize(pd.Series(self.author_ids, dtype=object))
        self._author_codes, self._author_code = codes, {a: i for i, a in enumerate(authors)}

    @classmethod
    def build(cls, con: duckdb.DuckDBPyConnection, days: float = 7.0,
              until: datetime | None = None) -> "EmbeddingIndex":
        """Index of the posts created in the `days` before `until` (default: data_end) that have an embedding."""
        t0 = time.perf_counter()
        until = until or data_end(con)
        since = until - timedelta(days=days)
        got = con.execute("""SELECT e.post_id, p.created_at, p.author_id, e.vec
                             FROM embeddings e JOIN posts p USING (post_id)
                             WHERE e.model_id = ? AND e.model_version = ? AND p.created_at >= ? AND p.created_at < ?
                             ORDER BY p.created_at, e.post_id""",
                          [*model_key(EMBEDDING_MODEL), since, until]).fetchnumpy()
        return cls(np.asarray(got["post_id"], dtype=object), np.asarray(got["created_at"], dtype="datetime64[us]"),
                   np.asarray(got["author_id"], dtype=object), stack(list(got["vec"])), since, until,
                   (time.perf_counter() - t0) * 1000)

    def __len__(self) -> int:
        return len(self.post_ids)

    def covers(self, since: datetime, until: datetime) -> bool:
        """Whether every post created in [since, until) with an embedding is in the index."""
        return self.since <= since and until <= self.until

    def rows(self, post_ids: Sequence[str]) -> np.ndarray:
        """Row of each post in `vecs`, -1 where it is not indexed."""
        return np.array([self._row.get(p, -1) for p in post_ids], dtype=np.int64)

    def search(self, query: np.ndarray, k: int, since: datetime, until: datetime,
               exclude_authors: Collection[str] = ()) -> pd.DataFrame:
        """The k indexed posts created in [since, until), not by `exclude_authors`, most similar to `query`:
        post_id, created_at, cosine (best first)."""
        lo, hi = np.searchsorted(self.created_at, [np.datetime64(since, "us"), np.datetime64(until, "us")])
        excluded = [self._author_code[a] for a in exclude_authors if a in self._author_code]
        keep = lo + np.flatnonzero(~np.isin(self._author_codes[lo:hi], excluded))
        ids, created, sims = self.post_ids[keep], self.created_at[keep], self.vecs[keep] @ query.astype(np.float32)
        top = np.arange(len(sims))
        if 0 < k < len(sims):  # the k best and everything tied with the k-th, so ties go by post_id
            top = np.flatnonzero(sims >= np.partition(sims, len(sims) - k)[len(sims) - k])
        top = top[np.lexsort((ids[top].astype(str), -sims[top]))][:k]
        return pd.DataFrame({"post_id": ids[top].astype(str), "created_at": created[top],
                             "cosine": sims[top].astype(float)})
