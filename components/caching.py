"""Cached query results that know what they read, so that a write clears only the results it affects.

Writes are of six kinds: `posts` (imports), `scores` (the enrichment worker), `detections` (the worker's stored
campaigns and known-claim matches, and the claims themselves), `decisions` (moderation, of posts and accounts),
`settings` (team thresholds) and `releases` (private exports). A moderator's decision leaves every analyst chart cached.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Callable

import streamlit as st

WRITES = ("posts", "scores", "detections", "decisions", "settings", "releases")
_CACHE = dict(ttl=600, max_entries=64, show_spinner=False)
_READERS: dict[str, list] = defaultdict(list)


def cached(*reads: str, **options) -> Callable:
    """st.cache_data (ttl 600 s, 64 entries unless `options` say otherwise) for a query that reads what writes of
    the kinds `reads` change."""
    unknown = set(reads) - set(WRITES)
    if unknown:
        raise ValueError(f"unknown kinds of write: {sorted(unknown)}")

    def wrap(fn: Callable) -> Callable:
        fn = st.cache_data(**{**_CACHE, **options})(fn)
        for kind in reads:
            _READERS[kind].append(fn)
        return fn
    return wrap


def clear(*writes: str) -> None:
    """Drop the cached results of every query that reads what `writes` changed."""
    for kind in writes:
        if kind not in WRITES:
            raise ValueError(f"unknown kind of write: {kind!r}")
        for fn in _READERS[kind]:
            fn.clear()
