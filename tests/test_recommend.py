"""Recommendations and their offline evaluation: every stage on a tiny hand-made graph with exact expected results,
the metrics against hand-computed values, and the evaluation on the small sample without leakage."""
import json
import math
import shutil
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from analytics import feed as feed_api
from analytics import models, moderation, store
from analytics.access.auth import User
from analytics.feed import EmbeddingIndex, Settings, Weights
from analytics.feed import evaluation as feed_eval
from analytics.models.registry import model_key

T0 = datetime(2026, 3, 10, 12, 0)  # the tiny store's "now": every feed is built as of T0
MOD = User("m1", "Mod One", "moderator")
ALL = {c: 0.0 for c in feed_api.COMPONENTS}
TEXTS = {"h1": "I love slow travel by train across the Alps", "h2": "Sourdough starter, day three",
         "h3": "Unfollow me if you dare"}


def vec(*xs: float) -> np.ndarray:
    v = np.zeros(feed_api.DIM, np.float32)
    v[:len(xs)] = xs
    return v / np.linalg.norm(v)


def only(component: str) -> Weights:
    """Weights that rank by one component."""
    return Weights(**{**ALL, component: 1.0})


def scores(model: str, by_post: dict[str, dict[str, float]]) -> pd.DataFrame:
    model_id, version = model_key(model)
    return pd.DataFrame({"post_id": list(by_post), "model_id": model_id, "model_version": version,
                         "label": [max(s, key=s.get) for s in by_post.values()],
                         "score": [max(s.values()) for s in by_post.values()],
                         "scores": [json.dumps(s) for s in by_post.values()], "scored_at": T0})


