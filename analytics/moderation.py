"""Moderation: the review queue over toxicity scores, claims, decisions with undo, and the numbers behind them.

Decisions are events in the append-only `moderation_decisions`; nothing there is ever updated or deleted. A post's
current state is its latest decision that no 'undo' event cancels, so undoing falls back to the decision before it
(or to undecided). Every decision also appends to `audit_log` in the same transaction. `claims` is mutable working
state: which moderator is reviewing a queued post, until when.
"""
from __future__ import annotations

import json
import random
import re
import time
import uuid
from datetime import date, datetime, timedelta
from typing import Callable, Iterable, Sequence

import duckdb
import numpy as np
import pandas as pd

from analytics import store, toxicity
from analytics.auth import User, require
from analytics.queries import NOT_UNDONE as _NOT_UNDONE, STATES_CTE as _STATES
from analytics.scoring import model_key

# Reason codes offered to moderators, in display order.
POLICY = {
    "harassment": "Targets a person with abuse, insults or bullying",
    "hate": "Attacks people for a protected characteristic",
    "threat": "Threatens or incites violence",
    "sexual": "Sexual content or sexualised abuse",
    "spam": "Spam, scams or platform manipulation",
    "self_harm": "Encourages or depicts self-harm",
    "misinformation": "Harmful false claims",
    "other": "Another violation (explain in the note)",
    "no_violation": "Breaks no rule",
    "context_ok": "Strong words that are fine in context (quote, reclaimed term, banter)",
    "satire": "Satire or obvious humour",
}
_ALLOWED = ("no_violation", "context_ok", "satire")
_VIOLATIONS = tuple(code for code in POLICY if code not in _ALLOWED)
REASONS = {"approve": _ALLOWED, "remove": _VIOLATIONS, "escalate": _VIOLATIONS}
ACTIONS = tuple(REASONS)  # what decide() records; 'undo' events come only from undo_last()
UNDO = "undo"
LABELS = toxicity.LABELS
DEFAULT_THRESHOLDS = {label: 0.5 for label in LABELS}
THRESHOLDS_KEY = "toxicity_thresholds"  # the team's thresholds, in `meta`
ORDERS = {"score": "max_score DESC", "newest": "created_at DESC", "oldest": "created_at ASC", "reach": "reach DESC"}
CLAIM_TTL = timedelta(minutes=10)
CHUNK = 100  # decisions per append in bulk_decide, and per progress call

_SCORES = ("tox AS (SELECT post_id, "
           + ", ".join(f"CAST(scores->>'{label}' AS DOUBLE) AS \"{label}\"" for label in LABELS)
           + " FROM model_scores WHERE model_id = $model_id AND model_version = $model_version)")
_CLAIM = """INSERT INTO claims VALUES ($post_id, $moderator, $now, $expires)
    ON CONFLICT (post_id) DO UPDATE SET moderator = excluded.moderator, claimed_at = excluded.claimed_at,
                                        expires_at = excluded.expires_at
    WHERE claims.expires_at <= $now OR claims.moderator = $moderator
    RETURNING post_id"""


class ClaimedByOther(RuntimeError):
    """The post is held by another moderator's unexpired claim."""


def _run(con: duckdb.DuckDBPyConnection, sql: str, params: dict) -> duckdb.DuckDBPyConnection:
    """Execute `sql` with those of the named `params` it uses ($name); DuckDB rejects unused ones."""
    used = set(re.findall(r"\$(\w+)", sql))
    return con.execute(sql, {k: v for k, v in params.items() if k in used})


def _params(now: datetime | None = None, **extra) -> dict:
    model_id, version = model_key("toxicity")
    return {"model_id": model_id, "model_version": version, "now": now or datetime.now(), **extra}


