"""Topic discovery: TF-IDF + NMF over post text, labelled by each topic's top terms."""
from __future__ import annotations

import re

import numpy as np
from sklearn.decomposition import NMF
from sklearn.feature_extraction.text import TfidfVectorizer

_URL_RE = re.compile(r"https?://\S+|\bRT\b")


def nmf_topics(texts: list[str], k: int = 10, seed: int = 0, n_terms: int = 3) -> tuple[np.ndarray, list[list[str]]]:
    """Assign each text to one of k topics. Returns (topic index per text, top terms per topic)."""
    clean = [_URL_RE.sub(" ", t).lower() for t in texts]
    vec = TfidfVectorizer(
        min_df=min(5, max(1, len(texts) // 500)), max_df=0.3, stop_words="english",
        token_pattern=r"[#@]?[a-z][a-z0-9_']+", max_features=20000,
    )
    X = vec.fit_transform(clean)
    k = min(k, X.shape[1])
    nmf = NMF(k, random_state=seed, init="nndsvd", max_iter=300)
    W = nmf.fit_transform(X)
    vocab = np.array(vec.get_feature_names_out())
    terms = [list(vocab[np.argsort(-row)[:n_terms]]) for row in nmf.components_]
    return W.argmax(axis=1), terms


def topic_label(terms: list[str]) -> str:
    """Readable label from top terms, e.g. '#deflategate · brady · balls'."""
    return " · ".join(terms)