@pytest.fixture
def con(tmp_path):
    """'me' follows fay and finn; liked h1 and h2 (interest along dimensions 0 and 1); hid hal's h3; saw p6 and
    their own p10. In the window: p1 (fay) and p2 (finn) in network; p3 liked by both followees; p4 the most
    engaged; p5 by hal; p7 toxic; p8 removed; p9 removed, then undone. After T0: finn likes p1, p12 is posted."""
    c = store.connect(tmp_path / "rec.duckdb")
    users = {"me": "mia", "f1": "fay", "f2": "finn", "a": "abe", "b": "bea", "h": "hal", "z": "zed", "x": "xia"}
    store.upsert(c, "users", pd.DataFrame({"user_id": list(users), "handle": list(users.values()),
                                           "community": "t1", "source": "test"}))
    store.upsert(c, "follows", pd.DataFrame({"follower_id": ["me", "me", "f1", "f2", "f1"],
                                             "followee_id": ["f1", "f2", "z", "z", "a"]}))
    hours = lambda h: T0 - timedelta(hours=h)  # noqa: E731
    posts = [  # post_id, author, created, topic, embedding
        ("h1", "a", hours(480), "t1", vec(1, 0)), ("h2", "b", hours(480), "t1", vec(0, 1)),
        ("h3", "h", hours(480), "t1", vec(0, 0, 1)),
        ("p1", "f1", hours(2), "t1", vec(1, 0.3)), ("p2", "f2", hours(30), "t2", vec(0, 0, 0, 1)),
        ("p3", "a", hours(5), "t1", vec(1, 0.25)), ("p4", "b", hours(10), "t1", vec(1, 0, 1)),
        ("p5", "h", hours(6), "t1", vec(0, 0, 0, 0, 1)), ("p6", "a", hours(7), "t1", vec(0, 0, 0, 0, 1)),
        ("p7", "b", hours(8), "t1", vec(0, 0, 0, 0, 1)), ("p8", "a", hours(9), "t1", vec(0, 0, 0, 0, 1)),
        ("p9", "a", hours(72), "t1", vec(0.2, 1)), ("p10", "me", hours(4), "t1", vec(0, 0, 0, 0, 1)),
        ("p12", "f1", T0 + timedelta(hours=1), "t1", vec(1, 0.3)),
    ]
    store.upsert(c, "posts", pd.DataFrame({
        "post_id": [p[0] for p in posts], "author_id": [p[1] for p in posts], "created_at": [p[2] for p in posts],
        "text": [TEXTS.get(p[0], f"post {p[0]}") for p in posts], "topic": [p[3] for p in posts],
        "source": "test"}))
    store.upsert(c, "embeddings", pd.DataFrame({
        "post_id": [p[0] for p in posts], "model_id": model_key("embedding")[0],
        "model_version": model_key("embedding")[1], "vec": [p[4] for p in posts]}))
    acts = [  # user, post, kind, hours before T0 (negative: after T0)
        ("me", "h1", "like", 456), ("me", "h2", "like", 456), ("me", "h3", "hide", 456), ("me", "p6", "view", 1),
        ("me", "p10", "view", 1),
        ("f1", "p3", "like", 1), ("f2", "p3", "like", 1), ("f1", "p4", "share", 1), ("a", "p4", "like", 1),
        ("z", "p4", "like", 1), ("x", "p4", "reply", 1), ("b", "p1", "reply", 1),
        ("f2", "p1", "like", -1),
    ]
    store.upsert(c, "interactions", pd.DataFrame({
        "interaction_id": range(1, len(acts) + 1), "user_id": [a[0] for a in acts], "post_id": [a[1] for a in acts],
        "kind": [a[2] for a in acts], "ts": [hours(a[3]) for a in acts]}))
    sentiment = {"h1": "positive", "h2": "positive", "p1": "positive", "p2": "negative", "p3": "neutral",
                 "p4": "positive", "p9": "neutral"}
    store.upsert(c, "model_scores", scores("sentiment", {p: {lab: 0.9} for p, lab in sentiment.items()}))
    clean = {label: 0.01 for label in moderation.LABELS}
    store.upsert(c, "model_scores", scores("toxicity", {
        **{p: clean for p in ["p1", "p3", "p4", "p5", "p6", "p8", "p9", "p10"]},
        "p7": {**clean, "toxic": 0.7, "insult": 0.9}}))  # p2 stays unscored
    moderation.decide(c, MOD, "p9", "remove", "spam", now=T0 - timedelta(hours=3), seen=None)
    moderation.undo_last(c, MOD, now=T0 - timedelta(hours=2))
    moderation.decide(c, MOD, "p8", "remove", "harassment", now=T0 - timedelta(hours=1), seen=None)
    yield c
    c.close()


@pytest.fixture
def index(con):
    return EmbeddingIndex.build(con, 7, until=T0)


@pytest.fixture
def ctx(con):
    return feed_api.user_context(con, "me", T0)


def ids(df: pd.DataFrame) -> list[str]:
    return df["post_id"].tolist()


def test_context(con, ctx):
    assert ctx.followees == {"f1", "f2"}
    assert ctx.seen == {"h1", "h2", "h3", "p6", "p10"}
    assert ctx.hidden_authors == {"h"}
    assert ids(ctx.anchors) == ["h1", "h2"] and ctx.anchors["kind"].tolist() == ["like", "like"]
    np.testing.assert_allclose(ctx.interest, vec(1, 1), atol=1e-6)
    assert ctx.sentiment_mix == {"positive": 1.0}
    assert ctx.topics == {"t1": 1.0} and ctx.engaged == 2 and ctx.label == "@mia"
    with pytest.raises(KeyError):
        feed_api.user_context(con, "nobody", T0)


def test_index_search_respects_time(index):
    assert sorted(index.post_ids) == sorted(f"p{i}" for i in range(1, 11))  # not h1-h3 (too old) nor p12 (later)
    hits = index.search(vec(1, 1), 3, T0 - timedelta(days=7), T0)
    assert ids(hits) == ["p1", "p3", "p9"]
    assert hits["cosine"].round(4).tolist() == [0.8805, 0.8575, 0.8321]
    assert ids(index.search(vec(1, 1), 3, T0 - timedelta(hours=6), T0)) == ["p1", "p3", "p10"]
    assert ids(index.search(vec(1, 1), 3, T0 - timedelta(days=7), T0, {"f1", "b"})) == ["p3", "p9", "p10"]
    assert list(index.rows(["p3", "nope"])) == [list(index.post_ids).index("p3"), -1]


