"""Read queries on a tiny hand-made store with exact expected results."""
from datetime import date, datetime

import pandas as pd
import pytest

from analytics import feed as feed_api
from analytics import moderation, store
from analytics.analyst import filters, queries
from analytics.analyst.filters import PostFilter


@pytest.fixture
def con(tmp_path):
    c = store.connect(tmp_path / "tiny.duckdb")
    store.upsert(c, "users", pd.DataFrame({
        "user_id": ["a", "b", "c"], "handle": ["ann", "bob", "cat"], "community": ["t1", "t2", "t1"],
        "source": "test"}))
    store.upsert(c, "posts", pd.DataFrame({
        "post_id": ["p1", "p2", "p3", "p4"],
        "author_id": ["a", "a", "b", "c"],
        "created_at": [datetime(2026, 1, 1, 9), datetime(2026, 1, 1, 20), datetime(2026, 1, 2, 8), datetime(2026, 1, 3, 8)],
        "text": ["Flight delayed #fail", "great crew #Fly #fail", "brady balls", "Flight was fine"],
        "lang": "en", "hashtags": [["fail"], ["fly", "fail"], [], []], "topic": ["t1", "t1", "t2", "t1"],
        "parent_id": [None, None, None, "p1"], "source": "test"}))
    store.upsert(c, "follows", pd.DataFrame({"follower_id": ["c", "c", "b"], "followee_id": ["a", "b", "a"]}))
    store.upsert(c, "interactions", pd.DataFrame({
        "interaction_id": [1, 2, 3, 4, 5, 6],
        "user_id": ["b", "b", "c", "c", "a", "b"],
        "post_id": ["p1", "p1", "p2", "p3", "p3", "p4"],
        "kind": ["view", "like", "view", "report", "report", "report"],
        "ts": [datetime(2026, 1, 4)] * 6}))
    yield c
    c.close()


def test_filter_where_is_parameterised():
    where, params = PostFilter(start=date(2026, 1, 1), end=date(2026, 1, 2), topics=("a'; DROP TABLE posts;--",),
                               keyword="Flight", author="@ann").where()
    assert "DROP" not in where
    assert params == [date(2026, 1, 1), date(2026, 1, 3), "a'; DROP TABLE posts;--", "flight", "ann"]


def test_volume_and_topics(con):
    vol = queries.volume_by_day(con, PostFilter())
    assert vol[["topic", "posts"]].values.tolist() == [["t1", 2], ["t2", 1], ["t1", 1]]
    top = queries.topic_summary(con, PostFilter())
    assert top.to_dict("list") == {"topic": ["t1", "t2"], "posts": [3, 1], "authors": [2, 1], "likes": [1, 0],
                                   "share": [0.75, 0.25]}


def test_filters_combine(con):
    assert queries.list_posts(con, PostFilter(keyword="flight"))["post_id"].tolist() == ["p4", "p1"]
    assert queries.list_posts(con, PostFilter(keyword="flight", author="cat"))["post_id"].tolist() == ["p4"]
    assert queries.list_posts(con, PostFilter(end=date(2026, 1, 1)), order="oldest")["post_id"].tolist() == ["p1", "p2"]
    liked = queries.list_posts(con, PostFilter(), order="likes")
    assert liked.iloc[0][["post_id", "likes", "views"]].tolist() == ["p1", 1, 1]
    with pytest.raises(ValueError):
        queries.list_posts(con, PostFilter(), order="random")


def test_hashtags(con):
    assert queries.top_hashtags(con, PostFilter()).values.tolist() == [["#fail", 2], ["#fly", 1]]


def test_reported_posts_and_decision_state(con):
    store.append(con, "moderation_decisions", pd.DataFrame({"post_id": ["p3", "p3"], "moderator": "m",
                                                            "action": ["remove", "approve"]}))
    rep = moderation.reported_posts(con, PostFilter())
    assert rep[["post_id", "reports"]].values.tolist() == [["p3", 2], ["p4", 1]]
    assert rep["decision"].iloc[0] == "approve" and pd.isna(rep["decision"].iloc[1])
    (approve,), = con.execute("SELECT max(decision_id) FROM moderation_decisions").fetchall()
    store.append(con, "moderation_decisions", pd.DataFrame({"post_id": ["p3"], "moderator": "m", "action": ["undo"],
                                                            "undoes": [approve]}))
    assert moderation.reported_posts(con, PostFilter())["decision"].iloc[0] == "remove", "undo falls back"


