"""Sign-in attempts, throttled for the whole server and audited.

Every outcome is an `audit_log` event ('sign_in', 'sign_in_failed', 'lockout', 'sign_in_refused'), and the log is
also the throttle's memory, so a lockout holds across sessions, clients and restarts: MAX_FAILURES wrong passwords
for a username within WINDOW (since its last success or lockout) lock that username for WINDOW;
CLIENT_MAX_FAILURES from one client address lock that client. A refused attempt is not checked and does not extend
the lock.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd

from analytics import store
from analytics.access import auth

MAX_FAILURES = 5
CLIENT_MAX_FAILURES = 20
WINDOW = timedelta(minutes=15)
EVENTS = ("sign_in", "sign_in_failed", "lockout", "sign_in_refused", "password_changed")


class SignInRefused(Exception):
    """The attempt failed or was not checked; the message is safe to show (it never says which part was wrong)."""


def _lock_end(con: duckdb.DuckDBPyConnection, target_type: str, target: str, now: datetime) -> datetime | None:
    [(last,)] = con.execute("SELECT max(created_at) FROM audit_log WHERE action = 'lockout' AND target_type = ? "
                            "AND target_id = ?", [target_type, target]).fetchall()
    return last + WINDOW if last is not None and last + WINDOW > now else None


def _failures(con: duckdb.DuckDBPyConnection, target_type: str, target: str, now: datetime) -> int:
    """Failures for a username ('user') or from a client address ('client') within WINDOW, since the last
    lockout of it (and, for a username, its last success)."""
    match = "target_id = ?" if target_type == "user" else "details->>'client' = ?"
    resets = "'lockout', 'sign_in'" if target_type == "user" else "'lockout'"
    [(n,)] = con.execute(f"""
        SELECT count(*) FROM audit_log WHERE action = 'sign_in_failed' AND {match} AND created_at > ?
          AND created_at > coalesce((SELECT max(created_at) FROM audit_log WHERE action IN ({resets})
                                     AND target_type = ? AND target_id = ?), TIMESTAMP '1970-01-01')""",
                         [target, now - WINDOW, target_type, target]).fetchall()
    return n


def locked_until(con: duckdb.DuckDBPyConnection, username: str, client: str | None,
                 now: datetime | None = None) -> datetime | None:
    """When the lock on this username or client ends, or None if neither is locked."""
    now = now or datetime.now()
    ends = [_lock_end(con, "user", username, now)] + ([_lock_end(con, "client", client, now)] if client else [])
    ends = [e for e in ends if e is not None]
    return max(ends) if ends else None


def attempt(con: duckdb.DuckDBPyConnection, username: str, password: str, client: str | None,
            path: Path | None = None, now: datetime | None = None) -> auth.User:
    """Check a sign-in: refused while locked, else the password. Audits the outcome; returns the user or raises
    SignInRefused."""
    now = now or datetime.now()
    details = {"client": client}
    until = locked_until(con, username, client, now)
    if until is not None:
        store.append_audit(con, username, "sign_in_refused", "user", username, {**details, "until": str(until)}, now)
        raise SignInRefused(f"Too many failed sign-ins. Try again after {until:%H:%M}.")
    user = auth.authenticate(username, password, path)
    if user is None:
        store.append_audit(con, username, "sign_in_failed", "user", username, details, now)
        until = now + WINDOW
        locks = [(kind, target) for kind, target, limit in (("user", username, MAX_FAILURES),
                                                           ("client", client, CLIENT_MAX_FAILURES))
                 if target is not None and _failures(con, kind, target, now) >= limit]
        for kind, target in locks:
            store.append_audit(con, "system", "lockout", kind, target, {**details, "until": str(until)}, now)
        if locks:
            raise SignInRefused(f"Too many failed sign-ins. Try again after {until:%H:%M}.")
        raise SignInRefused("Wrong username or password.")
    store.append_audit(con, user.username, "sign_in", "user", user.username, details, now)
    return user


def change_password(con: duckdb.DuckDBPyConnection, user: auth.User, password: str, path: Path | None = None) -> None:
    """Set `user`'s new password (clearing a must-change flag and deleting a first-run password file) and audit it."""
    auth.set_password(user.username, password, path)
    store.append_audit(con, user.username, "password_changed", "user", user.username, {})


def events(con: duckdb.DuckDBPyConnection, user: auth.User | None, limit: int = 500) -> pd.DataFrame:
    """Sign-in events, newest first (needs 'view_audit'): created_at, actor, action, username, client, until."""
    auth.require(user, "view_audit")
    return con.execute(f"""
        SELECT created_at, actor, action, target_id AS username, details->>'client' AS client,
               details->>'until' AS until
        FROM audit_log WHERE action IN ({', '.join('?' * len(EVENTS))})
        ORDER BY event_id DESC LIMIT ?""", [*EVENTS, limit]).df()
