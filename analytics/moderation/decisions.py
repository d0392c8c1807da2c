"""Decisions as events: decide, bulk decide and undo append to `moderation_decisions` (never updated or deleted)
with their `audit_log` rows in the same transaction; a post's state is its latest decision no undo cancels.

Every write is tied to what the moderator saw: decide() and bulk_decide() take the standing decision_id each post
had on screen (`seen`, None for undecided) and refuse or skip posts whose state changed since; undo_last() can be
tied to the decision it was shown undoing and needs confirm_batch=True before it cancels a whole batch."""
from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Callable, NamedTuple, Sequence

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


class Changed(NamedTuple):
    """A post whose state is no longer the one the moderator saw: seen and current are standing decision_ids (None:
    undecided), state the current one (approve/remove/escalate, None: undecided), by the moderator of the post's
    latest event (the decision or undo that changed it; None if the post was never decided)."""

    post_id: str
    seen: int | None
    current: int | None
    state: str | None
    by: str | None


class StaleDecision(RuntimeError):
    """The post's state changed since the moderator saw it (someone decided or undid meanwhile); nothing was
    written. Attributes: post_id, seen, current, state, by (see Changed)."""

    def __init__(self, post_id: str, seen: int | None, current: int | None, state: str | None = None,
                 by: str | None = None):
        self.post_id, self.seen, self.current, self.state, self.by = post_id, seen, current, state, by
        super().__init__(f"post {post_id} changed since it was seen: decision {seen} seen, now {current} "
                         f"({state or 'undecided'}, last changed by {by})")


class StaleUndo(RuntimeError):
    """The user's latest standing decision is no longer the one they were shown undoing; nothing was written."""

    def __init__(self, seen: int, current: int | None):
        self.seen, self.current = seen, current
        super().__init__(f"your latest decision is now {current}, not {seen}")


class ConfirmBatchUndo(RuntimeError):
    """Undoing the latest decision would cancel a whole batch: ask, then call undo_last(confirm_batch=True).
    Attributes: decision_id, batch_id, count (decisions it would undo); nothing was written."""

    def __init__(self, decision_id: int, batch_id: str, count: int):
        self.decision_id, self.batch_id, self.count = decision_id, batch_id, count
        super().__init__(f"undoing decision {decision_id} undoes its whole batch of {count}: confirm first")


class BulkResult(NamedTuple):
    """What bulk_decide did: batch_id (None when every post was skipped and nothing was written), decided (post
    ids, in the order given) and skipped (posts whose state changed since they were reviewed, as Changed)."""

    batch_id: str | None
    decided: list[str]
    skipped: list[Changed]


def current_states(con: duckdb.DuckDBPyConnection, post_ids: Sequence[str]) -> dict[str, tuple]:
    """{post_id: (current standing decision_id, state, moderator of its latest event)} for those of `post_ids`
    with any decision event; posts never decided are absent (undecided, seen None)."""
    return {r[0]: r[1:] for r in con.execute(f"""
        WITH {STATES_CTE},
        last AS (SELECT post_id, arg_max(moderator, decision_id) AS by FROM moderation_decisions
                 WHERE post_id IN (SELECT unnest(?::VARCHAR[])) GROUP BY post_id)
        SELECT last.post_id, s.decision_id, s.state, last.by FROM last LEFT JOIN states s USING (post_id)""",
                                             [list(post_ids)]).fetchall()}


def seen_state(con: duckdb.DuckDBPyConnection, post_id: str) -> int | None:
    """The post's standing decision_id now (None: undecided): what to pass as `seen` for a decision taken on the
    post's current state, e.g. by a script that shows no one anything."""
    return current_states(con, [post_id]).get(post_id, (None,))[0]


def as_seen(value) -> int | None:
    """A `seen` value as decide() compares it: a decision_id, or None for undecided (NaN/NA from a DataFrame)."""
    return None if value is None or pd.isna(value) else int(value)


