"""The privacy settings of this browser session and the one place views and exports apply them; also where shown
and exported text is made inert (invisible controls stripped, formula-like CSV cells neutralised)."""
from __future__ import annotations

import csv

import pandas as pd
import streamlit as st

from analytics.access import inert, privacy
from components.resources import pseudonym_key

REDACT, DP, EPSILON = "privacy_redact", "privacy_dp", "privacy_epsilon"


def settings() -> None:
    """Sidebar: redact PII everywhere; Laplace noise on exported aggregate counts, with its epsilon."""
    with st.sidebar.expander("Privacy"):
        st.toggle("Redact PII in views and exports", key=REDACT,
                  help="Masks emails, phone numbers, URLs with tokens and @handles in post text; authors and "
                       "moderators appear as stable pseudonyms.")
        st.toggle("Noise on exported aggregate counts", key=DP,
                  help="Adds Laplace noise (differential privacy per post) to counts in exported summary "
                       "tables: topics, hashtags, terms. Views keep exact counts.")
        if st.session_state.get(DP):
            st.slider("Epsilon (smaller = more noise)", 0.1, 5.0, 1.0, 0.1, key=EPSILON,
                      help="Noise scale is 1/epsilon: at 1.0 a count moves by about 1 on average.")


def redacting() -> bool:
    """Whether this session asked for redaction."""
    return bool(st.session_state.get(REDACT))


def text(value: str) -> str:
    """Post text as this session may see it (zero-width and bidi controls stripped)."""
    return inert.strip_controls(privacy.redact(value) if redacting() else value)


def handle(value: str) -> str:
    """A user handle as this session may see it (a pseudonym when redacting; controls stripped)."""
    return privacy.pseudonym(value, pseudonym_key()) if redacting() else inert.strip_controls(value)


def shown(df: pd.DataFrame) -> pd.DataFrame:
    """A table as this session may see it: redacted when asked, zero-width and bidi controls stripped."""
    return inert.display_frame(privacy.redact_frame(df, pseudonym_key()) if redacting() else df)


def export(df: pd.DataFrame, aggregate: bool = False) -> pd.DataFrame:
    """A table as this session may export it: redacted when asked, and with noisy integer counts when it is an
    aggregate table and noise is on."""
    out = shown(df)
    if aggregate and st.session_state.get(DP):
        out = out.copy()
        for col in out.select_dtypes("integer").columns:
            out[col] = privacy.laplace_counts(out[col], st.session_state.get(EPSILON, 1.0))
    return out


def download(df: pd.DataFrame, filename: str, key: str, aggregate: bool = False, label: str | None = None) -> None:
    """A CSV download button of `df` under this session's privacy settings: the one export of the dashboard (every
    download goes through here), with cells a spreadsheet would run as formulas neutralised (inert.csv_safe)."""
    out = inert.csv_safe(export(df, aggregate))
    noisy = " with noise" if aggregate and st.session_state.get(DP) else ""
    # Every text field quoted: post text can hold a bare carriage return, which unquoted would split the row.
    st.download_button(label or f"Export CSV ({len(out):,} rows{noisy})",
                       out.to_csv(index=False, quoting=csv.QUOTE_NONNUMERIC), filename, "text/csv", key=f"{key}_csv")
