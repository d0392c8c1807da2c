"""Toxicity scores from the Jigsaw BiLSTM of ``toxic-comment-classifier==0.3.0``, ported to PyTorch.

The package ships Keras weights (``model.weights.h5``) and a pickled Keras ``Tokenizer``
but imports TensorFlow. Here both files are read without Keras or TensorFlow: the weights
with h5py, the tokenizer through a restricted unpickler, and the network is rebuilt in
torch. Architecture (from the package's ``model.py``)::

    ids (100, pre-padded/pre-truncated with 0) -> Embedding(20000, 50)
    -> Bidirectional(LSTM(50, return_sequences=True), concat) -> GlobalMaxPooling1D
    -> Dense(50, relu) -> Dense(6, sigmoid)

Keras applies no mask, so the padding zeros run through the LSTM and count in the max
pool; every row is therefore always padded to 100 steps, exactly as the package does.
"""
from __future__ import annotations

import collections
import importlib.metadata
import importlib.util
import math
import pickle
import threading
import warnings
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import torch
from torch import nn

from analytics.models import registry

LABELS = registry.TOXICITY_LABELS
MODEL_ID = registry.TOXICITY_ID
MODEL_VERSION = registry.TOXICITY_VERSION

PACKAGE = "toxic_classifier"          # import name; never imported here (it pulls TensorFlow)
DISTRIBUTION = "toxic-comment-classifier"
INSTALL_HINT = "pip install --no-deps toxic-comment-classifier==0.3.0 h5py"

MAXLEN = 100          # pad_sequences(maxlen=100), default padding='pre', truncating='pre'
VOCAB_SIZE = 20000    # Embedding input_dim; also the tokenizer's num_words
EMBEDDING_DIM = 50
LSTM_UNITS = 50
DENSE_UNITS = 50
KERAS_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'


# --------------------------------------------------------------------------- tokenizer

class _PickledKerasTokenizer:
    """Attribute bag the pickled Keras ``Tokenizer`` is restored into (no Keras needed)."""


class _TokenizerUnpickler(pickle.Unpickler):
    """Unpickler that maps Keras' ``Tokenizer`` to a stand-in and refuses any other code."""

    _SAFE = {
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("collections", "defaultdict"): collections.defaultdict,
        ("builtins", "int"): int,
        ("builtins", "dict"): dict,
        ("builtins", "list"): list,
    }
    _KERAS_ROOTS = {"keras", "keras_preprocessing", "tensorflow", "tf_keras"}

    def find_class(self, module: str, name: str):
        if name == "Tokenizer" and module.split(".")[0] in self._KERAS_ROOTS:
            return _PickledKerasTokenizer
        try:
            return self._SAFE[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"tokenizer pickle refers to unexpected global {module}.{name}") from None


class KerasTokenizer:
    """Faithful re-implementation of Keras' legacy ``Tokenizer.texts_to_sequences`` (word level)."""

    def __init__(self, word_index: dict[str, int], num_words: int | None = None,
                 filters: str = KERAS_FILTERS, lower: bool = True, split: str = " ",
                 oov_token: str | None = None):
        self.num_words = num_words
        self.filters = filters
        self.lower = lower
        self.split = split
        self.oov_token = oov_token
        self.oov_index = word_index.get(oov_token) if oov_token is not None else None
        # Indices >= num_words are never emitted, so dropping them changes nothing and saves memory.
        self.word_index = {w: i for w, i in word_index.items() if not num_words or i < num_words}
        self._table = str.maketrans({c: split for c in filters})

    @classmethod
    def from_pickle(cls, path: str | Path) -> "KerasTokenizer":
        """Load a pickled Keras ``Tokenizer`` without importing Keras."""
        with open(path, "rb") as fh:
            state = _TokenizerUnpickler(fh).load()
        if not isinstance(state, _PickledKerasTokenizer):
            raise ValueError(f"{path} does not contain a Keras Tokenizer")
        attrs = vars(state)
        if attrs.get("char_level") or attrs.get("analyzer") is not None:
            raise ValueError("only word-level Keras tokenizers without a custom analyzer are supported")
        return cls(
            word_index=attrs["word_index"],
            num_words=attrs.get("num_words"),
            filters=attrs.get("filters", KERAS_FILTERS),
            lower=attrs.get("lower", True),
            split=attrs.get("split", " "),
            oov_token=attrs.get("oov_token"),
        )

    def tokenize(self, text: str) -> list[str]:
        """Keras ``text_to_word_sequence``: lower-case, filters -> split char, split, drop empties."""
        if self.lower:
            text = text.lower()
        return [t for t in text.translate(self._table).split(self.split) if t]

    def encode(self, text: str) -> list[int]:
        """Keras ``texts_to_sequences`` for one text (unknown / >= num_words words dropped unless OOV token)."""
        out: list[int] = []
        for w in self.tokenize(text):
            i = self.word_index.get(w)
            if i is not None:
                out.append(i)
            elif self.oov_token is not None and self.oov_index is not None:
                out.append(self.oov_index)
        return out


