"""The model contract the rest of the project calls: `score_sentiment`, `score_toxicity`, `embed`, `is_flagged` (the
abuse screening decision), `TOXIC_THRESHOLD`.

Importing this package loads no torch: ids, versions, labels and thresholds come from the registry, and the
functions that run a model are looked up in analytics.models.runtime (which loads torch) on first use.
"""
from analytics.models.registry import (CARDS, DEFAULT_THRESHOLDS, EMBED_DIM, EMBEDDING_MODEL, MODELS,
                                       SENTIMENT_LABELS, TOXIC_THRESHOLD, TOXICITY_LABELS, TOXICITY_PUBLISHED,
                                       accuracy_by_language, model_key, sentiment_eval)

_RUNTIME = ("batched", "crosslingual", "default_batch_size", "device", "embed", "embed_with_abuse", "english_sentiment",
            "is_flagged",
            "measure", "score_sentiment", "score_toxicity", "screen", "sentiment_probs", "set_threads",
            "toxicity_probs")

__all__ = ["CARDS", "DEFAULT_THRESHOLDS", "EMBED_DIM", "EMBEDDING_MODEL", "MODELS", "SENTIMENT_LABELS",
           "TOXIC_THRESHOLD", "TOXICITY_LABELS", "TOXICITY_PUBLISHED", "accuracy_by_language", "model_key", "sentiment_eval",
           *_RUNTIME]


def __getattr__(name: str):
    if name in _RUNTIME:
        from analytics.models import runtime

        return getattr(runtime, name)
    raise AttributeError(f"module 'analytics.models' has no attribute {name!r}")
