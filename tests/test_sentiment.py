"""The MiniLM sentiment model: API contract, split, held-out accuracy, and text beyond tweets.

No training happens here: the tests use the committed artifacts in analytics/models/weights/
(re-create them with `python -m analytics.train sentiment`).
"""
import hashlib
import json

import numpy as np
import pytest

from analytics.data.corpus import load_tweets
from analytics.models import sentiment as S

# Hand-written product reviews and news-style snippets (none from the training tweets),
# 8 per class, written before the model's predictions on them were seen.
GENERALISATION = [
    # positive
    ("Absolutely love this blender, it crushes ice in seconds and is easy to clean.", "positive"),
    ("Best purchase I've made all year, the battery lasts for days.", "positive"),
    ("The hotel staff were wonderful and the room was spotless. Highly recommend!", "positive"),
    ("This novel is a delight from start to finish; beautifully written.", "positive"),
    ("Local volunteers were praised for their heroic efforts in rescuing stranded families.", "positive"),
    ("The new hospital wing opened to great excitement, and patients say care has improved dramatically.",
     "positive"),
    ("Shares soared after the company reported record profits and a fantastic quarter.", "positive"),
    ("Great customer service, they fixed my problem in five minutes. Thank you!", "positive"),
    # negative
    ("Terrible quality, the zipper broke after two days. Complete waste of money.", "negative"),
    ("The food was cold, the waiter was rude, and we waited an hour. Never again.", "negative"),
    ("Worst phone I have ever owned; it crashes constantly and the screen cracked.", "negative"),
    ("Customer support ignored my emails for three weeks. Very disappointed.", "negative"),
    ("Dozens were killed and hundreds injured when the earthquake struck overnight.", "negative"),
    ("The factory closure will leave 2,000 workers without jobs, devastating the town.", "negative"),
    ("Critics slammed the film as a boring, incoherent mess.", "negative"),
    ("Flights were cancelled for the third day in a row, leaving angry passengers stranded.", "negative"),
    # neutral
    ("The city council will meet on Tuesday at 7 p.m. to discuss the budget.", "neutral"),
    ("The package includes a charger, a USB cable and a user manual.", "neutral"),
    ("The central bank left interest rates unchanged at 4.5 percent.", "neutral"),
    ("The museum is open from 9 a.m. to 5 p.m., Monday through Saturday.", "neutral"),
    ("This jacket comes in three colours: black, navy and grey.", "neutral"),
    ("The report will be published next month, according to a spokesperson.", "neutral"),
    ("The train from Boston to New York takes about four hours.", "neutral"),
    ("Voters in the district will choose a new mayor in November.", "neutral"),
]


@pytest.fixture(scope="module")
def model():
    return S.load("cpu")


@pytest.fixture(scope="module")
def tweets():
    return load_tweets()


@pytest.fixture(scope="module")
def eval_report():
    return json.loads(S.EVAL_PATH.read_text())


def test_forward_contract(model):
    texts = ["I love this!", "This is awful, worst day ever.", "The meeting is at 3pm.", ""]
    probs, emb = model.forward(texts)
    assert probs.shape == (4, 3) and emb.shape == (4, S.EMBED_DIM)
    assert probs.dtype == np.float32 and emb.dtype == np.float32
    assert np.all(probs >= 0) and np.allclose(probs.sum(1), 1, atol=1e-5)
    assert np.allclose(np.linalg.norm(emb, axis=1), 1, atol=1e-5)
    assert model.tokenizer is not None and S.LABELS == ("negative", "neutral", "positive")
    empty_p, empty_e = model.forward([])
    assert empty_p.shape == (0, 3) and empty_e.shape == (0, S.EMBED_DIM)


def test_padding_and_truncation_do_not_change_results(model):
    short, long_ = "Nice!", "word " * 200          # the long text is truncated to 64 tokens
    p1, e1 = model.forward([short])
    p2, e2 = model.forward([short, long_])
    assert np.allclose(p1[0], p2[0], atol=1e-4) and np.allclose(e1[0], e2[0], atol=1e-4)
    assert model.tokenize([long_])["input_ids"].shape[1] == S.MAX_LEN


def test_load_is_cached_and_versioned(model):
    assert S.load("cpu") is model
    digest = hashlib.sha256(S.ADAPTER_PATH.read_bytes()).hexdigest()[:12]
    assert S.MODEL_VERSION == model.model_version == f"{S.MODEL_ID}-{digest}"


def test_missing_artifacts_explain_how_to_train(tmp_path):
    with pytest.raises(RuntimeError, match="python -m analytics.train sentiment"):
        S.SentimentEncoder.from_artifacts(tmp_path / "absent.safetensors")


def test_split_is_by_text_and_deterministic(tweets):
    train, test = S.split(tweets)
    assert not set(train["text"]) & set(test["text"])
    assert len(train) + len(test) == len(tweets)
    assert abs(test["text"].nunique() / tweets["text"].nunique() - S.TEST_FRACTION) < 0.001
    train2, test2 = S.split(tweets.sample(frac=1.0, random_state=1))     # row order does not matter
    assert sorted(test2["corpus_row"]) == sorted(test["corpus_row"])
    assert sorted(train2["corpus_row"]) == sorted(train["corpus_row"])


def test_eval_report_meets_target(eval_report, tweets):
    train, test = S.split(tweets)
    assert eval_report["n_train"] == len(train) and eval_report["n_test"] == len(test)
    assert eval_report["accuracy"] >= 0.77
    assert eval_report["accuracy"] > eval_report["majority_baseline"]["accuracy"] + 0.3
    conf = np.array(eval_report["confusion_matrix"])
    assert conf.shape == (3, 3) and conf.sum() == len(test)
    assert np.isclose(np.trace(conf) / conf.sum(), eval_report["accuracy"])
    assert set(eval_report["per_class"]) == set(S.LABELS)
    assert len(eval_report["calibration_bins"]) == 10
    assert sum(b["count"] for b in eval_report["calibration_bins"]) == len(test)
    assert eval_report["model_version"] == S.MODEL_VERSION


def test_held_out_sample_agrees_with_report(model, eval_report, tweets):
    _, test = S.split(tweets)
    sample = test.sample(500, random_state=0)
    texts = sample["text"].tolist()
    order = np.argsort([len(t) for t in texts])
    pred = np.empty(len(texts), dtype=object)
    for start in range(0, len(texts), 64):
        rows = order[start:start + 64]
        probs, _ = model.forward([texts[i] for i in rows])
        pred[rows] = np.array(S.LABELS)[probs.argmax(1)]
    acc = float((pred == sample["label"].to_numpy()).mean())
    assert abs(acc - eval_report["accuracy"]) <= 0.04, (acc, eval_report["accuracy"])


def test_generalises_to_reviews_and_news(model):
    texts = [t for t, _ in GENERALISATION]
    gold = np.array([label for _, label in GENERALISATION])
    assert (gold == "positive").sum() == (gold == "negative").sum() == (gold == "neutral").sum() == 8
    probs, _ = model.forward(texts)
    pred = np.array(S.LABELS)[probs.argmax(1)]
    acc = float((pred == gold).mean())
    wrong = [(t, g, p) for t, g, p in zip(texts, gold, pred) if g != p]
    assert acc >= 0.75, wrong


def test_embedding_drift_is_recorded_and_small(eval_report):
    drift = eval_report["embedding_drift"]["vs_base_minilm_raw_text"]
    assert drift["n_queries"] >= 500
    assert drift["mean_cosine_base_vs_adapted"] >= 0.9
    assert drift["top10_neighbour_overlap"] >= 0.5
