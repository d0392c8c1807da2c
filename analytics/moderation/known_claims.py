"""Known false claims that moderators maintain, and the posts that repeat them in any words or language.

A claim has its text, a verdict, a source link, who added it and when, and examples: posts moderators confirmed as
the claim in other words (as Meedan Check gathers a claim's matched items). Every change is audited. The text and
each example are embedded with the same multilingual encoder as the posts; a post's similarity to a claim is its
highest cosine to any of them, so a paraphrase or a translation matches. Embedding needs the model
(analytics.models), so the caller passes `embed`; matching itself imports no torch.

Known limit, measured on the sample: a true report of the same event ("Winter storm forces airlines to cancel 2,000
flights") scores 0.926 against the false claim that the storm was an excuse; cosine does not read stance, so the
threshold sits above it and the examples carry the recall.
"""
from __future__ import annotations

from datetime import datetime
from typing import Callable, Sequence

import duckdb
import numpy as np
import pandas as pd

from analytics import store
from analytics.access.auth import User, require
from analytics.data import inbox
from analytics.models.registry import EMBEDDING_MODEL, model_key

VERDICTS = ("false", "misleading", "unproven")
# Cosine (multilingual-e5, best over the claim's text and examples) at or above which a post repeats a claim. Tuned
# on the sample's injected narrative against every other post: see tests/test_known_claims.py and the README.
THRESHOLD = 0.93
Embed = Callable[[Sequence[str]], np.ndarray]


def _version() -> str:
    return model_key(EMBEDDING_MODEL)[1]


def claims(con: duckdb.DuckDBPyConnection, include_retired: bool = False) -> pd.DataFrame:
    """claim_id, text, verdict, source_url, added_by, added_at, retired_at, examples, embedded (by the current
    encoder)."""
    return con.execute(f"""
        SELECT claim_id, text, verdict, source_url, added_by, added_at, retired_at, examples,
               vecs IS NOT NULL AND model_version IS NOT DISTINCT FROM ? AS embedded
        FROM known_claims {'' if include_retired else 'WHERE retired_at IS NULL'} ORDER BY claim_id""",
                       [_version()]).df()


def _check(text: str, verdict: str, examples: Sequence[str] = ()) -> None:
    if not (text or "").strip() or not all((e or "").strip() for e in examples):
        raise ValueError("a claim and each of its examples need text")
    if verdict not in VERDICTS:
        raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}, not {verdict!r}")


def _vecs(embed: Embed, text: str, examples: Sequence[str]) -> list:
    return [v.tolist() for v in embed([text, *examples]).astype(np.float32)]


def add(con: duckdb.DuckDBPyConnection, user: User | None, text: str, verdict: str, source_url: str | None,
        examples: Sequence[str] = (), embed: Embed | None = None, now: datetime | None = None) -> int:
    """Add a claim (needs 'moderate'); embedded at once when `embed` is given. Audited. Returns its claim_id."""
    require(user, "moderate")
    _check(text, verdict, examples)
    text, examples = text.strip(), [e.strip() for e in examples]
    vecs = _vecs(embed, text, examples) if embed else None
    now = now or datetime.now()
    with store.transaction(con):
        claim_id = store.next_id(con, "known_claims")
        store.upsert(con, "known_claims", pd.DataFrame([{
            "claim_id": claim_id, "text": text, "verdict": verdict, "source_url": source_url or None,
            "added_by": user.username, "added_at": now, "retired_at": None, "examples": examples,
            "model_version": _version() if vecs else None, "vecs": vecs}]))
        store.append_audit(con, user.username, "claim_added", "known_claim", str(claim_id),
                           {"text": text, "verdict": verdict, "source_url": source_url, "examples": examples}, now)
    return claim_id


def update(con: duckdb.DuckDBPyConnection, user: User | None, claim_id: int, *, verdict: str | None = None,
           source_url: str | None = None, add_examples: Sequence[str] = (), retire: bool = False,
           now: datetime | None = None) -> None:
    """Change a claim's verdict or source, add examples (the claim then waits for the worker to embed it again),
    or retire it (it stops matching). Audited with old and new values."""
    require(user, "moderate")
    now = now or datetime.now()
    with store.transaction(con):
        old = con.execute("SELECT * FROM known_claims WHERE claim_id = ?", [claim_id]).df()
        if old.empty:
            raise KeyError(f"no claim {claim_id}")
        row = old.iloc[0].to_dict()
        examples = [*list(row["examples"] if row["examples"] is not None else []), *[e.strip() for e in add_examples]]
        new = {**row, "verdict": verdict or row["verdict"],
               "source_url": row["source_url"] if source_url is None else (source_url or None),
               "retired_at": now if retire else row["retired_at"], "examples": examples}
        if add_examples:
            new.update(model_version=None, vecs=None)
        _check(new["text"], new["verdict"], add_examples)
        store.upsert(con, "known_claims", pd.DataFrame([new]))
        changed = {k: {"old": str(row[k]), "new": str(new[k])} for k in ("verdict", "source_url", "retired_at")
                   if str(row[k]) != str(new[k])}
        if add_examples:
            changed["examples_added"] = list(add_examples)
        store.append_audit(con, user.username, "claim_retired" if retire else "claim_changed", "known_claim",
                           str(claim_id), changed, now)