def _changed(con: duckdb.DuckDBPyConnection, reviewed: list[tuple[str, int | None]]) -> list[Changed]:
    now = current_states(con, [p for p, _ in reviewed])
    out = []
    for post_id, seen in reviewed:
        current, state, by = now.get(post_id, (None, None, None))
        if current != seen:
            out.append(Changed(post_id, seen, current, state, by))
    return out


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
           note: str | None = None, now: datetime | None = None, *, seen: int | None) -> int:
    """Record `user`'s decision on a post (with its audit row, in one transaction) and release their claim.

    `seen` is the post's state the decision was taken on: its standing decision_id as shown to the moderator
    (queue() and reported_posts() return it as decision_id; None for an undecided post). If the post's state is
    no longer that one, StaleDecision is raised and nothing is written.

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
        if changed := _changed(con, [(post_id, as_seen(seen))]):
            raise StaleDecision(*changed[0])
        (decision_id,) = _append(con, user.username, [post_id], action, now, reason_code, note)
        details = {"decision_id": decision_id, "action": action, "reason_code": reason_code, "note": note,
                   "seen": as_seen(seen)}
        store.append_audit(con, user.username, "decide", "post", post_id, details, now)
        store.release_claims(con, [post_id], user.username)
    return decision_id


def bulk_decide(con: duckdb.DuckDBPyConnection, user: User | None, reviewed: Sequence[tuple[str, int | None]],
                action: str, reason_code: str, note: str | None = None, now: datetime | None = None,
                progress: Callable[[int, int], None] | None = None, context: dict | None = None) -> BulkResult:
    """Record one decision on the posts the moderator reviewed: `reviewed` is the exact list of (post_id, seen)
    they had on screen (seen as for decide()). Posts whose state changed since are skipped and returned in
    `skipped`; no post outside the list is touched. The rest are decided all or none, in one transaction, sharing a
    new batch_id, with one audit row for the batch (none, and batch_id None, when every post was skipped).
    `progress(done, total)` is called inside the transaction after each CHUNK of rows; `context` (e.g. the
    campaign_id) is added to the audit row. Same checks as decide()
    (ValueError for an empty list or a post listed twice, KeyError, ClaimedByOther: nothing written)."""
    require(user, "moderate")
    if reason_code not in reason_codes(action):
        raise ValueError(f"reason {reason_code!r} does not go with {action!r}; use one of {reason_codes(action)}")
    reviewed = [(str(p), as_seen(s)) for p, s in reviewed]
    if not reviewed:
        raise ValueError("no posts selected")
    post_ids = [p for p, _ in reviewed]
    now, batch_id = now or datetime.now(), str(uuid.uuid4())
    with store.transaction(con):
        _check_posts(con, post_ids, user.username, now)
        skipped = _changed(con, reviewed)
        gone = {c.post_id for c in skipped}
        post_ids = [p for p in post_ids if p not in gone]
        if not post_ids:
            return BulkResult(None, [], skipped)
        ids = _append(con, user.username, post_ids, action, now, reason_code, note, batch_id, progress=progress)
        store.append_audit(con, user.username, "bulk_decide", "batch", batch_id,
                           {"action": action, "reason_code": reason_code, "note": note, "count": len(ids),
                            "decision_ids": [ids[0], ids[-1]], "post_ids": post_ids,
                            "skipped": [c.post_id for c in skipped], **(context or {})}, now)
        store.release_claims(con, post_ids, user.username)
    return BulkResult(batch_id, post_ids, skipped)


def _undo_targets(con: duckdb.DuckDBPyConnection,
                  moderator: str) -> tuple[int | None, list[tuple[int, str]], str | None]:
    """(latest standing decision_id of `moderator`, [(decision_id, post_id)] undoing it cancels, its batch_id);
    (None, [], None) when nothing is left to undo."""
    last = con.execute(f"""SELECT decision_id, post_id, batch_id FROM moderation_decisions d
                           WHERE moderator = ? AND {NOT_UNDONE} ORDER BY decision_id DESC LIMIT 1""",
                       [moderator]).fetchall()
    if not last:
        return None, [], None
    decision_id, post_id, batch_id = last[0]
    targets = con.execute(f"""SELECT decision_id, post_id FROM moderation_decisions d
                              WHERE batch_id = ? AND moderator = ? AND {NOT_UNDONE} ORDER BY decision_id""",
                          [batch_id, moderator]).fetchall() if batch_id else [(decision_id, post_id)]
    return decision_id, targets, batch_id


def undo_preview(con: duckdb.DuckDBPyConnection, user: User | None) -> dict | None:
    """What undo_last(user) would undo now: {decision_id (pass it to undo_last as seen), post_id, action, batch_id
    (None for a single decision), count (decisions it would cancel)}; None when there is nothing to undo."""
    if user is None:
        return None
    decision_id, targets, batch_id = _undo_targets(con, user.username)
    if decision_id is None:
        return None
    post_id, action = con.execute("SELECT post_id, action FROM moderation_decisions WHERE decision_id = ?",
                                  [decision_id]).fetchone()
    return {"decision_id": decision_id, "post_id": post_id, "action": action, "batch_id": batch_id,
            "count": len(targets)}


def undo_last(con: duckdb.DuckDBPyConnection, user: User | None, now: datetime | None = None, *,
              seen: int | None = None, confirm_batch: bool = False) -> int | None:
    """Undo `user`'s latest decision not yet undone by appending an 'undo' event (undoes=its id) and an audit row;
    returns the undone decision_id, or None when there is nothing to undo. Repeated calls step further back.

    If that decision belongs to a batch, the whole batch is undone (one undo event per decision still standing,
    sharing a new batch_id), and only with confirm_batch=True: without it ConfirmBatchUndo (batch_id, count) is
    raised and nothing written, so the caller asks first. With `seen` (the decision_id the user was shown as the one
    to undo, from undo_preview) StaleUndo is raised, nothing written, if their latest decision is another one now:
    a repeated undo request never steps back further than the user saw. Undo events themselves are never undone
    (decide again instead).
    """
    require(user, "moderate")
    now = now or datetime.now()
    with store.transaction(con):
        decision_id, targets, batch_id = _undo_targets(con, user.username)
        if seen is not None and decision_id != seen:
            raise StaleUndo(seen, decision_id)
        if decision_id is None:
            return None
        if batch_id and not confirm_batch:
            raise ConfirmBatchUndo(decision_id, batch_id, len(targets))
        undo_batch = str(uuid.uuid4()) if batch_id else None
        undone = [t[0] for t in targets]
        ids = _append(con, user.username, [t[1] for t in targets], UNDO, now, batch_id=undo_batch, undoes=undone)
        store.append_audit(con, user.username, "undo", "batch" if batch_id else "post", batch_id or targets[0][1],
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
