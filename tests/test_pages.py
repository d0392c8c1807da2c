"""Headless page tests (streamlit.testing.v1.AppTest) against the sample store."""
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from analytics import store

ROOT = Path(__file__).resolve().parent.parent
PAGES = ["app.py", "pages/analyst_overview.py", "pages/moderator_reports.py", "pages/product_feed.py"]


def run(page: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / page), default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_sample_data(full_db, use_db, page):
    use_db(full_db)
    at = run(page)
    assert at.metric, "each page shows headline numbers from the store"
    assert at.text, "each page shows posts"


def test_overview_numbers_and_keyword_filter(full_db, use_db):
    use_db(full_db)
    at = run("pages/analyst_overview.py")
    assert at.metric[0].value == "38,158"
    at.sidebar.text_input(key="overview_kw").input("deflategate").run()
    assert not at.exception
    assert all("deflategate" in t.value.lower() for t in at.text)
    assert "posts selected" in at.subheader[0].value


def test_feed_page_switches_user(full_db, use_db):
    use_db(full_db)
    at = run("pages/product_feed.py")
    at.text_input(key="feed_q").input("zzzzzz").run()
    assert at.warning and "No user handle" in at.warning[0].value


def test_untrusted_text_is_rendered_inert(tmp_path, use_db, small_db):
    import shutil

    db = use_db(tmp_path / "copy.duckdb")
    shutil.copy(small_db, db)
    evil = "<script>alert(1)</script> **bold** [x](javascript:alert(1)) <img src=x onerror=alert(1)>"
    con = store.connect(db)
    store.upsert(con, "users", pd.DataFrame({"user_id": ["evil"], "handle": ["**h4x**<b>"], "source": "test"}))
    store.upsert(con, "posts", pd.DataFrame({"post_id": ["evil1"], "author_id": ["evil"],
                                             "created_at": [datetime(2030, 1, 1)], "text": [evil], "source": "test"}))
    con.close()
    at = run("pages/analyst_overview.py")
    assert evil in [t.value for t in at.text]  # st.text: shown verbatim, never parsed as markdown or HTML
    captions = [c.value for c in at.caption]
    assert any(r"@\*\*h4x\*\*\<b\>" in c for c in captions)


def test_models_page_shows_computed_metrics_and_tries_text(small_db, use_db, tmp_path):
    import json
    import shutil

    from analytics import models

    db = use_db(tmp_path / "m.duckdb")
    shutil.copy(small_db, db)
    at = run("pages/models.py")
    ev = models.sentiment_eval()
    assert at.metric[0].value == f"{ev['accuracy']:.3f}"
    assert len(at.get("plotly_chart")) >= 4  # confusion, calibration, and the two try-box bar charts
    at.text_area[0].input("you are an idiot").run()
    assert not at.exception
    assert any("Toxicity: flagged" in m.value for m in at.markdown)
    assert any(":red-background[idiot]" in m.value for m in at.markdown)
    assert json.dumps(ev)  # the page reads the JSON written by training, not typed numbers


def test_scoring_button_scores_the_selection(small_db, use_db, tmp_path):
    import shutil

    db = use_db(tmp_path / "sc.duckdb")
    shutil.copy(small_db, db)
    at = run("pages/analyst_overview.py")
    at.sidebar.text_input(key="overview_kw").input("cancelled").run()
    at.button(key="overview_score").click().run()
    assert not at.exception
    con = store.connect(db)
    n_sel = con.execute("SELECT count(*) FROM posts WHERE contains(lower(text), 'cancelled')").fetchone()[0]
    assert con.execute("SELECT count(DISTINCT post_id) FROM model_scores").fetchone()[0] == n_sel
    con.close()


def test_overview_sentiment_chart_after_scoring(small_db, use_db, tmp_path):
    import shutil

    from analytics import scoring

    db = use_db(tmp_path / "sent.duckdb")
    shutil.copy(small_db, db)
    at = run("pages/analyst_overview.py")
    assert any("No post in this selection is scored" in i.value for i in at.info)
    con = store.connect(db)
    scoring.score_posts(con, names=["sentiment"], limit=300)
    con.close()
    import streamlit as st

    st.cache_data.clear()
    at = run("pages/analyst_overview.py")
    assert not any("No post in this selection is scored" in i.value for i in at.info)
    assert any("300 of 2,000 posts scored" in c.value for c in at.caption)
