"""The enrichment worker's progress, on every page (sidebar) and per model (Models page)."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from analytics import store
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
    if s.state == "enriching" and s.current:
        m = s.models[s.current]
        st.progress(m.done / max(m.total, 1), text=s.line())
    else:
        st.caption(s.line())


def model_table() -> pd.DataFrame:
    """Per model: posts with a current score, total, share, speed and time left of the pass in flight."""
    s = worker().status()
    rows = [{"model": name + (" + embeddings" if name == "sentiment" else ""), "scored": m.done, "posts": m.total,
             "share": m.done / m.total if m.total else 1.0, "posts/s": m.rate if s.current == name else None,
             "minutes left": m.eta_s / 60 if s.current == name and m.eta_s is not None else None}
            for name, m in (s.models or {}).items()]
    return pd.DataFrame(rows, columns=["model", "scored", "posts", "share", "posts/s", "minutes left"])
