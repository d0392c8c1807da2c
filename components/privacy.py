"""The privacy policy of the signed-in user (by role, analytics.access.privacy.policy) and the one place views and
exports apply it; also where shown and exported text is made inert (invisible controls stripped, formula-like CSV
cells neutralised)."""
from __future__ import annotations

import csv

import pandas as pd
import streamlit as st

from analytics.access import dp, inert, privacy
from analytics.analyst import releases
from components import caching, data
from components.caching import cached
from components.resources import cursor, pseudonym_key

REDACT, EXACT, EPSILON = "privacy_redact", "privacy_exact", "privacy_epsilon"


def _user():
    from components.auth import current_user  # components.auth imports the post cards, which import this module

    return current_user()


def current() -> privacy.Policy:
    """The privacy policy of the signed-in user, decided by their role on the server (analytics.access.privacy.policy);
    only an admin's own session toggle counts, and it defaults to redacted."""
    user = _user()
    choice = st.session_state.get(REDACT) if user is not None and user.role == "admin" else None
    return privacy.policy(user, choice)


@cached("releases")
def _spent(username: str) -> float:
    with cursor() as cur:
        return dp.spent(cur, username)


@cached("releases")
def _earlier(username: str, key: str):
    with cursor() as cur:
        return dp.find(cur, username, key)


def private_exports() -> bool:
    """Whether this session's aggregate exports are differentially private releases: always, except for an admin
    who asked for exact counts."""
    user = _user()
    return not (user is not None and user.role == "admin" and st.session_state.get(EXACT))


def settings() -> None:
    """Sidebar: what redaction applies and why (a toggle for admins only); private aggregate exports, with this
    user's privacy budget and the epsilon of their next release."""
    pol, user = current(), _user()
    with st.sidebar.expander("Privacy"):
        if pol.can_choose:
            st.session_state.setdefault(REDACT, True)
            st.toggle("Redact PII in views and exports", key=REDACT,
                      help="Masks emails, phone numbers, links with tokens and @handles in every text; authors and "
                           "moderators appear as stable pseudonyms.")
        else:
            st.markdown("**Redaction: " + ("on" if pol.redact else "off") + "**")
        st.caption(pol.why)
        if user is not None and user.role == "admin":
            st.toggle("Exact aggregate exports", key=EXACT,
                      help="Admins may export topic, hashtag and term tables with exact counts. Off: they are "
                           "differentially private releases, as for everyone else.")
        if user is not None and private_exports():
            spent = _spent(user.username)
            st.markdown(f"**Privacy budget:** ε {spent:g} of {dp.budget():g} spent")
            st.progress(min(spent / dp.budget(), 1.0))
            st.select_slider("ε of your next private export", dp.EPSILONS, value=1.0, key=EPSILON,
                             help="Smaller ε: more noise and a higher threshold under which rare keys are withheld, "
                                  "and less of your budget spent. Asking for the same export again costs nothing.")


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


NOBODY = "\u2400 no such author"  # what an author filter matches when the pseudonym typed is nobody's


@cached("posts")
def _handle_of(pseudonym: str) -> str | None:
    key = pseudonym_key()
    return next((h for h in data.search_users("", 10**9)["handle"] if privacy.pseudonym(h, key) == pseudonym), None)


def author(typed: str) -> str:
    """The handle an author filter means: as typed, or, when pseudonymising, the author whose pseudonym was typed (a
    raw handle or an unknown pseudonym matches no post, so the filter cannot test whether a handle exists)."""
    if not typed or not pseudonymising():
        return typed
    return _handle_of(typed.lower()) or NOBODY


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


def _csv(df: pd.DataFrame) -> str:
    # Every text field quoted: post text can hold a bare carriage return, which unquoted would split the row.
    return inert.csv_safe(shown(df)).to_csv(index=False, quoting=csv.QUOTE_NONNUMERIC)


def download(df: pd.DataFrame, filename: str, key: str, release: releases.Release | None = None,
             label: str | None = None) -> None:
    """A CSV download button of `df` under this session's privacy settings: the one export of the dashboard (every
    download goes through here), with cells a spreadsheet would run as formulas neutralised (inert.csv_safe). An
    aggregate table (`release`: what it counts) exports as this user's differentially private release of it
    unless `private_exports()` is off."""
    if release is not None and private_exports():
        _private_download(release, filename, key)
        return
    st.download_button(label or f"Export CSV ({len(df):,} rows)", _csv(df), filename, "text/csv", key=f"{key}_csv")


def _private_download(release: releases.Release, filename: str, key: str) -> None:
    """The user's stored release of `release` at this session's epsilon as a download, or a button that makes it
    (charged to their budget)."""
    user = _user()
    if user is None:
        return
    epsilon = float(st.session_state.get(EPSILON, 1.0))
    earlier = _earlier(user.username, dp.spec_key(release.spec(epsilon)))
    if earlier is not None:
        table, made = earlier
        st.download_button(f"Export private CSV ({len(table):,} rows, ε {epsilon:g})", _csv(table),
                           filename.replace(".csv", f"_dp_eps{epsilon:g}.csv"), "text/csv", key=f"{key}_csv")
        st.caption(f"Differentially private release of {made:%Y-%m-%d %H:%M}: distinct authors per "
                   f"{release.field}, each author counted towards at most {release.keys_per_author} keys; "
                   f"{release.field}s with fewer than {table.attrs.get('threshold', '?')} noisy authors withheld "
                   f"(ε {epsilon:g}, δ {dp.DELTA:g}). Downloading it again costs nothing.")
        return
    left = dp.budget() - _spent(user.username)
    if st.button(f"Prepare a private export (ε {epsilon:g} of your {max(left, 0):g} left)", key=f"{key}_dp",
                 disabled=epsilon > left + 1e-9,
                 help="Counts distinct authors again from the store, adds noise once, and keeps this release: the "
                      "same export later returns the same numbers at no further cost."):
        try:
            with st.spinner("Counting and adding noise…"), cursor() as cur:
                releases.release(cur, user.username, release, epsilon)
        except dp.BudgetExceeded as e:
            st.warning(f"Not released: {e}.")
            return
        caching.clear("releases")
        st.rerun()
    if epsilon > left + 1e-9:
        st.caption(f"Your privacy budget has ε {max(left, 0):g} left: choose a smaller ε in the sidebar's Privacy box.")
