"""Opening the store: where it lives, the schema on first open, and a clear error when another process holds it."""
from __future__ import annotations

import os
import re
from pathlib import Path

import duckdb

from analytics.store.schema import APPEND_ONLY, KEYS, SCHEMA

DEFAULT_DB = Path(__file__).resolve().parents[2] / "data" / "social.duckdb"


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


def table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Row count of every table in the schema."""
    tables = list(KEYS) + list(APPEND_ONLY)
    return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
