"""Small helpers shared by test modules (pytest puts tests/ on sys.path)."""
from pathlib import Path

from analytics import store


def query(path: Path, sql: str, params: list | None = None) -> list[tuple]:
    """Rows of `sql` on the store at `path`, opened read-write like the app's connection in this process (DuckDB
    needs one configuration per file within a process)."""
    con = store.connect(path)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()