def test_candidate_sources(con, ctx, index):
    since = T0 - timedelta(days=7)
    assert ids(feed_api.in_network(con, ctx, since, 10)) == ["p1", "p2"]
    assert ids(feed_api.similar(index, ctx, since, 3)) == ["p3", "p9", "p4"]  # not p1: fay is followed
    pop = feed_api.popular(con, since, T0, ["t1"], 10)
    assert pop[["post_id", "engagement"]].values.tolist() == [["p4", 4], ["p3", 2], ["p1", 1]]
    cands, counts = feed_api.candidates(con, ctx, Settings(), index)
    assert counts == {"in_network": 2, "similar": 8, "popular": 3, "unique": 10}
    by_id = cands.set_index("post_id")
    assert by_id.loc["p1", "source"] == "in_network+popular" and by_id.loc["p3", "source"] == "similar+popular"
    assert by_id.loc["p1", "evidence"] == "@fay; 1 engagement in t1"
    assert by_id.loc["p3", "evidence"] == "similarity 0.86 to your interests (cosine 0.86); 2 engagements in t1"


def test_filters_with_reasons(con, ctx, index):
    cands, _ = feed_api.candidates(con, ctx, Settings(), index)
    kept, dropped, unscreened = feed_api.apply_filters(con, ctx, cands)
    assert sorted(ids(kept)) == ["p1", "p2", "p3", "p4", "p9"]  # p9's removal was undone
    reasons = dict(zip(dropped["post_id"], dropped["reason"]))
    assert reasons == {"p5": "hidden_author", "p6": "seen", "p7": "toxic", "p8": "removed", "p10": "own_post"}
    details = dict(zip(dropped["post_id"], dropped["detail"]))
    assert details["p7"] == "insult 0.90 ≥ 0.50" and details["p8"] == "removed by a moderator (harassment)"
    assert details["p5"] == "you hid a post by @hal"
    assert unscreened == 1  # p2 has no toxicity score
    # a looser threshold keeps p7; undoing p8's removal brings it back
    kept, dropped, _ = feed_api.apply_filters(con, ctx, cands, {**moderation.DEFAULT_THRESHOLDS, "insult": 0.95,
                                                                "toxic": 0.95})
    assert "p7" in ids(kept)
    moderation.undo_last(con, MOD, now=T0 - timedelta(minutes=30))
    kept, dropped, _ = feed_api.apply_filters(con, ctx, cands)
    assert "p8" in ids(kept) and "p8" not in ids(dropped)


@pytest.mark.parametrize("component, order", [
    ("semantic", ["p1", "p3", "p9", "p4", "p2"]),  # cosine to the interest: .880 .857 .832 .5 0
    ("social_proof", ["p3", "p4", "p1", "p2", "p9"]),  # 2 and 1 followees; finn's like of p1 is after T0
    ("popularity", ["p4", "p3", "p1", "p2", "p9"]),  # 4, 2, 1 engagements; ties newest first
    ("recency", ["p1", "p3", "p4", "p2", "p9"]),
    ("sentiment_fit", ["p1", "p4", "p3", "p2", "p9"]),  # positive, as everything 'me' liked
])
def test_each_component_ranks(con, ctx, index, component, order):
    cands, _ = feed_api.candidates(con, ctx, Settings(), index)
    kept, _, _ = feed_api.apply_filters(con, ctx, cands)
    scored = feed_api.score(con, ctx, kept, only(component), index).set_index("post_id")
    assert scored.index.tolist() == order
    assert scored["score"].tolist() == scored[component].tolist()


