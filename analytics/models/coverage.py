"""How much of a selection the current models have scored. Reads stored scores only: imports no torch."""
from __future__ import annotations

from typing import Sequence

import duckdb
import pandas as pd

from analytics.analyst.filters import PostFilter
from analytics.models.registry import EMBEDDING_MODEL, MODELS, model_key


def _output(name: str) -> str:
    """The table holding model `name`'s output per post."""
    return "embeddings" if name == EMBEDDING_MODEL else "model_scores"


def unscored(con: duckdb.DuckDBPyConnection, name: str, f: PostFilter | None = None,
             post_ids: Sequence[str] | None = None, limit: int | None = None) -> list[str]:
    """Ids of posts in the selection without a score from the current version of model `name`, newest first."""
    model_id, version = model_key(name)
    where, params = (f or PostFilter()).where()
    sql = f"""
        SELECT p.post_id FROM posts p
        WHERE {where} AND NOT EXISTS (SELECT 1 FROM {_output(name)} s WHERE s.post_id = p.post_id
                                      AND s.model_id = ? AND s.model_version = ?)"""
    params += [model_id, version]
    if post_ids is not None:
        sql += " AND p.post_id IN (SELECT unnest(?))"
        params.append(list(post_ids))
    sql += " ORDER BY p.created_at DESC, p.post_id" + (" LIMIT ?" if limit else "")  # newest first: what pages show
    return [r[0] for r in con.execute(sql, params + ([limit] if limit else [])).fetchall()]


def coverage(con: duckdb.DuckDBPyConnection, f: PostFilter | None = None) -> dict[str, tuple[int, int]]:
    """Per model: (posts in the selection scored by its current version, posts in the selection)."""
    where, params = (f or PostFilter()).where()
    keys = [model_key(name) for name in MODELS]
    joins = "".join(f" LEFT JOIN {_output(name)} s{i} ON s{i}.post_id = p.post_id AND s{i}.model_id = ? "
                    f"AND s{i}.model_version = ?" for i, name in enumerate(MODELS))
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
