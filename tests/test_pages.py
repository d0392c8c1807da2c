"""Headless page tests (streamlit.testing.v1.AppTest, through the app_run fixture) against the sample store."""
import json
import shutil
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from analytics import feed, moderation, store
from analytics.access import auth
from analytics.analyst.filters import PostFilter
from analytics.models import scoring
from components import navigation

ROOT = Path(__file__).resolve().parent.parent
PAGES = ["app.py", *(p.path for p in navigation.PAGES)]  # app.py signed in: the default page
MOD = auth.User("maria", "Maria", "moderator")

# What each page shows on sample data: its title, and the kinds of element that must carry data from the store
# (text: post bodies as st.text). Moderator pages run on the toxicity-scored small store with one decision made.
SHOWS = {
    "app.py": ("Overview", {"metric", "text"}),
    "pages/analyst_overview.py": ("Overview", {"metric", "text"}),
    "pages/analyst_topics.py": ("Topics", {"metric", "text", "dataframe"}),
    "pages/analyst_claims.py": ("Known claims", {"metric", "text", "dataframe", "plotly_chart"}),
    "pages/moderator_queue.py": ("Review queue", {"metric", "text", "dataframe"}),
    "pages/moderator_campaigns.py": ("Campaigns", {"metric", "text", "dataframe"}),
    "pages/moderator_reports.py": ("Reported posts", {"metric", "text"}),
    "pages/moderator_audit.py": ("Audit log", {"metric", "dataframe"}),
    "pages/moderator_quality.py": ("Quality", {"metric", "dataframe", "plotly_chart"}),
    "pages/product_feed.py": ("Feed preview", {"metric", "text"}),
    "pages/models.py": ("Models", {"metric", "dataframe", "plotly_chart"}),
    "pages/data_import.py": ("Import posts", {"metric"}),
}
MODERATED = {"pages/moderator_queue.py", "pages/moderator_audit.py", "pages/moderator_quality.py"}
DETECTED = {"pages/analyst_claims.py", "pages/moderator_campaigns.py"}  # on the sample with stored detections


@pytest.fixture
def moderated(scored_small, tmp_path, use_db) -> tuple[Path, str]:
    """A copy of the toxicity-scored small store in which `maria` removed the top flagged post: (path, post_id)."""
    db = use_db(Path(shutil.copy(scored_small, tmp_path / "moderated.duckdb")))
    con = store.connect(db)
    try:
        post = moderation.queue(con, limit=1)["post_id"].iloc[0]
        moderation.decide(con, MOD, post, "remove", "harassment", seen=None)
    finally:
        con.close()
    return db, post


def test_every_navigation_page_has_expectations():
    assert set(SHOWS) == set(PAGES) and len(PAGES) == len(set(PAGES)) == 1 + len(navigation.PAGES)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_sample_data(full_db, use_db, page, app_run, request):
    if page in MODERATED:
        db, removed = request.getfixturevalue("moderated")
    elif page in DETECTED:
        use_db(request.getfixturevalue("detected"))
    else:
        use_db(full_db)
    # The moderators' names checked below: an admin who turned redaction (on by default) off sees them.
    at = app_run(page, state={"privacy_redact": False} if page in MODERATED else None)
    title, shows = SHOWS[page]
    assert at.title[0].value == title
    assert not at.error
    assert at.metric and all(m.value for m in at.metric), "each page shows headline numbers from the store"
    if "text" in shows:
        assert at.text and all(t.value.strip() for t in at.text), "posts, as plain text"
    if "dataframe" in shows:
        assert any(len(d.value) for d in at.dataframe), "a table with rows"
    if "plotly_chart" in shows:
        assert at.get("plotly_chart"), "a chart"
    if page == "pages/moderator_queue.py":
        assert at.subheader[0].value.startswith("Flagged for") and int(at.metric[0].value.replace(",", "")) > 0
        assert at.session_state["queue_current"] not in (None, removed), "the next flagged post, not the removed one"
    elif page == "pages/moderator_audit.py":
        assert at.metric[0].value == "1"
        log = at.dataframe[0].value
        assert log[["post_id", "moderator", "action", "reason_code"]].values.tolist() == [
            [removed, "maria", "remove", "harassment"]]
    elif page == "pages/moderator_quality.py":
        assert any("maria" in d.value.get("moderator", pd.Series(dtype=str)).tolist() for d in at.dataframe)


def test_overview_numbers_and_keyword_filter(full_db, use_db, app_run):
    use_db(full_db)
    at = app_run("pages/analyst_overview.py")
    assert at.metric[0].value == "40,296"  # 38,158 tweets, 2,000 Chinese reviews, 138 injected posts
    at.sidebar.text_input(key="overview_kw").input("deflategate").run()
    assert not at.exception
    assert all("deflategate" in t.value.lower() for t in at.text)
    assert "posts selected" in at.subheader[0].value


