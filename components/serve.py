"""`python -m components.serve [streamlit run options]` (what `make run` starts): the dashboard as a Streamlit ASGI
app with
- the store's enrichment worker (and its import inbox) started with the server, before anyone opens a browser;
- the two HTTP routes that set and clear the HttpOnly session cookie (`/api/session/start`, `/api/session/end`);
- the first-run admin account created at start, its password file named on the console."""
from __future__ import annotations

import sys
from contextlib import asynccontextmanager
from pathlib import Path

import streamlit as st
from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route
from streamlit.runtime.pages_manager import PagesManager

from analytics import store
from analytics.access import sessions
from components import resources

APP = Path(__file__).resolve().parent.parent / "app.py"

# app.py drives the pages with st.navigation. Until a process's first st.navigation call, Streamlit still routes a
# visitor with its legacy pages/ directory mode, running pages/<name>.py bare (no sign-in shell, no navigation):
# the first visitor of a fresh server at a deep link would get that. Streamlit's own st.navigation sets this flag.
PagesManager.uses_pages_directory = False


async def start_session(request: Request) -> RedirectResponse:
    """Trade a sign-in ticket for the session cookie, then go to the page the user asked for."""
    cookie = resources.sessions().redeem(request.query_params.get("ticket", ""))
    response = RedirectResponse(sessions.safe_next(request.query_params.get("next")), status_code=303)
    if cookie:
        response.set_cookie(sessions.COOKIE, cookie, max_age=int(sessions.MAX_AGE_S), httponly=True,
                            samesite="lax", secure=request.url.scheme == "https")
    return response


async def end_session(request: Request) -> RedirectResponse:
    """Revoke the session (again: the app's sign-out already did) and clear its cookie."""
    resources.sessions().revoke(request.cookies.get(sessions.COOKIE))
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(sessions.COOKIE, httponly=True, samesite="lax")
    return response


@asynccontextmanager
async def lifespan(app):
    resources.first_admin_password_file()
    resources.enricher(str(store.db_path()))
    yield


app = st.App(str(APP), lifespan=lifespan, routes=[Route("/api/session/start", start_session),
                                                   Route("/api/session/end", end_session)])


def main() -> None:
    """Hand the command line to `streamlit run` on this module, which serves `app`."""
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", __file__, *sys.argv[1:]]
    cli.main()


if __name__ == "__main__":
    main()
