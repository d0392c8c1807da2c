"""Scale stores: built a chunk at a time, and given model scores (and the abuse model's features) copied by identical
text, on tiny hand-made stores."""
from datetime import datetime

import numpy as np
import pandas as pd

from analytics import store
from analytics.data import simulate, synth
from analytics.models.registry import model_key


def _store(path, texts: dict[str, str]):
    con = store.connect(path)
    store.upsert(con, "posts", pd.DataFrame({"post_id": list(texts), "author_id": "a",
                                             "created_at": datetime(2026, 1, 1), "text": list(texts.values()),
                                             "source": "test"}))
    return con


def test_copy_scores_by_text(tmp_path):
    src = _store(tmp_path / "src.duckdb", {"p1": "same", "p2": "other", "p3": "same", "p4": "old only"})
    sent, tox = model_key("sentiment"), model_key("toxicity")
    rows = [("p1", *sent, "negative", 0.7), ("p3", *sent, "positive", 0.6), ("p2", *sent, "neutral", 0.8),
            ("p2", *tox, "non-toxic", 0.9), ("p4", "other-model", "v0", "positive", 0.9)]
    store.upsert(src, "model_scores",
                 pd.DataFrame(rows, columns=["post_id", "model_id", "model_version", "label", "score"])
                 .assign(scores='{"x": 1}', scored_at=datetime(2026, 2, 1)))
    store.upsert(src, "abuse_features", pd.DataFrame({"post_id": ["p2", "p4"], "vec": [[0.5] * 384, [0.1] * 384],
                                                      "model_version": [model_key("abuse")[1], "old branch"]}))
    src.close()
    con = _store(tmp_path / "synth.duckdb", {"s1": "same", "s2": "other", "s3": "other", "s4": "old only", "s5": "new"})
    assert synth.copy_scores(con, tmp_path / "src.duckdb") == {"sentiment": 3, "toxicity": 2, "abuse": 0}
    assert con.execute("SELECT post_id, vec[1] FROM abuse_features ORDER BY 1").fetchall() == [("s2", 0.5), ("s3", 0.5)]
    got = con.execute("SELECT post_id, model_id, label, score, scores FROM model_scores ORDER BY 1, 2").fetchall()
    assert got == [("s1", sent[0], "negative", 0.7, '{"x": 1}'),  # text scored twice: the lowest post_id's score
                   ("s2", tox[0], "non-toxic", 0.9, '{"x": 1}'), ("s2", sent[0], "neutral", 0.8, '{"x": 1}'),
                   ("s3", tox[0], "non-toxic", 0.9, '{"x": 1}'), ("s3", sent[0], "neutral", 0.8, '{"x": 1}')]
    # a re-run replaces
    assert synth.copy_scores(con, tmp_path / "src.duckdb") == {"sentiment": 3, "toxicity": 2, "abuse": 0}
    assert con.execute("SELECT count(*) FROM model_scores").fetchone() == (5,)
    con.close()


def test_small_scale_store_builds_even_with_topics_left_empty(tmp_path):
    from analytics.data import build

    counts = build.build(tmp_path / "s.duckdb", build.load_config(n_users=100), n_posts=1000)
    assert counts["posts"] == 1000 and counts["interactions"] > 0


def _chunks(base, rows, cfg, names) -> dict[str, pd.DataFrame]:
    frames = {}
    for table, frame in simulate.simulate_chunks(base, rows, names, cfg):
        assert len(frame) <= simulate.CHUNK
        frames.setdefault(table, []).append(frame)
    return {t: pd.concat(f, ignore_index=True) for t, f in frames.items()}