def pad_pre(seqs: Sequence[Sequence[int]], maxlen: int = MAXLEN) -> np.ndarray:
    """Keras ``pad_sequences`` defaults: zero padding and truncation both at the front."""
    arr = np.zeros((len(seqs), maxlen), dtype=np.int64)
    for row, seq in enumerate(seqs):
        if seq:
            seq = seq[-maxlen:]
            arr[row, maxlen - len(seq):] = seq
    return arr


# --------------------------------------------------------------------------- network

class BiLSTMToxicityNet(nn.Module):
    """Embedding -> BiLSTM (concat) -> global max pool over time -> Dense(relu) -> Dense(sigmoid)."""

    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(VOCAB_SIZE, EMBEDDING_DIM)
        self.lstm = nn.LSTM(EMBEDDING_DIM, LSTM_UNITS, batch_first=True, bidirectional=True)
        self.dense = nn.Linear(2 * LSTM_UNITS, DENSE_UNITS)
        self.out = nn.Linear(DENSE_UNITS, len(LABELS))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        seq, _ = self.lstm(self.embedding(ids))          # (B, T, 2H) = [forward | backward]
        pooled = seq.amax(dim=1)
        return torch.sigmoid(self.out(torch.relu(self.dense(pooled))))


def load_keras_weights(net: BiLSTMToxicityNet, path: str | Path) -> None:
    """Copy a Keras 3 ``.weights.h5`` file into ``net`` (kernels transposed, one LSTM bias)."""
    try:
        import h5py
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RuntimeError(f"h5py is needed to read the toxicity weights: {INSTALL_HINT}") from exc

    with h5py.File(path, "r") as f:
        layers = f["layers"]

        def var(group: str, i: int, shape: tuple[int, ...]) -> torch.Tensor:
            arr = np.asarray(layers[group]["vars"][str(i)], dtype=np.float32)
            if arr.shape != shape:
                raise ValueError(f"{path}: {group}/vars/{i} has shape {arr.shape}, expected {shape}")
            return torch.from_numpy(arr)

        state = {"embedding.weight": var("embedding", 0, (VOCAB_SIZE, EMBEDDING_DIM))}
        gates = 4 * LSTM_UNITS  # Keras and torch share gate order i, f, c(g), o
        for keras_name, suffix in (("forward_layer", ""), ("backward_layer", "_reverse")):
            cell = f"bidirectional/{keras_name}/cell"
            kernel = var(cell, 0, (EMBEDDING_DIM, gates))
            recurrent = var(cell, 1, (LSTM_UNITS, gates))
            bias = var(cell, 2, (gates,))
            state[f"lstm.weight_ih_l0{suffix}"] = kernel.T.contiguous()
            state[f"lstm.weight_hh_l0{suffix}"] = recurrent.T.contiguous()
            state[f"lstm.bias_ih_l0{suffix}"] = bias
            state[f"lstm.bias_hh_l0{suffix}"] = torch.zeros(gates)
        state["dense.weight"] = var("dense", 0, (2 * LSTM_UNITS, DENSE_UNITS)).T.contiguous()
        state["dense.bias"] = var("dense", 1, (DENSE_UNITS,))
        state["out.weight"] = var("dense_1", 0, (DENSE_UNITS, len(LABELS))).T.contiguous()
        state["out.bias"] = var("dense_1", 1, (len(LABELS),))
    net.load_state_dict(state, strict=True)


# --------------------------------------------------------------------------- model

