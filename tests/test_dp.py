"""Differential privacy of aggregate exports (OpenDP): bounded contributions per author, private key selection,
derived columns from the noisy counts, one draw of noise per release, and the per-user budget."""
import shutil
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics import store
from analytics.access import dp
from analytics.analyst import releases, terms
from analytics.analyst.filters import PostFilter


def _pairs(rows: list[tuple[str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["author_id", "key"])


def test_each_author_counts_once_per_key_and_towards_at_most_k_keys():
    prolific = [("a", "x")] * 1000 + [("a", k) for k in "yzuvw" for _ in range(3)] + [("a", "q")]
    counts = dp.bounded_counts(_pairs(prolific + [("b", "x"), ("b", "q")]), keys_per_author=3)
    # a: x (1000 uses), then the 3-use keys in key order (u, v); q and the rest are dropped
    assert counts.sort_index().to_dict() == {"q": 1, "u": 1, "v": 1, "x": 2}


def test_totals_come_first_in_an_authors_keys():
    rows = [("a", "t1")] * 5 + [("a", "t2")] * 4 + [("a", dp.TOTAL + "w")]
    assert dp.bounded_counts(_pairs(rows), keys_per_author=2).sort_index().to_dict() == {dp.TOTAL + "w": 1, "t1": 1}


def test_a_key_only_one_author_used_is_never_released():
    """The threshold (set by OpenDP for delta) withholds rare keys: a hashtag one author used 500 times cannot
    single them out, while a key 400 authors used comes through with noise of about k/epsilon."""
    rows = [(f"u{i}", "#common") for i in range(400)] + [("solo", "#mine")] * 500
    for _ in range(20):
        noisy, threshold = dp.private_counts(_pairs(rows), keys_per_author=5, epsilon=1.0)
        assert list(noisy.index) == ["#common"] and threshold > 5
        assert abs(noisy["#common"] - 400) < 5 * 20, "Laplace(5): beyond 20 scales has probability e^-20"


def test_noise_has_the_stated_scale():
    rows = [(f"u{j}_{i}", f"k{j}") for j in range(300) for i in range(200)]  # 200 authors per key
    noisy, _ = dp.private_counts(_pairs(rows), keys_per_author=1, epsilon=0.5)
    exact = dp.bounded_counts(_pairs(rows), keys_per_author=1)
    err = (noisy - exact.reindex(noisy.index)).to_numpy(dtype=float)
    assert len(err) == 300 and abs(np.abs(err).mean() - 2.0) < 0.5, "mean |Laplace(b)| is b = k/epsilon = 2"


@pytest.fixture
def con(small_db, tmp_path, monkeypatch):
    monkeypatch.delenv("SOCIAL_DP_BUDGET", raising=False)
    c = store.connect(Path(shutil.copy(small_db, tmp_path / "dp.duckdb")))
    yield c
    c.close()


def test_derived_columns_come_from_the_noisy_counts(con):
    table = releases.private_table(con, releases.Release("topic", PostFilter()), epsilon=1.0)
    assert list(table.columns) == ["topic", "authors", "share"]
    assert table["authors"].is_monotonic_decreasing and (table["authors"] >= table.attrs["threshold"]).all()
    assert np.allclose(table["share"], (table["authors"] / table["authors"].sum()).round(4))
    exact = con.execute("SELECT count(DISTINCT author_id) FROM posts").fetchall()[0][0]
    assert table["authors"].sum() > 0.5 * exact, "most authors count towards some topic"


def test_a_contrast_is_log_odds_of_the_noisy_counts(con, monkeypatch):
    end = pd.Timestamp(con.execute("SELECT max(created_at) FROM posts").fetchall()[0][0]).to_pydatetime()
    r = releases.Release("topic", PostFilter(), window=(end - pd.Timedelta(days=7), end), n=50)
    pairs = releases.pairs(con, r)
    assert set(pairs["key"].str.rsplit("\x1f", n=1).str[-1]) == {"w", "b", dp.TOTAL + "w", dp.TOTAL + "b"}
    assert r.keys_per_author == 2 * releases.KEYS_PER_AUTHOR["topic"]
    real = releases.private_table(con, r, epsilon=2.0)
    assert list(real.columns) == ["topic", "window_authors", "baseline_authors", "window_rate", "baseline_rate",
                                  "lift", "z"]
    noisy = pd.Series({"a\x1fw": 50, "a\x1fb": 10, "b\x1fw": 5, "b\x1fb": 40, dp.TOTAL + "w": 60,
                       dp.TOTAL + "b": 55}, name="authors")
    monkeypatch.setattr(dp, "private_counts", lambda *a, **k: (noisy, 7))
    table = releases.private_table(con, r, epsilon=2.0)
    expected = terms.log_odds(pd.Series({"a": 50, "b": 5}).rename_axis("topic"), pd.Series({"a": 10, "b": 40}), 60, 55)
    assert table.to_dict("list") == expected[expected["z"] > 0].reset_index().rename(
        columns={"window_posts": "window_authors", "baseline_posts": "baseline_authors"}).to_dict("list")
    assert table.attrs["threshold"] == 7


def test_terms_of_a_release_come_from_the_redacted_text_when_asked(con):
    (author,), = con.execute("SELECT min(user_id) FROM users").fetchall()
    end = con.execute("SELECT max(created_at) FROM posts").fetchall()[0][0]
    store.upsert(con, "posts", pd.DataFrame({"post_id": ["pii1"], "author_id": [author], "created_at": [end],
                                             "text": ["mail jane.roe@example.com now"], "source": "test"}))
    f = PostFilter(keyword="jane.roe")
    raw = releases.pairs(con, releases.Release("term", f))
    red = releases.pairs(con, releases.Release("term", f, redact=True))
    assert set(raw["key"]) == {"mail", "jane", "roe"} and set(red["key"]) == {"mail"}


def test_a_release_is_drawn_once_and_charged_once(con):
    r = releases.Release("hashtag", PostFilter(), n=30)
    first, made, new = releases.release(con, "ann", r, 1.0)
    again, made_again, new_again = releases.release(con, "ann", r, 1.0)
    assert new and not new_again and made_again == made
    assert again.to_dict("list") == first.to_dict("list") and again.attrs == first.attrs
    assert dp.spent(con, "ann") == 1.0 and dp.spent(con, "bob") == 0.0
    other, _, _ = releases.release(con, "bob", r, 1.0)  # bob's own release: his own draw, his own budget
    assert dp.spent(con, "bob") == 1.0
    releases.release(con, "ann", r, 0.5)  # another epsilon is another release
    assert dp.spent(con, "ann") == 1.5


def test_the_budget_is_enforced(con, monkeypatch):
    monkeypatch.setenv("SOCIAL_DP_BUDGET", "1.5")
    f = PostFilter()
    releases.release(con, "ann", releases.Release("topic", f), 1.0)
    with pytest.raises(dp.BudgetExceeded, match="ε 0.5 of 1.5 left"):
        releases.release(con, "ann", releases.Release("hashtag", f), 1.0)
    assert con.execute("SELECT count(*) FROM dp_releases").fetchall()[0][0] == 1, "nothing released past it"
    releases.release(con, "ann", releases.Release("topic", f), 1.0)  # the earlier release stays available
    releases.release(con, "ann", releases.Release("hashtag", f), 0.5)
    assert dp.spent(con, "ann") == 1.5


def test_spec_keys_tell_releases_apart():
    f = PostFilter(start=datetime(2026, 9, 1).date())
    a = releases.Release("topic", f).spec(1.0)
    assert dp.spec_key(a) == dp.spec_key(releases.Release("topic", f).spec(1.0))
    assert len({dp.spec_key(s) for s in (a, releases.Release("topic", f).spec(0.5),
                                         releases.Release("hashtag", f).spec(1.0),
                                         releases.Release("topic", PostFilter()).spec(1.0))}) == 4


# --- in the dashboard ----------------------------------------------------------------------------------------------

def _csvs(monkeypatch) -> dict[str, str]:
    """The CSV of every download button the next runs render, by key."""
    import streamlit as st

    got, real = {}, st.download_button
    monkeypatch.setattr(st, "download_button", lambda label, data, *a, key=None, **k: got.update({key: data}) or real(
        label, data, *a, key=key, **k))
    return got


def test_an_analysts_aggregate_export_is_a_private_release(small_db, tmp_path, use_db, app_run, monkeypatch):
    from analytics.access import auth

    monkeypatch.delenv("SOCIAL_DP_BUDGET", raising=False)
    use_db(Path(shutil.copy(small_db, tmp_path / "app.duckdb")))
    analyst = auth.User("ann", "Ann", "analyst")
    csvs = _csvs(monkeypatch)
    at = app_run("pages/analyst_overview.py", analyst)
    assert "overview_tags_csv" not in csvs, "no exact export of the hashtag counts"
    assert at.button(key="overview_tags_dp").label == "Prepare a private export (ε 1 of your 10 left)"
    at.button(key="overview_tags_dp").click().run()
    assert not at.exception
    released = csvs["overview_tags_csv"]
    assert released.splitlines()[0] == '"hashtag","authors","share"'
    (button,) = [b for b in at.get("download_button") if b.proto.id.endswith("-overview_tags_csv")]
    assert button.proto.label.startswith("Export private CSV (") and button.proto.label.endswith(" rows, ε 1)")
    assert any("Downloading it again costs nothing" in c.value for c in at.caption)

    csvs.clear()
    at = app_run("app.py", analyst)  # another session of the same user, the whole app: the same release
    assert csvs["overview_tags_csv"] == released
    assert [m.value for m in at.sidebar.markdown if "budget" in m.value] == ["**Privacy budget:** ε 1 of 10 spent"]

    monkeypatch.setenv("SOCIAL_DP_BUDGET", "1.5")
    at = app_run("pages/analyst_overview.py", analyst, state={"privacy_epsilon": 2.0})
    assert at.button(key="overview_tags_dp").disabled
    assert any("Your privacy budget has ε 0.5 left" in c.value for c in at.caption)


def test_an_admin_may_export_exact_counts(small_db, tmp_path, use_db, app_run, monkeypatch):
    use_db(Path(shutil.copy(small_db, tmp_path / "app.duckdb")))
    csvs = _csvs(monkeypatch)
    at = app_run("pages/analyst_overview.py", state={"privacy_exact": True})
    assert csvs["overview_tags_csv"].splitlines()[0] == '"hashtag","posts"'
    assert not [b for b in at.button if b.key == "overview_tags_dp"]
    at = app_run("app.py", state={"privacy_exact": True})
    assert not any("Privacy budget" in m.value for m in at.sidebar.markdown)
