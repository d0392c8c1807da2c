"""Import user posts from CSV, Parquet or JSONL: validate the whole file first, then write it in one transaction.

Usage: python -m analytics.ingest FILE [--format {csv,parquet,jsonl}] [--map TARGET=SOURCE ...]
                                       [--encoding ENC] [--db PATH] [--dry-run]

While the dashboard runs it owns the store (DuckDB allows one writing process), so the validated batch is handed to
it through its inbox (analytics.data.inbox) and the command waits for the dashboard's receipt.

Exit codes: 0 imported, directly or by the dashboard (or the dry run passed); 2 the file has problems (nothing
written); 3 the store is locked by a process that is not a running dashboard (nothing written); 4 handed to the
dashboard, which had not imported it within --wait seconds (it stays queued and is imported later); 1 any other
failure (nothing written).
"""
from __future__ import annotations

import argparse
import codecs
import csv
import hashlib
import io
import json
import math
import numbers
import os
import re
import sys
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Sequence

import duckdb
import numpy as np
import pandas as pd

from analytics import moderation, store
from analytics.data import inbox, language
from analytics.data.corpus import extract_hashtags

REQUIRED = ("post_id", "author_id", "created_at", "text")
OPTIONAL = ("lang", "parent_id", "hashtags", "topic", "author_handle")
TARGETS = REQUIRED + OPTIONAL
FORMATS = ("csv", "parquet", "jsonl")
EXTENSIONS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl"}

MAX_TEXT_CHARS = 10_000        # longer post text is rejected
MAX_PROBLEMS = 50              # problems listed in an error message; the rest are counted
MAX_EPOCH_SECONDS = 1e11       # larger numbers are probably milliseconds, which we do not guess at
CSV_FIELD_LIMIT = 16 * 1024 * 1024

_SYNONYMS = {  # for the "did you mean --map ..." hint only
    "post_id": {"id", "post", "postid", "tweet_id", "status_id", "message_id", "uuid"},
    "author_id": {"user_id", "user", "userid", "author", "uid", "account_id", "owner_id"},
    "created_at": {"timestamp", "time", "date", "datetime", "ts", "created", "posted_at", "published_at"},
    "text": {"body", "content", "message", "tweet", "full_text", "post", "caption"},
}
_HASHTAG_SPLIT = re.compile(r"[\s,]+")
_EPOCH_RE = re.compile(r"[+-]?\d+(\.\d+)?")


class IngestError(ValueError):
    """The file cannot be imported; `problems` lists every reason found (nothing was written)."""

    def __init__(self, problems: Sequence[str], file: str | None = None):
        self.problems = list(problems)
        self.file = file
        super().__init__(format_problems(self.problems, file))


def format_problems(problems: Sequence[str], file: str | None = None, limit: int = MAX_PROBLEMS) -> str:
    """A readable, capped list of problems ("... and N more" past `limit`)."""
    n = len(problems)
    head = f"{file}: " if file else ""
    lines = [f"{head}{n} problem{'s' if n != 1 else ''} found, nothing was imported:"]
    lines += [f"  - {p}" for p in problems[:limit]]
    if n > limit:
        lines.append(f"  ... and {n - limit} more")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- reading

@dataclass
class _Raw:
    """A file as read: records keyed by the file's own column names, plus where each record came from."""
    fmt: str
    columns: list[str] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)
    lines: list[int | None] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    skip: set[int] = field(default_factory=set)    # indexes of records too broken to check field by field


_decode_state = threading.local()


def _collect_decode_error(exc: UnicodeError) -> tuple[str, int]:
    _decode_state.errors.append((exc.start, exc.object[exc.start:exc.end], exc.reason))
    return "\ufffd", exc.end


codecs.register_error("analytics.ingest.collect", _collect_decode_error)