def test_chunks_are_the_simulation_of_the_scale_posts(monkeypatch):
    """With every view in one block, simulate_chunks() writes exactly what simulate() makes of the same posts; in
    small blocks, only the interactions (drawn block by block) and the follows' times (drawn after them) change."""
    gen = np.random.default_rng(1)
    words = np.array(["love", "apple", "iphone", "coachella", "flight", "delayed", "#fun", "meh", "great", "sad"])
    base = pd.DataFrame({"text": [" ".join(gen.choice(words, 5)) for _ in range(200)], "lang": "en",
                         "label": gen.choice(["negative", "neutral", "positive"], 200), "confidence": 0.9,
                         "label_source": "test", "topic_idx": gen.integers(0, 3, 200)})
    rows, names = gen.integers(0, len(base), 3000), ["a", "b", "c"]
    cfg = simulate.SimConfig(n_users=150, n_topics=3, events=[
        {"event_id": "e", "name": "E", "kind": "negative_spike", "match": "apple|iphone", "label": "negative",
         "start": "2026-10-01T12:00:00", "hours": 12, "share": 0.5}])
    posts = base.iloc[rows].assign(post_id=[f"s{i:07d}" for i in range(len(rows))], source="synth")
    want = simulate.simulate(posts, names, cfg)
    keys = {"users": ["user_id"], "posts": ["post_id"], "follows": ["follower_id", "followee_id"],
            "interactions": ["interaction_id"], "sim_events": ["event_id"]}

    def same(a, b, table):
        a, b = (f.sort_values(keys[table], ignore_index=True).astype(object) for f in (a, b))
        return a[list(b.columns)].equals(b)

    monkeypatch.setattr(simulate, "CHUNK", 10**6)
    got = _chunks(base, rows, cfg, names)
    assert all(same(got[t], want[t], t) for t in keys)
    assert got["sentiment_labels"]["label"].tolist() == posts["label"].tolist()
    monkeypatch.setattr(simulate, "CHUNK", 500)  # frames of 500 rows, views in blocks of 4,000
    small = _chunks(base, rows, cfg, names)
    assert all(same(small[t], want[t], t) for t in ("users", "posts", "sim_events"))
    assert same(small["follows"].drop(columns="created_at"), want["follows"].drop(columns="created_at"), "follows")
    assert not same(small["interactions"], want["interactions"], "interactions")
    assert abs(len(small["interactions"]) / len(want["interactions"]) - 1) < 0.05


def test_chunked_scale_store_is_complete_and_in_order(tmp_path, monkeypatch):
    """Written 500 rows at a time: ids unique, interactions numbered in time order, and each frame's posts (and
    interactions, by kind) no earlier than the frame before, so row groups keep to their own stretch of time."""
    from analytics.data import build

    monkeypatch.setattr(simulate, "CHUNK", 500)
    cfg = build.load_config(n_users=200)
    counts = build.build(tmp_path / "s.duckdb", cfg, limit=2000, n_posts=5000)
    assert (counts["posts"], counts["sentiment_labels"], counts["users"]) == (5000, 5000, 200)
    assert counts["topics"] == cfg.n_topics and counts["sim_events"] == len(cfg.events) and counts["meta"] == 5
    con = store.connect(tmp_path / "s.duckdb", read_only=True)
    try:
        n = counts["interactions"]
        assert n > 5000 * cfg.views_per_post * 0.8 and counts["follows"] > 200 * 10
        assert con.execute("SELECT count(DISTINCT post_id) FROM posts").fetchone()[0] == 5000
        assert con.execute("SELECT min(interaction_id), max(interaction_id), count(DISTINCT interaction_id), "
                           "count(DISTINCT (user_id, post_id, kind)) FROM interactions").fetchone() == (1, n, n, n)
        assert con.execute("""SELECT count(*) FROM interactions a JOIN interactions b
                              ON a.interaction_id < b.interaction_id AND a.ts > b.ts""").fetchone()[0] == 0
        assert con.execute("""SELECT count(*) FROM interactions i JOIN posts p USING (post_id)
                              WHERE i.ts < p.created_at OR i.ts >= ?""", [cfg.end]).fetchone()[0] == 0
        assert con.execute("""SELECT count(*) FROM posts c JOIN posts p ON p.post_id = c.parent_id
                              WHERE p.created_at > c.created_at OR p.topic <> c.topic""").fetchone()[0] == 0
        for table, order in (("posts", "created_at::VARCHAR"), ("interactions", "kind || ts::VARCHAR")):
            assert con.execute(f"""SELECT count(*) FROM (
                SELECT min({order}) lo, max({order}) hi, lag(hi) OVER (ORDER BY rowid // 500) prev_hi FROM {table}
                GROUP BY rowid // 500) WHERE lo < prev_hi""").fetchone()[0] == 0, table
    finally:
        con.close()
