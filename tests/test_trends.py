"""Sentiment over time from stored scores, on a tiny hand-made store, and its chart."""
from datetime import date, datetime

import pandas as pd
import pytest

from analytics import store
from analytics.analyst import trends
from analytics.analyst.filters import PostFilter
from analytics.models.registry import model_key
from components import charts


@pytest.fixture
def con(tmp_path):
    c = store.connect(tmp_path / "t.duckdb")
    store.upsert(c, "users", pd.DataFrame({"user_id": ["a"], "handle": ["ann"], "source": "test"}))
    days = [datetime(2026, 1, 1, 9), datetime(2026, 1, 1, 10), datetime(2026, 1, 1, 11), datetime(2026, 1, 2, 9),
            datetime(2026, 1, 3, 9)]
    store.upsert(c, "posts", pd.DataFrame({"post_id": ["p1", "p2", "p3", "p4", "p5"], "author_id": "a",
                                           "created_at": days, "text": "x", "source": "test"}))
    model_id, version = model_key("sentiment")
    store.upsert(c, "model_scores", pd.DataFrame({
        "post_id": ["p1", "p2", "p3", "p4"], "model_id": model_id, "model_version": version,
        "label": ["negative", "negative", "positive", "neutral"], "score": 0.9, "scored_at": datetime(2026, 2, 1)}))
    store.upsert(c, "model_scores", pd.DataFrame({  # an old model version must not count
        "post_id": ["p5"], "model_id": "other-model", "model_version": "v0", "label": ["positive"], "score": 0.9,
        "scored_at": datetime(2026, 2, 1)}))
    yield c
    c.close()


def test_sentiment_over_time_exact(con):
    df = trends.sentiment_over_time(con, PostFilter(), "day")
    assert df[["posts", "scored", "negative", "neutral", "positive"]].values.tolist() == [
        [3, 3, 2, 0, 1], [1, 1, 0, 1, 0], [1, 0, 0, 0, 0]]
    assert df["net"].iloc[0] == pytest.approx(-1 / 3) and df["net"].iloc[1] == 0 and pd.isna(df["net"].iloc[2])
    assert df["negative_share"].iloc[0] == pytest.approx(2 / 3)
    week = trends.sentiment_over_time(con, PostFilter(), "week")
    assert week["posts"].sum() == 5
    with pytest.raises(ValueError):
        trends.sentiment_over_time(con, PostFilter(), "minute; DROP TABLE posts")


def test_sentiment_chart(con):
    df = trends.sentiment_over_time(con, PostFilter(), "day")
    spikes = df.iloc[[0]]
    d = charts.sentiment_chart(df, rolling=2, spikes=spikes).to_dict()
    names = [t["name"] for t in d["data"]]
    assert names == ["negative", "neutral", "positive", "net sentiment", "net, 2-bucket mean", "negative-share spike"]
    assert d["data"][0]["stackgroup"] == "share" and d["data"][3]["yaxis"] == "y2"
    assert d["data"][4]["y"][:2] == pytest.approx([-1 / 3, -1 / 6])
    assert d["layout"]["yaxis2"]["range"] == [-1, 1]


def test_sentiment_by_topic_and_previous_period(con):
    con.execute("UPDATE posts SET topic = CASE WHEN post_id IN ('p1', 'p4') THEN 'air' ELSE 'ball' END")
    by = trends.sentiment_over_time(con, PostFilter(), "day", by_topic=True)
    assert by[["topic", "posts", "negative", "positive"]].values.tolist() == [
        ["air", 1, 1, 0], ["ball", 2, 1, 1], ["air", 1, 0, 0], ["ball", 1, 0, 0]]
    f = PostFilter(start=date(2026, 1, 2), end=date(2026, 1, 3))
    assert trends.previous_period(f) == PostFilter(start=date(2025, 12, 31), end=date(2026, 1, 1))
    cmp = trends.period_comparison(con, f).iloc[0]
    assert (cmp["posts"], cmp["prev_posts"]) == (2, 3)
    assert cmp["posts_change_pct"] == pytest.approx(-100 / 3)
    assert cmp["negative_share_change"] == pytest.approx(-200 / 3) and cmp["net_change"] == pytest.approx(100 / 3)
    topics = trends.period_comparison(con, f, by_topic=True).set_index("topic")
    assert topics.loc["air", ["posts", "prev_posts"]].tolist() == [1, 1]
    assert topics.loc["ball", "prev_net"] == 0 and pd.isna(topics.loc["ball", "net_change"])  # p5 has a stale score
    empty = trends.period_comparison(con, PostFilter(start=date(2026, 3, 1), end=date(2026, 3, 2))).iloc[0]
    assert (empty["posts"], empty["prev_posts"], empty["scored"]) == (0, 0, 0) and pd.isna(empty["net"])
    with pytest.raises(ValueError):
        trends.period_comparison(con, PostFilter())
