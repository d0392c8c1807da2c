"""Browser sessions that survive a reload: a server-side session table behind a signed, expiring, HttpOnly cookie.

Sign-in happens in the app, which cannot set an HttpOnly cookie itself (it talks to the browser over a websocket).
So a successful sign-in starts a session and gets a one-time ticket; the browser is sent to the server's
`/api/session/start?ticket=...` route, which trades the ticket for the cookie and redirects to the page the user
asked for. Every run of the app reads the cookie back and asks this table who it is: the signature and the
absolute lifetime are checked by itsdangerous, idle sessions and revoked ones are refused here. Sessions live in
the dashboard process: a restart signs everyone out.
"""
from __future__ import annotations

import os
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner

COOKIE = "social_session"
IDLE_S = 30 * 60          # signed out after this long without a page run
MAX_AGE_S = 12 * 3600     # signed out this long after signing in, however active
TICKET_S = 60             # a sign-in ticket must be redeemed this soon, once


@dataclass
class _Session:
    username: str
    started: float
    seen: float


class Sessions:
    """The session table of one dashboard process (thread-safe)."""

    def __init__(self, secret: bytes, idle_s: float = IDLE_S, max_age_s: float = MAX_AGE_S,
                 clock: Callable[[], float] = time.time) -> None:
        self._signer = TimestampSigner(secret, salt="social-session")
        self._idle_s, self._max_age_s, self._clock = idle_s, max_age_s, clock
        self._sessions: dict[str, _Session] = {}
        self._tickets: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def start(self, username: str) -> str:
        """Open a session for `username` (already authenticated); returns the one-time ticket for the cookie."""
        now = self._clock()
        sid, ticket = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        with self._lock:
            self._sessions[sid] = _Session(username, now, now)
            self._tickets[ticket] = (sid, now)
        return ticket

    def redeem(self, ticket: str) -> str | None:
        """The cookie value for a fresh ticket (each ticket works once, within TICKET_S), else None."""
        with self._lock:
            sid, issued = self._tickets.pop(ticket, (None, 0.0))
        if sid is None or self._clock() - issued > TICKET_S:
            return None
        return self._signer.sign(sid).decode()

    def _sid(self, cookie: str | None) -> str | None:
        if not cookie:
            return None
        try:
            return self._signer.unsign(cookie, max_age=self._max_age_s).decode()
        except (BadSignature, SignatureExpired):
            return None

    def username(self, cookie: str | None) -> str | None:
        """Who holds this cookie: None when it is forged, expired, idle too long or revoked. Counts as activity."""
        sid = self._sid(cookie)
        now = self._clock()
        with self._lock:
            session = self._sessions.get(sid) if sid else None
            if session is None:
                return None
            if now - session.seen > self._idle_s or now - session.started > self._max_age_s:
                del self._sessions[sid]
                return None
            session.seen = now
            return session.username

    def revoke(self, cookie: str | None) -> None:
        """Sign this cookie's session out (its cookie no longer works, even if the browser keeps it)."""
        sid = self._sid(cookie)
        with self._lock:
            self._sessions.pop(sid, None)


def secret_key(path: Path) -> bytes:
    """This installation's cookie-signing key at `path`, created (mode 0600) on first use."""
    if path.exists():
        return path.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    return key


def safe_next(target: str | None) -> str:
    """`target` if it is a path on this site (so a crafted link cannot send a user elsewhere after sign-in),
    else '/'."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(c) < 32 for c in target):
        return "/"
    return target
