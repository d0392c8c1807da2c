"""Tokenising, term counts, bursting terms and spike explanations: exact results on a tiny store, and the events
injected into the sample store found and explained."""
from datetime import datetime, timedelta

import pandas as pd
import pytest

from analytics import store
from analytics.analyst import queries, terms
from analytics.analyst.filters import PostFilter


def test_tokenize_english_social_noise_and_chinese():
    text = "RT @bob Loving the #Coachella vibes!!! https://t.co/x 5th time, it's Apple\u2019s day 我们今天去北京看天安门"
    assert terms.tokenize(text) == ["loving", "coachella", "vibes", "time", "apple", "day", "今天", "北京", "天安门"]
    assert terms.tokenize("the a an of") == []


@pytest.fixture
def con(tmp_path):
    c = store.connect(tmp_path / "t.duckdb")
    store.upsert(c, "users", pd.DataFrame({"user_id": ["a", "b"], "handle": ["ann", "bob"], "source": "test"}))
    t0 = datetime(2026, 1, 1, 12)
    rows = [(f"b{i}", "a", t0 + timedelta(days=i), "hello world rain #hi", ["hi"]) for i in range(10)]
    rows += [(f"w{i}", "b", t0 + timedelta(days=12, hours=i), f"storm storm hello #snow {'天气很冷' if i < 2 else ''}",
              ["snow"]) for i in range(6)]
    df = pd.DataFrame(rows, columns=["post_id", "author_id", "created_at", "text", "hashtags"])
    store.upsert(c, "posts", df.assign(source="test", topic=["calm"] * 10 + ["weather"] * 6))
    yield c
    c.close()


def test_term_counts_exact(con):
    df = terms.term_counts(con, PostFilter())
    assert df.values.tolist() == [["hello", 16], ["hi", 10], ["rain", 10], ["world", 10], ["snow", 6],
                                  ["storm", 6], ["天气", 2]]
    assert df.attrs == {"sampled": 16, "total": 16}
    only_b = terms.term_counts(con, PostFilter(author="bob"), limit=2)
    assert only_b.values.tolist() == [["hello", 6], ["snow", 6]]
    sampled = terms.term_counts(con, PostFilter(), sample=8)
    assert sampled.attrs["total"] == 16 and 0 < sampled.attrs["sampled"] <= 8
    assert sampled.equals(terms.term_counts(con, PostFilter(), sample=8)), "the sample is deterministic"


def test_log_odds_ranks_the_burst_first():
    window = pd.Series({"storm": 30, "hello": 10}).rename_axis("term")
    baseline = pd.Series({"hello": 100, "world": 50})
    df = terms.log_odds(window, baseline, 40, 150)
    assert df.index[0] == "storm" and df.loc["storm", "lift"] == float("inf")
    assert df.loc["storm", "z"] > 3 and df.loc["hello", "z"] < 0 and df.loc["world", "z"] < 0
    assert df.loc["hello", "window_rate"] == 0.25 and df.loc["hello", "baseline_rate"] == pytest.approx(100 / 150)


def test_trending_terms_find_the_planted_burst(con):
    df = terms.trending_terms(con, PostFilter(), datetime(2026, 1, 13), datetime(2026, 1, 14), baseline_days=12)
    assert set(df["term"][:2]) == {"snow", "storm"}, "new in the window: first"
    assert df[["window_posts", "baseline_posts"]].values.tolist()[:2] == [[6, 0], [6, 0]]
    assert df["z"].iloc[1] > 2 * df["z"].iloc[2:].max(), "a term in every post of both periods is no burst"
    assert df.attrs == {"window_sampled": 6, "window_total": 6, "baseline_sampled": 10, "baseline_total": 10}


def test_explain_window_exact(con):
    ex = terms.explain_window(con, PostFilter(start=datetime(2025, 1, 1).date()), datetime(2026, 1, 13),
                              datetime(2026, 1, 14), baseline_days=12, n_posts=2)
    assert (ex["window_posts"], ex["baseline_posts"]) == (6, 10)
    assert ex["baseline_mean"] == pytest.approx(10 / 12) and ex["ratio"] == pytest.approx(6 / (10 / 12))
    assert ex["topics"]["topic"].tolist() == ["weather", "calm"] and ex["topics"]["z"].iloc[0] > 0
    assert ex["hashtags"]["hashtag"].tolist() == ["#snow"]
    assert ex["posts"]["post_id"].tolist() == ["w0", "w1"] and ex["posts"]["handle"].tolist() == ["bob", "bob"]
    assert ex["posts"]["sentiment"].isna().all(), "not scored: no labels, not invented ones"


def test_injected_events_are_explained(full_db):
    con = store.connect(full_db)  # read-write like the page tests' app connection in this process (same config)
    try:
        events = queries.sim_events(con)
        assert len(events) == 3
        for e in events.to_dict("records"):
            ex = terms.explain_window(con, PostFilter(), e["starts_at"], e["ends_at"])
            assert ex["ratio"] > 1.5, e["name"]
            assert ex["topics"]["topic"].iloc[0] == e["topic"], e["name"]
            words = {w.strip("@#") for w in e["topic"].split(" · ")}
            found = set(ex["terms"]["term"]) | {h.strip("#") for h in ex["hashtags"]["hashtag"]}
            assert words & found, (e["name"], found)
    finally:
        con.close()
