"""Sign-in for the dashboard: the signed-in user lives in st.session_state['user']; every page asks for the
capability it needs with `require` (the analytics layer checks again before any write)."""
from __future__ import annotations

import time

import streamlit as st

from analytics.access import auth
from components.post_card import escape_md
from components.resources import first_admin_password_file


def current_user() -> auth.User | None:
    """The signed-in user of this browser session, or None."""
    return st.session_state.get("user")


def require(capability: str) -> auth.User:
    """The signed-in user when they have `capability`; otherwise a notice and the page stops here."""
    user = current_user()
    if user is None:
        st.warning("Sign in to see this page.")
        st.stop()
    if not user.can(capability):
        st.error(f"Your role ({escape_md(user.role)}) does not allow this page.")
        st.stop()
    return user


def sign_in_page() -> None:
    """The page shown before sign-in: a username/password form."""
    st.title("Sign in")
    created = first_admin_password_file()
    if created:
        st.info(f"First run: an admin account `admin` was created. Its password is in `{created}` on the server "
                "(readable only by the account running the dashboard). Sign in, then add users with "
                "`.venv/bin/python -m analytics.auth add NAME --role moderator`.")
    with st.form("sign_in"):
        username = st.text_input("Username", key="sign_in_user")
        password = st.text_input("Password", type="password", key="sign_in_password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        user = auth.authenticate(username.strip(), password)
        if user is None:
            time.sleep(0.5)  # slows password guessing from one session
            st.error("Wrong username or password.")
            return
        st.session_state["user"] = user
        st.rerun()


def sign_out() -> None:
    """Forget the signed-in user (the next run shows the sign-in page)."""
    for key in list(st.session_state):
        del st.session_state[key]


def account_box(user: auth.User) -> None:
    """Sidebar: who is signed in, with a sign-out button."""
    with st.sidebar:
        st.caption(f"Signed in as **{escape_md(user.name or user.username)}** ({escape_md(user.role)})")
        st.button("Sign out", key="sign_out", on_click=sign_out)
