"""Versions of the abuse model's head: the shipped one and those retrained from moderators' decisions
(analytics.moderation.learning), kept in the store's `abuse_heads`; which one is in force (`meta`); and the stored
abuse scores of every post re-computed from the stored branch features when that changes. Imports no torch.

Every post's abuse score row (model_scores, model registry.ABUSE_MODEL) is the head in force applied to the post's
row of `abuse_features`; a head reads the features of one branch (registry.ABUSE_VERSION), so heads trained on an
earlier branch no longer apply and the shipped head is in force again.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Sequence

import duckdb
import numpy as np
import pandas as pd

from analytics import store
from analytics.models import abuse
from analytics.models.registry import ABUSE_MODEL, ABUSE_VERSION, model_key

ACTIVE_KEY = "abuse_head"  # meta: the version of the head in force


def in_force(con: duckdb.DuckDBPyConnection) -> abuse.Head:
    """The head in force: the one last adopted, else the shipped head."""
    rows = con.execute("SELECT value FROM meta WHERE key = ?", [ACTIVE_KEY]).fetchall()
    return (load(con, rows[0][0]) if rows else None) or abuse.shipped_head()


def load(con: duckdb.DuckDBPyConnection, version: str) -> abuse.Head | None:
    """The head `version` (the shipped one included); None when unknown or trained on an earlier branch."""
    shipped = abuse.shipped_head()
    if version == shipped.version:
        return shipped
    rows = con.execute("SELECT weight, bias, thresholds FROM abuse_heads WHERE version = ? AND model_version = ?",
                       [version, ABUSE_VERSION]).fetchall()
    if not rows:
        return None
    weight, bias, thresholds = rows[0]
    return abuse.Head(version, np.asarray(weight, np.float32).reshape(len(abuse.CLASSES), -1),
                      np.asarray(bias, np.float32), json.loads(thresholds), shipped.corroborate)


def save(con: duckdb.DuckDBPyConnection, head: abuse.Head, parent: str, created_by: str, decisions: int,
         passed_gate: bool, evaluation: dict, now: datetime | None = None) -> None:
    """Keep a new head version (it is not in force until adopted)."""
    store.upsert(con, "abuse_heads", pd.DataFrame({
        "version": [head.version], "model_version": [ABUSE_VERSION], "parent": [parent],
        "created_at": [now or datetime.now()], "created_by": [created_by],
        "weight": [head.weight.ravel().astype(float).tolist()], "bias": [head.bias.astype(float).tolist()],
        "thresholds": [json.dumps(head.thresholds)], "decisions": [decisions], "passed_gate": [passed_gate],
        "evaluation": [json.dumps(evaluation, ensure_ascii=False)]}))


def versions(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every head that reads the current branch, newest first, the shipped one last: version, parent, created_at,
    created_by, decisions, passed_gate, in_force, and the held-out macro F1 over the categories."""
    shipped, current = abuse.shipped_head(), in_force(con).version
    rows = con.execute("""
        SELECT version, parent, created_at, created_by, decisions, passed_gate,
               CAST(evaluation->'$.held_out.after.macro_f1' AS DOUBLE) AS held_out_macro_f1
        FROM abuse_heads WHERE model_version = ? ORDER BY created_at DESC, version""", [ABUSE_VERSION]).df()
    first = pd.DataFrame([{"version": shipped.version, "parent": None, "created_at": None,
                           "created_by": "shipped (python -m analytics.train abuse)", "decisions": 0,
                           "passed_gate": True, "held_out_macro_f1": abuse.held_out_report(shipped)["macro_f1"]}])
    out = pd.concat([rows, first], ignore_index=True) if len(rows) else first
    return out.assign(in_force=out["version"] == current)


def _scores_sql(head: abuse.Head, restrict: str) -> tuple[str, list, list]:
    """A SELECT of the abuse model's model_scores rows from stored features under `head` (softmax of
    LOGIT_SCALE * vec . weight + bias, as abuse.Head.probs), for the posts `restrict` (a WHERE on abuse_features f)
    selects: set-based, so re-scoring a large store holds the write lock for seconds. Returns the SQL, the
    parameters before `restrict`'s and those after."""
    k, cats = len(abuse.CLASSES), abuse.CATEGORIES
    z = ", ".join(f"? * array_inner_product(f.vec, ?::FLOAT[{head.weight.shape[1]}]) + ? AS z{i}" for i in range(k))
    params = [v for i in range(k) for v in (abuse.LOGIT_SCALE, head.weight[i].tolist(), float(head.bias[i]))]
    e = ", ".join(f"exp(z{i} - greatest({', '.join(f'z{j}' for j in range(k))})) AS e{i}" for i in range(k))
    p = ", ".join(f"e{i} / ({' + '.join(f'e{j}' for j in range(k))}) AS p{i}" for i in range(k))
    top = f"greatest({', '.join(f'p{i + 1}' for i in range(len(cats)))})"
    model_id, version = model_key(ABUSE_MODEL)
    sql = f"""
        WITH z AS (SELECT f.post_id, {z} FROM abuse_features f WHERE f.model_version = ? AND {restrict}),
             e AS (SELECT post_id, {e} FROM z),
             p AS (SELECT post_id, {p} FROM e)
        SELECT post_id, ? AS model_id, ? AS model_version,
               CASE {' '.join(f"WHEN p{i + 1} = {top} THEN '{c}'" for i, c in enumerate(cats))} END AS label,
               {top} AS score,
               json_object({', '.join(f"'{c}', round(p{i + 1}, 6)" for i, c in enumerate(cats))},
                           'abuse', round(1 - p0, 6))::VARCHAR AS scores,
               ? AS scored_at
        FROM p"""
    return sql, params + [ABUSE_VERSION], [model_id, version, datetime.now()]


def rescore(con: duckdb.DuckDBPyConnection, head: abuse.Head, post_ids: Sequence[str] | None = None) -> int:
    """Write the abuse scores of posts `post_ids` (default: every post with stored features) under `head`, from
    their stored features, in SQL. Returns the posts scored."""
    restrict, extra = ("f.post_id IN (SELECT unnest(?::VARCHAR[]))", [list(post_ids)]) if post_ids is not None \
        else ("TRUE", [])
    sql, params, tail = _scores_sql(head, restrict)
    return store.upsert_select(con, "model_scores", sql, params + extra + tail)


def put_in_force(con: duckdb.DuckDBPyConnection, head: abuse.Head) -> int:
    """Make `head` the one in force and re-score every post with stored features under it, in one transaction.
    Returns the posts re-scored."""
    with store.transaction(con):
        store.upsert(con, "meta", pd.DataFrame({"key": [ACTIVE_KEY], "value": [head.version]}))
        return rescore(con, head)
