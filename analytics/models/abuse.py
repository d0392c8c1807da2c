"""The meaning-based abuse model: multilingual-e5-small with LoRA deltas on its top layers and a softmax head over
`none` and the policy categories, trained by the project on its own policy example set
(`python -m analytics.train abuse`), with per-category thresholds; and the screening that combines it with the
Jigsaw BiLSTM. This module imports no torch (the model runs in analytics.models.multilingual, in the same pass as the
stored embeddings): it holds the categories, thresholds, the decision and the nearest-example explanations.

The head is kept apart from the encoder branch: the branch's pooled vectors (`features`) are stored per post, so a
head retrained from moderators' decisions (analytics.models.abuse_heads, analytics.moderation.learning) re-scores
every post without running the encoder again.

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
# The branch's features of the training, threshold-tuning and held-out posts: what a retrained head is fitted on and
# gated by (written by `python -m analytics.train abuse` with the adapter).
FEATURES_PATH = WEIGHTS_DIR / "abuse_features.npz"
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


@dataclass(frozen=True)
class Head:
    """A softmax head over CLASSES reading the branch's L2-normalised pooled vectors (a cosine classifier at
    LOGIT_SCALE), with the thresholds it flags at."""
    version: str
    weight: np.ndarray  # (len(CLASSES), dim)
    bias: np.ndarray  # (len(CLASSES),)
    thresholds: dict[str, float]
    corroborate: float

    def probs(self, features: np.ndarray) -> np.ndarray:
        """Class probabilities (n, len(CLASSES)) of feature rows (n, dim)."""
        z = LOGIT_SCALE * (np.asarray(features, np.float32) @ self.weight.T) + self.bias
        z = np.exp(z - z.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)


@functools.cache
def shipped_head() -> Head:
    """The head trained with the adapter (`python -m analytics.train abuse`), at its tuned thresholds."""
    from safetensors.numpy import load_file

    t, m = load_file(str(adapter_path())), meta()
    return Head(registry.ABUSE_VERSION, t["head.weight"].astype(np.float32), t["head.bias"].astype(np.float32),
                dict(m.thresholds), m.corroborate)


def fit_head(x: np.ndarray, y: np.ndarray, sample_weight: np.ndarray, prior: Head, l2: float,
             label_smoothing: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """(weight, bias) minimising the weighted cross-entropy of `prior`'s form on features `x` and class indices `y`
    (targets smoothed by `label_smoothing`, as in training), plus l2/2 * the squared distance to `prior`'s
    parameters: a warm start that moves only as far as the data asks."""
    from scipy.optimize import minimize

    x, w = np.asarray(x, np.float64), np.asarray(sample_weight, np.float64) / np.sum(sample_weight)
    k, d = prior.weight.shape
    theta0 = np.concatenate([prior.weight.ravel(), prior.bias]).astype(np.float64)
    target = (1 - label_smoothing) * np.eye(k)[y] + label_smoothing / k

    def loss(theta):
        weight, bias = theta[:k * d].reshape(k, d), theta[k * d:]
        z = LOGIT_SCALE * x @ weight.T + bias
        z -= z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        g = w[:, None] * (np.exp(logp) - target)
        diff = theta - theta0
        grad = np.concatenate([(LOGIT_SCALE * g.T @ x).ravel(), g.sum(axis=0)]) + l2 * diff
        return -(w * (logp * target).sum(axis=1)).sum() + l2 / 2 * diff @ diff, grad

    theta = minimize(loss, theta0, jac=True, method="L-BFGS-B", options={"maxiter": 500}).x
    return theta[:k * d].reshape(k, d).astype(np.float32), theta[k * d:].astype(np.float32)


def class_weights(y: np.ndarray) -> np.ndarray:
    """Training's class weights for class indices `y`: sqrt of the balanced weights (the many `none` posts count
    less, though not as little as fully balanced)."""
    counts = np.bincount(y, minlength=len(CLASSES))
    return np.sqrt(len(y) / (len(CLASSES) * np.maximum(counts, 1)))


@functools.cache
def training_features(path: Path = FEATURES_PATH) -> dict[str, np.ndarray]:
    """The branch's features and class indices of the training posts (x_train, y_train), the threshold-tuning part
    (x_val, y_val) and the held-out set (x_held, y_held), as float32 and int arrays."""
    try:
        with np.load(path) as f:
            got = {k: f[k].astype(np.float32) if k.startswith("x_") else f[k] for k in f.files}
    except OSError as e:
        raise RuntimeError(f"no abuse training features at {path}: run `python -m analytics.train abuse`") from e
    if str(got.pop("adapter")) != registry.file_hash(ADAPTER_PATH):
        raise RuntimeError(f"{path} was computed with another adapter: run `python -m analytics.train abuse`")
    return got


def pr(pred: np.ndarray, truth: np.ndarray) -> dict:
    """precision, recall, flagged, positives of boolean predictions against boolean truth."""
    tp = int((pred & truth).sum())
    return {"precision": round(tp / max(int(pred.sum()), 1), 4), "recall": round(tp / max(int(truth.sum()), 1), 4),
            "flagged": int(pred.sum()), "positives": int(truth.sum())}


def f1(pred: np.ndarray, truth: np.ndarray) -> float:
    """F1 of boolean predictions against boolean truth."""
    m = pr(pred, truth)
    return 2 * m["precision"] * m["recall"] / max(m["precision"] + m["recall"], 1e-9)


GRID = np.round(np.arange(0.1, 0.91, 0.025), 3)
ANY_GRID = (*np.round(np.arange(0.5, 0.991, 0.025), 3), 2.0)  # 2.0: off


def tune_thresholds(p: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Per category the threshold of best F1 for that category, and `any` (on P(abuse)) of best F1 for the any-abuse
    decision, from class probabilities `p` and class indices `y`."""
    th = {c: float(max(GRID, key=lambda t: (f1(p[:, i + 1] >= t, y == i + 1), t))) for i, c in enumerate(CATEGORIES)}
    th["any"] = float(max(ANY_GRID, key=lambda t: (f1(category_flags(p, {**th, "any": t}).any(axis=1), y != 0), t)))
    return th


def category_report(p: np.ndarray, y: np.ndarray, thresholds: dict[str, float]) -> dict:
    """flags_report of the flags at `thresholds` from class probabilities `p`."""
    return flags_report(category_flags(p, thresholds), y)


def flags_report(flags: np.ndarray, y: np.ndarray) -> dict:
    """Per category and any abuse: precision and recall of (n, len(CATEGORIES)) flags against class indices `y`;
    macro_f1 over the categories."""
    by = {c: pr(flags[:, i], y == i + 1) for i, c in enumerate(CATEGORIES)}
    return {"by_category": by, "any_abuse": pr(flags.any(axis=1), y != 0),
            "macro_f1": round(float(np.mean([f1(flags[:, i], y == i + 1) for i in range(len(CATEGORIES))])), 4)}


def held_out_report(head: Head) -> dict:
    """category_report of `head` at its own thresholds on the held-out set's stored features."""
    f = training_features()
    return category_report(head.probs(f["x_held"]), f["y_held"], head.thresholds)


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
