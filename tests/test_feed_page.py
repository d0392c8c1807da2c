"""The feed preview page on a scored copy of the small store: a real user's feed with explanations, strategy
comparison, a moderator's removal taking the post out of the feed, and a cold-start persona."""
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
import streamlit as st

from analytics import feed, moderation, store
from analytics.access import auth, privacy
from analytics.models import scoring

PM = auth.User("pm", "PM", "product")


@pytest.fixture(scope="module")
def scored(small_db, tmp_path_factory) -> Path:
    path = Path(shutil.copy(small_db, tmp_path_factory.mktemp("feed") / "scored.duckdb"))
    con = store.connect(path)
    scoring.score_posts(con)
    con.close()
    return path


def busiest_reader(path: Path) -> tuple[str, str]:
    """The user with the most likes in the last 7 days (so the feed has interests and social proof)."""
    con = store.connect(path)
    try:
        end = feed.data_end(con)
        return con.execute("""SELECT i.user_id, u.handle FROM interactions i JOIN users u USING (user_id)
                              WHERE i.kind = 'like' AND i.ts >= ? GROUP BY ALL ORDER BY count(*) DESC, 1 LIMIT 1""",
                           [end - timedelta(days=7)]).fetchall()[0]
    finally:
        con.close()


@pytest.fixture
def run_feed(app_run):
    """Run the feed page as a product manager with `state` preset in its session state."""
    return lambda **state: app_run("pages/product_feed.py", PM, state=state)


def test_feed_with_explanations_comparison_and_moderation(scored, tmp_path, use_db, run_feed):
    db = use_db(Path(shutil.copy(scored, tmp_path / "db.duckdb")))
    user_id, handle = busiest_reader(db)
    # A product manager sees people as pseudonyms, and finds them by pseudonym.
    handle = privacy.pseudonym(handle, privacy.pseudonym_key())
    at = run_feed(feed_q=handle)
    assert at.selectbox(key="feed_user").value == user_id
    cards = [c.value for c in at.caption if c.value.startswith("\\#1 ")]  # escaped markdown
    assert cards and "score" in cards[0] and "semantic" in cards[0]
    feed_table = next(d.value for d in at.dataframe if "score_rank" in d.value.columns)
    assert len(feed_table) == 20 and feed_table["rank"].tolist() == list(range(1, 21))
    assert feed_table["explanation"].str.len().gt(0).all(), "every item is explained"

    at.toggle(key="feed_compare").set_value(True).run()
    assert not at.exception and any(m.label == "Jaccard overlap" for m in at.metric)

    top = feed_table["post_id"].iloc[0]
    con = store.connect(db)
    moderation.decide(con, auth.User("mod", "Mod", "moderator"), top, "remove", "spam", seen=None)
    con.close()
    st.cache_data.clear()
    at = run_feed(feed_q=handle)
    feed_table = next(d.value for d in at.dataframe if "score_rank" in d.value.columns)
    filtered = next(d.value for d in at.dataframe if "detail" in d.value.columns)
    assert top not in set(feed_table["post_id"]), "a removed post leaves the feed"
    assert filtered.loc[filtered["post_id"] == top, "reason"].tolist() == ["removed"]


def test_cold_start_persona(scored, tmp_path, use_db, run_feed):
    use_db(Path(shutil.copy(scored, tmp_path / "db.duckdb")))
    con = store.connect(tmp_path / "db.duckdb")
    (topic,), = con.execute("SELECT topic FROM posts GROUP BY 1 ORDER BY count(*) DESC LIMIT 1").fetchall()
    con.close()
    at = run_feed(feed_mode="A cold-start persona", feed_persona_topics=[topic])
    feed_table = next(d.value for d in at.dataframe if "score_rank" in d.value.columns)
    assert len(feed_table) > 0 and (feed_table["topic"] == topic).mean() > 0.5