def _decode(data: bytes, encoding: str) -> tuple[str, list[str]]:
    """Decode the whole file, reporting every undecodable byte by line number and byte offset."""
    _decode_state.errors = []
    try:
        text = data.decode(encoding, errors="analytics.ingest.collect")
    except LookupError:
        return "", [f"unknown encoding {encoding!r} (try utf-8, utf-8-sig, latin-1 or cp1252)"]
    problems = []
    for start, bad, reason in _decode_state.errors:
        line = data.count(b"\n", 0, start) + 1
        col = start - (data.rfind(b"\n", 0, start) + 1) + 1
        problems.append(f"line {line}, byte offset {start} (byte {col} of the line): cannot decode "
                        f"{bad[:4].hex(' ')} as {encoding} ({reason})")
    if problems:
        problems[0] += (f"; the file is not valid {encoding}: if it was saved in another encoding, pass it "
                        f"with --encoding (e.g. --encoding cp1252 or --encoding latin-1)")
    if text.startswith("\ufeff"):
        text = text[1:]
    return text, problems


def _decoded(kind: str, data: bytes, encoding: str) -> tuple[_Raw, str]:
    """A fresh _Raw holding the decoding problems (and 'empty file'), plus the decoded text."""
    raw = _Raw(kind)
    text, raw.problems = _decode(data, encoding)
    if not text.strip():
        raw.problems.append("the file is empty")
    return raw, text


def _read_csv(data: bytes, encoding: str) -> _Raw:
    raw, text = _decoded("csv", data, encoding)
    if not text.strip():
        return raw
    old_limit = csv.field_size_limit()
    csv.field_size_limit(max(old_limit, CSV_FIELD_LIMIT))
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        header: list[str] | None = None
        prev = 0
        try:
            for fields in reader:
                start, prev = prev + 1, reader.line_num
                if not fields or (len(fields) == 1 and not fields[0].strip()):
                    continue            # blank line
                if header is None:
                    header = [h.strip() for h in fields]
                    seen: set[str] = set()
                    for i, h in enumerate(header, 1):
                        if not h:
                            raw.problems.append(f"line {start}: header column {i} has no name")
                        elif h in seen:
                            raw.problems.append(f"line {start}: column {h!r} appears more than once in the header")
                        seen.add(h)
                    raw.columns = [h for h in header if h]
                    continue
                idx = len(raw.records)
                if len(fields) != len(header):
                    raw.problems.append(f"row {idx + 1} (line {start}): has {len(fields)} field"
                                        f"{'s' if len(fields) != 1 else ''} but the header has {len(header)} "
                                        f"(unquoted comma or missing quote?)")
                    raw.skip.add(idx)
                raw.records.append({h: (v if v != "" else None) for h, v in zip(header, fields) if h})
                raw.lines.append(start)
        except csv.Error as e:
            raw.problems.append(f"line {reader.line_num}: CSV parse error: {e}")
    finally:
        csv.field_size_limit(old_limit)
    if header is not None and not raw.records:
        raw.problems.append("the file has a header row but no data rows")
    return raw


def _read_jsonl(data: bytes, encoding: str) -> _Raw:
    raw, text = _decoded("jsonl", data, encoding)
    if not text.strip():
        return raw
    seen: dict[str, None] = {}
    for lineno, line in enumerate(text.split("\n"), 1):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raw.problems.append(f"line {lineno}: malformed JSON ({e.msg} at character {e.colno})")
            continue
        if not isinstance(obj, dict):
            raw.problems.append(f"line {lineno}: expected a JSON object per line, got {type(obj).__name__}")
            continue
        seen.update(dict.fromkeys(obj))
        raw.records.append(obj)
        raw.lines.append(lineno)
    raw.columns = list(seen)
    if not raw.records and not raw.problems:
        raw.problems.append("the file has no JSON rows")
    return raw


