"""On-demand scoring of the posts behind the current selection, with status, progress and interruption."""
from __future__ import annotations

from typing import Sequence

import streamlit as st

from analytics.analyst.filters import PostFilter
from analytics.models import coverage, scoring
from analytics.models.registry import MODELS
from components import data
from components.resources import cursor, embedding_index, models

AUTO_LIMIT = 3000  # scored without asking: about half a minute on 2 CPU cores


def scoring_panel(f: PostFilter, key: str) -> dict[str, tuple[int, int]]:
    """Show model coverage of the selection and a button that scores what is missing. Returns the coverage."""
    with cursor() as cur:
        cov = coverage.coverage(cur, f)
    missing = max(total - n for n, total in cov.values())
    cols = st.columns(len(cov) + 1)
    for col, (name, (n, total)) in zip(cols, cov.items()):
        col.metric(f"{name.capitalize()} scored", f"{n:,} / {total:,}")
    if missing and cols[-1].button(f"Score {missing:,} posts", key=f"{key}_score", type="primary"):
        _run(f, key)
        st.rerun()
    return cov


def ensure_scored(f: PostFilter, key: str, name: str = "sentiment") -> tuple[int, int]:
    """Before a chart that needs model `name`: score the selection's unscored posts at once (with progress) when
    there are at most AUTO_LIMIT of them, else offer a button. Returns (scored, total) of the selection."""
    with cursor() as cur:
        n, total = coverage.coverage(cur, f)[name]
    missing = total - n
    if not missing:
        return n, total
    auto = missing <= AUTO_LIMIT and not st.session_state.get(f"{key}_stopped")
    if auto or st.button(f"Score the {missing:,} unscored posts", key=f"{key}_ensure", type="primary"):
        _run(f, key, (name,))
        st.rerun()
    st.info(f"{missing:,} of {total:,} posts in this selection have no {name} score yet, so the chart below covers "
            f"the {n:,} scored ones. Scoring runs the model on this machine; narrow the filters to score fewer.")
    return n, total


def _stop(key: str) -> None:
    st.session_state[f"{key}_stopped"] = True


def _run(f: PostFilter, key: str, names: Sequence[str] = MODELS) -> None:
    models()
    st.button("Stop", key=f"{key}_stop", on_click=_stop, args=(key,),
              help="Stops after the batch in flight; finished batches are kept.")
    with st.status("Scoring posts…", expanded=True) as status:
        bar = st.progress(0.0)
        with cursor() as cur:
            done = scoring.score_posts(
                cur, f, names=names,
                progress=lambda d, t, msg: bar.progress(d / max(t, 1), text=msg))
        status.update(label="Scored " + ", ".join(f"{n:,} posts ({m})" for m, n in done.items()), state="complete")
    data.clear()
    embedding_index.clear()
