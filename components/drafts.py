"""Draft text from the local small language model, streamed as plain text, always labelled as a draft."""
from __future__ import annotations

import streamlit as st

from analytics.access.inert import strip_controls
from analytics.models.drafts import DRAFT_LABEL, Messages
from components.resources import drafter


def draft(messages: Messages, key: str, button: str, max_new_tokens: int = 80) -> str | None:
    """A button that streams a draft for `messages` into the page (a Stop button ends it; a finished draft for the
    same input comes from the cache). Returns the draft of this input once there is one, else None."""
    d = drafter()
    done = d.cached(messages, max_new_tokens)
    if done is None and st.button(button, key=f"{key}_go"):
        # Any click reruns the script, which closes the stream and stops generation at the next token.
        st.button("Stop", key=f"{key}_stop")
        with st.spinner("Loading the language model (first use, about 15 s)…"):
            d.load()
        box, text = st.empty(), ""
        for chunk in d.generate(messages, max_new_tokens):
            text += chunk
            box.text(strip_controls(text))  # model output is untrusted text too: never markdown
        box.empty()
        done = d.cached(messages, max_new_tokens) or text
    if done:
        st.caption(f"**{DRAFT_LABEL}.** Written by SmolLM2-135M on this machine from the facts shown; it often "
                   "invents or wanders. Nothing is saved or sent unless you use it.")
    return done
