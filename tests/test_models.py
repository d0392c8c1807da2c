"""The model contract (analytics.models) with the real packaged models."""
import json

import numpy as np
import pytest

from analytics import models

ABUSE = ["you are an idiot", "go to hell you piece of garbage", "you people are disgusting animals", "I will kill you"]
STRONG_BUT_FINE = ["she killed it on stage", "this movie is sick, absolutely loved it",
                   "The flight was delayed again, terrible service", "shut up"]


def test_score_sentiment_contract():
    texts = ["I love this, best day ever!", "Worst service ever, I am furious.", "The meeting is at 3pm on Tuesday."]
    out = models.score_sentiment(texts)
    assert [o["label"] for o in out] == ["positive", "negative", "neutral"]
    for o in out:
        assert set(o) == {"label", "negative", "neutral", "positive"}
        assert abs(o["negative"] + o["neutral"] + o["positive"] - 1) < 1e-5
        assert o[o["label"]] == max(o["negative"], o["neutral"], o["positive"])


def test_score_toxicity_contract_and_threshold():
    out = models.score_toxicity(ABUSE + STRONG_BUT_FINE)
    for o in out:
        assert set(o) == set(models.TOXICITY_LABELS) and all(0 <= v <= 1 for v in o.values())
    flagged = [o["toxic"] >= models.TOXIC_THRESHOLD for o in out]
    assert flagged == [True] * len(ABUSE) + [False] * len(STRONG_BUT_FINE)


def test_embed_is_normalised_and_semantic():
    e = models.embed(["my flight was cancelled", "the airline cancelled my plane", "tom brady deflated balls"])
    assert e.shape == (3, 384)
    assert np.allclose(np.linalg.norm(e, axis=1), 1, atol=1e-4)
    assert e[0] @ e[1] > e[0] @ e[2] + 0.1  # e5's cosines sit in a narrow band: unrelated posts score ~0.8


def test_batched_in_input_order():
    texts = ["short", "a much longer text about a cancelled flight and lost luggage", "", "mid length text here"]
    from analytics.models import sentiment

    enc = sentiment.load()
    probs = models.batched(texts, enc.forward, 2, enc.token_lengths(texts))[0]
    one_by_one = np.concatenate([enc.forward([t])[0] for t in texts])
    assert np.allclose(probs, one_by_one, atol=1e-4)
    # The int8 backend quantises activations per batch: a post's scores move with its batch mates (here up to 0.07).
    from analytics.models import onnx_sentiment

    int8 = onnx_sentiment.load()
    probs = models.batched(texts, int8.forward, 2, int8.token_lengths(texts))[0]
    one_by_one = np.concatenate([int8.forward([t])[0] for t in texts])
    assert np.allclose(probs, one_by_one, atol=0.1) and (probs.argmax(1) == one_by_one.argmax(1)).all()
    assert np.allclose(models.embed(texts, batch_size=2), np.concatenate([models.embed([t]) for t in texts]),
                       atol=1e-5)


def test_minilm_batches_are_sorted_by_the_tokens_the_model_reads():
    from analytics.models import sentiment

    enc = sentiment.load()
    texts = ["ok", "supercalifragilistic antidisestablishmentarianism", "a b c d e f", "x " * 200]
    assert enc.token_lengths(texts) == enc.tokenize(texts)["attention_mask"].sum(dim=1).tolist()
    assert enc.token_lengths(texts)[-1] == sentiment.MAX_LEN, "truncated as the model reads it"


def test_empty_input():
    assert models.score_sentiment([]) == [] and models.embed([]).shape == (0, 384)


@pytest.mark.parametrize("fn", [models.score_sentiment, models.score_toxicity])
def test_untrusted_inputs_do_not_crash(fn):
    out = fn(["\x00 weird \u202e text", "x" * 20000, "<script>alert(1)</script>"])
    assert len(out) == 3


def test_the_onnx_int8_backend_agrees_with_torch_on_real_posts():
    from analytics.data import corpus
    from analytics.models import onnx_sentiment, sentiment

    texts = corpus.load_tweets().sample(300, random_state=1)["text"].tolist()
    torch_probs, torch_emb = models.batched(texts, sentiment.load().forward, 32)
    onnx_probs, onnx_emb = models.batched(texts, onnx_sentiment.load().forward, 32)
    cosine = (torch_emb * onnx_emb).sum(axis=1)
    assert cosine.mean() >= 0.99 and cosine.min() >= 0.95
    assert (torch_probs.argmax(axis=1) == onnx_probs.argmax(axis=1)).mean() >= 0.95
    assert onnx_sentiment.path().is_file() and onnx_sentiment.path().name.endswith(".int8.onnx")


def test_the_scoring_benchmark_results_become_the_models_page_table(tmp_path):
    from analytics.models import registry

    assert registry.speed_measured(tmp_path / "none.json") is None
    path = tmp_path / "scoring.json"
    path.write_text(json.dumps({
        "measured_on": "2026-12-01", "posts": 2000, "machine": "2 cores, cpu", "limit_posts_per_s": 200.0,
        "posts_per_s": {"MiniLM by chars": 100.0, "MiniLM by tokens": 150.0, "MiniLM ONNX fp32": 180.0,
                        "MiniLM ONNX int8": 250.0, "engine": 40.0}}))
    rows = registry.speed_measured(path)["variants"]
    assert [(r["posts/s"], r["share of the fp32 limit"], r["speed-up"]) for r in rows] == [
        (100.0, 0.5, 1.0), (150.0, 0.75, 1.5), (180.0, 0.9, 1.8), (250.0, 1.25, 2.5)]
    assert rows[1]["variant"] == "torch, batches sorted by token count (the default)"
