"""Privacy controls for views and exports: PII redaction and pseudonymous ids (private counts: analytics.access.dp)."""
from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

# Every pattern is linear in the text: a match starts only where a run of its characters starts (a lookbehind), and
# its repeats are possessive (`++`, `*+`) or bounded, so a failed match never backtracks into them.
_AT = "@\uff20\ufe6b"  # @, fullwidth ＠, small ﹫
_DASH = "\\-\u2010\u2011\u2012\u2013\u2014\u2212\uff0d"  # hyphen, en and em dashes, minus, fullwidth hyphen
EMAIL = re.compile(rf"(?<![\w.+\-])[\w.+\-]++[{_AT}][\w\-]++(?:\.[\w\-]++)++")
# International or national numbers: an optional +country code, then 7 to 15 digits in groups split by space, dot,
# a dash or brackets (ASCII or fullwidth; digits of any script, fullwidth ones included); 7 digits at least, so short
# counts do not match, and ISO dates (2026-10-17) are skipped. A number may touch letters of other scripts
# (电话13800138000) but not ASCII letters or other digits (an id like AB12345678 is not a phone number).
_SEP = rf"[\s.．{_DASH}]"
PHONE = re.compile(rf"(?<![0-9A-Za-z_+＋\d])(?!\d{{4}}-\d\d-\d\d\b)(?:[+＋]\d{{1,3}}{_SEP}?)?"
                   rf"(?:[(（]\d{{1,4}}[)）]{_SEP}?)?\d(?:{_SEP}?\d){{6,14}}(?![0-9A-Za-z_\d])")
# Link candidates: a scheme, www., or a host name followed by a path (x.com/...); whether one is masked is decided
# by `_url` on the whole link, never by backtracking.
URL = re.compile(r"(?<![\w.@/\-])(?:https?://|www\.|(?:[\w\-]++\.)++[a-z]{2,}+/)\S*+", re.IGNORECASE)
SHORTENERS = frozenset({"t.co", "bit.ly", "goo.gl", "tinyurl.com", "ow.ly", "buff.ly", "is.gd", "lnkd.in",
                        "dlvr.it", "rb.gy", "cutt.ly", "tiny.cc", "shorturl.at", "rebrand.ly", "t.ly", "s.id"})
_LONG_TOKEN = re.compile(r"[A-Za-z0-9_\-]{16}")
HANDLE = re.compile(rf"[{_AT}]\w++")


def _url(m: re.Match) -> str:
    """'[url]' for a link that carries a secret or identifies someone: credentials (user:pass@host), a query or
    fragment, a path segment of 16+ token characters, or any path on a link shortener; other links stay."""
    link = m.group()
    rest = link.split("://", 1)[-1]
    authority, slash, path = rest.partition("/")
    host = authority.rsplit("@", 1)[-1].split(":", 1)[0].lower().removeprefix("www.")
    if (any(c in authority for c in _AT) or any(c in link for c in "?#&") or _LONG_TOKEN.search(path)
            or (host in SHORTENERS and path.strip("/"))):
        return "[url]"
    return link


# Links first (a link's credentials or query may hold an email), then emails, phones and what is left of @handles.
REDACTIONS = (("[url]", URL), ("[email]", EMAIL), ("[phone]", PHONE), ("@user", HANDLE))

SECRET = Path(__file__).resolve().parents[2] / "data" / "pseudonym.key"


def redact(text: str) -> str:
    """`text` with emails, phone numbers, URLs carrying tokens or queries, and @handles masked."""
    for mask, pattern in REDACTIONS:
        text = pattern.sub(_url if pattern is URL else mask, text)
    return text


def pseudonym_key(path: Path | None = None) -> bytes:
    """The installation's pseudonym key (env SOCIAL_PSEUDONYM_KEY, else created once in data/pseudonym.key)."""
    if env := os.environ.get("SOCIAL_PSEUDONYM_KEY"):
        return env.encode()
    path = path or SECRET
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


def pseudonym(value: str, key: bytes) -> str:
    """A stable pseudonymous id for `value` under `key` (HMAC-SHA256, 12 hex chars): same input, same id;
    not reversible without the key."""
    return "u_" + hmac.new(key, str(value).encode(), hashlib.sha256).hexdigest()[:12]


