"""The DuckDB store: schema, connection, and the only writer (upsert, append, audit, claims) with its lock."""
from analytics.store.connection import DEFAULT_DB, StoreLockedError, connect, db_path, table_counts
from analytics.store.schema import APPEND_ONLY, KEYS, SCHEMA
from analytics.store.writer import WRITE_LOCK, append, audit, claim, release, transaction, upsert, upsert_select

__all__ = ["APPEND_ONLY", "DEFAULT_DB", "KEYS", "SCHEMA", "WRITE_LOCK", "StoreLockedError", "append", "audit",
           "claim", "connect", "db_path", "release", "table_counts", "transaction", "upsert", "upsert_select"]
