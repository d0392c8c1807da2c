"""The privacy policy of the signed-in user (by role, analytics.access.privacy.policy) and the one place views and
exports apply it; also where shown and exported text is made inert (invisible controls stripped, formula-like CSV
cells neutralised)."""
from __future__ import annotations

import csv

import pandas as pd
import streamlit as st

from analytics.access import inert, privacy
from components import data
from components.resources import pseudonym_key

REDACT, DP, EPSILON = "privacy_redact", "privacy_dp", "privacy_epsilon"


def current() -> privacy.Policy:
    """The privacy policy of the signed-in user, decided by their role on the server (analytics.access.privacy.policy);
    only an admin's own session toggle counts, and it defaults to redacted."""
    from components.auth import current_user  # components.auth imports the post cards, which import this module

    user = current_user()
    choice = st.session_state.get(REDACT) if user is not None and user.role == "admin" else None
    return privacy.policy(user, choice)


def settings() -> None:
    """Sidebar: what redaction applies and why (a toggle for admins only); Laplace noise on exported aggregate
    counts, with its epsilon."""
    pol = current()
    with st.sidebar.expander("Privacy"):
        if pol.can_choose:
            st.session_state.setdefault(REDACT, True)
            st.toggle("Redact PII in views and exports", key=REDACT,
                      help="Masks emails, phone numbers, links with tokens and @handles in every text; authors and "
                           "moderators appear as stable pseudonyms.")
        else:
            st.markdown("**Redaction: " + ("on" if pol.redact else "off") + "**")
        st.caption(pol.why)
        st.toggle("Noise on exported aggregate counts", key=DP,
                  help="Adds Laplace noise (differential privacy per post) to counts in exported summary "
                       "tables: topics, hashtags, terms. Views keep exact counts.")
        if st.session_state.get(DP):
            st.slider("Epsilon (smaller = more noise)", 0.1, 5.0, 1.0, 0.1, key=EPSILON,
                      help="Noise scale is 1/epsilon: at 1.0 a count moves by about 1 on average.")


def redacting() -> bool:
    """Whether this session's text is redacted (by role; an admin's by their choice)."""
    return current().redact


def pseudonymising() -> bool:
    """Whether this session sees people as pseudonyms."""
    return current().pseudonymise


def text(value: str) -> str:
    """Text from the data (post text, a reason, an explanation, a label) as this session may see it (zero-width and
    bidi controls stripped)."""
    value = str(value)
    return inert.strip_controls(privacy.redact(value) if redacting() else value)


def texts(values) -> list[str]:
    """`text` of each value."""
    pol = current()
    return [inert.strip_controls(privacy.redact(str(v)) if pol.redact else str(v)) for v in values]


def handle(value: str) -> str:
    """A user handle as this session may see it (a pseudonym when pseudonymising; controls stripped)."""
    return privacy.pseudonym(value, pseudonym_key()) if pseudonymising() else inert.strip_controls(value)


def post_id(value: str) -> str:
    """A post id as this session may see it: an imported post's id is a pseudonym when pseudonymising."""
    if pseudonymising() and value in data.imported_post_ids():
        return privacy.post_pseudonym(value, pseudonym_key())
    return inert.strip_controls(value)


def labels(df: pd.DataFrame, texts: tuple[str, ...] = (), handles: tuple[str, ...] = ()) -> pd.DataFrame:
    """`df` with the columns a chart draws as labels (`texts`: topics, event names; `handles`) as this session may see
    them, before they reach a figure (whose data, customdata included, goes to the browser)."""
    pol = current()
    if not pol.redact and not pol.pseudonymise:
        return df
    out = df.copy()
    for col in texts:
        if col in out.columns and pol.redact:
            out[col] = out[col].map(lambda v: privacy.redact(v) if isinstance(v, str) else v)
    for col in handles:
        if col in out.columns and pol.pseudonymise:
            out[col] = out[col].map(lambda v: privacy.pseudonym(v, pseudonym_key()) if isinstance(v, str) else v)
    return out


def shown(df: pd.DataFrame) -> pd.DataFrame:
    """A table as this session may see it: when redacting, every text cell redacted and people and imported post ids
    pseudonymised; zero-width and bidi controls stripped."""
    if not redacting():
        return inert.display_frame(df)
    imported = data.imported_post_ids() if any(c in df.columns for c in privacy.POST_ID_COLUMNS) else ()
    return inert.display_frame(privacy.redact_frame(df, pseudonym_key(), imported))


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