def package_files() -> tuple[Path, Path]:
    """Paths of (model.weights.h5, tokenizer.pickle) inside the installed package, found without importing it."""
    dirs: list[str] = []
    try:
        spec = importlib.util.find_spec(PACKAGE)   # top-level find_spec does not execute the package
        if spec is not None and spec.submodule_search_locations:
            dirs.extend(spec.submodule_search_locations)
    except (ImportError, ValueError):
        pass
    for d in dirs:
        weights = Path(d) / "model" / "model.weights.h5"
        tokenizer = Path(d) / "model" / "tokenizer.pickle"
        if weights.is_file() and tokenizer.is_file():
            return weights, tokenizer
    raise RuntimeError(
        "Toxicity model files not found (toxic_classifier/model/model.weights.h5 and tokenizer.pickle). "
        f"Install them with: {INSTALL_HINT}  (--no-deps matters: the package would otherwise pull TensorFlow)."
    )


def _as_text(x) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    return x if isinstance(x, str) else str(x)


class ToxicityModel:
    """The ported classifier: ``predict`` gives (n, 6) sigmoid probabilities in ``LABELS`` order."""

    labels = LABELS
    model_id = MODEL_ID
    model_version = MODEL_VERSION

    def __init__(self, net: BiLSTMToxicityNet, tokenizer: KerasTokenizer, maxlen: int = MAXLEN):
        self.net = net.eval()
        self.tokenizer = tokenizer
        self.maxlen = maxlen

    @classmethod
    def from_package(cls) -> "ToxicityModel":
        """Build from the files of the installed ``toxic-comment-classifier`` package."""
        weights, tok_path = package_files()
        try:
            version = importlib.metadata.version(DISTRIBUTION)
        except importlib.metadata.PackageNotFoundError:
            version = None
        if version is not None and f"{DISTRIBUTION}=={version}" != MODEL_VERSION:
            warnings.warn(f"expected {MODEL_VERSION}, found {DISTRIBUTION}=={version}; scores may differ")
        net = BiLSTMToxicityNet()
        load_keras_weights(net, weights)
        return cls(net, KerasTokenizer.from_pickle(tok_path))

    def tokenize(self, text: str) -> list[str]:
        """Tokens after the Keras filters (out-of-vocabulary ones included; the model ignores those)."""
        return self.tokenizer.tokenize(_as_text(text))

    def encode(self, text: str) -> list[int]:
        """Token ids the model actually sees (before padding; only the last ``maxlen`` are used)."""
        return self.tokenizer.encode(_as_text(text))

    def predict(self, texts: Iterable[str], batch_size: int = 256) -> np.ndarray:
        """Probabilities, shape (n, 6), float32, rows in input order; duplicate texts are scored once."""
        texts = [_as_text(t) for t in texts]
        out = np.zeros((len(texts), len(LABELS)), dtype=np.float32)
        if not texts:
            return out
        # Every row is padded to maxlen (padding is part of the model's input), so length-sorting
        # buys nothing; de-duplicating identical id sequences does.
        row_of: dict[tuple[int, ...], int] = {}
        uniq: list[tuple[int, ...]] = []
        where = np.empty(len(texts), dtype=np.int64)
        for k, text in enumerate(texts):
            ids = tuple(self.tokenizer.encode(text)[-self.maxlen:])
            r = row_of.get(ids)
            if r is None:
                r = row_of[ids] = len(uniq)
                uniq.append(ids)
            where[k] = r
        ids_arr = pad_pre(uniq, self.maxlen)
        probs = np.empty((len(uniq), len(LABELS)), dtype=np.float32)
        batch_size = max(1, int(batch_size))
        with torch.inference_mode():
            for start in range(0, len(uniq), batch_size):
                batch = torch.from_numpy(ids_arr[start:start + batch_size])
                probs[start:start + batch_size] = self.net(batch).numpy()
        return probs[where]

    def score(self, texts: Iterable[str], batch_size: int = 256) -> list[dict[str, float]]:
        """One ``{label: probability}`` dict per text."""
        return [dict(zip(LABELS, map(float, row))) for row in self.predict(texts, batch_size)]


_MODEL: ToxicityModel | None = None
_LOCK = threading.Lock()


def load() -> ToxicityModel:
    """The process-wide model, loaded lazily once (thread-safe)."""
    global _MODEL
    if _MODEL is None:
        with _LOCK:
            if _MODEL is None:
                _MODEL = ToxicityModel.from_package()
    return _MODEL


def score_toxicity(texts: Sequence[str]) -> list[dict[str, float]]:
    """Score texts with the cached model: a dict of every label -> probability in [0, 1] per text."""
    return load().score(list(texts))