def test_users_profile_and_following_feed(con):
    assert feed_api.search_users(con, "")["handle"].tolist() == ["ann", "bob", "cat"]
    assert feed_api.search_users(con, "@B")["handle"].tolist() == ["bob"]
    assert feed_api.user_profile(con, "a") | {} == {
        "handle": "ann", "community": "t1", "created_at": None, "followers": 2, "following": 0, "posts": 2,
        "likes_given": 0}
    with pytest.raises(KeyError):
        feed_api.user_profile(con, "zzz")
    feed = feed_api.following_feed(con, "c")  # c follows a and b; c already viewed p2 and reported p3
    assert feed[["post_id", "followees_liked"]].values.tolist() == [["p1", 1]]


def test_overview(con):
    o = queries.overview(con)
    assert (o["posts"], o["authors"], o["users"], o["interactions"], o["follows"]) == (4, 3, 3, 6, 3)


OPTS = {"topics": ["t1", "t2"], "langs": ["en"], "hashtags": ["fail"], "min_date": date(2026, 1, 1),
        "max_date": date(2026, 1, 31)}


def test_filter_round_trips_through_url_params():
    f = PostFilter(start=date(2026, 1, 5), end=date(2026, 1, 31), topics=("t2",), hashtags=("fail",), keyword="a b",
                   author="ann", lang="en", sentiment="negative")
    params = filters.filter_to_params(f, OPTS)
    assert params == {"from": "2026-01-05", "topic": ["t2"], "tag": ["fail"], "q": "a b", "author": "ann",
                      "lang": "en", "sentiment": "negative"}
    as_lists = {k: v if isinstance(v, list) else [v] for k, v in params.items()}
    assert filters.filter_from_params(as_lists, OPTS) == (f, [])
    assert filters.filter_to_params(PostFilter(start=date(2026, 1, 1), end=date(2026, 1, 31)), OPTS) == {}


def test_invalid_url_params_fall_back_with_notices():
    f, notices = filters.filter_from_params({
        "from": ["2025-12-01"], "to": ["yesterday"], "topic": ["t1", "nope"], "tag": ["#Fail", "x y"],
        "author": ["<b>"], "lang": ["xx"], "sentiment": ["angry"], "grain": ["week"]}, OPTS)
    assert f == PostFilter(start=date(2026, 1, 1), end=date(2026, 1, 31), topics=("t1",), hashtags=("fail",))
    assert len(notices) == 7 and "outside the data" in notices[0] and "not a date" in notices[1]
    f, notices = filters.filter_from_params({"from": ["2026-01-20"], "to": ["2026-01-10"]}, OPTS)
    assert (f.start, f.end) == (date(2026, 1, 1), date(2026, 1, 31)) and "after" in notices[0]


def test_hashtag_window_and_sentiment_filters(con):
    ids = lambda f: sorted(queries.list_posts(con, f)["post_id"])  # noqa: E731
    assert ids(PostFilter(hashtags=("#FAIL",))) == ["p1", "p2"]
    assert ids(PostFilter(hashtags=("fly", "nothing"))) == ["p2"]
    assert ids(PostFilter(window=(datetime(2026, 1, 1, 12), datetime(2026, 1, 2, 8)))) == ["p2"]  # [from, to)
    from analytics.models.registry import model_key

    store.upsert(con, "model_scores", pd.DataFrame({"post_id": ["p1", "p3"], "model_id": model_key("sentiment")[0],
                                                    "model_version": model_key("sentiment")[1],
                                                    "label": ["negative", "positive"], "score": [0.9, 0.8],
                                                    "scored_at": datetime(2026, 2, 1)}))
    assert ids(PostFilter(sentiment="negative")) == ["p1"]
    posts = queries.list_posts(con, PostFilter(), order="oldest")
    assert posts["sentiment"].fillna("-").tolist() == ["negative", "-", "positive", "-"]
    assert posts["sentiment_p"].iloc[0] == 0.9
    assert posts["toxic_p"].isna().all()
