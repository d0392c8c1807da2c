"""Running the models (loads torch): sentiment, toxicity and embeddings, batched.

Models load once per process, offline and lazily (see analytics.models.sentiment, .toxicity and .multilingual,
which raise a clear error naming the missing package or artefact). Texts are batched by length under
torch.inference_mode(). Sentiment is routed by language (MiniLM for English, the Chinese head on multilingual-e5
vectors for Chinese); every post's embedding comes from multilingual-e5, one space for all languages.
"""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd
import torch

from analytics.data import language
from analytics.models import abuse, multilingual, onnx_sentiment, sentiment, sentiment_zh, toxicity
from analytics.models.registry import (
    CROSSLINGUAL_PATH,
    DEFAULT_THRESHOLDS,
    SENTIMENT_BACKEND,
    SENTIMENT_LABELS,
    SENTIMENT_ZH_LANGS,
    TOXICITY_LABELS,
)

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
            batch_size: int, lengths: Sequence[int] | None = None) -> tuple[np.ndarray, ...]:
    """Run `fn` over batches sorted by `lengths` (the model's token counts; characters when None), so a batch pads
    little, and return its outputs in the input order."""
    order = np.argsort([len(t) for t in texts] if lengths is None else lengths, kind="stable")
    parts = [fn([texts[i] for i in order[s:s + batch_size]]) for s in range(0, len(texts), batch_size)]
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    return tuple(np.concatenate([p[k] for p in parts])[inverse] for k in range(len(parts[0])))


def english_sentiment() -> sentiment.SentimentEncoder | onnx_sentiment.OnnxSentiment:
    """The English sentiment model on the backend in force (registry.SENTIMENT_BACKEND)."""
    return onnx_sentiment.load() if SENTIMENT_BACKEND == "onnx-int8" else sentiment.load()


def sentiment_probs(texts: Sequence[str], batch_size: int | None = None,
                    langs: Sequence[str] | None = None) -> np.ndarray:
    """Sentiment probabilities (n, 3) in SENTIMENT_LABELS order. Chinese texts (by `langs`, detected when None) get
    theirs from the Chinese head on multilingual-e5 vectors (negative or positive: neutral is 0), the rest from
    MiniLM + the project's adapter and head."""
    if not texts:
        return np.zeros((0, 3), np.float32)
    set_threads()
    langs = language.detect(texts) if langs is None else langs
    zh = [i for i, lang in enumerate(langs) if lang in SENTIMENT_ZH_LANGS]
    rest = [i for i, lang in enumerate(langs) if lang not in SENTIMENT_ZH_LANGS]
    probs = np.zeros((len(texts), 3), np.float32)
    if rest:
        model, chosen = english_sentiment(), [texts[i] for i in rest]
        probs[rest] = batched(chosen, model.forward, batch_size or default_batch_size(),
                              model.token_lengths(chosen))[0]
    if zh:
        probs[zh] = sentiment_zh.probs(multilingual.encode([texts[i] for i in zh]))
    return probs


def toxicity_probs(texts: Sequence[str]) -> np.ndarray:
    """Toxicity probabilities (n, 6) in TOXICITY_LABELS order."""
    set_threads()
    return toxicity.load().predict(list(texts))


def score_sentiment(texts: list[str]) -> list[dict]:
    """Per text: {'label', 'negative', 'neutral', 'positive'} with the three probabilities summing to 1."""
    probs = sentiment_probs(texts)
    return [{"label": SENTIMENT_LABELS[int(p.argmax())], **dict(zip(SENTIMENT_LABELS, map(float, p)))} for p in probs]


def score_toxicity(texts: list[str]) -> list[dict]:
    """Per text: a probability in [0, 1] for each of toxic, severe_toxic, obscene, threat, insult, identity_hate."""
    return [dict(zip(TOXICITY_LABELS, map(float, p))) for p in toxicity_probs(texts)]


def embed(texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
    """L2-normalised 384-d multilingual-e5 embeddings (n, 384): one space for every language."""
    set_threads()
    return multilingual.encode(list(texts), batch_size or multilingual.BATCH)


def embed_with_abuse(texts: Sequence[str], batch_size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(embeddings as embed() gives them, the abuse branch's features for analytics.models.abuse.Head) from one
    encoder pass."""
    set_threads()
    return multilingual.encode_with_abuse(list(texts), batch_size or multilingual.BATCH)


def screen(texts: Sequence[str], thresholds: dict[str, float] | None = None,
           bilstm_thresholds: dict[str, float] | None = None, head: abuse.Head | None = None) -> list[dict]:
    """The project's abuse screening per text (analytics.models.abuse.decide): flagged, by (which model), category,
    the meaning model's scores and the BiLSTM's. `head` defaults to the shipped one, and thresholds to the head's
    own per category (and `corroborate`) and DEFAULT_THRESHOLDS per BiLSTM label; the team's head and thresholds
    in force come from analytics.moderation.screening(con)."""
    head = head or abuse.shipped_head()
    th = {**head.thresholds, "corroborate": head.corroborate, **(thresholds or {})}
    meaning = abuse.scores(head.probs(embed_with_abuse(texts)[1]))
    out = []
    for a, b in zip(meaning, score_toxicity(list(texts))):
        flagged, by, category = abuse.decide(a, b, th, bilstm_thresholds or DEFAULT_THRESHOLDS, th["corroborate"])
        out.append({"flagged": flagged, "by": by, "category": category, "meaning": a, "bilstm": b})
    return out


def is_flagged(texts: Sequence[str], thresholds: dict[str, float] | None = None,
               bilstm_thresholds: dict[str, float] | None = None, head: abuse.Head | None = None) -> list[bool]:
    """Whether the project flags each text for review (screen() with the same arguments; by default the shipped
    head at its thresholds)."""
    return [r["flagged"] for r in screen(texts, thresholds, bilstm_thresholds, head)]


def crosslingual(path: Path = CROSSLINGUAL_PATH) -> list[dict]:
    """Per encoder, on posts written in English and Chinese: the share of Chinese posts whose nearest English post
    is their translation, the share the other way, and the mean cosine of a post to its translation and to the
    other posts."""
    pairs = pd.read_csv(path)
    encoders = {"multilingual-e5-small (stored embeddings)": embed,
                "MiniLM (the English sentiment encoder)": lambda ts: sentiment.load().forward(list(ts))[1]}
    rows = []
    for name, fn in encoders.items():
        sims = fn(pairs["zh"].tolist()) @ fn(pairs["en"].tolist()).T
        right = np.arange(len(pairs))
        rows.append({"encoder": name, "pairs": len(pairs),
                     "Chinese → English top-1": float((sims.argmax(axis=1) == right).mean()),
                     "English → Chinese top-1": float((sims.argmax(axis=0) == right).mean()),
                     "cosine to translation": float(np.diag(sims).mean()),
                     "cosine to the others": float(sims[~np.eye(len(pairs), dtype=bool)].mean())})
    return rows


def measure(texts: Sequence[str]) -> dict[str, dict[str, float]]:
    """Per model on this machine: median single-text latency (ms) and batched throughput (texts/s)."""
    texts = list(texts)
    runs = {"sentiment": sentiment_probs, "embedding": embed, "toxicity": toxicity_probs}
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
