"""The DuckDB store: schema, connection, and the only writer (upserts, appends, audit events, claims) and its lock."""
from analytics.store.connection import DEFAULT_DB, StoreLockedError, connect, db_path, table_counts
from analytics.store.schema import APPEND_ONLY, KEYS, SCHEMA
from analytics.store.writer import (
                                    HISTORY,
                                    WRITE_LOCK,
                                    advance_sequences,
                                    append,
                                    append_audit,
                                    carry_history,
                                    claim,
                                    drop_other_embeddings,
                                    drop_scores,
                                    next_id,
                                    release_claims,
                                    replace,
                                    transaction,
                                    upsert,
                                    upsert_select,
)

__all__ = ["APPEND_ONLY", "DEFAULT_DB", "HISTORY", "KEYS", "SCHEMA", "WRITE_LOCK", "StoreLockedError",
           "advance_sequences", "append", "append_audit", "carry_history", "claim", "connect", "db_path",
           "drop_other_embeddings", "drop_scores", "next_id", "release_claims", "replace", "table_counts",
           "transaction", "upsert", "upsert_select"]