def test_component_values(con, ctx, index):
    cands, _ = feed_api.candidates(con, ctx, Settings(), index)
    kept, _, _ = feed_api.apply_filters(con, ctx, cands)
    s = feed_api.score(con, ctx, kept, Weights(), index).set_index("post_id")
    w = Weights().normalised()
    assert s.loc["p3", "social_proof_raw"] == 2
    assert s.loc["p3", "social_proof"] == pytest.approx(0.75 * w["social_proof"])  # 1 - 0.5^2
    assert s.loc["p1", "social_proof_raw"] == 0
    assert s.loc["p3", "popularity_raw"] == 2
    assert s.loc["p3", "popularity"] == pytest.approx(math.log(3) / math.log(5) * w["popularity"])
    assert s.loc["p2", "recency_raw"] == pytest.approx(30)
    assert s.loc["p2", "recency"] == pytest.approx(0.5 ** 1.25 * w["recency"])
    assert s.loc["p2", "semantic_raw"] == pytest.approx(0, abs=1e-6) and s.loc["p2", "sentiment_fit"] == 0
    assert s.loc["p1", "sentiment_fit_raw"] == 1.0
    assert s["score"].round(9).tolist() == s[list(feed_api.COMPONENTS)].sum(axis=1).round(9).tolist()
    assert sum(w.values()) == pytest.approx(1) and Weights(semantic=2, social_proof=0, popularity=0, recency=0,
                                                           sentiment_fit=2).normalised()["semantic"] == 0.5
    with pytest.raises(ValueError):
        Weights(**ALL).normalised()


def test_mmr_and_similarity():
    sim = np.array([[1, 0.95, 0.1], [0.95, 1, 0.2], [0.1, 0.2, 1]])
    relevance = np.array([1.0, 0.9, 0.5])
    assert feed_api.mmr(relevance, sim, 3, 1.0) == [0, 1, 2]
    assert feed_api.mmr(relevance, sim, 3, 0.5) == [0, 2, 1]  # 0.25 - 0.05 beats 0.45 - 0.475
    assert feed_api.mmr(relevance, sim, 5, 0.5) == [0, 2, 1]
    m = feed_api.similarity_matrix([vec(1, 0), vec(0, 1), None, None], ["t1", "t1", "t1", None])
    assert m[0, 1] == pytest.approx(0) and m[0, 2] == 1 and m[2, 3] == 0 and m[1, 3] == 0


def test_feed_diversity_drops_near_duplicate(con, ctx, index):
    feed = feed_api.recommend(con, ctx, only("semantic"), Settings(n=2, mmr_lambda=1.0), index)
    assert ids(feed.items) == ["p1", "p3"]
    feed = feed_api.recommend(con, ctx, only("semantic"), Settings(n=2, mmr_lambda=0.5), index)
    # p3 is nearly p1 (cosine .999): p9, third by score, takes its place
    assert ids(feed.items) == ["p1", "p9"] and feed.items["score_rank"].tolist() == [1, 3]
    div = feed.filtered[feed.filtered["reason"] == "diversity"]
    assert ids(div) == ["p3"] and div["detail"].iloc[0] == "score #2, too similar to #1 (1.00)"


def test_feed_and_explanations(con, ctx, index):
    feed = feed_api.recommend(con, ctx, Weights(), Settings(n=5), index)
    assert sorted(ids(feed.items)) == ["p1", "p2", "p3", "p4", "p9"]
    assert feed.items["rank"].tolist() == [1, 2, 3, 4, 5]
    assert set(feed.filtered["reason"]) == {"hidden_author", "seen", "toxic", "removed", "own_post"}
    assert feed.candidates == {"in_network": 2, "similar": 8, "popular": 3, "unique": 10}
    assert set(feed.timings) >= {"context", "candidates.in_network", "candidates.similar", "candidates.popular",
                                 "filters", "scoring", "rerank", "explain", "total"}
    assert feed.notes == ["1 candidate has no toxicity score and went unscreened for toxicity"]
    why = dict(zip(feed.items["post_id"], feed.items["explanation"]))
    assert why["p1"].startswith(f"from @fay, whom you follow; popular in t1 this week (1 like, reply or share); "
                                f"similar to a post you liked: '{TEXTS['h1']}' (0.96)")
    assert "2 people you follow liked or shared this (@fay, @finn)" in why["p3"]
    assert "1 person you follow liked or shared this (@fay)" in why["p4"]
    assert "similar to a post you liked: 'Sourdough starter, day three' (0.98)" in why["p9"]
    assert why["p2"].startswith("from @finn, whom you follow; posted 30 h ago")
    cols = ["rank", "post_id", "handle", "topic", "text", "created_at", "score", "score_rank",
            *feed_api.COMPONENTS, *[f"{c}_raw" for c in feed_api.COMPONENTS], "sentiment", "source", "evidence",
            "explanation"]
    assert feed.items.columns.tolist() == cols