def feed_shown(at) -> tuple[str, dict, list[str]]:
    """What the feed page shows: the picked reader, their profile numbers, and the feed's post ids in rank order."""
    profile = {m.label: m.value for m in at.metric if m.label in ("Followers", "Following", "Posts", "Likes given")}
    items = next(d.value for d in at.dataframe if "score_rank" in d.value.columns)
    return at.selectbox(key="feed_user").value, profile, items.sort_values("rank")["post_id"].tolist()


def profile_metrics(profile: dict) -> dict:
    """The feed page's profile numbers for a user_profile() as shown."""
    return {label: str(profile[key]) for label, key in (("Followers", "followers"), ("Following", "following"),
                                                        ("Posts", "posts"), ("Likes given", "likes_given"))}


def test_feed_page_switches_user(full_db, use_db, app_run):
    use_db(full_db)
    con = store.connect(full_db)
    try:
        listed = feed.search_users(con, "", 20)  # the picker's list before any search: most followed first
        profiles = {u: feed.user_profile(con, u) for u in listed["user_id"]}
        settings = feed.Settings(thresholds=moderation.thresholds(con))
        index = feed.EmbeddingIndex.build(con, settings.window_days)

        def expected_feed(user_id: str) -> list[str]:
            return feed.recommend(con, user_id, feed.Weights(), settings, index=index).items["post_id"].tolist()

        # An admin with redaction off, who searches by handle.
        at = app_run("pages/product_feed.py", state={"privacy_redact": False})
        first, profile, items = feed_shown(at)
        assert first == listed["user_id"].iloc[0], "the most followed user is picked first"
        assert profile == profile_metrics(profiles[first])
        assert len(items) == 20 and items == expected_feed(first)

        # Another reader, with other profile numbers: found by handle search, then picked in the user picker.
        other = next(u for u in listed["user_id"].iloc[1:]
                     if (profiles[u]["following"], profiles[u]["likes_given"]) !=
                     (profiles[first]["following"], profiles[first]["likes_given"]))
        handle = profiles[other]["handle"]
        at.text_input(key="feed_q").input(handle).run()
        assert not at.exception
        picker = at.selectbox(key="feed_user")
        assert any(o.startswith(f"@{handle} · ") for o in picker.options), "the search lists the other user"
        assert all(handle.lower() in o.split(" · ")[0].lower() for o in picker.options), "and only matching handles"
        picker.set_value(other).run()
        assert not at.exception
        reader, profile, other_items = feed_shown(at)
        assert reader == other
        assert profile == profile_metrics(profiles[other]) != profile_metrics(profiles[first])
        assert other_items == expected_feed(other) and other_items != items, "the other reader's own feed"
    finally:
        con.close()

    at.text_input(key="feed_q").input("zzzzzz").run()
    assert at.warning and "No user handle" in at.warning[0].value
    assert not at.dataframe and not at.text, "no reader, no feed"


def test_untrusted_text_is_rendered_inert(tmp_path, use_db, small_db, app_run):
    db = use_db(tmp_path / "copy.duckdb")
    shutil.copy(small_db, db)
    evil = "<script>alert(1)</script> **bold** [x](javascript:alert(1)) <img src=x onerror=alert(1)>"
    con = store.connect(db)
    store.upsert(con, "users", pd.DataFrame({"user_id": ["evil"], "handle": ["**h4x**<b>"], "source": "test"}))
    store.upsert(con, "posts", pd.DataFrame({"post_id": ["evil1"], "author_id": ["evil"],
                                             "created_at": [datetime(2030, 1, 1)], "text": [evil], "source": "test"}))
    con.close()
    at = app_run("pages/analyst_overview.py", state={"privacy_redact": False})
    assert evil in [t.value for t in at.text]  # st.text: shown verbatim, never parsed as markdown or HTML
    captions = [c.value for c in at.caption]
    assert any(r"@\*\*h4x\*\*\<b\>" in c for c in captions)


