"""The one place that creates process-wide cached resources: the DuckDB connection, the models, the enrichment
worker, the drafter.

Writes need no lock from here: analytics.store serialises every write of the process."""
from __future__ import annotations

import os
import time
from datetime import datetime
from pathlib import Path
from types import ModuleType

import duckdb
import streamlit as st

from analytics import feed, store
from analytics import models as model_api
from analytics.access import auth, privacy
from analytics.access import sessions as session_api
from analytics.data import build, inbox, ingest
from analytics.models import drafts, enrichment, toxicity
from analytics.moderation import known_claims
from components import caching


@st.cache_resource(show_spinner=False)
def connection(path: str) -> duckdb.DuckDBPyConnection:
    """The app's read-write connection to `path` (this process owns the file); builds the sample store if missing."""
    if not Path(path).exists():
        bar = st.progress(0.0, text="First run: building the sample store")
        build.build(path, progress=lambda f, m: bar.progress(min(f, 1.0), text=m))
        bar.empty()
    return store.connect(path)


def cursor() -> duckdb.DuckDBPyConnection:
    """A per-call cursor on the shared connection: DuckDB connections must not be shared across threads."""
    return connection(str(store.db_path())).cursor()


@st.cache_resource(show_spinner="Loading models (first use only)…")
def models() -> ModuleType:
    """The model API (analytics.models) with both models loaded; errors name the missing package or artefact."""
    model_api.english_sentiment()
    toxicity.load()
    model_api.set_threads()
    return model_api


@st.cache_resource(show_spinner=False)
def _first_admin(path: str) -> str | None:
    password = auth.ensure_admin(path)
    if password is None:
        return None
    created = str(Path(path).with_name("admin_password.txt"))
    print(f"First run: created the user 'admin'; its password is in {created}", flush=True)
    return created


def first_admin_password_file() -> str | None:
    """On the first start (no users file yet) creates the admin account; then the path of its password file."""
    return _first_admin(str(auth.auth_path()))


@st.cache_resource(show_spinner=False)
def sessions() -> session_api.Sessions:
    """The browser-session table of this process (cookies signed with data/session.key; idle timeout from env
    SOCIAL_IDLE_MINUTES, default 30)."""
    idle = float(os.environ.get("SOCIAL_IDLE_MINUTES", session_api.IDLE_S / 60)) * 60
    return session_api.Sessions(session_api.secret_key(auth.auth_path().with_name("session.key")), idle_s=idle)


@st.cache_resource(ttl=600, max_entries=4, show_spinner="Indexing recent post embeddings…")
def embedding_index(path: str, days: float, as_of: datetime | None = None) -> feed.EmbeddingIndex:
    """Embeddings of the `days` of posts before `as_of` (default: the last post) of the store at `path`, for the
    feed's similarity search; cleared after scoring writes new embeddings."""
    return feed.EmbeddingIndex.build(cursor(), days, as_of)


CACHE_CLEAR_S = 15.0  # while enriching, cached query results are refreshed at most this often


@st.cache_resource(show_spinner=False)
def enricher(path: str) -> enrichment.Enricher:
    """The one enrichment worker of the store at `path`, started with the app unless env SOCIAL_ENRICH=0. It also
    drains the store's import inbox (batches that `python -m analytics.ingest` hands over while the dashboard runs).
    After its writes, cached query results (and, for new embeddings, the feed's index) are refreshed."""
    con = connection(path)
    last = [time.monotonic()]
    box = inbox.inbox_dir(path)

    def refresh(model: str, finished: bool) -> None:
        if finished or time.monotonic() - last[0] >= CACHE_CLEAR_S:
            last[0] = time.monotonic()
            if model in (enrichment.DETECTIONS, "claims"):
                caching.clear("detections")
                return
            caching.clear("scores")
            if model == "embedding":  # the abuse pass of posts embedded earlier leaves their embeddings as they were
                embedding_index.clear()

    def intake(cur: duckdb.DuckDBPyConnection) -> int:
        inbox.beat(box)
        receipts = ingest.drain_inbox(cur, box)
        for r in receipts:
            print(f"inbox: {ingest.summary(r['result']) if r['ok'] else 'failed: ' + r['error']}", flush=True)
        if receipts:
            caching.clear("posts")
        claims = known_claims.drain_inbox(cur, box)  # from `python -m analytics.claims add`
        for r in claims:
            print(f"inbox: {'claim ' + str(r['claim_id']) + ' added' if r['ok'] else 'failed: ' + r['error']}",
                  flush=True)
        # a new claim counts as arrival too: the worker's next pass embeds it
        return sum(r["result"]["rows"] for r in receipts if r["ok"]) + sum(r["ok"] for r in claims)

    worker = enrichment.Enricher(con.cursor, on_write=refresh, log=lambda msg: print(msg, flush=True),
                                 intake=intake)
    if os.environ.get("SOCIAL_ENRICH", "1") != "0":
        worker.start()
    return worker


@st.cache_resource(show_spinner=False)
def drafter() -> drafts.Drafter:
    """The one SmolLM2 drafter (loaded on first use, one generation at a time, finished drafts cached)."""
    return drafts.Drafter()


@st.cache_resource(show_spinner=False)
def pseudonym_key() -> bytes:
    """This installation's pseudonym key, read (or created) once per process rather than per post card."""
    return privacy.pseudonym_key()
