"""The dashboard's inbox: how `python -m analytics.ingest` and `python -m analytics.claims add` write while the
dashboard owns the store.

DuckDB lets one process write a store file, and while the dashboard runs that process is the dashboard. So the CLI
validates its file itself and hands the batch over through a folder beside the store; the dashboard's worker imports
each batch in one transaction, audited like any import (analytics.data.ingest.drain_inbox), and leaves a receipt that
the CLI waits for. This module is only the folder's format.

`<store>.inbox/` holds:
- `owner.json`: the dashboard's pid, rewritten every few seconds while its worker runs;
- per import batch `<id>.posts.parquet`, `<id>.users.parquet` and `<id>.json` (kind 'posts'), written last, so a
  batch exists once its `.json` does; a claim to add is its `<id>.json` alone (kind 'claim');
- `<id>.receipt.json`: the import's result or its error. The batch's files are removed once it has a receipt.
"""
from __future__ import annotations

import json
import os
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

STALE_S = 30.0  # an owner file older than this belongs to a dashboard that is gone


def inbox_dir(db: str | Path) -> Path:
    """The inbox folder of the store at `db`."""
    return Path(f"{db}.inbox")


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, default=str))
    os.replace(tmp, path)


def beat(box: Path) -> None:
    """Record that this process owns the store and drains the inbox (called every few seconds by the worker)."""
    box.mkdir(parents=True, exist_ok=True)
    _write_json(box / "owner.json", {"pid": os.getpid(), "at": time.time()})


def owner(box: Path) -> int | None:
    """The pid of the dashboard draining this inbox, or None when no live process has done so recently."""
    try:
        info = json.loads((box / "owner.json").read_text())
        pid = int(info["pid"])
        os.kill(pid, 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return pid if time.time() - float(info["at"]) < STALE_S else None


def submit(box: Path, meta: dict[str, Any], posts: pd.DataFrame | None = None,
           users: pd.DataFrame | None = None) -> str:
    """Queue work for the dashboard (metadata, with `kind` 'posts' for an import batch of posts and users, or
    'claim'); returns its id."""
    box.mkdir(parents=True, exist_ok=True)
    batch_id = f"{datetime.now(timezone.utc):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    if posts is not None:
        posts.to_parquet(box / f"{batch_id}.posts.parquet", index=False)
    if users is not None:
        users.to_parquet(box / f"{batch_id}.users.parquet", index=False)
    _write_json(box / f"{batch_id}.json", {"kind": "posts", **meta,
                                           "submitted_at": datetime.now(timezone.utc).isoformat()})
    return batch_id


def pending(box: Path, kind: str = "posts") -> list[str]:
    """Ids of the queued work of `kind`, oldest first."""
    if not box.is_dir():
        return []
    ids = sorted(p.name.removesuffix(".json") for p in box.glob("*.json")
                 if p.name != "owner.json" and not p.name.endswith(".receipt.json"))
    return [i for i in ids if _kind(box / f"{i}.json") == kind]


def _kind(path: Path) -> str | None:
    try:
        return json.loads(path.read_text()).get("kind", "posts")
    except (OSError, ValueError):  # closed meanwhile, or half written
        return None


def _files(box: Path, batch_id: str) -> list[Path]:
    return [box / f"{batch_id}{suffix}" for suffix in (".json", ".posts.parquet", ".users.parquet")]


def read(box: Path, batch_id: str) -> tuple[dict[str, Any], pd.DataFrame | None, pd.DataFrame | None]:
    """Queued work: (metadata, posts, users); the frames are None when it has none."""
    meta, posts, users = _files(box, batch_id)
    frames = [pd.read_parquet(p) if p.exists() else None for p in (posts, users)]
    return json.loads(meta.read_text()), *frames


def close(box: Path, batch_id: str, receipt: dict[str, Any]) -> None:
    """Write the batch's receipt and remove its files."""
    _write_json(box / f"{batch_id}.receipt.json", {"id": batch_id, **receipt})
    for path in _files(box, batch_id):
        path.unlink(missing_ok=True)


def wait(box: Path, batch_id: str, timeout: float, poll: float = 0.5) -> dict[str, Any] | None:
    """The batch's receipt once the dashboard has written it, or None after `timeout` seconds."""
    path = box / f"{batch_id}.receipt.json"
    deadline = time.monotonic() + timeout
    while True:
        if path.exists():
            return json.loads(path.read_text())
        if time.monotonic() >= deadline:
            return None
        time.sleep(poll)