def test_recommend_builds_its_index_and_takes_a_user_id(con):
    feed = feed_api.recommend(con, "me", as_of=T0)
    assert "index" in feed.timings and len(feed.items) == 5
    with pytest.raises(ValueError):
        feed_api.recommend(con, feed.context, as_of=T0 - timedelta(hours=1))


def test_empty_window(con):
    ctx = feed_api.user_context(con, "me", T0 - timedelta(days=30))
    feed = feed_api.recommend(con, ctx, index=EmbeddingIndex.build(con, 7, until=ctx.as_of))
    assert feed.items.empty and feed.filtered.empty and feed.candidates["unique"] == 0


def test_persona(con, index, monkeypatch):
    topics = feed_api.persona_context(con, ["t2"], as_of=T0)
    assert topics.user_id is None and topics.label == "persona: t2" and not topics.seen
    np.testing.assert_allclose(topics.interest, vec(0, 0, 0, 1), atol=1e-6)  # p2, the only t2 post
    feed = feed_api.recommend(con, topics, Weights(), Settings(n=3), index)
    assert ids(feed.items)[0] == "p2" and "close to your topics (1.00)" in feed.items["explanation"].iloc[0]
    assert set(feed.filtered["reason"]) <= {"toxic", "removed", "diversity"}  # nothing seen, hidden or own
    monkeypatch.setattr(models, "embed", lambda texts: np.stack([vec(0.2, 1)]))
    text = feed_api.persona_context(con, interest_text="bread baking", as_of=T0)
    feed = feed_api.recommend(con, text, only("semantic"), Settings(n=1), index)
    assert ids(feed.items) == ["p9"]
    assert "similar to your interest: 'bread baking' (1.00)" in feed.items["explanation"].iloc[0]
    with pytest.raises(ValueError):
        feed_api.persona_context(con, [], "  ", as_of=T0)


def test_overlap(con, ctx, index):
    a = feed_api.recommend(con, ctx, only("recency"), Settings(n=3, mmr_lambda=1), index)
    b = feed_api.recommend(con, ctx, only("popularity"), Settings(n=3, mmr_lambda=1), index)
    out = feed_api.overlap(a, b)
    assert ids(a.items) == ["p1", "p3", "p4"] and ids(b.items) == ["p4", "p3", "p1"]
    assert out == {"shared": ["p1", "p3", "p4"], "only_a": [], "only_b": [], "jaccard": 1.0}
    c = feed_api.recommend(con, ctx, only("recency"), Settings(n=4, mmr_lambda=1), index)
    assert feed_api.overlap(b, c)["jaccard"] == 0.75 and feed_api.overlap(b, c)["only_b"] == ["p2"]


def test_who_to_follow(con, ctx):
    df = feed_api.who_to_follow(con, ctx, n=5)
    # abe: 1 of 2 followed-by, 5 t1 posts in 30 days; zed: 2 followed-by; bea: 3 t1 posts. hal is hidden.
    assert df["handle"].tolist() == ["abe", "zed", "bea"]
    assert df["score"].round(4).tolist() == [0.75, 0.5, round(math.log(4) / math.log(6) / 2, 4)]
    assert df["reason"].tolist() == [
        "followed by 1 person you follow (@fay); 5 posts in t1 in the last 30 days",
        "followed by 2 people you follow (@fay, @finn)", "3 posts in t1 in the last 30 days"]


