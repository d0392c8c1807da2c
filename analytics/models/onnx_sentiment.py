"""The English sentiment model (MiniLM with the project's adapter and head) on ONNX Runtime, measured by
bench/scoring.py: int8 dynamic quantisation per channel keeps held-out accuracy within 0.5 points of torch and
embedding cosine to fp32 above 0.99 on average, at 1.7 times torch's speed here. Opt-in
(SOCIAL_SENTIMENT_BACKEND=onnx-int8): activations are quantised per batch, so scores move with a post's batch mates.

The file is exported from the project's weights on first use and cached by version under SOCIAL_MODEL_CACHE
(default data/models/): `export()` rebuilds it from the weights at any time. torch stays for training and GPUs.
"""
from __future__ import annotations

import functools
import os
import threading
from pathlib import Path

import numpy as np
import torch

from analytics.models import registry, sentiment

CACHE_DIR = Path(os.environ.get("SOCIAL_MODEL_CACHE") or Path(__file__).resolve().parents[2] / "data" / "models")
_LOCK = threading.Lock()


class _Graph(torch.nn.Module):
    """What the ONNX file computes: token ids and mask -> (probabilities, L2-normalised mean-pooled embeddings)."""

    def __init__(self, enc: sentiment.SentimentEncoder):
        super().__init__()
        self.model, self.head = enc.model, enc.head

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor):
        pooled = sentiment.mean_pool(self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state,
                                     attention_mask)
        return torch.softmax(self.head(pooled).float(), dim=-1), torch.nn.functional.normalize(pooled, dim=-1)


def path(quantized: bool = True) -> Path:
    """Where the exported file of the current weights lives (int8, or fp32 with quantized=False)."""
    return CACHE_DIR / f"{registry.MINILM_VERSION}.{'int8' if quantized else 'fp32'}.onnx"


def export(quantized: bool = True) -> Path:
    """Export the torch model to ONNX (opset 17, dynamic batch and length) and, for int8, quantise its weights per
    channel; written atomically. Returns the file."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    fp32, out = path(False), path(quantized)
    enc = sentiment.SentimentEncoder.from_artifacts(device="cpu")
    if not fp32.exists():
        sample = enc.tokenize(["an example post", "another, longer example post to trace"])
        tmp = fp32.with_suffix(f".{os.getpid()}.tmp")  # a CLI and the dashboard may export at once
        torch.onnx.export(_Graph(enc).eval(), (sample["input_ids"], sample["attention_mask"]), str(tmp),
                          input_names=["input_ids", "attention_mask"], output_names=["probs", "embeddings"],
                          dynamic_axes={"input_ids": {0: "batch", 1: "tokens"},
                                        "attention_mask": {0: "batch", 1: "tokens"},
                                        "probs": {0: "batch"}, "embeddings": {0: "batch"}},
                          opset_version=17, dynamo=False)
        tmp.rename(fp32)
    if quantized and not out.exists():
        tmp = out.with_suffix(f".{os.getpid()}.tmp")
        quantize_dynamic(str(fp32), str(tmp), weight_type=QuantType.QInt8, per_channel=True)
        tmp.rename(out)
    return out


class OnnxSentiment:
    """`forward(texts)` and `token_lengths(texts)` as sentiment.SentimentEncoder has them, on ONNX Runtime."""

    def __init__(self, quantized: bool = True, threads: int | None = None):
        import onnxruntime as ort

        file = path(quantized)
        if not file.exists():
            export(quantized)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or int(os.environ.get("TORCH_THREADS") or os.cpu_count() or 1)
        self.session = ort.InferenceSession(str(file), options, providers=["CPUExecutionProvider"])
        from transformers import AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(sentiment.base_model_path(), local_files_only=True)
        self.max_len = sentiment.MAX_LEN

    def token_lengths(self, texts: list[str]) -> list[int]:
        """Tokens per text (special tokens included, truncated to max 64)."""
        ids = self.tokenizer([sentiment.preprocess(t) for t in texts], truncation=True,
                             max_length=self.max_len)["input_ids"]
        return [len(i) for i in ids]

    def forward(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """One batch -> (probs (n, 3) in LABELS order, embeddings (n, 384) L2-normalised), float32."""
        if not texts:
            return np.zeros((0, len(sentiment.LABELS)), np.float32), np.zeros((0, sentiment.EMBED_DIM), np.float32)
        enc = self.tokenizer([sentiment.preprocess(t) for t in texts], padding=True, truncation=True,
                             max_length=self.max_len, return_tensors="np")
        probs, emb = self.session.run(None, {"input_ids": enc["input_ids"].astype(np.int64),
                                             "attention_mask": enc["attention_mask"].astype(np.int64)})
        return probs.astype(np.float32), emb.astype(np.float32)


@functools.cache
def _load(quantized: bool) -> OnnxSentiment:
    return OnnxSentiment(quantized)


def load(quantized: bool = True) -> OnnxSentiment:
    """The process's ONNX sentiment model (exported on first use: about 15 s)."""
    with _LOCK:
        return _load(quantized)
