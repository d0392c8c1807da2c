"""On-demand scoring of the posts behind the current selection, with status, progress and interruption."""
from __future__ import annotations

import streamlit as st

from analytics import scoring
from analytics.queries import PostFilter
from components import data
from components.resources import cursor, models, write_lock


def scoring_panel(f: PostFilter, key: str) -> dict[str, tuple[int, int]]:
    """Show model coverage of the selection and a button that scores what is missing. Returns the coverage."""
    with cursor() as cur:
        cov = scoring.coverage(cur, f)
    missing = max(total - n for n, total in cov.values())
    cols = st.columns(len(cov) + 1)
    for col, (name, (n, total)) in zip(cols, cov.items()):
        col.metric(f"{name.capitalize()} scored", f"{n:,} / {total:,}")
    if missing and cols[-1].button(f"Score {missing:,} posts", key=f"{key}_score", type="primary"):
        _run(f, key)
        st.rerun()
    return cov


def _run(f: PostFilter, key: str) -> None:
    models()
    st.button("Stop", key=f"{key}_stop", help="Stops after the batch in flight; finished batches are kept.")
    with st.status("Scoring posts…", expanded=True) as status:
        bar = st.progress(0.0)
        with cursor() as cur:
            done = scoring.score_posts(
                cur, f, write_lock=write_lock(),
                progress=lambda d, t, msg: bar.progress(d / max(t, 1), text=msg))
        status.update(label="Scored " + ", ".join(f"{n:,} posts ({m})" for m, n in done.items()), state="complete")
    data.clear()
