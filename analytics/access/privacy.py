"""Privacy controls for views and exports: PII redaction, pseudonymous ids, Laplace noise on aggregate counts."""
from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

import numpy as np
import pandas as pd

EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
# International or national numbers: an optional +country code, then 7+ digits in groups split by space, dot,
# dash or brackets; 7 digits at least, so short counts do not match, and ISO dates (2026-10-17) are skipped.
PHONE = re.compile(r"(?<![\w+])(?!\d{4}-\d\d-\d\d\b)(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?)?\d(?:[\s.-]?\d){6,14}(?!\w)")
# Links that carry a token or a query string (magic links, shared documents, tracking ids): the whole URL goes.
TOKEN_URL = re.compile(r"\bhttps?://\S*?(?:[?#&]\S*|/[A-Za-z0-9_-]{16,}\S*)")
HANDLE = re.compile(r"(?<![\w@])@\w{1,30}")
REDACTIONS = (("[email]", EMAIL), ("[url]", TOKEN_URL), ("[phone]", PHONE), ("@user", HANDLE))

SECRET = Path(__file__).resolve().parents[2] / "data" / "pseudonym.key"


def redact(text: str) -> str:
    """`text` with emails, phone numbers, URLs carrying tokens or queries, and @handles masked."""
    for mask, pattern in REDACTIONS:
        text = pattern.sub(mask, text)
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


ID_COLUMNS = ("user_id", "author_id", "handle", "moderator", "actor", "reporter")
TEXT_COLUMNS = ("text", "preview", "parent_text", "note")


def redact_frame(df: pd.DataFrame, key: bytes | None = None) -> pd.DataFrame:
    """A copy of `df` for export with redaction on: text columns redacted, user-identifying columns replaced by
    pseudonyms (the same user gets the same pseudonym in every export of this installation)."""
    key = key if key is not None else pseudonym_key()
    out = df.copy()
    for col in out.columns:
        if col in TEXT_COLUMNS:
            out[col] = out[col].map(lambda t: redact(t) if isinstance(t, str) else t)
        elif col in ID_COLUMNS:
            out[col] = out[col].map(lambda v: pseudonym(v, key) if isinstance(v, str) else v)
    return out


def laplace_counts(counts: pd.Series | np.ndarray, epsilon: float, seed: int | None = None) -> np.ndarray:
    """Counts plus Laplace(0, 1/epsilon) noise, rounded and clipped at 0 (post-processing keeps the guarantee):
    epsilon-differential privacy per post, since adding or removing one post changes one count by 1. An author
    with k posts in a count is protected at k * epsilon. Smaller epsilon, more noise."""
    if epsilon <= 0:
        raise ValueError("epsilon must be positive")
    values = np.asarray(counts, dtype=float)
    noisy = values + np.random.default_rng(seed).laplace(0.0, 1.0 / epsilon, values.shape)
    return np.clip(np.round(noisy), 0, None).astype(np.int64)
