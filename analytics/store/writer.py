"""The one write path into the store. Every INSERT, UPDATE and DELETE in the project is in this module.

All writes of a process go through WRITE_LOCK, so concurrent sessions and threads never abort each other with
write-write conflicts; `transaction()` holds it for the whole block. DuckDB itself keeps other processes out.
"""
from __future__ import annotations

import contextlib
import json
import threading
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator, Sequence

import duckdb
import pandas as pd

from analytics.store.schema import APPEND_ONLY, DERIVED, KEYS

WRITE_LOCK = threading.RLock()
_OPEN: set[int] = set()  # connections with a transaction() open (only touched under WRITE_LOCK)


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """All-or-nothing block under the write lock: commit on success, roll back on any exception. A transaction()
    opened inside another on the same connection joins it (one commit, or one rollback, for both)."""
    with WRITE_LOCK:
        if id(con) in _OPEN:
            yield con
            return
        con.execute("BEGIN TRANSACTION")
        _OPEN.add(id(con))
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        finally:
            _OPEN.discard(id(con))
        con.execute("COMMIT")


def _unregister(con: duckdb.DuckDBPyConnection, name: str) -> None:
    # After a failed statement the transaction is aborted and unregister() would raise, hiding the real error;
    # the next register() of the name replaces the leftover view.
    with contextlib.suppress(duckdb.TransactionException):
        con.unregister(name)


def upsert(con: duckdb.DuckDBPyConnection, table: str, df: pd.DataFrame) -> int:
    """Insert or replace rows of `df` into `table`, keyed by the table's primary key. Returns rows written."""
    if table not in KEYS:
        raise ValueError(f"{table!r} is not an upsertable table (append-only tables use append())")
    if df.empty:
        return 0
    missing = set(KEYS[table]) - set(df.columns)
    if missing:
        raise ValueError(f"upsert into {table}: missing key column(s) {sorted(missing)}")
    if df.duplicated(list(KEYS[table])).any():
        raise ValueError(f"upsert into {table}: duplicate keys in the batch")
    with WRITE_LOCK:
        con.register("_upsert_df", df)
        try:
            con.execute(f"INSERT OR REPLACE INTO {table} BY NAME SELECT * FROM _upsert_df")
        finally:
            _unregister(con, "_upsert_df")
    return len(df)


def upsert_select(con: duckdb.DuckDBPyConnection, table: str, select_sql: str, params: Sequence[Any] = ()) -> int:
    """Insert or replace the rows a SELECT returns (columns by name) into `table`; returns rows written.

    For set-based copies too large to pass through pandas (e.g. scores onto a 1M-post store)."""
    if table not in KEYS:
        raise ValueError(f"{table!r} is not an upsertable table (append-only tables use append())")
    with WRITE_LOCK:
        return con.execute(f"INSERT OR REPLACE INTO {table} BY NAME {select_sql}", list(params)).fetchone()[0]


def append(con: duckdb.DuckDBPyConnection, table: str, df: pd.DataFrame) -> list[int]:
    """Append rows to an append-only table; ids come from its sequence. Returns the new ids."""
    if table not in APPEND_ONLY:
        raise ValueError(f"{table!r} is not append-only")
    if df.empty:
        return []
    with WRITE_LOCK:
        con.register("_append_df", df)
        try:
            cols = ", ".join(df.columns)
            rows = con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _append_df RETURNING *").fetchall()
        finally:
            _unregister(con, "_append_df")
    return [r[0] for r in rows]


def append_audit(con: duckdb.DuckDBPyConnection, actor: str, action: str, target_type: str, target_id: str,
                 details: dict, now: datetime | None = None) -> int:
    """Append one `audit_log` event (details as JSON); returns its event_id."""
    (event_id,) = append(con, "audit_log", pd.DataFrame({
        "actor": [actor], "action": [action], "target_type": [target_type], "target_id": [target_id],
        "details": [json.dumps(details)], "created_at": [now or datetime.now()]}))
    return event_id


SEQUENCES = (("moderation_decisions", "decision_id", "decision_seq"), ("audit_log", "event_id", "audit_seq"),
             ("dp_releases", "release_id", "release_seq"), ("known_claims", "claim_id", "claim_seq"),
             ("account_actions", "action_id", "account_action_seq"))
# never lost to a rebuild
HISTORY = ("moderation_decisions", "audit_log", "claims", "dp_releases", "known_claims", "account_actions",
           "abuse_heads")