def test_topic_suggestions(con, ctx):
    df = feed_api.topic_suggestions(con, ctx)
    assert df["topic"].tolist() == ["t2", "t1"]  # t1 is all 'me' engages with already
    assert df[["followee_posts", "followee_engagement", "engagement"]].values.tolist() == [[1, 0, 0], [1, 3, 9]]
    assert df["score"].tolist() == [0.125, 0.0]
    assert df["reason"].iloc[0] == ("people you follow posted 1 time and liked, replied to or shared 0 times in it "
                                    "in the last 30 days; 0 likes, replies and shares overall; new to you")


# --- evaluation ----------------------------------------------------------------------------------------------------


def test_relatedness_puts_a_typical_pair_at_zero():
    # three orthogonal directions and their copies: of the random pairs, about 1 in 5 is a copy (cosine 1)
    vecs = np.stack([vec(1), vec(0, 1), vec(0, 0, 1)] * 2)
    assert feed_api.typical_cosine(vecs) == 0.0 and feed_api.typical_cosine(vecs[:1]) == 0.0
    e5_like = np.stack([vec(1, 0.5 + 0.1 * i) for i in range(20)])  # every pair above cosine 0.8, like e5
    assert 0.8 < feed_api.typical_cosine(e5_like) < 1
    assert feed_api.relatedness([0.8, 0.9, 1.0, 0.5], 0.8).round(6).tolist() == [0.0, 0.5, 1.0, 0.0]
    assert feed_api.relatedness([0.5, -0.2], 0.0).tolist() == [0.5, 0.0]


def test_metrics_by_hand():
    rec, rel = ["a", "b", "c", "d"], {"b", "d", "x"}
    assert feed_eval.precision_at_k(rec, rel, 4) == 0.5
    assert feed_eval.precision_at_k(rec, rel, 2) == 0.5
    assert feed_eval.precision_at_k(["b"], rel, 4) == 0.25
    assert feed_eval.recall_at_k(rec, rel, 4) == pytest.approx(2 / 3)
    assert feed_eval.recall_at_k(rec, rel, 1) == 0
    # DCG = 1/log2(3) + 1/log2(5) = 0.63093 + 0.43068; ideal = 1 + 0.63093 + 0.5
    assert feed_eval.ndcg_at_k(rec, rel, 4) == pytest.approx(1.06161 / 2.13093, abs=1e-5)
    assert feed_eval.ndcg_at_k(["b", "d"], {"b", "d"}, 2) == 1.0
    assert math.isnan(feed_eval.ndcg_at_k(rec, set(), 4)) and math.isnan(feed_eval.recall_at_k(rec, [], 4))
    assert feed_eval.catalogue_coverage([["a", "b"], ["b", "c"]], 10) == 0.3
    # pairwise cosines 0, .7071, .7071: mean .4714
    assert feed_eval.intra_list_diversity(np.stack([vec(1, 0), vec(0, 1), vec(1, 1)])) == \
        pytest.approx(0.52860, abs=1e-5)
    assert math.isnan(feed_eval.intra_list_diversity(np.stack([vec(1)])))
    # over a typical cosine of 0.5 the same pairs relate 0, .4142, .4142: mean .2761
    assert feed_eval.intra_list_diversity(np.stack([vec(1, 0), vec(0, 1), vec(1, 1)]), 0.5) == \
        pytest.approx(0.72386, abs=1e-5)
    assert feed_eval.novelty(["a", "b"], {"a": 0.5, "b": 0.125}) == 2.0  # (1 + 3) / 2


