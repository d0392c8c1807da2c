"""Copying model scores (and the abuse model's features) onto synth posts by identical text, on tiny hand-made
stores."""
from datetime import datetime

import pandas as pd

from analytics import store
from analytics.data import synth
from analytics.models.registry import model_key


def _store(path, texts: dict[str, str]):
    con = store.connect(path)
    store.upsert(con, "posts", pd.DataFrame({"post_id": list(texts), "author_id": "a", "created_at": datetime(2026, 1, 1),
                                             "text": list(texts.values()), "source": "test"}))
    return con


def test_copy_scores_by_text(tmp_path):
    src = _store(tmp_path / "src.duckdb", {"p1": "same", "p2": "other", "p3": "same", "p4": "old only"})
    sent, tox = model_key("sentiment"), model_key("toxicity")
    rows = [("p1", *sent, "negative", 0.7), ("p3", *sent, "positive", 0.6), ("p2", *sent, "neutral", 0.8),
            ("p2", *tox, "non-toxic", 0.9), ("p4", "other-model", "v0", "positive", 0.9)]
    store.upsert(src, "model_scores", pd.DataFrame(rows, columns=["post_id", "model_id", "model_version", "label", "score"])
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
    assert synth.copy_scores(con, tmp_path / "src.duckdb") == {"sentiment": 3, "toxicity": 2, "abuse": 0}  # re-run replaces
    assert con.execute("SELECT count(*) FROM model_scores").fetchone() == (5,)
    con.close()


def test_small_scale_store_builds_even_with_topics_left_empty(tmp_path):
    from analytics.data import build

    counts = build.build(tmp_path / "s.duckdb", build.load_config(n_users=100), n_posts=1000)
    assert counts["posts"] == 1000 and counts["interactions"] > 0