def carry_history(con: duckdb.DuckDBPyConnection, old: str | Path) -> dict[str, int]:
    """Copy the history of the store at `old` into `con` (a freshly built store): every row of HISTORY with its
    ids, and the `meta` keys the new store lacks (team settings such as thresholds). Call advance_sequences after.
    Returns rows copied per table."""
    with WRITE_LOCK:
        con.execute("ATTACH ? AS old_store (READ_ONLY)", [str(old)])
        try:
            # OR REPLACE: a claim the build seeds again keeps the old store's version of it (edits, retirement)
            present = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() "
                                                 "WHERE database_name = 'old_store'").fetchall()}
            copied = {t: con.execute(f"INSERT OR REPLACE INTO {t} SELECT * FROM old_store.{t}").fetchone()[0]
                      for t in HISTORY if t in present}  # a store older than a table has none of its history
            copied["meta"] = con.execute("INSERT INTO meta SELECT * FROM old_store.meta "
                                         "WHERE key NOT IN (SELECT key FROM meta)").fetchone()[0]
        finally:
            con.execute("DETACH old_store")
    return copied


def next_id(con: duckdb.DuckDBPyConnection, table: str) -> int:
    """A new id from the sequence of `table` (one of SEQUENCES), for a row written with upsert."""
    seq = {t: s for t, _, s in SEQUENCES}[table]
    with WRITE_LOCK:
        return con.execute(f"SELECT nextval('{seq}')").fetchall()[0][0]


def advance_sequences(con: duckdb.DuckDBPyConnection) -> None:
    """In a freshly built store whose rows were written with their ids (carried history, seeded claims): make each
    id sequence continue after the highest id of its table. Call once: the sequences must be unused."""
    # DuckDB cannot restart a sequence: draw it up to the highest id, so the next append follows it.
    for table, key, seq in SEQUENCES:
        con.execute(f"SELECT max(nextval('{seq}')) FROM range((SELECT coalesce(max({key}), 0) FROM {table}))"
                    ).fetchall()


def replace(con: duckdb.DuckDBPyConnection, frames: dict[str, pd.DataFrame]) -> dict[str, int]:
    """Replace the whole content of derived tables (DERIVED: detection results) with `frames`, all in one
    transaction; returns rows written per table."""
    unknown = set(frames) - set(DERIVED)
    if unknown:
        raise ValueError(f"{sorted(unknown)} are not derived tables; use upsert() or append()")
    with transaction(con):
        for table in frames:
            con.execute(f"DELETE FROM {table}")
        return {table: upsert(con, table, df) for table, df in frames.items()}


def drop_other_embeddings(con: duckdb.DuckDBPyConnection, post_ids: Sequence[str], model_id: str) -> int:
    """Delete the embeddings of `post_ids` from every encoder but `model_id` (a post keeps one vector)."""
    with WRITE_LOCK:
        return con.execute("DELETE FROM embeddings WHERE post_id IN (SELECT unnest(?::VARCHAR[])) AND model_id <> ?",
                           [list(post_ids), model_id]).fetchone()[0]


def drop_scores(con: duckdb.DuckDBPyConnection, post_ids: Sequence[str]) -> int:
    """Delete every model score, embedding and abuse feature of `post_ids` (their text changed); returns the rows
    deleted."""
    with WRITE_LOCK:
        return sum(con.execute(f"DELETE FROM {table} WHERE post_id IN (SELECT unnest(?::VARCHAR[]))",
                               [list(post_ids)]).fetchone()[0]
                   for table in ("model_scores", "embeddings", "abuse_features"))


def claim(con: duckdb.DuckDBPyConnection, post_id: str, moderator: str, now: datetime, expires: datetime) -> bool:
    """Take the claim on `post_id` for `moderator` until `expires` if it is free, expired or already theirs; False
    when another moderator's live claim holds it. One upsert under the write lock, so racing callers in this
    process are serialised and exactly one of them wins."""
    with WRITE_LOCK:
        return bool(con.execute("""
            INSERT INTO claims VALUES ($post_id, $moderator, $now, $expires)
            ON CONFLICT (post_id) DO UPDATE SET moderator = excluded.moderator, claimed_at = excluded.claimed_at,
                                                expires_at = excluded.expires_at
            WHERE claims.expires_at <= $now OR claims.moderator = $moderator
            RETURNING post_id""", {"post_id": post_id, "moderator": moderator, "now": now,
                                   "expires": expires}).fetchall())


def release_claims(con: duckdb.DuckDBPyConnection, post_ids: Sequence[str], moderator: str) -> list[str]:
    """Drop `moderator`'s claims on `post_ids`; returns the posts they held."""
    with WRITE_LOCK:
        return [r[0] for r in con.execute(
            "DELETE FROM claims WHERE post_id IN (SELECT unnest(?::VARCHAR[])) AND moderator = ? RETURNING post_id",
            [list(post_ids), moderator]).fetchall()]
