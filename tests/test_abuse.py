"""The meaning-based abuse model: its decisions on posts the BiLSTM gets wrong, its held-out figures recomputed from
the shipped weights, its scores stored with the embeddings in one pass, and the review queue that combines both."""
from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from analytics import models, moderation, store
from analytics.models import abuse, scoring
from analytics.models.registry import model_key

T = datetime(2026, 1, 1)
# Posts written for this test, like the issue's: abuse without swear words, and swearing without abuse.
THREAT = "we know your address, sleep with one eye open"
SELF_HARM = "honestly nobody would notice if you were gone, do everyone a favour"
HATE = "people like you should go back to your own country, you don't belong here"
CELEBRATION = "fucking brilliant goal, what a night"
COMPLAINT = "flight cancelled AGAIN, this fucking airline, third time this year"
OBVIOUS = "You are so dumb and stupid!"


def test_the_project_flags_abuse_without_swear_words_and_not_harmless_swearing():
    flagged = models.is_flagged([THREAT, SELF_HARM, HATE, OBVIOUS, CELEBRATION, COMPLAINT])
    assert flagged == [True, True, True, True, False, False]
    screened = models.screen([THREAT, CELEBRATION])
    assert (screened[0]["by"], screened[0]["category"]) == ("meaning model", "threat")
    assert screened[1]["bilstm"]["toxic"] >= 0.5, "the BiLSTM alone would flag the celebration"
    assert screened[1]["meaning"]["abuse"] < abuse.shipped_head().corroborate, "the meaning model overrules it"


def test_held_out_figures_in_the_model_card_are_what_the_shipped_model_scores():
    held = pd.read_csv(abuse.HELDOUT_PATH, dtype=str, keep_default_na=False)
    probs = abuse.shipped_head().probs(models.embed_with_abuse(held["text"].tolist())[1])
    m = abuse.meta()
    card = m.evaluation["held_out"]["by_category"]
    flags = abuse.category_flags(probs, m.thresholds)
    for i, c in enumerate(abuse.CATEGORIES):
        pred, truth = flags[:, i], (held["category"] == c).to_numpy()
        tp = int((pred & truth).sum())
        assert (round(tp / max(int(pred.sum()), 1), 4), round(tp / int(truth.sum()), 4)) == \
            pytest.approx((card[c]["precision"], card[c]["recall"]), abs=0.02), c


def test_nearest_policy_examples_explain_a_flag():
    vec = models.embed([THREAT])[0]
    near = abuse.nearest_examples(vec, 3, "threat")
    assert list(near.columns) == ["text", "lang", "category", "kind", "similarity"]
    assert (near["category"] == "threat").all() and near["similarity"].is_monotonic_decreasing
    assert near["similarity"].iloc[0] > 0.85


@pytest.fixture
def con(tmp_path):
    c = store.connect(tmp_path / "abuse.duckdb")
    store.upsert(c, "users", pd.DataFrame({"user_id": ["a"], "handle": ["ann"], "source": "test"}))
    texts = [THREAT, CELEBRATION, "lovely walk by the river this morning", "我知道你住哪，晚上出门小心点"]
    store.upsert(c, "posts", pd.DataFrame({
        "post_id": [f"p{i}" for i in range(1, 5)], "author_id": "a", "lang": ["en", "en", "en", "zh"],
        "created_at": [datetime(2026, 1, i) for i in range(1, 5)], "text": texts, "topic": "t",
        "source": "test"}))
    yield c
    c.close()


def test_one_encoder_pass_stores_embeddings_and_abuse_scores_and_the_queue_combines_both_models(con):
    scoring.score_posts(con, names=["toxicity"])
    before = moderation.queue(con)
    assert {"p1", "p2"} - set(before["post_id"]) == {"p1"}, "the BiLSTM flags the celebration, misses the threat"
    assert scoring.score_posts(con, names=["embedding", "abuse"]) == {"embedding": 4, "abuse": 0}
    stored = con.execute("SELECT post_id, label FROM model_scores WHERE model_id = ? AND model_version = ? "
                         "ORDER BY post_id", list(model_key("abuse"))).fetchall()
    assert [p for p, _ in stored] == ["p1", "p2", "p3", "p4"] and dict(stored)["p1"] == "threat"
    vecs = con.execute("SELECT vec FROM embeddings ORDER BY post_id").fetchall()
    assert np.allclose(np.array([v for (v,) in vecs]), models.embed(con.execute(
        "SELECT text FROM posts ORDER BY post_id").df()["text"].tolist()), atol=1e-4)
    after = moderation.queue(con)
    rows = after.set_index("post_id")
    assert sorted(rows.index) == ["p1", "p4"], "the threats, English and Chinese, in; the celebration out"
    assert rows.loc["p1", "flagged_by"] == "meaning model" and rows.loc["p1", "max_label"] == "threat"
    assert rows.loc["p4", "abuse_category"] == "threat"
    near = moderation.nearest_policy_examples(con, "p4", "threat")
    assert len(near) == 3 and (near["category"] == "threat").all()
