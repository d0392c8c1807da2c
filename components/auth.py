"""Sign-in for the dashboard. Who is signed in comes from the session cookie (analytics.access.sessions), checked
on every run; every page asks for the capability it needs with `require` (the analytics layer checks again before
any write). A signed-out visitor of any page gets the sign-in form there, and lands back on that page, with its
query, after signing in."""
from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import streamlit as st

from analytics.access import auth, sessions, signin
from components.post_card import escape_md
from components.resources import cursor, first_admin_password_file
from components.resources import sessions as session_table


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None  # under AppTest the browser context is a stand-in object


def _cookie() -> str | None:
    return _text(st.context.cookies.get(sessions.COOKIE))


def current_user() -> auth.User | None:
    """The signed-in user of this browser, or None. Read from the session cookie on every run, so a sign-out, an
    idle or expired session and a removed user end access at once and a role change applies at the next click.
    (AppTest cannot carry cookies: tests put a User in st.session_state['user']; the app itself never does.)"""
    cookie = _cookie()
    if cookie:
        name = session_table().username(cookie)
        return auth.get_user(name) if name else None
    return st.session_state.get("user")


def _here() -> str:
    """This page's path and query, to come back to after sign-in."""
    path = urlsplit(st.context.url or "/").path or "/"
    query = urlencode([(k, v) for k in st.query_params for v in st.query_params.get_all(k)])
    return path + ("?" + query if query else "")


def require(capability: str) -> auth.User:
    """The signed-in user when they have `capability`; otherwise the sign-in form (signed out) or a notice (role
    without it), and the page stops here."""
    user = current_user()
    if user is None:
        sign_in_form(_here())
        st.stop()
    if not user.can(capability):
        st.error(f"Your role ({escape_md(user.role)}) does not allow this page.")
        st.stop()
    return user


def _redirect(url: str) -> None:
    # The browser must make a plain HTTP request for the server to set or clear the HttpOnly cookie; `url` is built
    # here from a random ticket and a checked local path, never from data, and json.dumps quotes it for JS.
    st.html(f"<script>window.location.replace({json.dumps(url)})</script>", unsafe_allow_javascript=True)
    st.link_button("Continue", url)


def _start_session(user: auth.User, target: str) -> None:
    ticket = session_table().start(user.username)
    _redirect("/api/session/start?" + urlencode({"ticket": ticket, "next": sessions.safe_next(target)}))
    st.stop()


def _new_password_form(user: auth.User, target: str) -> None:
    st.info("This account was created with a generated password. Choose your own to continue; the file holding the "
            "generated one is then deleted.")
    with st.form("new_password"):
        first = st.text_input("New password", type="password", key="new_password_1")
        second = st.text_input("New password again", type="password", key="new_password_2")
        submitted = st.form_submit_button("Set password", type="primary")
    if not submitted:
        return
    if first != second:
        st.error("The two passwords differ.")
        return
    try:
        with cursor() as cur:
            signin.change_password(cur, user, first)
    except ValueError as e:
        st.error(escape_md(e))
        return
    st.session_state.pop("sign_in_pending", None)
    _start_session(auth.get_user(user.username) or user, target)


def sign_in_form(target: str = "/") -> None:
    """The sign-in form; on success the browser gets its session cookie and goes to `target` (a local path)."""
    st.title("Sign in")
    pending = st.session_state.get("sign_in_pending")
    if pending:
        _new_password_form(*pending)
        return
    created = first_admin_password_file()
    if created and Path(created).exists():
        st.info(f"First run: an admin account `admin` was created. Its password is in `{created}` on the server "
                "(readable only by the account running the dashboard). Sign in and choose a new password; then add "
                "users with `.venv/bin/python -m analytics.auth add NAME --role moderator`.")
    if _cookie() and current_user() is None:
        st.caption("Your session has ended (signed out, idle for too long, or the dashboard restarted).")
    with st.form("sign_in"):
        username = st.text_input("Username", key="sign_in_user")
        password = st.text_input("Password", type="password", key="sign_in_password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if not submitted:
        return
    try:
        with cursor() as cur:
            user = signin.attempt(cur, username.strip(), password, _text(st.context.ip_address))
    except signin.SignInRefused as e:
        st.error(str(e))  # our own wording, never data
        return
    if user.must_change:
        st.session_state["sign_in_pending"] = (user, target)
        st.rerun()
    _start_session(user, target)


def sign_in_page() -> None:
    """The page a signed-out visitor of the app's root sees."""
    sign_in_form(_here())


def account_box(user: auth.User) -> None:
    """Sidebar: who is signed in, with a sign-out button (revokes the session at once, then the browser visits the
    route that clears the cookie)."""
    st.sidebar.caption(f"Signed in as **{escape_md(user.name or user.username)}** ({escape_md(user.role)})")
    if st.sidebar.button("Sign out", key="sign_out"):
        session_table().revoke(_cookie())
        st.session_state.clear()
        _redirect("/api/session/end")  # in the main area: a script in the sidebar is not run
        st.stop()
