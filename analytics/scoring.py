"""Scoring engine: runs the models over posts not yet scored and upserts the results into the store.

Work goes in chunks; each chunk is scored and written in its own transaction, so an interruption (Ctrl-C, a
Streamlit rerun, a crash) loses at most the chunk in flight and a re-run resumes where it stopped.
"""
from __future__ import annotations

import json
import threading
from contextlib import nullcontext
from datetime import datetime
from typing import Callable, Sequence

import duckdb
import pandas as pd

from analytics import models, sentiment, store, toxicity
from analytics.queries import PostFilter

MODELS = ("sentiment", "toxicity")
Progress = Callable[[int, int, str], None]


def model_key(name: str) -> tuple[str, str]:
    """(model_id, model_version) stored for model `name` ('sentiment' or 'toxicity')."""
    mod = {"sentiment": sentiment, "toxicity": toxicity}[name]
    return mod.MODEL_ID, mod.MODEL_VERSION


def unscored(con: duckdb.DuckDBPyConnection, name: str, f: PostFilter | None = None,
             post_ids: Sequence[str] | None = None, limit: int | None = None) -> list[str]:
    """Ids of posts in the selection without a score from the current version of model `name`."""
    model_id, version = model_key(name)
    where, params = (f or PostFilter()).where()
    sql = f"""
        SELECT p.post_id FROM posts p
        WHERE {where} AND NOT EXISTS (SELECT 1 FROM model_scores s WHERE s.post_id = p.post_id
                                      AND s.model_id = ? AND s.model_version = ?)"""
    params += [model_id, version]
    if post_ids is not None:
        sql += " AND p.post_id IN (SELECT unnest(?))"
        params.append(list(post_ids))
    sql += " ORDER BY p.post_id" + (" LIMIT ?" if limit else "")
    return [r[0] for r in con.execute(sql, params + ([limit] if limit else [])).fetchall()]


def _rows(name: str, ids: list[str], texts: list[str]) -> dict[str, pd.DataFrame]:
    model_id, version = model_key(name)
    now = datetime.now()
    if name == "sentiment":
        probs, emb = models.sentiment_and_embedding(texts)
        labels = models.SENTIMENT_LABELS
        extra = {"embeddings": pd.DataFrame({"post_id": ids, "model_id": model_id, "model_version": version,
                                             "vec": list(emb.astype("float32"))})}
    else:
        probs, labels, extra = models.toxicity_probs(texts), models.TOXICITY_LABELS, {}
    top = probs.argmax(axis=1)
    scores = pd.DataFrame({
        "post_id": ids, "model_id": model_id, "model_version": version,
        "label": [labels[i] for i in top], "score": probs.max(axis=1).astype(float),
        "scores": [json.dumps({l: round(float(v), 6) for l, v in zip(labels, row)}) for row in probs],
        "scored_at": now,
    })
    return {"model_scores": scores, **extra}


def score_posts(con: duckdb.DuckDBPyConnection, f: PostFilter | None = None, post_ids: Sequence[str] | None = None,
                names: Sequence[str] = MODELS, chunk: int = 512, limit: int | None = None,
                progress: Progress = lambda done, total, msg: None, should_stop: Callable[[], bool] = lambda: False,
                write_lock: threading.Lock | None = None) -> dict[str, int]:
    """Score the selected posts that lack current scores; returns posts newly scored per model.

    `write_lock` serialises the writes with other threads sharing the database (Streamlit sessions).
    """
    done = {}
    for name in names:
        todo = unscored(con, name, f, post_ids, limit)
        done[name] = 0
        for start in range(0, len(todo), chunk):
            if should_stop():
                return done
            ids = todo[start:start + chunk]
            texts = [r[0] for r in con.execute(
                "SELECT p.text FROM (SELECT unnest(?) AS post_id, generate_subscripts(?, 1) AS i) q "
                "JOIN posts p USING (post_id) ORDER BY q.i", [ids, ids]).fetchall()]
            tables = _rows(name, ids, texts)
            with write_lock or nullcontext(), store.transaction(con):
                for table, df in tables.items():
                    store.upsert(con, table, df)
            done[name] += len(ids)
            progress(done[name], len(todo), f"{name}: {done[name]:,} / {len(todo):,} posts")
    return done


def coverage(con: duckdb.DuckDBPyConnection, f: PostFilter | None = None) -> dict[str, tuple[int, int]]:
    """Per model: (posts in the selection scored by its current version, posts in the selection)."""
    where, params = (f or PostFilter()).where()
    keys = [model_key(name) for name in MODELS]
    joins = "".join(f" LEFT JOIN model_scores s{i} ON s{i}.post_id = p.post_id AND s{i}.model_id = ? "
                    f"AND s{i}.model_version = ?" for i in range(len(keys)))
    total, *scored = con.execute(
        f"SELECT count(*), {', '.join(f'count(s{i}.post_id)' for i in range(len(keys)))} FROM posts p{joins} "
        f"WHERE {where}", [v for key in keys for v in key] + params).fetchall()[0]
    return {name: (n, total) for name, n in zip(MODELS, scored)}


def label_counts(con: duckdb.DuckDBPyConnection, name: str, threshold: float | None = None) -> pd.DataFrame:
    """Stored current-version scores of model `name` by top label (and, with `threshold`, how many P(toxic) >= it)."""
    model_id, version = model_key(name)
    flag = "count(*) FILTER (CAST(scores->>'toxic' AS DOUBLE) >= ?)" if threshold is not None else "NULL"
    return con.execute(f"""
        SELECT label, count(*) AS posts, {flag} AS over_threshold FROM model_scores
        WHERE model_id = ? AND model_version = ? GROUP BY label ORDER BY posts DESC, label
    """, ([threshold] if threshold is not None else []) + [model_id, version]).df()
