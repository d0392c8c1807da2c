"""The meaning-based abuse model: multilingual-e5-small with LoRA deltas on its top layers and a softmax head over
`none` and the policy categories, trained by the project on its own policy example set
(`python -m analytics.train abuse`), with per-category thresholds; and the screening that combines it with the
Jigsaw BiLSTM. This module imports no torch (the model runs in analytics.models.multilingual, in the same pass as the
stored embeddings): it holds the categories, thresholds, the decision and the nearest-example explanations.

Categories follow the moderation policy's reason codes (analytics.moderation.policy): threat, harassment, hate,
self_harm, sexual. The `none` class is trained on hard negatives (praise with profanity, idioms, reported speech,
criticism of ideas, news about violence, self-deprecation), which is what lets the model overrule the BiLSTM's
word-driven flags: a BiLSTM flag counts only when this model also sees some abuse (P(abuse) >= corroborate).
"""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analytics.models import registry

CATEGORIES = ("threat", "harassment", "hate", "self_harm", "sexual")
CLASSES = ("none", *CATEGORIES)
LOGIT_SCALE = 20.0  # the head reads L2-normalised pooled vectors: a cosine classifier with this temperature
WEIGHTS_DIR = registry.WEIGHTS_DIR
ADAPTER_PATH = registry.ABUSE_ADAPTER_PATH  # LoRA deltas and head
HEAD_PATH = registry.ABUSE_HEAD_PATH  # thresholds and the held-out evaluation
EXAMPLES_PATH = WEIGHTS_DIR / "abuse_examples.npy"  # the policy examples' stored-space vectors, in policy order
POLICY_DIR = Path(__file__).resolve().parents[2] / "training" / "data" / "abuse_policy"
HELDOUT_PATH = POLICY_DIR.parent / "abuse_heldout.csv"


def policy_examples(folder: Path = POLICY_DIR) -> pd.DataFrame:
    """The policy example set: text, lang, category, kind; files in name order, rows in file order."""
    df = pd.concat([pd.read_csv(p, dtype=str, keep_default_na=False) for p in sorted(folder.glob("*.csv"))],
                   ignore_index=True)
    if bad := set(df["category"]) - set(CLASSES):
        raise ValueError(f"unknown categories in {folder}: {sorted(bad)}")
    return df


def adapter_path() -> Path:
    """The trained deltas and head (RuntimeError telling how to train them when missing)."""
    if not ADAPTER_PATH.is_file():
        raise RuntimeError(f"no abuse model at {ADAPTER_PATH}: train it with `python -m analytics.train abuse`")
    return ADAPTER_PATH


@dataclass(frozen=True)
class Meta:
    """The thresholds per category and `any` (on P(abuse)), the BiLSTM corroboration threshold and the held-out
    evaluation."""
    thresholds: dict[str, float]
    corroborate: float
    evaluation: dict


def save_meta(thresholds: dict[str, float], corroborate: float, evaluation: dict, path: Path = HEAD_PATH) -> Path:
    """Write the thresholds and the evaluation (registry.ABUSE_VERSION hashes this file and the adapter)."""
    path.write_text(json.dumps({"classes": list(CLASSES),
                                "thresholds": {c: round(float(thresholds[c]), 4) for c in (*CATEGORIES, "any")},
                                "corroborate": round(corroborate, 4), "evaluation": evaluation},
                               ensure_ascii=False, indent=1) + "\n")
    return path


@functools.cache
def meta(path: Path = HEAD_PATH) -> Meta:
    """The shipped thresholds and evaluation."""
    try:
        d = json.loads(path.read_text())
    except OSError as e:
        raise RuntimeError(f"no abuse model at {path}: train it with `python -m analytics.train abuse`") from e
    return Meta(d["thresholds"], float(d["corroborate"]), d["evaluation"])


def scores(probs: np.ndarray) -> list[dict[str, float]]:
    """Per row of class probabilities: P(category) for each of CATEGORIES, and `abuse` = 1 - P(none)."""
    return [{**{c: round(float(v), 6) for c, v in zip(CATEGORIES, row[1:])}, "abuse": round(float(1 - row[0]), 6)}
            for row in probs]


def category_flags(probs: np.ndarray, thresholds: dict[str, float]) -> np.ndarray:
    """(n, len(CATEGORIES)) booleans from class probabilities: each category at or above its threshold, and the most
    likely category where P(abuse) reaches thresholds['any'] (abuse the model sees but splits between categories)."""
    top = probs[:, 1:].argmax(axis=1)
    overall = (1 - probs[:, 0]) >= thresholds.get("any", 2.0)
    return np.stack([(probs[:, i + 1] >= thresholds[c]) | (overall & (top == i)) for i, c in enumerate(CATEGORIES)],
                    axis=1)


def decide(meaning: dict[str, float] | None, bilstm: dict[str, float] | None, thresholds: dict[str, float],
           bilstm_thresholds: dict[str, float], corroborate: float) -> tuple[bool, str | None, str | None]:
    """(flagged, which model flagged it, the category or label): the meaning model when a category reaches its
    threshold, or P(abuse) reaches thresholds['any'] (its most likely category); else the BiLSTM when a label reaches
    its threshold and the meaning model, where it has read the post, sees some abuse (P(abuse) >= corroborate)."""
    if meaning is not None:
        over = {c: meaning[c] for c in CATEGORIES if meaning[c] >= thresholds[c]}
        if not over and meaning["abuse"] >= thresholds.get("any", 2.0):
            over = {c: meaning[c] for c in CATEGORIES}
        if over:
            return True, "meaning model", max(over, key=over.get)
    if bilstm is not None and (meaning is None or meaning["abuse"] >= corroborate):
        over = {k: v for k, v in bilstm.items() if k in bilstm_thresholds and v >= bilstm_thresholds[k]}
        if over:
            return True, "BiLSTM", max(over, key=over.get)
    return False, None, None


@functools.cache
def _examples() -> tuple[pd.DataFrame, np.ndarray]:
    df, vecs = policy_examples(), np.load(EXAMPLES_PATH)
    if len(vecs) != len(df):
        raise RuntimeError(f"{EXAMPLES_PATH} holds {len(vecs)} vectors for {len(df)} policy examples: run "
                           "`python -m analytics.train abuse`")
    return df, vecs.astype(np.float32)


def nearest_examples(vector: np.ndarray, k: int = 3, category: str | None = None) -> pd.DataFrame:
    """The k policy examples nearest in meaning to a post's stored vector (optionally of one category): text, lang,
    category, kind, similarity (cosine), best first. The explanation shown with a flag."""
    df, vecs = _examples()
    sims = vecs @ np.asarray(vector, np.float32)
    if category is not None:
        sims = np.where(df["category"].to_numpy() == category, sims, -np.inf)
    top = np.argsort(-sims)[:k]
    return df.iloc[top].assign(similarity=np.round(sims[top], 3)).reset_index(drop=True)