def test_held_out_positives_on_tiny_graph(con):
    # cutoff T0 - 90 min, one day ahead: the engagement an hour before T0 and finn's like of p1 after T0
    pos = feed_eval.held_out_positives(con, T0 - timedelta(minutes=90), 1, 7)
    assert pos == {"f1": {"p3", "p4"}, "f2": {"p1", "p3"}, "a": {"p4"}, "z": {"p4"}, "x": {"p4"}, "b": {"p1"}}
    assert feed_eval.held_out_positives(con, T0, 1, 7) == {"f2": {"p1"}}
    assert feed_eval.held_out_positives(con, T0, 1, 0.05) == {}  # p1 (2 h old) is outside a 72-minute window


@pytest.fixture
def small_copy(small_db, tmp_path):
    path = tmp_path / "small.duckdb"
    shutil.copy(small_db, path)
    c = store.connect(path)
    yield c
    c.close()


def test_evaluation_on_small_sample(small_copy):
    cutoff = feed_api.data_end(small_copy) - timedelta(days=7)
    df = feed_eval.evaluate(small_copy, cutoff, k=5, n_users=6, horizon_days=7)
    assert df.attrs["users"] == 6 and df.attrs["k"] == 5
    assert df.columns.tolist() == ["strategy", "metric", "value"]
    pivot = df.pivot(index="metric", columns="strategy", values="value")
    assert sorted(pivot.columns) == ["pipeline", "popularity", "random"]
    assert sorted(pivot.index) == ["coverage", "diversity", "ndcg@5", "novelty", "precision@5", "recall@5"]
    for metric in ["coverage", "ndcg@5", "precision@5", "recall@5"]:
        assert pivot.loc[metric].between(0, 1).all()
    assert pivot.loc["diversity"].isna().all()  # the small sample is unscored: no embeddings
    assert (pivot.loc["novelty"] > 0).all()
    again = feed_eval.evaluate(small_copy, cutoff, k=5, n_users=6, horizon_days=7)
    pd.testing.assert_frame_equal(df, again)  # seeded


def test_no_leakage_after_cutoff(small_copy):
    con = small_copy
    cutoff = feed_api.data_end(con) - timedelta(days=7)
    user = sorted(feed_eval.held_out_positives(con, cutoff, 7, 7))[0]
    settings = Settings(n=10)
    index = EmbeddingIndex.build(con, settings.window_days, cutoff)
    before = feed_api.recommend(con, user, Weights(), settings, index, as_of=cutoff)
    assert len(before.items) >= 3
    top = before.items["post_id"].tolist()
    followees = sorted(before.context.followees)
    stranger = next(u for (u,) in con.execute("SELECT user_id FROM users ORDER BY 1").fetchall()
                    if u != user and u not in followees)
    later = cutoff + timedelta(hours=1)
    (next_id,) = con.execute("SELECT max(interaction_id) + 1 FROM interactions").fetchall()[0]
    rows = [(f, p, "like") for f in followees for p in top] + [(user, p, "view") for p in top] + \
        [(user, top[0], "hide"), (user, top[1], "like")]
    store.upsert(con, "interactions", pd.DataFrame({
        "interaction_id": range(next_id, next_id + len(rows)), "user_id": [r[0] for r in rows],
        "post_id": [r[1] for r in rows], "kind": [r[2] for r in rows], "ts": later}))
    store.upsert(con, "follows", pd.DataFrame({"follower_id": [user], "followee_id": [stranger],
                                               "created_at": [later]}))
    store.upsert(con, "posts", pd.DataFrame({"post_id": ["late"], "author_id": [followees[0]], "created_at": [later],
                                             "text": ["posted after the cutoff"], "topic": ["x"], "source": "test"}))
    after = feed_api.recommend(con, user, Weights(), settings, index, as_of=cutoff)
    cols = ["post_id", "score", *feed_api.COMPONENTS, "explanation"]
    pd.testing.assert_frame_equal(before.items[cols], after.items[cols])
    pd.testing.assert_frame_equal(before.filtered, after.filtered)
    assert before.context.followees == after.context.followees
    # and the interactions do count once the feed is built after them
    now = feed_api.recommend(con, user, Weights(), settings, index, as_of=later + timedelta(hours=1))
    assert not set(now.items["post_id"]) & set(top)  # all seen now