def _read_parquet(path: Path) -> _Raw:
    import pyarrow.parquet as pq

    raw = _Raw("parquet")
    try:
        table = pq.read_table(path)
    except Exception as e:  # pyarrow raises several types for a bad file
        raw.problems.append(f"cannot read the file as Parquet: {e}")
        return raw
    raw.columns = [c.strip() for c in table.column_names]
    raw.records = [{k.strip(): v for k, v in r.items()} for r in table.to_pylist()]
    raw.lines = [None] * len(raw.records)
    if not raw.records:
        raw.problems.append("the file has no rows")
    return raw


def detect_format(path: str | Path, fmt: str | None = None) -> str:
    """The file format: `fmt` if given, else from the extension; raise IngestError if neither says."""
    if fmt:
        if fmt not in FORMATS:
            raise IngestError([f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}"])
        return fmt
    ext = Path(path).suffix.lower()
    if ext not in EXTENSIONS:
        raise IngestError([f"cannot tell the format from the extension {ext or '(none)'!r}: "
                           f"pass --format {{{','.join(FORMATS)}}}"], Path(path).name)
    return EXTENSIONS[ext]


def _read(path: Path, fmt: str, encoding: str) -> _Raw:
    if not path.is_file():
        raise IngestError([f"file not found: {path}"], path.name)
    if path.stat().st_size == 0:
        return _Raw(fmt, problems=["the file is empty"])
    if fmt == "parquet":
        return _read_parquet(path)
    data = path.read_bytes()
    if not data.strip():
        return _Raw(fmt, problems=["the file is empty"])
    return _read_csv(data, encoding) if fmt == "csv" else _read_jsonl(data, encoding)


def _apply_mapping(raw: _Raw, mapping: dict[str, str] | None) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    """Rename the file's columns to target names. Returns (records, present target columns, problems)."""
    mapping = dict(mapping or {})
    problems = []
    avail = ", ".join(repr(c) for c in raw.columns) or "(none)"
    for target, source in mapping.items():
        if target not in TARGETS:
            problems.append(f"--map {target}={source}: {target!r} is not a target column "
                            f"(targets: {', '.join(TARGETS)})")
        elif source not in raw.columns:
            problems.append(f"--map {target}={source}: the file has no column {source!r} (columns: {avail})")
    sources = {t: mapping.get(t, t) for t in TARGETS}
    present = [t for t in TARGETS if sources[t] in raw.columns]
    if raw.columns or raw.records:
        missing = [t for t in REQUIRED if t not in present and t not in mapping]
        if missing:
            guesses = {t: next((c for c in raw.columns if c.lower() in _SYNONYMS[t]), None) for t in missing}
            hint = " ".join(f"--map {t}={c}" for t, c in guesses.items() if c) or f"--map {missing[0]}=YOUR_COLUMN"
            problems.append(
                f"missing required column{'s' if len(missing) > 1 else ''} {', '.join(repr(m) for m in missing)}; "
                f"the file has columns: {avail}. If they are named differently, map them with --map TARGET=SOURCE, "
                f"e.g. {hint}")
    records = [{t: r.get(sources[t]) for t in present} for r in raw.records]
    return records, present, problems


# ---------------------------------------------------------------------------------------------- validation

def _is_null(v: Any) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    return isinstance(v, np.datetime64) and np.isnat(v)


def _loc(i: int, lines: Sequence[int | None] | None) -> str:
    line = lines[i] if lines is not None and i < len(lines) else None
    return f"row {i + 1} (line {line})" if line is not None else f"row {i + 1}"


def _short(v: Any, n: int = 60) -> str:
    s = str(v)
    return repr(s if len(s) <= n else s[:n] + "...")


def _as_str(v: Any, col: str, where: str, problems: list[str], required: bool = False,
            strip: bool = True) -> str | None:
    """A scalar cell as a string (ints and integral floats allowed, for ids), or None with a problem noted."""
    if _is_null(v) or (isinstance(v, str) and strip and not v.strip()):
        if required:
            problems.append(f"{where}, column {col!r}: missing value")
        return None
    if isinstance(v, (bool, np.bool_)):
        problems.append(f"{where}, column {col!r}: expected text, got a boolean ({v})")
        return None
    if isinstance(v, numbers.Integral):
        s = str(int(v))
    elif isinstance(v, numbers.Real):
        s = str(int(v)) if float(v).is_integer() else str(v)
    elif isinstance(v, str):
        s = v.strip() if strip else v
    else:
        problems.append(f"{where}, column {col!r}: expected text, got {type(v).__name__} {_short(v)}")
        return None
    if "\x00" in s:
        problems.append(f"{where}, column {col!r}: contains a NUL byte (\\x00)")
        return None
    return s


def _epoch(x: float, original: Any, col: str, where: str, problems: list[str]) -> datetime | None:
    if not math.isfinite(x) or abs(x) > MAX_EPOCH_SECONDS:
        problems.append(f"{where}, column {col!r}: epoch value {_short(original)} is out of range "
                        f"(expected unix epoch seconds, not milliseconds)")
        return None
    try:
        return datetime.fromtimestamp(x, tz=timezone.utc).replace(tzinfo=None)
    except (OverflowError, OSError, ValueError):
        problems.append(f"{where}, column {col!r}: epoch value {_short(original)} is out of range")
        return None


def parse_timestamp(v: Any, col: str = "created_at", where: str = "value",
                    problems: list[str] | None = None) -> datetime | None:
    """ISO 8601 text, unix epoch seconds (number or digits) or a datetime -> naive UTC datetime (None if bad)."""
    problems = problems if problems is not None else []
    if _is_null(v) or (isinstance(v, str) and not v.strip()):
        problems.append(f"{where}, column {col!r}: missing value")
        return None
    if isinstance(v, np.datetime64):
        v = pd.Timestamp(v)
    if isinstance(v, datetime):  # includes pd.Timestamp
        dt = v.to_pydatetime() if isinstance(v, pd.Timestamp) else v
    elif isinstance(v, (bool, np.bool_)):
        problems.append(f"{where}, column {col!r}: cannot parse timestamp {v!r}")
        return None
    elif isinstance(v, numbers.Real):
        return _epoch(float(v), v, col, where, problems)
    elif isinstance(v, str):
        s = v.strip()
        if "\x00" in s:
            problems.append(f"{where}, column {col!r}: contains a NUL byte (\\x00)")
            return None
        if _EPOCH_RE.fullmatch(s):
            return _epoch(float(s), s, col, where, problems)
        try:
            dt = datetime.fromisoformat(s)
        except ValueError:
            problems.append(f"{where}, column {col!r}: cannot parse timestamp {_short(s)} "
                            f"(expected ISO 8601 such as 2024-05-01T12:30:00Z, or unix epoch seconds)")
            return None
    else:
        problems.append(f"{where}, column {col!r}: cannot parse timestamp from {type(v).__name__} {_short(v)}")
        return None
    if dt.tzinfo is not None:
        dt = dt.astimezone(timezone.utc).replace(tzinfo=None)
    return dt


def _hashtags(v: Any, text: str | None, where: str, problems: list[str]) -> list[str]:
    """Hashtags (lower-case, no '#', de-duplicated) from a list or a whitespace/comma separated string;
    taken from the text when the cell is empty."""
    if isinstance(v, (list, tuple, np.ndarray)):
        items = list(v)
    elif _is_null(v) or (isinstance(v, str) and not v.strip()):
        return extract_hashtags(text) if text else []
    elif isinstance(v, str):
        items = _HASHTAG_SPLIT.split(v)
    else:
        problems.append(f"{where}, column 'hashtags': expected a list or a string, got {type(v).__name__} {_short(v)}")
        return []
    tags = []
    for item in items:
        if _is_null(item):
            continue
        if not isinstance(item, str):
            problems.append(f"{where}, column 'hashtags': expected text items, got {type(item).__name__} {_short(item)}")
            continue
        if "\x00" in item:
            problems.append(f"{where}, column 'hashtags': contains a NUL byte (\\x00)")
            continue
        tag = item.strip().lstrip("#").lower()
        if tag:
            tags.append(tag)
    return list(dict.fromkeys(tags))


def _check(records: list[dict[str, Any]], present: Sequence[str], lines: Sequence[int | None] | None,
           skip: Iterable[int] = ()) -> tuple[list[str], list[dict[str, Any]]]:
    """Check every record (already keyed by target names). Returns (problems, normalised post rows)."""
    problems: list[str] = []
    rows: list[dict[str, Any]] = []
    first_seen: dict[str, int] = {}
    skip = set(skip)
    for i, r in enumerate(records):
        if i in skip:
            continue
        where = _loc(i, lines)
        row: dict[str, Any] = {}
        for col in ("post_id", "author_id"):
            row[col] = _as_str(r.get(col), col, where, problems, required=True) if col in present else None
        if "created_at" in present:
            row["created_at"] = parse_timestamp(r.get("created_at"), "created_at", where, problems)
        text = None
        if "text" in present:
            v = r.get("text")
            if _is_null(v):
                problems.append(f"{where}, column 'text': text is empty (missing value)")
            else:
                text = _as_str(v, "text", where, problems, strip=False)
                if text is not None and not text.strip():
                    problems.append(f"{where}, column 'text': text is empty or only whitespace")
                    text = None
                elif text is not None and len(text) > MAX_TEXT_CHARS:
                    problems.append(f"{where}, column 'text': text is {len(text):,} characters long "
                                    f"(the limit is {MAX_TEXT_CHARS:,})")
                    text = None
        row["text"] = text
        for col in ("lang", "parent_id", "topic", "author_handle"):
            row[col] = _as_str(r.get(col), col, where, problems) if col in present else None
        row["hashtags"] = _hashtags(r.get("hashtags") if "hashtags" in present else None, text, where, problems)
        pid = row["post_id"]
        if pid is not None:
            if pid in first_seen:
                j = first_seen[pid]
                problems.append(f"{where}, column 'post_id': duplicate post_id {_short(pid)}, "
                                f"already used in {_loc(j, lines)}")
            else:
                first_seen[pid] = i
        rows.append(row)
    return problems, rows


def validate_frame(df: pd.DataFrame, lines: Sequence[int | None] | None = None) -> list[str]:
    """Every problem in a frame whose columns already carry target names ([] when it can be imported).
    `lines[i]` is the file line of row i, used in messages when given."""
    raw = _Raw("frame", columns=[str(c) for c in df.columns], records=df.to_dict("records"))
    if df.empty:
        return ["no rows to import"]
    records, present, problems = _apply_mapping(raw, None)
    row_problems, _ = _check(records, present, lines)
    return problems + row_problems


# ---------------------------------------------------------------------------------------------- loading and writing

@dataclass
class Batch:
    """A validated file, ready to write: the posts and the users of their authors."""
    file: str
    fmt: str
    posts: pd.DataFrame
    users: pd.DataFrame


def _languages(rows: list[dict]) -> list[str]:
    """Each row's language: as given, else detected from its text (analytics.data.language)."""
    missing = [i for i, r in enumerate(rows) if not r["lang"]]
    found = dict(zip(missing, language.detect([rows[i]["text"] for i in missing])))
    return [r["lang"] or found[i] for i, r in enumerate(rows)]


def load_file(path: str | Path, mapping: dict[str, str] | None = None, fmt: str | None = None,
              encoding: str = "utf-8", name: str | None = None) -> Batch:
    """Read and validate a whole file without touching the database; raise IngestError listing every problem."""
    path = Path(path)
    name = name or path.name
    fmt = detect_format(name, fmt)
    raw = _read(path, fmt, encoding)
    records, present, map_problems = _apply_mapping(raw, mapping)
    problems = raw.problems + map_problems
    row_problems, rows = _check(records, present, raw.lines if fmt != "parquet" else None, raw.skip)
    problems += row_problems
    if problems:
        raise IngestError(problems, name)

    source = f"import:{name}"
    posts = pd.DataFrame({
        "post_id": pd.Series([r["post_id"] for r in rows], dtype=object),
        "author_id": pd.Series([r["author_id"] for r in rows], dtype=object),
        "created_at": pd.Series([r["created_at"] for r in rows], dtype="datetime64[us]"),
        "text": pd.Series([r["text"] for r in rows], dtype=object),
        "lang": pd.Series(_languages(rows), dtype=object),
        "hashtags": pd.Series([r["hashtags"] for r in rows], dtype=object),
        "topic": pd.Series([r["topic"] for r in rows], dtype=object),
        "parent_id": pd.Series([r["parent_id"] for r in rows], dtype=object),
        "source": pd.Series([source] * len(rows), dtype=object),
    })
    handles: dict[str, str] = {}
    for r in rows:
        if r["author_id"] not in handles or (handles[r["author_id"]] == r["author_id"] and r["author_handle"]):
            handles[r["author_id"]] = (r["author_handle"] or "").lstrip("@") or r["author_id"]
    users = pd.DataFrame({
        "user_id": pd.Series(list(handles), dtype=object),
        "handle": pd.Series(list(handles.values()), dtype=object),
        "display_name": pd.Series([None] * len(handles), dtype=object),
        "created_at": pd.Series([pd.NaT] * len(handles), dtype="datetime64[us]"),
        "community": pd.Series([None] * len(handles), dtype=object),
        "source": pd.Series([source] * len(handles), dtype=object),
    })
    return Batch(name, fmt, posts, users)


def _existing(con: duckdb.DuckDBPyConnection, table: str, key: str, ids: list[str]) -> set[str]:
    # table/key come from the fixed calls below, never from user input; the ids are a bound parameter.
    sql = f"SELECT {key} FROM {table} WHERE {key} IN (SELECT unnest(?::VARCHAR[]))"
    return {r[0] for r in con.execute(sql, [ids]).fetchall()}


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def write_batch(con: duckdb.DuckDBPyConnection, batch: Batch, actor: str | None = None,
                via: str | None = None) -> dict[str, Any]:
    """Write a validated batch in ONE transaction (users first seen, posts upserted, one audit row); all or nothing.
    `via` (e.g. the dashboard's inbox) is recorded in the audit event."""
    actor = actor or os.environ.get("USER") or "cli"
    ids = batch.posts["post_id"].tolist()
    with store.transaction(con):
        old_text = dict(con.execute("SELECT post_id, text FROM posts WHERE post_id IN (SELECT unnest(?::VARCHAR[]))",
                                    [ids]).fetchall())
        new_text = dict(zip(ids, batch.posts["text"]))
        changed = sorted(p for p, text in old_text.items() if text != new_text[p])
        known = _existing(con, "users", "user_id", batch.users["user_id"].tolist())
        new_users = batch.users[~batch.users["user_id"].isin(known)].reset_index(drop=True)
        store.upsert(con, "users", new_users)
        store.upsert(con, "posts", batch.posts)
        # Scores of the old text would pass for the new one: drop them (the enrichment worker scores the new text)
        # and send decided posts back to the queue.
        store.drop_scores(con, changed)
        reopened = moderation.reopen(con, changed, f"text changed on import of {batch.file}")
        result = {"file": batch.file, "format": batch.fmt, "rows": len(ids), "new": len(ids) - len(old_text),
                  "updated": len(old_text), "changed": len(changed), "new_authors": len(new_users), "dry_run": False}
        details = {k: result[k] for k in ("format", "rows", "new", "updated", "changed", "new_authors")}
        details["source"] = f"import:{batch.file}"
        details["text_changes"] = [{"post_id": p, "old_sha256": _sha(old_text[p]), "new_sha256": _sha(new_text[p])}
                                   for p in changed]
        details["reopened_decisions"] = reopened
        if via:
            details["via"] = via
        event_id = store.append_audit(con, actor, "import", "file", batch.file, details)
    result["event_id"] = event_id
    return result


def drain_inbox(con: duckdb.DuckDBPyConnection, box: Path) -> list[dict[str, Any]]:
    """Import every batch queued in the inbox `box` (each in its own transaction) and write its receipt
    ({ok, result} or {ok: False, error}); returns the receipts. Run by the process that owns the store."""
    receipts = []
    for batch_id in inbox.pending(box, "posts"):
        try:
            meta, posts, users = inbox.read(box, batch_id)
            result = write_batch(con, Batch(meta["file"], meta["format"], posts, users), meta["actor"],
                                 via="the dashboard's inbox")
            receipt = {"ok": True, "result": result}
        except Exception as e:  # noqa: BLE001 - reported to the CLI through the receipt; the batch is not retried
            receipt = {"ok": False, "error": f"{type(e).__name__}: {e}"}
        inbox.close(box, batch_id, receipt)
        receipts.append({"id": batch_id, **receipt})
    return receipts


def preview(con: duckdb.DuckDBPyConnection | None, batch: Batch) -> dict[str, Any]:
    """What writing `batch` would do, writing nothing: {file, format, rows, new, updated, changed (updated posts
    whose text differs: their scores are dropped and decisions reopened), new_authors, dry_run, event_id}; with
    `con` None (no store to compare with) the counts are None."""
    result: dict[str, Any] = {"file": batch.file, "format": batch.fmt, "rows": len(batch.posts), "new": None,
                              "updated": None, "changed": None, "new_authors": None, "dry_run": True,
                              "event_id": None}
    if con is not None:
        ids = batch.posts["post_id"].tolist()
        old_text = dict(con.execute("SELECT post_id, text FROM posts WHERE post_id IN (SELECT unnest(?::VARCHAR[]))",
                                    [ids]).fetchall())
        changed = sum(old_text[p] != t for p, t in zip(ids, batch.posts["text"]) if p in old_text)
        known = _existing(con, "users", "user_id", batch.users["user_id"].tolist())
        result.update(new=len(ids) - len(old_text), updated=len(old_text), changed=changed,
                      new_authors=len(batch.users) - len(known))
    return result


def import_file(con: duckdb.DuckDBPyConnection | None, path: str | Path, mapping: dict[str, str] | None = None,
                fmt: str | None = None, encoding: str = "utf-8", dry_run: bool = False, *,
                name: str | None = None, actor: str | None = None) -> dict[str, Any]:
    """Validate `path` fully, then (unless dry_run) write it in one transaction.

    Returns {file, format, rows, new, updated, changed (written only), new_authors, dry_run, event_id}; raises
    IngestError on a bad file (nothing written). `name` overrides the file name recorded in source/audit (e.g. an
    uploaded file's original name); with dry_run, `con` may be None (the new/updated counts are then None)."""
    batch = load_file(path, mapping, fmt, encoding, name=name)
    if dry_run:
        return preview(con, batch)
    return write_batch(con, batch, actor)


def summary(result: dict[str, Any]) -> str:
    """One line describing an import result."""
    n = result["rows"]
    posts = f"{n:,} post{'s' if n != 1 else ''}"
    if result["dry_run"]:
        if result["new"] is None:
            return f"Dry run: {posts} in {result['file']} are valid; nothing written."
        return (f"Dry run: {posts} in {result['file']} are valid: would be {result['new']:,} new, "
                f"{result['updated']:,} updated; {result['new_authors']:,} new authors. Nothing written.")
    changed = f" ({result['changed']:,} with new text: scored again, decisions reopened)" if result["changed"] else ""
    return (f"Imported {posts} from {result['file']}: {result['new']:,} new, {result['updated']:,} updated{changed}; "
            f"{result['new_authors']:,} new authors.")


# ---------------------------------------------------------------------------------------------- CLI

def _parse_map(s: str) -> tuple[str, str]:
    target, sep, source = s.partition("=")
    if not sep or not target.strip() or not source.strip():
        raise argparse.ArgumentTypeError(f"expected TARGET=SOURCE, got {s!r}")
    return target.strip(), source.strip()


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m analytics.ingest",
        description="Import user posts from CSV, Parquet or JSONL into the store. The whole file is validated "
                    "first and written in one transaction (all rows or none); re-importing updates rows.",
        epilog=f"Columns: required {', '.join(REQUIRED)}; optional {', '.join(OPTIONAL)}. created_at: ISO 8601 "
               f"or unix epoch seconds (converted to UTC). hashtags: a list or a whitespace/comma separated "
               f"string; taken from #tags in the text when absent. "
               f"While the dashboard runs, the batch is handed to it and imported by it. Exit codes: 0 imported, 2 "
               f"problems in the file, 3 store locked by a process that is not a dashboard, 4 handed to the "
               f"dashboard but not imported within --wait seconds (still queued), 1 other error.")
    p.add_argument("file", type=Path, help="the file to import (.csv, .parquet, .jsonl)")
    p.add_argument("--format", choices=FORMATS, help="file format (default: from the extension)")
    p.add_argument("--map", dest="mapping", action="append", type=_parse_map, default=[], metavar="TARGET=SOURCE",
                   help="read target column TARGET from the file's column SOURCE (repeatable), e.g. --map text=body")
    p.add_argument("--encoding", default="utf-8", help="text encoding of CSV/JSONL files (default: utf-8)")
    p.add_argument("--db", type=Path, default=None, help="database file (default: $SOCIAL_DB or data/social.duckdb)")
    p.add_argument("--dry-run", action="store_true", help="validate only; write nothing")
    p.add_argument("--wait", type=float, default=120.0, metavar="SECONDS",
                   help="when the dashboard imports the batch, wait this long for its receipt (default: 120)")
    return p


