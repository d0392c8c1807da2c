"""Decisions as events: decide, bulk decide and undo append to `moderation_decisions` (never updated or deleted)
with their `audit_log` rows in the same transaction; a post's state is its latest decision no undo cancels."""
from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Callable, Sequence

import duckdb
import pandas as pd

from analytics import store
from analytics.access.auth import User, require
from analytics.moderation.flags import period, run
from analytics.moderation.policy import UNDO, reason_codes
from analytics.store.sql import NOT_UNDONE, STATES_CTE

CHUNK = 100  # decisions per append in bulk_decide, and per progress call
SYSTEM = "system"  # the moderator name of events no person made (a post reopened because its text changed)


class ClaimedByOther(RuntimeError):
    """The post is held by another moderator's unexpired claim."""


def _check_posts(con: duckdb.DuckDBPyConnection, post_ids: list[str], moderator: str, now: datetime) -> None:
    """Every post exists and none is held by another moderator's live claim (call inside the write transaction)."""
    if len(set(post_ids)) != len(post_ids):
        raise ValueError("the same post is listed twice")
    known = {r[0] for r in con.execute("SELECT post_id FROM posts WHERE post_id IN (SELECT unnest(?::VARCHAR[]))",
                                       [post_ids]).fetchall()}
    missing = [p for p in post_ids if p not in known]
    if missing:
        raise KeyError(f"unknown post(s): {', '.join(missing[:5])}")
    held = con.execute("""SELECT post_id, moderator FROM claims WHERE post_id IN (SELECT unnest(?::VARCHAR[]))
                          AND moderator <> ? AND expires_at > ? ORDER BY post_id""",
                       [post_ids, moderator, now]).fetchall()
    if held:
        raise ClaimedByOther("claimed by another moderator: " + ", ".join(f"{p} ({m})" for p, m in held[:5]))


def _append(con: duckdb.DuckDBPyConnection, moderator: str, post_ids: list[str], action: str, now: datetime,
            reason_code: str | None = None, note: str | None = None, batch_id: str | None = None,
            undoes: list[int] | None = None, progress: Callable[[int, int], None] | None = None) -> list[int]:
    ids: list[int] = []
    for start in range(0, len(post_ids), CHUNK):
        chunk = post_ids[start:start + CHUNK]
        ids += store.append(con, "moderation_decisions", pd.DataFrame({
            "post_id": chunk, "moderator": moderator, "action": action, "reason_code": reason_code, "note": note,
            "batch_id": batch_id, "undoes": undoes[start:start + CHUNK] if undoes else None, "created_at": now}))
        if progress:
            progress(len(ids), len(post_ids))
    return ids


def decide(con: duckdb.DuckDBPyConnection, user: User | None, post_id: str, action: str, reason_code: str,
           note: str | None = None, now: datetime | None = None) -> int:
    """Record `user`'s decision on a post (with its audit row, in one transaction) and release their claim.

    Needs the 'moderate' capability. ValueError for an action or reason code outside POLICY, KeyError for an
    unknown post, ClaimedByOther when another moderator holds a live claim on it (only claims committed before
    this transaction are seen: claim first when others may be working the same queue). Returns the decision_id.
    """
    require(user, "moderate")
    if reason_code not in reason_codes(action):
        raise ValueError(f"reason {reason_code!r} does not go with {action!r}; use one of {reason_codes(action)}")
    now = now or datetime.now()
    with store.transaction(con):
        _check_posts(con, [post_id], user.username, now)
        (decision_id,) = _append(con, user.username, [post_id], action, now, reason_code, note)
        details = {"decision_id": decision_id, "action": action, "reason_code": reason_code, "note": note}
        store.append_audit(con, user.username, "decide", "post", post_id, details, now)
        store.release_claims(con, [post_id], user.username)
    return decision_id


def bulk_decide(con: duckdb.DuckDBPyConnection, user: User | None, post_ids: Sequence[str], action: str,
                reason_code: str, note: str | None = None, now: datetime | None = None,
                progress: Callable[[int, int], None] | None = None) -> str:
    """Record one decision on many posts: all or none, in one transaction, sharing a new batch_id (returned),
    with one audit row for the batch. `progress(done, total)` is called inside the transaction after each
    CHUNK of rows. Same checks as decide()."""
    require(user, "moderate")
    if reason_code not in reason_codes(action):
        raise ValueError(f"reason {reason_code!r} does not go with {action!r}; use one of {reason_codes(action)}")
    post_ids = list(post_ids)
    if not post_ids:
        raise ValueError("no posts selected")
    now, batch_id = now or datetime.now(), str(uuid.uuid4())
    with store.transaction(con):
        _check_posts(con, post_ids, user.username, now)
        ids = _append(con, user.username, post_ids, action, now, reason_code, note, batch_id, progress=progress)
        store.append_audit(con, user.username, "bulk_decide", "batch", batch_id,
                           {"action": action, "reason_code": reason_code, "note": note, "count": len(ids),
                            "decision_ids": [ids[0], ids[-1]], "post_ids": post_ids}, now)
        store.release_claims(con, post_ids, user.username)
    return batch_id