@dataclass(frozen=True)
class Policy:
    """What a signed-in user sees of post text and of who wrote it, and whether they may change it."""

    redact: bool  # emails, phone numbers, links with tokens and @handles masked in every text
    pseudonymise: bool  # handles, user ids and ids of imported posts shown as stable pseudonyms
    can_choose: bool  # an admin: may turn both off for their session
    why: str  # one sentence for the sidebar


REDACTED_ROLES = ("analyst", "product")


def policy(user, choice: bool | None = None) -> Policy:
    """The privacy policy of `user` (an analytics.access.auth.User, or None), decided by role on the server:
    analysts and product managers always see redacted text and pseudonyms; moderators see posts as written (they
    need the raw text to moderate); admins choose with `choice` (their session's toggle; None: redacted). A signed-out
    visitor or an unknown role gets redaction: the policy fails closed."""
    role = getattr(user, "role", None)
    if role == "moderator":
        return Policy(False, False, False, "Moderators see posts as written: deciding on a post needs its raw text.")
    if role == "admin":
        on = True if choice is None else bool(choice)
        return Policy(on, on, True, "Admins choose: redaction is on unless you turn it off for this session.")
    if role in REDACTED_ROLES:
        return Policy(True, True, False, f"Always on for the {role} role: post text is redacted and people appear "
                                         "as pseudonyms, in views and exports alike.")
    return Policy(True, True, False, "Always on unless your role allows otherwise.")


# Columns that name a person (pseudonymised), columns holding lists of handles (each pseudonymised), and columns that
# are keys, never text (left alone: a 10-digit post id is no phone number). Every other string cell is redacted.
ID_COLUMNS = ("user_id", "author_id", "handle", "moderator", "actor", "reporter", "follower_id", "followee_id",
              "decided_by", "claimed_by", "username")
ID_LIST_COLUMNS = ("via", "proof")
POST_ID_COLUMNS = ("post_id", "parent_id", "target_id")
KEY_COLUMNS = ("created_at", "day", "bucket", "decision_id", "event_id", "batch_id", "interaction_id")
TEXT_COLUMNS = ("text", "preview", "parent_text", "note")  # the main free-text columns (all others redacted too)


def post_pseudonym(post_id: str, key: bytes) -> str:
    """A stable pseudonym for the id of an imported post (its id may be an id on the platform it came from)."""
    return "p_" + pseudonym(post_id, key)[2:]


def redact_value(value: object) -> object:
    """A string redacted, a list (or array) of strings redacted item by item; anything else as it is."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, (list, tuple)) or getattr(value, "ndim", 0) == 1:
        return [redact(v) if isinstance(v, str) else v for v in value]
    return value


def _pseudonyms(value: object, key: bytes) -> object:
    if isinstance(value, str):
        return pseudonym(value, key)
    if isinstance(value, (list, tuple)) or getattr(value, "ndim", 0) == 1:
        return [pseudonym(v, key) if isinstance(v, str) else v for v in value]
    return value


def redact_frame(df: pd.DataFrame, key: bytes | None = None, imported: Collection[str] = ()) -> pd.DataFrame:
    """A copy of `df` with redaction on: user-identifying columns (and lists of handles) replaced by pseudonyms (the
    same user gets the same pseudonym in every view and export of this installation), ids of imported posts (in
    `imported`) by post pseudonyms, and every other string cell redacted, text, explanations, reasons and details
    included (and string items of list cells)."""
    key = key if key is not None else pseudonym_key()
    out = df.copy()
    for i, col in enumerate(out.columns):
        s = out.iloc[:, i]
        if col in POST_ID_COLUMNS:
            if len(imported):
                out.isetitem(i, s.map(lambda v: post_pseudonym(v, key) if isinstance(v, str) and v in imported
                                      else v))
        elif col in ID_COLUMNS or col in ID_LIST_COLUMNS:
            out.isetitem(i, s.map(lambda v: _pseudonyms(v, key)))
        elif col not in KEY_COLUMNS and (s.dtype == object or isinstance(s.dtype, pd.StringDtype)):
            out.isetitem(i, s.map(redact_value))
    return out

