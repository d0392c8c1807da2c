"""Running the models (loads torch): sentiment, toxicity and embeddings, batched.

Models load once per process, offline and lazily (see analytics.models.sentiment and .toxicity, which raise a
clear error naming the missing package or artefact). Texts are batched by length under torch.inference_mode();
the MiniLM encoder runs once per text for both its sentiment probabilities and its embedding.
"""
from __future__ import annotations

import os
import threading
import time
from typing import Callable, Sequence

import numpy as np
import torch

from analytics.data import language
from analytics.models import multilingual, sentiment, sentiment_zh, toxicity
from analytics.models.registry import SENTIMENT_LABELS, SENTIMENT_ZH_LANGS, TOXICITY_LABELS

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


def sentiment_and_embedding(texts: Sequence[str], batch_size: int | None = None,
                            langs: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One MiniLM pass: (sentiment probabilities (n, 3) in SENTIMENT_LABELS order, normalised embeddings (n, 384)).
    Chinese texts (by `langs`, detected when None) get their probabilities from the Chinese head on
    multilingual-e5 vectors instead (negative or positive: neutral is 0)."""
    if not texts:
        return np.zeros((0, 3), np.float32), np.zeros((0, 384), np.float32)
    set_threads()
    model = sentiment.load()
    probs, emb = batched(list(texts), model.forward, batch_size or default_batch_size())
    langs = language.detect(texts) if langs is None else langs
    zh = [i for i, lang in enumerate(langs) if lang in SENTIMENT_ZH_LANGS]
    if zh:
        probs[zh] = sentiment_zh.probs(multilingual.encode([texts[i] for i in zh]))
    return probs, emb


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