def plotly_figures(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def test_models_page_shows_computed_metrics_and_tries_text(small_db, use_db, tmp_path, app_run, monkeypatch):
    from analytics import models
    from analytics.models import registry

    db = use_db(tmp_path / "m.duckdb")
    shutil.copy(small_db, db)
    at = app_run("pages/models.py")
    ev = json.loads(registry.EVAL_PATH.read_text())  # the held-out evaluation written by training
    assert models.sentiment_eval() == ev
    assert [(m.label, m.value) for m in at.metric[:4]] == [
        ("Held-out accuracy", f"{ev['accuracy']:.3f}"), ("Macro F1", f"{ev['macro_f1']:.3f}"),
        ("Majority baseline", f"{ev['majority_baseline']['accuracy']:.3f}"), ("Held-out posts", f"{ev['n_test']:,}")]
    figures = plotly_figures(at)
    assert len(figures) >= 4  # confusion, calibration, and the two try-box bar charts
    confusion, calibration = figures[0]["data"], figures[1]["data"]
    assert [(t["type"], t["z"], t["x"], t["y"]) for t in confusion] == [
        ("heatmap", ev["confusion_matrix"], list(models.SENTIMENT_LABELS), list(models.SENTIMENT_LABELS))]
    used = [b for b in ev["calibration_bins"] if b["count"]]
    assert (calibration[1]["x"], calibration[1]["y"]) == ([b["mean_confidence"] for b in used],
                                                          [b["accuracy"] for b in used])
    assert f"Expected calibration error {ev['expected_calibration_error']:.3f}" in [c.value for c in at.caption]
    by_language = at.dataframe[0].value
    assert by_language.to_dict("records") == models.accuracy_by_language()
    per_class = at.dataframe[1].value
    pd.testing.assert_frame_equal(per_class, pd.DataFrame(ev["per_class"]).T, check_dtype=False)

    at.text_area[0].input("you are an idiot").run()
    assert not at.exception
    assert any("Toxicity: flagged" in m.value for m in at.markdown)
    assert any(":red-background[idiot]" in m.value for m in at.markdown)

    # The page reads the JSON written by training, not typed numbers: other numbers in the file, other numbers shown.
    doctored = {**ev, "accuracy": 0.1234, "macro_f1": 0.0567, "n_test": 4321,
                "confusion_matrix": [[1, 2, 3], [4, 5, 6], [7, 8, 9]]}
    (tmp_path / "eval.json").write_text(json.dumps(doctored))
    monkeypatch.setattr(registry, "EVAL_PATH", tmp_path / "eval.json")
    at.run()
    assert not at.exception
    assert [m.value for m in at.metric[:4]] == ["0.123", "0.057", f"{ev['majority_baseline']['accuracy']:.3f}",
                                                "4,321"]
    assert plotly_figures(at)[0]["data"][0]["z"] == [[1, 2, 3], [4, 5, 6], [7, 8, 9]]


def test_charts_say_what_still_waits_for_enrichment_and_offer_no_score_button(small_db, use_db, tmp_path, app_run):
    db = use_db(Path(shutil.copy(small_db, tmp_path / "sent.duckdb")))
    con = store.connect(db)
    scoring.score_posts(con, PostFilter(keyword="cancelled"), names=["sentiment"])
    n_sel = con.execute("SELECT count(*) FROM posts WHERE contains(lower(text), 'cancelled')").fetchone()[0]
    con.close()
    assert 0 < n_sel < 100
    at = app_run("pages/analyst_overview.py", q="cancelled")
    assert not at.info and any(f"{n_sel} of {n_sel} posts scored" in c.value for c in at.caption)
    at.sidebar.text_input(key="overview_kw").set_value("").run()
    assert not at.exception
    assert [i.value for i in at.info] == [
        f"{2000 - n_sel:,} of 2,000 posts in this selection have no sentiment score yet: background enrichment is "
        "off here (SOCIAL_ENRICH=0), so they wait for `python -m analytics.score`. Until then this covers the "
        f"{n_sel} scored ones."]
    assert any(f"{n_sel} of 2,000 posts scored" in c.value for c in at.caption)
    assert not [b for b in at.button if "score" in b.label.lower()], "scoring is the worker's job, not the user's"


def test_invalid_url_params_fall_back_with_a_notice(full_db, use_db, app_run):
    use_db(full_db)
    at = app_run("pages/analyst_overview.py", q="deflategate", sentiment="angry", **{"from": "yesterday"})
    notes = " ".join(w.value for w in at.sidebar.warning)
    assert "sentiment 'angry' is not one of" in notes and "from='yesterday' is not a date" in notes
    assert at.sidebar.text_input(key="overview_kw").value == "deflategate"
    assert at.sidebar.selectbox(key="overview_sentiment").value == "any"
    assert at.query_params["q"] in ("deflategate", ["deflategate"]) and "sentiment" not in at.query_params, \
        "URL mirrors what applies"
    assert all("deflategate" in t.value.lower() for t in at.text)


def test_overview_explains_the_injected_spikes(full_db, use_db, app_run):
    use_db(full_db)
    at = app_run("pages/analyst_overview.py", state={"privacy_redact": False})
    pick = at.selectbox(key="overview_vspikes")
    labels = pick.options  # as shown
    assert any("2026-08-12" in x and "coachella" in x for x in labels)
    assert any("2026-09-21" in x and "@apple" in x for x in labels)
    assert any("2026-10-17" in x and "flight" in x for x in labels)
    terms = [set(d.value["term"]) for d in at.dataframe if "term" in d.value.columns]
    assert terms and "coachella2015" in terms[0], "the strongest spike (Coachella) is explained by its terms"


def test_topics_page(full_db, use_db, app_run):
    use_db(full_db)
    at = app_run("pages/analyst_topics.py")
    tables = [d.value for d in at.dataframe]
    assert len(tables[0]) == 11 and {"topic", "posts", "posts_change_%"} <= set(tables[0].columns)
    assert any("term" in t.columns for t in tables), "trending terms and word-cloud counts"
    assert at.get("image"), "a word cloud is drawn"
