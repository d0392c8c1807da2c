"""Scoring engine: runs the models over posts not yet scored and upserts the results into the store.

Work goes in chunks; each chunk is scored and written in its own transaction, so an interruption (Ctrl-C, a
Streamlit rerun, a crash) loses at most the chunk in flight and a re-run resumes where it stopped. The model pass
(`compute`) and the write (`write`) are apart: analytics.models.distributed runs `compute` on Ray actors and writes
each finished batch here, through the same `write`.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Callable, Sequence

import duckdb
import numpy as np
import pandas as pd

from analytics import store
from analytics.analyst.filters import PostFilter
from analytics.models import abuse_heads, runtime
from analytics.models.coverage import unscored
from analytics.models.registry import ABUSE_MODEL, EMBEDDING_MODEL, MODELS, SENTIMENT_LABELS, TOXICITY_LABELS, model_key

Progress = Callable[[int, int, str], None]


def compute(name: str, texts: list[str], langs: list[str]) -> dict[str, np.ndarray]:
    """Model `name`'s output for `texts`: {"probs": (n, labels)} for sentiment and toxicity; {"vectors", "features"}
    (n, 384) each for the embedding and abuse models, which share one encoder pass."""
    if name in (EMBEDDING_MODEL, ABUSE_MODEL):
        vectors, features = runtime.embed_with_abuse(texts)
        return {"vectors": vectors.astype(np.float32), "features": features.astype(np.float32)}
    if name == "sentiment":
        return {"probs": runtime.sentiment_probs(texts, langs=langs)}
    return {"probs": runtime.toxicity_probs(texts)}


def _tables(name: str, ids: list[str], out: dict[str, np.ndarray]) -> dict[str, pd.DataFrame]:
    if "features" in out:
        tables = {"abuse_features": pd.DataFrame({"post_id": ids, "model_version": model_key(ABUSE_MODEL)[1],
                                                  "vec": list(out["features"])})}
        if name == EMBEDDING_MODEL:  # the abuse pass only has posts embedded before: their embeddings stand
            model_id, version = model_key(EMBEDDING_MODEL)
            tables["embeddings"] = pd.DataFrame({"post_id": ids, "model_id": model_id, "model_version": version,
                                                 "vec": list(out["vectors"])})
        return tables
    model_id, version = model_key(name)
    probs, labels = out["probs"], SENTIMENT_LABELS if name == "sentiment" else TOXICITY_LABELS
    top = probs.argmax(axis=1)
    return {"model_scores": pd.DataFrame({
        "post_id": ids, "model_id": model_id, "model_version": version,
        "label": [labels[i] for i in top], "score": probs.max(axis=1).astype(float),
        "scores": [json.dumps({k: round(float(v), 6) for k, v in zip(labels, row)}) for row in probs],
        "scored_at": datetime.now(),
    })}


def write(con: duckdb.DuckDBPyConnection, name: str, ids: list[str], out: dict[str, np.ndarray]) -> None:
    """Upsert model `name`'s output (`compute`) for posts `ids` in one transaction; the abuse model's scores come
    from the stored features under the head in force, read under the write lock an adoption holds too."""
    tables = _tables(name, ids, out)
    with store.transaction(con):
        for table, df in tables.items():
            store.upsert(con, table, df)
        if "abuse_features" in tables:
            abuse_heads.rescore(con, abuse_heads.in_force(con), ids)
        if "embeddings" in tables:  # those of an earlier encoder go
            store.drop_other_embeddings(con, ids, model_key(name)[0])


def texts(con: duckdb.DuckDBPyConnection, ids: Sequence[str]) -> tuple[list[str], list[str]]:
    """(texts, langs) of posts `ids`, in that order ('und' where the language is unknown)."""
    rows = con.execute(
        "SELECT p.text, p.lang FROM (SELECT unnest(?) AS post_id, generate_subscripts(?, 1) AS i) q "
        "JOIN posts p USING (post_id) ORDER BY q.i", [list(ids), list(ids)]).fetchall()
    return [r[0] for r in rows], [r[1] or "und" for r in rows]


def score_posts(con: duckdb.DuckDBPyConnection, f: PostFilter | None = None, post_ids: Sequence[str] | None = None,
                names: Sequence[str] = MODELS, chunk: int = 512, limit: int | None = None,
                progress: Progress = lambda done, total, msg: None,
                should_stop: Callable[[], bool] = lambda: False) -> dict[str, int]:
    """Score the selected posts that lack current scores; returns posts newly scored per model."""
    done = {}
    for name in names:
        todo = unscored(con, name, f, post_ids, limit)
        done[name] = 0
        for start in range(0, len(todo), chunk):
            if should_stop():
                return done
            ids = todo[start:start + chunk]
            write(con, name, ids, compute(name, *texts(con, ids)))
            done[name] += len(ids)
            progress(done[name], len(todo), f"{name}: {done[name]:,} / {len(todo):,} posts")
    return done