def undo_last(con: duckdb.DuckDBPyConnection, user: User | None, now: datetime | None = None) -> int | None:
    """Undo `user`'s latest decision not yet undone by appending an 'undo' event (undoes=its id) and an audit row;
    returns the undone decision_id, or None when there is nothing to undo. Repeated calls step further back.

    If that decision belongs to a batch, the whole batch is undone: one undo event per decision still standing,
    sharing a new batch_id. Undo events themselves are never undone (decide again instead).
    """
    require(user, "moderate")
    now = now or datetime.now()
    with store.transaction(con):
        last = con.execute(f"""SELECT decision_id, post_id, batch_id FROM moderation_decisions d
                               WHERE moderator = ? AND {NOT_UNDONE} ORDER BY decision_id DESC LIMIT 1""",
                           [user.username]).fetchall()
        if not last:
            return None
        decision_id, post_id, batch_id = last[0]
        targets = con.execute(f"""SELECT decision_id, post_id FROM moderation_decisions d
                                  WHERE batch_id = ? AND moderator = ? AND {NOT_UNDONE} ORDER BY decision_id""",
                              [batch_id, user.username]).fetchall() if batch_id else [(decision_id, post_id)]
        undo_batch = str(uuid.uuid4()) if batch_id else None
        undone = [t[0] for t in targets]
        ids = _append(con, user.username, [t[1] for t in targets], UNDO, now, batch_id=undo_batch, undoes=undone)
        store.append_audit(con, user.username, "undo", "batch" if batch_id else "post", batch_id or post_id,
                           {"undoes": undone, "undo_ids": ids, "batch_id": undo_batch, "count": len(ids)}, now)
    return decision_id


def reopen(con: duckdb.DuckDBPyConnection, post_ids: Sequence[str], note: str,
           now: datetime | None = None) -> list[int]:
    """Send decided posts back to the queue (their text changed): every decision still standing on them gets an
    'undo' event by SYSTEM with `note`, so they are undecided again. Call inside the caller's transaction; returns
    the undone decision ids (none for posts never decided)."""
    standing = con.execute(f"""SELECT decision_id, post_id FROM moderation_decisions d
                               WHERE post_id IN (SELECT unnest(?::VARCHAR[])) AND {NOT_UNDONE}
                               ORDER BY decision_id""", [list(post_ids)]).fetchall()
    if standing:
        _append(con, SYSTEM, [p for _, p in standing], UNDO, now or datetime.now(), note=note,
                undoes=[d for d, _ in standing])
    return [d for d, _ in standing]


def post_states(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Current state of every decided post: post_id, state (approve/remove/escalate), decision_id, moderator,
    reason_code, decided_at. Posts never decided, or with every decision undone, are absent (undecided)."""
    return run(con, f"WITH {STATES_CTE} SELECT * FROM states ORDER BY post_id", {}).df()


def audit(con: duckdb.DuckDBPyConnection, user: User | None, moderator: str | None = None,
          action: str | None = None, start: date | None = None, end: date | None = None,
          limit: int = 5000) -> pd.DataFrame:
    """The decision log, newest first (needs 'view_audit'): decision_id, created_at, moderator, action,
    reason_code, note, batch_id, undoes, undone (a later undo cancels it), post_id, handle, preview (of the text).
    Filters: moderator, action, start/end dates (end inclusive)."""
    require(user, "view_audit")
    params: dict = {"limit": limit, "moderator": moderator, "action": action}
    conds = ["TRUE"] + period(start, end, "d.created_at", params)
    if moderator:
        conds.append("d.moderator = $moderator")
    if action:
        conds.append("d.action = $action")
    return run(con, f"""
        SELECT d.decision_id, d.created_at, d.moderator, d.action, d.reason_code, d.note, d.batch_id, d.undoes,
               EXISTS (SELECT 1 FROM moderation_decisions x WHERE x.action = 'undo' AND x.undoes = d.decision_id)
                   AS undone,
               d.post_id, u.handle, left(p.text, 140) AS preview
        FROM moderation_decisions d LEFT JOIN posts p USING (post_id) LEFT JOIN users u ON u.user_id = p.author_id
        WHERE {' AND '.join(conds)} ORDER BY d.decision_id DESC LIMIT $limit""", params).df()