def _flag(thresholds: dict[str, float], labels: Iterable[str] | None = None) -> tuple[tuple[str, ...], str, dict]:
    """(labels, SQL condition over `tox`: any of the labels at or above its threshold, its parameters)."""
    labels = tuple(labels or thresholds)
    unknown = [label for label in labels if label not in LABELS]
    if unknown or not labels:
        raise ValueError(f"labels must be a non-empty selection of {', '.join(LABELS)}; got {unknown or 'none'}")
    missing = [label for label in labels if label not in thresholds]
    if missing:
        raise ValueError(f"no threshold for {', '.join(missing)}")
    cond = " OR ".join(f'tox."{label}" >= $th_{label}' for label in labels)
    return labels, f"({cond})", {f"th_{label}": float(thresholds[label]) for label in labels}


def _flagged(thresholds: dict[str, float], labels: Iterable[str] | None, include_escalated: bool) -> tuple[str, dict]:
    """CTEs ending in `flagged`: scored posts over threshold, undecided (or escalated), with any live claim."""
    labels, cond, params = _flag(thresholds, labels)
    cols = [f'tox."{label}"' for label in labels]
    top = f"greatest({', '.join(cols)})"
    top_label = "CASE " + " ".join(f"WHEN {c} = {top} THEN '{label}'" for c, label in zip(cols, labels)) + " END"
    states = "s.state IS NULL OR s.state = 'escalate'" if include_escalated else "s.state IS NULL"
    all_cols = ", ".join(f'tox."{label}"' for label in LABELS)
    return f"""{_SCORES}, {_STATES},
        live_claims AS (SELECT post_id, moderator AS claimed_by FROM claims WHERE expires_at > $now),
        flagged AS (
            SELECT p.post_id, p.created_at, u.handle, p.author_id, p.topic, p.text, p.parent_id,
                   {top_label} AS max_label, {top} AS max_score, {all_cols},
                   coalesce(s.state, 'undecided') AS state, c.claimed_by
            FROM tox JOIN posts p USING (post_id) LEFT JOIN users u ON u.user_id = p.author_id
            LEFT JOIN states s USING (post_id) LEFT JOIN live_claims c USING (post_id)
            WHERE {cond} AND ({states}))""", params


def _period(start: date | None, end: date | None, col: str, params: dict) -> list[str]:
    """Conditions for `col` within [start, end] (dates, end inclusive); adds their parameters to `params`."""
    conds = []
    if start:
        conds.append(f"{col} >= $start")
        params["start"] = start
    if end:
        conds.append(f"{col} < $end")
        params["end"] = end + timedelta(days=1)
    return conds


def thresholds(con: duckdb.DuckDBPyConnection) -> dict[str, float]:
    """The team's flag threshold per label: as an admin saved it (save_thresholds), else DEFAULT_THRESHOLDS."""
    rows = con.execute("SELECT value FROM meta WHERE key = ?", [THRESHOLDS_KEY]).fetchall()
    saved = json.loads(rows[0][0]) if rows else {}
    return {label: float(saved.get(label, DEFAULT_THRESHOLDS[label])) for label in LABELS}


def save_thresholds(con: duckdb.DuckDBPyConnection, user: User | None, new: dict[str, float],
                    now: datetime | None = None) -> dict[str, float]:
    """Set some labels' team thresholds (needs 'tune_thresholds'); the change is audited with old and new values.
    Returns the full set now in force."""
    require(user, "tune_thresholds")
    unknown = set(new) - set(LABELS)
    if unknown or not all(0 < float(t) < 1 for t in new.values()):
        raise ValueError(f"thresholds must be within (0, 1) for labels among {', '.join(LABELS)}")
    with store.transaction(con):
        old = thresholds(con)
        merged = {**old, **{label: round(float(t), 4) for label, t in new.items()}}
        store.upsert(con, "meta", pd.DataFrame({"key": [THRESHOLDS_KEY], "value": [json.dumps(merged)]}))
        _audit(con, user.username, "set_thresholds", "meta", THRESHOLDS_KEY, {"old": old, "new": merged},
               now or datetime.now())
    return merged