def embed_missing(con: duckdb.DuckDBPyConnection, embed: Embed) -> int:
    """Embed the claims without a vector from the current encoder (e.g. seeded by the sample build, or after the
    encoder changed); returns how many."""
    todo = con.execute("SELECT * FROM known_claims WHERE vecs IS NULL OR model_version IS DISTINCT FROM ?",
                       [_version()]).df()
    if todo.empty:
        return 0
    vecs = [_vecs(embed, t, list(e) if e is not None else []) for t, e in zip(todo["text"], todo["examples"])]
    with store.transaction(con):
        store.upsert(con, "known_claims", todo.assign(model_version=_version(), vecs=vecs))
    return len(todo)


def similarities(con: duckdb.DuckDBPyConnection, claim_ids: Sequence[int] | None = None,
                 at_least: float = -1.0) -> pd.DataFrame:
    """Per embedded post and live, embedded claim, where at least `at_least`: post_id, claim_id, similarity (its
    highest cosine to the claim's text or an example; best first). The input of `matches` and of threshold tuning."""
    empty = pd.DataFrame(columns=["post_id", "claim_id", "similarity"])
    sql = "SELECT claim_id, vecs FROM known_claims WHERE retired_at IS NULL AND vecs IS NOT NULL AND model_version = ?"
    params: list = [_version()]
    if claim_ids is not None:
        sql += " AND claim_id IN (SELECT unnest(?::BIGINT[]))"
        params.append([int(c) for c in claim_ids])
    cl = con.execute(sql, params).fetchnumpy()
    posts = con.execute("SELECT post_id, vec FROM embeddings WHERE model_id = ? AND model_version = ?",
                        list(model_key(EMBEDDING_MODEL))).fetchnumpy()
    if not len(cl["claim_id"]) or not len(posts["post_id"]):
        return empty
    post_vecs = np.stack(posts["vec"]).astype(np.float32)
    sims = np.stack([(post_vecs @ np.stack(list(v)).astype(np.float32).T).max(axis=1) for v in cl["vecs"]], axis=1)
    rows, cols = np.nonzero(sims >= at_least)
    out = pd.DataFrame({"post_id": np.asarray(posts["post_id"], dtype=object)[rows],
                        "claim_id": np.asarray(cl["claim_id"])[cols], "similarity": sims[rows, cols].astype(float)})
    return out.sort_values(["similarity", "post_id"], ascending=[False, True], ignore_index=True)


def matches(con: duckdb.DuckDBPyConnection, threshold: float = THRESHOLD,
            claim_ids: Sequence[int] | None = None) -> pd.DataFrame:
    """Posts that repeat a live claim: post_id, claim_id, similarity, created_at, author_id, text, verdict (best
    first). Only embedded posts and claims take part (the enrichment worker embeds posts on arrival)."""
    hits = similarities(con, claim_ids, threshold)
    if hits.empty:
        return pd.DataFrame(columns=["post_id", "claim_id", "similarity", "created_at", "author_id", "text",
                                     "verdict"])
    con.register("_hits", hits)
    try:
        return con.execute("""
            SELECT h.post_id, h.claim_id, h.similarity, p.created_at, p.author_id, p.text, k.verdict
            FROM _hits h JOIN posts p USING (post_id) JOIN known_claims k USING (claim_id)
            ORDER BY h.similarity DESC, h.post_id""").df()
    finally:
        con.unregister("_hits")


def drain_inbox(con: duckdb.DuckDBPyConnection, box) -> list[dict]:
    """Add every claim queued in the dashboard's inbox by `python -m analytics.claims add` (as its actor, a
    moderator on the command line) and write its receipt; returns the receipts. Run by the process that owns the
    store; the enrichment worker embeds the new claims."""
    receipts = []
    for batch_id in inbox.pending(box, "claim"):
        try:
            meta, _, _ = inbox.read(box, batch_id)
            actor = User(meta["actor"], meta["actor"], "moderator")
            receipt = {"ok": True, "claim_id": add(con, actor, meta["text"], meta["verdict"], meta.get("source_url"),
                                                   meta.get("examples") or [])}
        except Exception as e:  # noqa: BLE001 - reported to the CLI through the receipt; not retried
            receipt = {"ok": False, "error": f"{type(e).__name__}: {e}"}
        inbox.close(box, batch_id, receipt)
        receipts.append({"id": batch_id, **receipt})
    return receipts
