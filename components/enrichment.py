"""The enrichment worker's progress, on every page (sidebar) and per model (Models page)."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from analytics import store
from analytics.analyst.filters import PostFilter
from components import data
from components.resources import enricher


def worker():
    """The store's enrichment worker (started on first call)."""
    return enricher(str(store.db_path()))


@st.fragment(run_every=5)
def status_bar() -> None:
    """One line on what the worker is doing, with a progress bar while it runs; refreshes every 5 s."""
    w = worker()
    if not w.running:
        st.caption("Background enrichment is off (SOCIAL_ENRICH=0): new posts wait for `python -m analytics.score`.")
        return
    s = w.status()
    if s.state == "enriching" and s.current in (s.models or {}):
        m = s.models[s.current]
        st.progress(m.done / max(m.total, 1), text=s.line())
    else:
        st.caption(s.line())


def model_table() -> pd.DataFrame:
    """Per model: posts with a current score, total, share, speed and time left of the pass in flight."""
    s = worker().status()
    rows = [{"model": name, "scored": m.done, "posts": m.total,
             "share": m.done / m.total if m.total else 1.0, "posts/s": m.rate if s.current == name else None,
             "minutes left": m.eta_s / 60 if s.current == name and m.eta_s is not None else None}
            for name, m in (s.models or {}).items()]
    return pd.DataFrame(rows, columns=["model", "scored", "posts", "share", "posts/s", "minutes left"])


def waiting_note(f: PostFilter, name: str = "sentiment") -> tuple[int, int]:
    """Before a chart that needs model `name`: says how many posts of the selection still wait for that score (the
    worker is computing them; nothing for the user to press). Returns (scored, total) of the selection."""
    n, total = data.model_coverage(f)[name]
    if n < total:
        how = ("the background enrichment is scoring them (progress in the sidebar)" if worker().running else
               "background enrichment is off here (SOCIAL_ENRICH=0), so they wait for `python -m analytics.score`")
        what = "embedding" if name == "embedding" else f"{name} score"
        st.info(f"{total - n:,} of {total:,} posts in this selection have no {what} yet: {how}. "
                f"Until then this covers the {n:,} scored ones.")
    return n, total


def screening_note(name: str = "toxicity") -> bool:
    """Where a page is empty because the worker has not yet scored every post with model `name` (e.g. an empty
    review queue during first-start screening): say so, and rerun the page while that model's count grows, so
    the first results appear without a click. Returns whether the note was shown."""
    w = worker()
    s = w.status()
    m = (s.models or {}).get(name)
    if not w.running or (s.state != "starting" and (m is None or not m.remaining)):
        return False
    screened = "starting" if m is None else f"{m.done:,} of {m.total:,} posts screened"
    st.info(f"Nothing here yet: the {name} model is still screening the store ({screened}). This page refreshes "
            "by itself as its results arrive.")
    _rerun_on_progress(name, m.done if m else -1)
    return True


@st.fragment(run_every=5)
def _rerun_on_progress(name: str, seen: int) -> None:
    m = (worker().status().models or {}).get(name)
    if m is not None and (m.done != seen or not m.remaining):
        st.rerun()


def detection_note() -> None:
    """Where a page waits for the worker's first stored detections (campaigns, claim matches): say so, and rerun the
    page once they are there."""
    st.info("Detection has not run on this store yet: the background worker runs it right after screening the posts "
            "with toxicity. This page refreshes by itself.")
    _rerun_when_detected()


@st.fragment(run_every=5)
def _rerun_when_detected() -> None:
    if data.detections_refreshed_at() is not None:
        st.rerun()
