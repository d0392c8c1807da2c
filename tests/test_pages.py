"""Headless page tests (streamlit.testing.v1.AppTest) against the sample store."""
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from analytics import store
from analytics.access import auth

ROOT = Path(__file__).resolve().parent.parent
PAGES = ["app.py", "pages/analyst_overview.py", "pages/analyst_topics.py", "pages/moderator_reports.py",
         "pages/product_feed.py"]


ADMIN = auth.User("tester", "Test Admin", "admin")


def run(page: str, user: auth.User | None = ADMIN, **params: str) -> AppTest:
    """Run `page` headless as `user` (signed in), with `params` as its URL query parameters."""
    at = AppTest.from_file(str(ROOT / page), default_timeout=120)
    at.query_params.update(params)
    if user:
        at.session_state["user"] = user
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_sample_data(full_db, use_db, page, auto_limit):
    auto_limit(0)  # the shared sample store stays unscored
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


def test_feed_page_switches_user(full_db, use_db, auto_limit):
    auto_limit(0)
    use_db(full_db)
    at = run("pages/product_feed.py")
    at.text_input(key="feed_q").input("zzzzzz").run()
    assert at.warning and "No user handle" in at.warning[0].value


def test_untrusted_text_is_rendered_inert(tmp_path, use_db, small_db, auto_limit):
    import shutil

    auto_limit(0)
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


def test_scoring_button_scores_the_selection(small_db, use_db, tmp_path, auto_limit):
    import shutil

    auto_limit(0)
    db = use_db(tmp_path / "sc.duckdb")
    shutil.copy(small_db, db)
    at = run("pages/analyst_overview.py", q="cancelled")
    assert at.sidebar.text_input(key="overview_kw").value == "cancelled", "the URL seeds the filter"
    at.button(key="overview_score").click().run()
    assert not at.exception
    con = store.connect(db)
    n_sel = con.execute("SELECT count(*) FROM posts WHERE contains(lower(text), 'cancelled')").fetchone()[0]
    assert con.execute("SELECT count(DISTINCT post_id) FROM model_scores").fetchone()[0] == n_sel
    con.close()


def test_sentiment_chart_scores_small_selections_first(small_db, use_db, tmp_path, auto_limit):
    import shutil

    auto_limit(100)
    db = use_db(tmp_path / "sent.duckdb")
    shutil.copy(small_db, db)
    con = store.connect(db, read_only=True)
    n_sel = con.execute("SELECT count(*) FROM posts WHERE contains(lower(text), 'cancelled')").fetchone()[0]
    con.close()
    assert 0 < n_sel <= 100
    at = run("pages/analyst_overview.py", q="cancelled")
    assert any(f"{n_sel} of {n_sel} posts scored" in c.value for c in at.caption), "scored before the chart"
    at.sidebar.text_input(key="overview_kw").set_value("").run()
    assert not at.exception
    assert any("1,9" in i.value and "have no sentiment score yet" in i.value for i in at.info), "too many: asks"
    assert any(f"{n_sel} of 2,000 posts scored" in c.value for c in at.caption)
    assert at.button(key="overview_sent_ensure")


def test_invalid_url_params_fall_back_with_a_notice(full_db, use_db):
    use_db(full_db)
    at = run("pages/analyst_overview.py", q="deflategate", sentiment="angry", **{"from": "yesterday"})
    notes = " ".join(w.value for w in at.sidebar.warning)
    assert "sentiment 'angry' is not one of" in notes and "from='yesterday' is not a date" in notes
    assert at.sidebar.text_input(key="overview_kw").value == "deflategate"
    assert at.sidebar.selectbox(key="overview_sentiment").value == "any"
    assert at.query_params["q"] in ("deflategate", ["deflategate"]) and "sentiment" not in at.query_params, "URL mirrors what applies"
    assert all("deflategate" in t.value.lower() for t in at.text)


def test_overview_explains_the_injected_spikes(full_db, use_db):
    use_db(full_db)
    at = run("pages/analyst_overview.py")
    pick = at.selectbox(key="overview_vspikes")
    labels = pick.options  # as shown
    assert any("2026-08-12" in x and "coachella" in x for x in labels)
    assert any("2026-09-21" in x and "@apple" in x for x in labels)
    assert any("2026-10-17" in x and "flight" in x for x in labels)
    terms = [set(d.value["term"]) for d in at.dataframe if "term" in d.value.columns]
    assert terms and "coachella2015" in terms[0], "the strongest spike (Coachella) is explained by its terms"


def test_topics_page(full_db, use_db, auto_limit):
    auto_limit(0)
    use_db(full_db)
    at = run("pages/analyst_topics.py")
    tables = [d.value for d in at.dataframe]
    assert len(tables[0]) == 10 and {"topic", "posts", "posts_change_%"} <= set(tables[0].columns)
    assert any("term" in t.columns for t in tables), "trending terms and word-cloud counts"
    assert at.get("image"), "a word cloud is drawn"