def _hand_over(db: Path, batch: Batch, actor: str, wait: float, locked: store.StoreLockedError) -> int:
    box = inbox.inbox_dir(db)
    pid = inbox.owner(box)
    if pid is None:
        print(f"error: the store is locked and no running dashboard takes imports, nothing was imported: {locked}",
              file=sys.stderr)
        return 3
    batch_id = inbox.submit(box, {"file": batch.file, "format": batch.fmt, "actor": actor}, batch.posts, batch.users)
    print(f"The dashboard (process {pid}) owns {db}: handed the validated batch to it as {box / batch_id}.")
    receipt = inbox.wait(box, batch_id, wait)
    if receipt is None:
        print(f"The dashboard has not imported it within {wait:g} s; it stays queued and is imported when the "
              f"dashboard's worker next looks (its receipt will be {box / batch_id}.receipt.json).")
        return 4
    if not receipt["ok"]:
        print(f"error: the dashboard could not import it, nothing was imported: {receipt['error']}", file=sys.stderr)
        return 1
    print(summary(receipt["result"]) + " Imported by the dashboard, which scores the new posts in the background.")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    args = _parser().parse_args(argv)
    mapping = dict(args.mapping)
    db = args.db or store.db_path()
    actor = os.environ.get("USER") or "cli"
    try:
        batch = load_file(args.file, mapping, args.format, args.encoding)
    except IngestError as e:
        print(e, file=sys.stderr)
        return 2
    try:
        if args.dry_run:
            try:
                con = store.connect(db, read_only=True)
            except (FileNotFoundError, store.StoreLockedError):
                con = None      # validation passed; new/updated counts need the database
            try:
                result = preview(con, batch)
            finally:
                if con is not None:
                    con.close()
        else:
            try:
                con = store.connect(db)
            except store.StoreLockedError as e:
                return _hand_over(db, batch, actor, args.wait, e)
            try:
                result = write_batch(con, batch, actor)
            finally:
                con.close()
    except duckdb.Error as e:
        print(f"error: the database write failed and was rolled back, nothing was imported: {e}", file=sys.stderr)
        return 1
    print(summary(result))
    return 0

