"""Token attributions by occlusion: how much each word moves a model's probability when it is removed."""
from __future__ import annotations

import re
from typing import Callable

import numpy as np

from analytics import models

_WORD_RE = re.compile(r"\S+")
MAX_WORDS = 64


def words(text: str) -> list[str]:
    """Whitespace-separated words of `text` (the units attributions are given for)."""
    return _WORD_RE.findall(text)


def occlusion(text: str, predict: Callable[[list[str]], np.ndarray], target: int) -> list[tuple[str, float]]:
    """(word, attribution) pairs: P(target | text) minus P(target | text without that word).

    `predict` maps texts to probability rows; all variants go through it in one call. Only the first MAX_WORDS
    words are occluded (later ones get 0).
    """
    ws = words(text)
    if not ws:
        return []
    n = min(len(ws), MAX_WORDS)
    variants = [" ".join(ws)] + [" ".join(ws[:i] + ws[i + 1:]) for i in range(n)]
    p = predict(variants)[:, target]
    return [(w, float(p[0] - p[i + 1]) if i < n else 0.0) for i, w in enumerate(ws)]


def explain_sentiment(text: str) -> tuple[str, list[tuple[str, float]]]:
    """(predicted label, word attributions toward that label) from the sentiment model."""
    probs = models.sentiment_probs
    target = int(probs([text])[0].argmax())
    return models.SENTIMENT_LABELS[target], occlusion(text, probs, target)


def explain_toxicity(text: str, label: str = "toxic") -> list[tuple[str, float]]:
    """Word attributions toward toxicity label `label`."""
    return occlusion(text, models.toxicity_probs, models.TOXICITY_LABELS.index(label))


def offending_words(text: str, label: str = "toxic", alone: float = 0.5) -> list[tuple[str, float]]:
    """Word weights toward toxicity label `label` for highlighting or masking: the occlusion attribution, raised
    to the word's own P(label) when the model scores the word by itself at or above `alone`. Occlusion alone
    misses the offending words of a text that stays toxic without any single one of them (P saturates at 1)."""
    target = models.TOXICITY_LABELS.index(label)
    pairs = explain_toxicity(text, label)
    if not pairs:
        return pairs
    own = models.toxicity_probs([w for w, _ in pairs[:MAX_WORDS]])[:, target]
    return [(w, max(a, float(own[i])) if i < len(own) and own[i] >= alone else a) for i, (w, a) in enumerate(pairs)]
