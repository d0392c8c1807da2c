"""Import page helpers: the column-mapping text, an upload (name, bytes) validated into a batch, the preview
against the store and the one-transaction write, followed by clearing cached query results and waking the
enrichment worker."""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from analytics import store
from analytics.access import auth
from analytics.data import ingest
from components import caching
from components.enrichment import worker
from components.resources import cursor

ENCODINGS = ("utf-8", "utf-8-sig", "cp1252", "latin-1")
UPLOAD_TYPES = tuple(ext.lstrip(".") for ext in ingest.EXTENSIONS)  # csv, parquet, pq, jsonl, ndjson
PREVIEW_ROWS = 20
PREVIEW_COLUMNS = ["post_id", "author_id", "created_at", "text", "lang", "topic"]


def parse_mapping(text: str) -> dict[str, str]:
    """'TARGET=SOURCE, TARGET=SOURCE' -> {TARGET: SOURCE} ({} for blank text); ValueError naming the bad part.
    Whether TARGET is a target column and SOURCE a column of the file is checked with the file (load_file)."""
    mapping: dict[str, str] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        target, sep, source = part.partition("=")
        target, source = target.strip(), source.strip()
        if not sep or not target or not source:
            raise ValueError(f"column mapping: expected TARGET=SOURCE, got {part.strip()!r} "
                             f"(pairs separated by commas, e.g. text=body, created_at=timestamp)")
        if target in mapping:
            raise ValueError(f"column mapping: {target!r} is mapped twice ({target}={mapping[target]}, "
                             f"{target}={source})")
        mapping[target] = source
    return mapping


def validate_upload(name: str, content: bytes, mapping: dict[str, str] | None = None,
                    encoding: str = "utf-8") -> ingest.Batch:
    """Validate an uploaded file (its original name and bytes) exactly as the CLI does, touching no database;
    raises ingest.IngestError listing every problem."""
    with tempfile.TemporaryDirectory(prefix="social-import-") as tmp:
        path = Path(tmp) / "upload"  # the format comes from `name`, never from this path
        path.write_bytes(content)
        return ingest.load_file(path, mapping, None, encoding, name=name)


def store_counts() -> dict[str, int]:
    """Row count of every table of the store, read now (a page's before/after numbers around an import)."""
    with cursor() as cur:
        return store.table_counts(cur)


def preview(batch: ingest.Batch) -> dict[str, Any]:
    """What importing `batch` would do to the store now (new, updated, changed, new_authors); writes nothing."""
    with cursor() as cur:
        return ingest.preview(cur, batch)


def write(user: auth.User, batch: ingest.Batch) -> dict[str, Any]:
    """Write `batch` in one transaction as `user` (who needs import_posts; the audit row names them), then drop cached
    query results and wake the enrichment worker so the new and changed posts are scored in the background."""
    auth.require(user, "import_posts")
    with cursor() as cur:
        result = ingest.write_batch(cur, batch, actor=user.username)
    caching.clear("posts")
    worker().wake()
    return result


def enrichment_running() -> bool:
    """Whether the background enrichment worker runs in this process (off with SOCIAL_ENRICH=0)."""
    return worker().running