def reason_codes(action: str) -> tuple[str, ...]:
    """Reason codes (keys of POLICY) allowed with `action`."""
    if action not in REASONS:
        raise ValueError(f"action must be one of {', '.join(ACTIONS)}")
    return REASONS[action]


def post_states(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Current state of every decided post: post_id, state (approve/remove/escalate), decision_id, moderator,
    reason_code, decided_at. Posts never decided, or with every decision undone, are absent (undecided)."""
    return _run(con, f"WITH {_STATES} SELECT * FROM states ORDER BY post_id", {}).df()


def _state(con: duckdb.DuckDBPyConnection, post_id: str) -> str | None:
    rows = con.execute(f"SELECT action FROM moderation_decisions d WHERE post_id = ? AND {_NOT_UNDONE} "
                       "ORDER BY decision_id DESC LIMIT 1", [post_id]).fetchall()
    return rows[0][0] if rows else None


def queue(con: duckdb.DuckDBPyConnection, thresholds: dict[str, float] = DEFAULT_THRESHOLDS, order: str = "score",
          labels: Iterable[str] | None = None, topics: Sequence[str] = (), author: str | None = None,
          moderator: str | None = None, include_escalated: bool = False, limit: int = 50,
          now: datetime | None = None) -> pd.DataFrame:
    """Posts to review: scored by the current toxicity model with any selected label (default: every label in
    `thresholds`) at or above its threshold, undecided (plus escalated ones with include_escalated), and not held
    by another moderator's live claim (`moderator`'s own claims stay in, claimed_by says so).

    Columns: post_id, created_at, handle, author_id, topic, text, parent_id, max_label, max_score (over the
    selected labels), one column per toxicity label, followers (of the author), interactions (on the post),
    reach (their sum), state, claimed_by. Order 'score', 'newest', 'oldest' or 'reach'. Text is returned as
    stored: render it as plain text.
    """
    if order not in ORDERS:
        raise ValueError(f"order must be one of {', '.join(ORDERS)}")
    ctes, flag_params = _flagged(thresholds, labels, include_escalated)
    params = _params(now, **flag_params, moderator=moderator, topics=list(topics),
                     author=(author or "").lstrip("@"), limit=limit)
    conds = ["(claimed_by IS NULL OR claimed_by = $moderator)" if moderator else "claimed_by IS NULL"]
    if topics:
        conds.append("topic IN (SELECT unnest($topics::VARCHAR[]))")
    if author:
        conds.append("handle = $author")
    return _run(con, f"""WITH {ctes},
        sel AS (SELECT * FROM flagged WHERE {' AND '.join(conds)}),
        fol AS (SELECT followee_id AS author_id, count(*) AS followers FROM follows
                WHERE followee_id IN (SELECT author_id FROM sel) GROUP BY 1),
        ia AS (SELECT post_id, count(*) AS interactions FROM interactions
               WHERE post_id IN (SELECT post_id FROM sel) GROUP BY 1)
        SELECT sel.* EXCLUDE (state, claimed_by), coalesce(fol.followers, 0) AS followers,
               coalesce(ia.interactions, 0) AS interactions,
               coalesce(fol.followers, 0) + coalesce(ia.interactions, 0) AS reach,
               sel.state, sel.claimed_by
        FROM sel LEFT JOIN fol USING (author_id) LEFT JOIN ia USING (post_id)
        ORDER BY {ORDERS[order]}, post_id LIMIT $limit""", params).df()


def claim_next(con: duckdb.DuckDBPyConnection, moderator: str, thresholds: dict[str, float] = DEFAULT_THRESHOLDS,
               order: str = "score", labels: Iterable[str] | None = None, topics: Sequence[str] = (),
               author: str | None = None, include_escalated: bool = False, ttl: timedelta = CLAIM_TTL,
               now: datetime | None = None, rounds: int = 5) -> str | None:
    """Claim the first queue item that is free (or already `moderator`'s) for `ttl`; returns its post_id, or
    None when the queue is empty (or every item was lost to other moderators `rounds` times over).

    Safe for concurrent callers on separate cursors. The claim is one atomic upsert that takes the row only if
    it is free, expired or the caller's own; two writers of the same claim conflict in DuckDB and the loser moves
    on to the next item. A claim can still succeed on a post decided meanwhile (the decider deleted its claim
    row after this caller read the queue), so the state is re-read once the claim is committed: any decision made
    under the earlier claim is visible by then, and such a claim is dropped.
    """
    allowed = (None, "escalate") if include_escalated else (None,)
    for attempt in range(rounds):
        at = now or datetime.now()
        items = queue(con, thresholds, order, labels, topics, author, moderator, include_escalated, 20, at)
        if items.empty:
            return None
        for post_id in items["post_id"]:
            try:
                won = _run(con, _CLAIM, {"post_id": post_id, "moderator": moderator, "now": at,
                                         "expires": at + ttl}).fetchall()
            except (duckdb.TransactionException, duckdb.ConstraintException):
                continue
            if won and _state(con, post_id) in allowed:
                return post_id
            if won:
                release(con, moderator, post_id)
        time.sleep(random.uniform(0, 0.02 * (attempt + 1)))  # jitter, so racing callers stop colliding
    return None


def release(con: duckdb.DuckDBPyConnection, moderator: str, post_id: str) -> bool:
    """Drop `moderator`'s claim on `post_id`; False if they held none."""
    return bool(con.execute("DELETE FROM claims WHERE post_id = ? AND moderator = ? RETURNING post_id",
                            [post_id, moderator]).fetchall())


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


def _audit(con: duckdb.DuckDBPyConnection, actor: str, action: str, target_type: str, target_id: str,
           details: dict, now: datetime) -> None:
    store.append(con, "audit_log", pd.DataFrame({
        "actor": [actor], "action": [action], "target_type": [target_type], "target_id": [target_id],
        "details": [json.dumps(details)], "created_at": [now]}))


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
        _audit(con, user.username, "decide", "post", post_id,
               {"decision_id": decision_id, "action": action, "reason_code": reason_code, "note": note}, now)
        con.execute("DELETE FROM claims WHERE post_id = ? AND moderator = ?", [post_id, user.username])
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
        _audit(con, user.username, "bulk_decide", "batch", batch_id,
               {"action": action, "reason_code": reason_code, "note": note, "count": len(ids),
                "decision_ids": [ids[0], ids[-1]], "post_ids": post_ids}, now)
        con.execute("DELETE FROM claims WHERE post_id IN (SELECT unnest(?::VARCHAR[])) AND moderator = ?",
                    [post_ids, user.username])
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
                               WHERE moderator = ? AND {_NOT_UNDONE} ORDER BY decision_id DESC LIMIT 1""",
                           [user.username]).fetchall()
        if not last:
            return None
        decision_id, post_id, batch_id = last[0]
        targets = con.execute(f"""SELECT decision_id, post_id FROM moderation_decisions d
                                  WHERE batch_id = ? AND moderator = ? AND {_NOT_UNDONE} ORDER BY decision_id""",
                              [batch_id, user.username]).fetchall() if batch_id else [(decision_id, post_id)]
        undo_batch = str(uuid.uuid4()) if batch_id else None
        undone = [t[0] for t in targets]
        ids = _append(con, user.username, [t[1] for t in targets], UNDO, now, batch_id=undo_batch, undoes=undone)
        _audit(con, user.username, "undo", "batch" if batch_id else "post", batch_id or post_id,
               {"undoes": undone, "undo_ids": ids, "batch_id": undo_batch, "count": len(ids)}, now)
    return decision_id


def author_history(con: duckdb.DuckDBPyConnection, author_id: str,
                   thresholds: dict[str, float] = DEFAULT_THRESHOLDS) -> dict:
    """An author's record: posts, scored (by the current toxicity model), flagged (at `thresholds`),
    flagged_share (of scored; None if none scored) and states: current decisions {approve, remove, escalate}."""
    _, cond, flag_params = _flag(thresholds)
    posts, scored, flagged, *states = _run(con, f"""WITH {_SCORES}, {_STATES}
        SELECT count(*), count(tox.post_id), count(*) FILTER ({cond}), count(*) FILTER (s.state = 'approve'),
               count(*) FILTER (s.state = 'remove'), count(*) FILTER (s.state = 'escalate')
        FROM posts p LEFT JOIN tox USING (post_id) LEFT JOIN states s USING (post_id)
        WHERE p.author_id = $author_id""", _params(**flag_params, author_id=author_id)).fetchall()[0]
    return {"posts": posts, "scored": scored, "flagged": flagged, "flagged_share": flagged / scored if scored else None,
            "states": dict(zip(ACTIONS, states))}


def thread_context(con: duckdb.DuckDBPyConnection, post_id: str, levels: int = 3) -> pd.DataFrame:
    """The posts `post_id` replies to, up to `levels` parents up, oldest first: depth (1 = direct parent),
    post_id, created_at, handle, text. Parents missing from the store end the chain."""
    return con.execute("""
        WITH RECURSIVE chain(post_id, depth) AS (
            SELECT parent_id, 1 FROM posts WHERE post_id = ? AND parent_id IS NOT NULL
            UNION ALL
            SELECT p.parent_id, c.depth + 1 FROM chain c JOIN posts p USING (post_id)
            WHERE p.parent_id IS NOT NULL AND c.depth < ?
        )
        SELECT c.depth, p.post_id, p.created_at, u.handle, p.text
        FROM chain c JOIN posts p USING (post_id) LEFT JOIN users u ON u.user_id = p.author_id
        ORDER BY c.depth DESC""", [post_id, levels]).df()


def audit(con: duckdb.DuckDBPyConnection, user: User | None, moderator: str | None = None,
          action: str | None = None, start: date | None = None, end: date | None = None,
          limit: int = 5000) -> pd.DataFrame:
    """The decision log, newest first (needs 'view_audit'): decision_id, created_at, moderator, action,
    reason_code, note, batch_id, undoes, undone (a later undo cancels it), post_id, handle, preview (of the text).
    Filters: moderator, action, start/end dates (end inclusive)."""
    require(user, "view_audit")
    params: dict = {"limit": limit, "moderator": moderator, "action": action}
    conds = ["TRUE"] + _period(start, end, "d.created_at", params)
    if moderator:
        conds.append("d.moderator = $moderator")
    if action:
        conds.append("d.action = $action")
    return _run(con, f"""
        SELECT d.decision_id, d.created_at, d.moderator, d.action, d.reason_code, d.note, d.batch_id, d.undoes,
               EXISTS (SELECT 1 FROM moderation_decisions x WHERE x.action = 'undo' AND x.undoes = d.decision_id)
                   AS undone,
               d.post_id, u.handle, left(p.text, 140) AS preview
        FROM moderation_decisions d LEFT JOIN posts p USING (post_id) LEFT JOIN users u ON u.user_id = p.author_id
        WHERE {' AND '.join(conds)} ORDER BY d.decision_id DESC LIMIT $limit""", params).df()


def decisions_per_moderator(con: duckdb.DuckDBPyConnection, start: date | None = None,
                            end: date | None = None) -> pd.DataFrame:
    """Per moderator in [start, end]: decisions (excluding undos), approve, remove, escalate, undo, first, last."""
    params: dict = {}
    conds = ["TRUE"] + _period(start, end, "created_at", params)
    return _run(con, f"""
        SELECT moderator, count(*) FILTER (action <> 'undo') AS decisions,
               count(*) FILTER (action = 'approve') AS approve, count(*) FILTER (action = 'remove') AS remove,
               count(*) FILTER (action = 'escalate') AS escalate, count(*) FILTER (action = 'undo') AS undo,
               min(created_at) AS first, max(created_at) AS last
        FROM moderation_decisions WHERE {' AND '.join(conds)}
        GROUP BY moderator ORDER BY decisions DESC, moderator""", params).df()


def queue_stats(con: duckdb.DuckDBPyConnection, thresholds: dict[str, float] = DEFAULT_THRESHOLDS,
                now: datetime | None = None) -> dict:
    """The whole queue (claimed items included): size, claimed (live claims), escalated (flagged posts waiting
    in that state, not counted in size), oldest_age and median_age of the undecided items (timedelta; None if
    the queue is empty)."""
    ctes, flag_params = _flagged(thresholds, None, include_escalated=True)
    size, claimed, escalated, oldest, median = _run(con, f"""WITH {ctes}
        SELECT count(*) FILTER (state = 'undecided'), count(claimed_by) FILTER (state = 'undecided'),
               count(*) FILTER (state = 'escalate'),
               max(epoch($now) - epoch(created_at)) FILTER (state = 'undecided'),
               median(epoch($now) - epoch(created_at)) FILTER (state = 'undecided')
        FROM flagged""", _params(now, **flag_params)).fetchall()[0]
    age = lambda s: timedelta(seconds=s) if s is not None else None  # noqa: E731
    return {"size": size, "claimed": claimed, "escalated": escalated, "oldest_age": age(oldest),
            "median_age": age(median)}


def flag_precision(con: duckdb.DuckDBPyConnection, thresholds: dict[str, float] = DEFAULT_THRESHOLDS) -> pd.DataFrame:
    """Per label in `thresholds`: threshold, flagged (scored posts at or above it), decided (of those, currently
    approved or removed; escalated ones wait), removed, approved, precision = removed / decided (NaN if none)."""
    labels, _, _ = _flag(thresholds)
    unpivot = ", ".join(f'"{label}"' for label in LABELS)
    return _run(con, f"""WITH {_SCORES}, {_STATES},
        th AS (SELECT unnest($labels::VARCHAR[]) AS label, unnest($ts::DOUBLE[]) AS threshold),
        long AS (UNPIVOT tox ON {unpivot} INTO NAME label VALUE score)
        SELECT th.label, th.threshold, count(long.post_id) AS flagged,
               count(*) FILTER (s.state IN ('approve', 'remove')) AS decided,
               count(*) FILTER (s.state = 'remove') AS removed, count(*) FILTER (s.state = 'approve') AS approved,
               removed / nullif(decided, 0) AS precision
        FROM th LEFT JOIN long ON long.label = th.label AND long.score >= th.threshold
        LEFT JOIN states s USING (post_id)
        GROUP BY th.label, th.threshold ORDER BY list_position($labels::VARCHAR[], th.label)""",
                _params(labels=list(labels), ts=[float(thresholds[label]) for label in labels])).df()


def threshold_tuner(con: duckdb.DuckDBPyConnection, label: str,
                    thresholds: Sequence[float] = np.arange(0.1, 1.0, 0.05)) -> pd.DataFrame:
    """What a threshold on one label would do: per threshold, queue_items (undecided posts at or above it), and
    from past decisions on those posts decided (approved or removed), removed and precision (removed / decided)."""
    if label not in LABELS:
        raise ValueError(f"label must be one of {', '.join(LABELS)}")
    return _run(con, f"""WITH {_SCORES}, {_STATES},
        th AS (SELECT unnest($ts::DOUBLE[]) AS threshold),
        scored AS (SELECT tox."{label}" AS score, s.state FROM tox LEFT JOIN states s USING (post_id))
        SELECT th.threshold, count(*) FILTER (scored.score IS NOT NULL AND scored.state IS NULL) AS queue_items,
               count(*) FILTER (scored.state IN ('approve', 'remove')) AS decided,
               count(*) FILTER (scored.state = 'remove') AS removed, removed / nullif(decided, 0) AS precision
        FROM th LEFT JOIN scored ON scored.score >= th.threshold
        GROUP BY th.threshold ORDER BY th.threshold""",
                _params(ts=[round(float(t), 4) for t in thresholds])).df()
