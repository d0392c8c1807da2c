"""Train the project's models from data shipped in pip packages.

``python -m analytics.train sentiment`` fits the tweet sentiment classifier of
``analytics.models.sentiment`` on the train part of ``sentiment.split(load_tweets())`` and evaluates
it on the held-out part (never trained on). About 5-6 minutes on 2 CPU cores:

1. the bottom ``6 - top_layers`` MiniLM layers stay frozen; their output for the training
   tweets (URLs normalised, max 64 tokens) is computed once and cached (fp16, variable length),
   together with the unmodified encoder's embedding of each tweet;
2. LoRA deltas on every linear map of the top layers (plus their LayerNorms) and a linear head
   on the mean-pooled final hidden state are trained in length-bucketed batches with a
   confidence-weighted, label-smoothed cross-entropy plus ``keep_embedding * (1 - cos)`` to the
   base embedding, so the one-pass embedding stays close to plain MiniLM's. ``--epochs`` below
   1 (default 0.75) means one pass over a seeded random subset of the train split;
3. the deltas (fp16, LoRA scale folded into B) and the head go to
   ``analytics/models/weights/sentiment_adapter.safetensors``; the held-out metrics, computed with the
   model re-loaded from that file exactly as the app loads it, go to ``sentiment_eval.json``.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F
from tqdm.auto import tqdm

from analytics.models import sentiment as S

LORA_TARGETS = ("attention.self.query", "attention.self.key", "attention.self.value",
                "attention.output.dense", "intermediate.dense", "output.dense")


@dataclass
class SentimentConfig:
    """Hyper-parameters of a sentiment training run (all recorded in the artifact and the eval JSON)."""
    epochs: float = 0.75         # passes over the train split (< 1: a seeded random subset, seen once)
    top_layers: int = 2          # MiniLM layers (of 6) that get LoRA deltas; the rest stay frozen
    rank: int = 16
    alpha: float = 32.0
    lora_dropout: float = 0.05
    train_layernorm: bool = True  # LayerNorm weights/biases of the adapted layers are trained too
    head_hidden: int = 0
    head_dropout: float = 0.1
    batch_size: int = 32
    lr: float = 2e-3              # LoRA and LayerNorm
    head_lr: float = 5e-3
    weight_decay: float = 0.01
    warmup: float = 0.06
    label_smoothing: float = 0.05
    confidence_weighting: bool = True
    keep_embedding: float = 1.0   # weight of a (1 - cos(adapted, base MiniLM embedding)) penalty
    seed: int = 42
    max_len: int = S.MAX_LEN


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


# --------------------------------------------------------------------------- LoRA

class LoRALinear(nn.Module):
    """``base(x) + scale * B(A(dropout(x)))`` with A (r, in) random and B (out, r) zero at start."""

    def __init__(self, base: nn.Linear, rank: int, alpha: float, dropout: float):
        super().__init__()
        self.base = base
        self.scale = alpha / rank
        self.A = nn.Parameter(torch.empty(rank, base.in_features))
        self.B = nn.Parameter(torch.zeros(base.out_features, rank))
        nn.init.kaiming_uniform_(self.A, a=math.sqrt(5))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + F.linear(F.linear(self.drop(x), self.A), self.B) * self.scale


def add_lora(model: nn.Module, layers: list[int], cfg: SentimentConfig) -> dict[str, LoRALinear]:
    """Wrap the target linears of ``layers`` in place; returns {base weight name: LoRA module}."""
    wrapped = {}
    for i in layers:
        layer = model.encoder.layer[i]
        for target in LORA_TARGETS:
            parent_name, _, attr = target.rpartition(".")
            parent = layer.get_submodule(parent_name)
            lora = LoRALinear(getattr(parent, attr), cfg.rank, cfg.alpha, cfg.lora_dropout)
            setattr(parent, attr, lora)
            wrapped[f"encoder.layer.{i}.{target}.weight"] = lora
    return wrapped


# --------------------------------------------------------------------------- cached bottom layers

def attention_mask_4d(model: nn.Module, hidden: torch.Tensor, mask: torch.Tensor):
    from transformers.masking_utils import create_bidirectional_mask

    return create_bidirectional_mask(config=model.config, inputs_embeds=hidden, attention_mask=mask)


def run_layers(model: nn.Module, layers, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Run encoder ``layers`` on ``hidden`` (B, T, H) with a (B, T) padding mask."""
    mask4 = attention_mask_4d(model, hidden, mask)
    for layer in layers:
        hidden = layer(hidden, mask4)
    return hidden


def pad_ids(ids: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    n, t = len(ids), max(len(x) for x in ids)
    out = torch.zeros(n, t, dtype=torch.long)
    mask = torch.zeros(n, t, dtype=torch.long)
    for r, x in enumerate(ids):
        out[r, :len(x)] = torch.tensor(x)
        mask[r, :len(x)] = 1
    return out, mask


@dataclass
class StateCache:
    """Hidden states of every text after the frozen layers: one flat (sum of lengths, 384) fp16 tensor."""
    flat: torch.Tensor
    offsets: np.ndarray
    lengths: np.ndarray
    base_embeddings: torch.Tensor | None = None   # final-layer embeddings of the unmodified encoder

    def batch(self, rows: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        t = int(self.lengths[rows].max())
        hidden = torch.zeros(len(rows), t, self.flat.shape[1], dtype=torch.float32)
        mask = torch.zeros(len(rows), t, dtype=torch.long)
        for r, i in enumerate(rows):
            n = int(self.lengths[i])
            hidden[r, :n] = self.flat[self.offsets[i]:self.offsets[i] + n]
            mask[r, :n] = 1
        return hidden, mask


def cache_states(model: nn.Module, ids: list[list[int]], frozen: int, batch_size: int = 128,
                 with_base_embeddings: bool = False, desc: str = "caching frozen layers") -> StateCache:
    """Embeddings + the first ``frozen`` layers for every id list (no grad, length-sorted batches)."""
    lengths = np.array([len(x) for x in ids], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    flat = torch.empty(int(lengths.sum()), model.config.hidden_size, dtype=torch.float16)
    base = torch.empty(len(ids), model.config.hidden_size) if with_base_embeddings else None
    order = np.argsort(lengths, kind="stable")
    model.eval()
    with torch.inference_mode():
        for start in tqdm(range(0, len(ids), batch_size), desc=desc, unit="batch"):
            rows = order[start:start + batch_size]
            input_ids, mask = pad_ids([ids[i] for i in rows])
            hidden = model.embeddings(input_ids=input_ids, token_type_ids=torch.zeros_like(input_ids))
            hidden = run_layers(model, model.encoder.layer[:frozen], hidden, mask)
            half = hidden.to(torch.float16)
            for r, i in enumerate(rows):
                flat[offsets[i]:offsets[i] + lengths[i]] = half[r, :lengths[i]]
            if base is not None:
                top = run_layers(model, model.encoder.layer[frozen:], hidden, mask)
                base[torch.from_numpy(rows)] = F.normalize(S.mean_pool(top, mask), dim=-1)
    return StateCache(flat, offsets, lengths, base)


def length_batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffled batches of similar length: sort by length + noise, chunk, shuffle chunk order."""
    noisy = lengths + rng.uniform(0, 4, size=len(lengths))
    order = np.argsort(noisy, kind="stable")
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    rng.shuffle(batches)
    return batches


# --------------------------------------------------------------------------- training

def train_sentiment(train_df: pd.DataFrame, cfg: SentimentConfig, cache: StateCache | None = None,
                    progress: bool = True) -> tuple[dict[str, torch.Tensor], dict]:
    """Fit deltas + head on ``train_df``; returns (tensors to save, config metadata)."""
    seed_everything(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    passes = cfg.epochs
    if cache is None and cfg.epochs < 1:
        # Less than one pass: only a seeded random subset is ever seen, so only it is cached.
        keep = np.sort(rng.permutation(len(train_df))[:math.ceil(cfg.epochs * len(train_df))])
        train_df, passes = train_df.iloc[keep], 1.0
    tokenizer, model = S.load_base("cpu")
    frozen = model.config.num_hidden_layers - cfg.top_layers
    if cache is None:
        texts = [S.preprocess(t) for t in train_df["text"]]
        ids = tokenizer(texts, truncation=True, max_length=cfg.max_len)["input_ids"]
        cache = cache_states(model, ids, frozen, with_base_embeddings=cfg.keep_embedding > 0)

    labels = torch.tensor(train_df["label"].map({l: i for i, l in enumerate(S.LABELS)}).to_numpy(), dtype=torch.long)
    if cfg.confidence_weighting and "confidence" in train_df:
        weights = torch.tensor(train_df["confidence"].fillna(1.0).clip(0.0, 1.0).to_numpy(), dtype=torch.float32)
    else:
        weights = torch.ones(len(train_df))

    for p in model.parameters():
        p.requires_grad_(False)
    top = list(range(frozen, model.config.num_hidden_layers))
    wrapped = add_lora(model, top, cfg)
    originals: dict[str, torch.Tensor] = {}
    ln_params = []
    if cfg.train_layernorm:
        for name, p in model.named_parameters():
            if name.startswith(tuple(f"encoder.layer.{i}." for i in top)) and "LayerNorm" in name:
                originals[name] = p.detach().clone()
                p.requires_grad_(True)
                ln_params.append(p)
    head = S.build_head(asdict(cfg))
    lora_params = [p for m in wrapped.values() for p in (m.A, m.B)]
    opt = torch.optim.AdamW([
        {"params": lora_params + ln_params, "lr": cfg.lr},
        {"params": list(head.parameters()), "lr": cfg.head_lr},
    ], weight_decay=cfg.weight_decay)

    steps_per_epoch = math.ceil(len(train_df) / cfg.batch_size)
    total = max(1, min(steps_per_epoch * math.ceil(passes), round(passes * len(labels) / cfg.batch_size)))
    n_epochs = math.ceil(total / steps_per_epoch)
    warm = max(1, int(cfg.warmup * total))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm))))

    layers = [model.encoder.layer[i] for i in top]
    model.train()
    head.train()
    step = 0
    for epoch in range(n_epochs):
        batches = length_batches(cache.lengths, cfg.batch_size, rng)[:total - step]
        bar = tqdm(batches, desc=f"epoch {epoch + 1}/{n_epochs}", unit="batch", disable=not progress)
        run_loss, run_acc, seen = 0.0, 0.0, 0
        for rows in bar:
            hidden, mask = cache.batch(rows)
            out = run_layers(model, layers, hidden, mask)
            pooled = S.mean_pool(out, mask)
            logits = head(pooled)
            y, w = labels[rows], weights[rows]
            ce = F.cross_entropy(logits, y, reduction="none", label_smoothing=cfg.label_smoothing)
            loss = (ce * w).sum() / w.sum().clamp_min(1e-6)
            if cfg.keep_embedding > 0:
                cos = (F.normalize(pooled, dim=-1) * cache.base_embeddings[rows]).sum(-1)
                loss = loss + cfg.keep_embedding * (1 - cos).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(lora_params + ln_params + list(head.parameters()), 1.0)
            opt.step()
            sched.step()
            step += 1
            seen += len(rows)
            run_loss += loss.item() * len(rows)
            run_acc += float((logits.argmax(-1) == y).sum())
            bar.set_postfix(loss=f"{run_loss / seen:.3f}", acc=f"{run_acc / seen:.3f}")

    tensors: dict[str, torch.Tensor] = {}
    with torch.no_grad():
        for name, m in wrapped.items():
            tensors[f"lora_A.{name}"] = m.A.detach().to(torch.float16).contiguous()
            tensors[f"lora_B.{name}"] = (m.B.detach() * m.scale).to(torch.float16).contiguous()
        for name, orig in originals.items():
            # LayerNorm weights sit under the wrapped modules' parents, so names are unchanged.
            tensors[f"delta.{name}"] = (dict(model.named_parameters())[name].detach() - orig).contiguous()
        for k, v in head.state_dict().items():
            tensors[f"head.{k}"] = v.detach().float().contiguous()
    meta = asdict(cfg)
    meta.update(base=f"{S.BASE_DISTRIBUTION}==0.1.0", labels=list(S.LABELS), adapted_layers=top,
                train_examples_seen=int(min(len(labels), total * cfg.batch_size)), optimizer_steps=total)
    return tensors, meta


def save_artifacts(tensors: dict[str, torch.Tensor], meta: dict, path: Path = S.ADAPTER_PATH) -> Path:
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata={"config": json.dumps(meta, sort_keys=True)})
    return path


# --------------------------------------------------------------------------- evaluation

def predict(encoder: S.SentimentEncoder, texts: list[str], batch_size: int = 64,
            progress: bool = True, desc: str = "evaluating") -> tuple[np.ndarray, np.ndarray]:
    """(probs, embeddings) for all texts, in input order, via length-sorted ``encoder.forward`` batches."""
    ids = encoder.tokenizer([S.preprocess(t) for t in texts], truncation=True, max_length=S.MAX_LEN)["input_ids"]
    lengths = np.array([len(x) for x in ids])
    order = np.argsort(lengths, kind="stable")
    probs = np.zeros((len(texts), len(S.LABELS)), np.float32)
    embs = np.zeros((len(texts), S.EMBED_DIM), np.float32)
    for start in tqdm(range(0, len(texts), batch_size), desc=desc, unit="batch", disable=not progress):
        rows = order[start:start + batch_size]
        probs[rows], embs[rows] = encoder.forward([texts[i] for i in rows])
    return probs, embs


def calibration(confidence: np.ndarray, outcome: np.ndarray, n_bins: int = 10) -> tuple[list[dict], float]:
    """Reliability bins of predicted probabilities against what happened (low, high, count, mean_confidence,
    accuracy: the observed rate) and the expected calibration error."""
    bins = []
    edges = np.linspace(0, 1, n_bins + 1)
    for b in range(n_bins):
        sel = (confidence > edges[b]) & (confidence <= edges[b + 1]) if b else (confidence <= edges[1])
        n = int(sel.sum())
        bins.append({"low": round(float(edges[b]), 2), "high": round(float(edges[b + 1]), 2), "count": n,
                     "mean_confidence": float(confidence[sel].mean()) if n else None,
                     "accuracy": float(outcome[sel].mean()) if n else None})
    ece = sum(b["count"] * abs(b["mean_confidence"] - b["accuracy"]) for b in bins if b["count"]) / len(confidence)
    return bins, float(ece)


def classification_metrics(y_true: np.ndarray, probs: np.ndarray, n_bins: int = 10) -> dict:
    """Accuracy, macro-F1, per-class P/R/F1, confusion (rows true, cols predicted), calibration bins."""
    k = len(S.LABELS)
    pred = probs.argmax(1)
    conf = np.zeros((k, k), dtype=np.int64)
    np.add.at(conf, (y_true, pred), 1)
    per_class = {}
    for i, label in enumerate(S.LABELS):
        tp = conf[i, i]
        p = tp / conf[:, i].sum() if conf[:, i].sum() else 0.0
        r = tp / conf[i].sum() if conf[i].sum() else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        per_class[label] = {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(conf[i].sum())}
    top = probs.max(1)
    correct = pred == y_true
    bins, ece = calibration(top, correct, n_bins)
    return {
        "accuracy": float(correct.mean()),
        "macro_f1": float(np.mean([c["f1"] for c in per_class.values()])),
        "per_class": per_class,
        "confusion_matrix": conf.tolist(),
        "confusion_matrix_axes": "rows = true label, columns = predicted label, order = labels",
        "calibration_bins": bins,
        "expected_calibration_error": float(ece),
    }


def embedding_drift(adapted: np.ndarray, base: np.ndarray, n_queries: int = 500, k: int = 10) -> dict:
    """Mean cosine(base, adapted) of the same texts, and top-k neighbour overlap over the pool."""
    cos = (adapted * base).sum(1)
    q = np.arange(min(n_queries, len(base)))
    overlaps = []
    for sims in (base[q] @ base.T, adapted[q] @ adapted.T):
        sims[np.arange(len(q)), q] = -np.inf      # a text is not its own neighbour
        overlaps.append(np.argsort(-sims, axis=1)[:, :k])
    overlap = np.mean([len(set(a) & set(b)) / k for a, b in zip(*overlaps)])
    return {"n_texts": int(len(base)), "n_queries": int(len(q)), "k": k,
            "mean_cosine_base_vs_adapted": float(cos[q].mean()),
            "min_cosine_base_vs_adapted": float(cos[q].min()),
            f"top{k}_neighbour_overlap": float(overlap)}


def base_embeddings(texts: list[str], batch_size: int = 64, progress: bool = True) -> np.ndarray:
    """Normalised mean-pooled embeddings of the unmodified MiniLM (max 64 tokens)."""
    tokenizer, model = S.load_base("cpu")
    out = np.zeros((len(texts), S.EMBED_DIM), np.float32)
    with torch.inference_mode():
        for start in tqdm(range(0, len(texts), batch_size), desc="base embeddings", unit="batch",
                          disable=not progress):
            enc = tokenizer(texts[start:start + batch_size], padding=True, truncation=True,
                            max_length=S.MAX_LEN, return_tensors="pt")
            hidden = model(**enc).last_hidden_state
            out[start:start + batch_size] = F.normalize(S.mean_pool(hidden, enc["attention_mask"]), dim=-1).numpy()
    return out


def run_sentiment(cfg: SentimentConfig, out_dir: Path = S.WEIGHTS_DIR, limit: int | None = None,
                  drift_pool: int = 1500) -> dict:
    """Full pipeline: split, train on train, save, reload, evaluate on the held-out split, write JSON."""
    from analytics.data.corpus import load_tweets

    t0 = time.perf_counter()
    df = load_tweets(limit)
    train_df, test_df = S.split(df)
    print(f"{len(train_df):,} training tweets, {len(test_df):,} held out "
          f"(split by unique text, seed {S.SPLIT_SEED}); torch threads: {torch.get_num_threads()}")
    tensors, meta = train_sentiment(train_df, cfg)
    train_seconds = time.perf_counter() - t0
    out_dir = Path(out_dir)
    path = save_artifacts(tensors, meta, out_dir / S.ADAPTER_PATH.name)

    encoder = S.SentimentEncoder.from_artifacts(path, device="cpu")
    texts = test_df["text"].astype(str).tolist()
    y = test_df["label"].map({l: i for i, l in enumerate(S.LABELS)}).to_numpy()
    probs, embs = predict(encoder, texts)
    metrics = classification_metrics(y, probs)

    majority = train_df["label"].value_counts().idxmax()
    pool = np.random.default_rng(cfg.seed).permutation(len(texts))[:drift_pool]
    pool_texts = [texts[i] for i in pool]
    drift = {
        # what a caller sees: plain MiniLM on the raw text vs this model (URL normalisation + deltas)
        "vs_base_minilm_raw_text": embedding_drift(embs[pool], base_embeddings(pool_texts)),
        # the deltas alone: plain MiniLM on the same preprocessed text
        "vs_base_minilm_same_input": embedding_drift(
            embs[pool], base_embeddings([S.preprocess(t) for t in pool_texts])),
    }

    result = {
        "model_id": S.MODEL_ID,
        "model_version": encoder.model_version,
        "labels": list(S.LABELS),
        "split": {"by": "unique text", "seed": S.SPLIT_SEED, "test_fraction": S.TEST_FRACTION},
        "n_train": int(len(train_df)),
        "n_train_examples_seen": meta["train_examples_seen"],
        "n_test": int(len(test_df)),
        **metrics,
        "majority_baseline": {"label": majority, "accuracy": float((test_df["label"] == majority).mean())},
        "training_seconds": round(train_seconds, 1),
        "total_seconds": round(time.perf_counter() - t0, 1),
        "torch_threads": torch.get_num_threads(),
        "artifact": {"file": path.name, "bytes": path.stat().st_size,
                     "trainable_parameters": int(sum(v.numel() for v in tensors.values()))},
        "embedding_drift": drift,
        "config": meta,
    }
    eval_path = out_dir / S.EVAL_PATH.name
    d = drift["vs_base_minilm_raw_text"]
    eval_path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"held-out accuracy {result['accuracy']:.4f}, macro-F1 {result['macro_f1']:.4f} "
          f"(majority {result['majority_baseline']['accuracy']:.4f}); "
          f"embedding drift vs base MiniLM: mean cos {d['mean_cosine_base_vs_adapted']:.3f}, "
          f"top-10 overlap {d['top10_neighbour_overlap']:.3f}")
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB) and {eval_path}; "
          f"training {train_seconds:.0f} s, total {result['total_seconds']:.0f} s")
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m analytics.train", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("sentiment", help="tweet sentiment: LoRA on MiniLM's top layers + linear head")
    defaults = SentimentConfig()
    p.add_argument("--epochs", type=float, default=defaults.epochs,
                   help="passes over the train split; below 1, one pass over that fraction of it")
    p.add_argument("--top-layers", type=int, default=defaults.top_layers)
    p.add_argument("--rank", type=int, default=defaults.rank)
    p.add_argument("--lr", type=float, default=defaults.lr)
    p.add_argument("--head-lr", type=float, default=defaults.head_lr)
    p.add_argument("--batch-size", type=int, default=defaults.batch_size)
    p.add_argument("--keep-embedding", type=float, default=defaults.keep_embedding,
                   help="weight of the penalty keeping embeddings close to base MiniLM's")
    p.add_argument("--seed", type=int, default=defaults.seed)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--limit", type=int, default=None, help="use only this many tweets (smoke runs)")
    p.add_argument("--out", type=Path, default=S.WEIGHTS_DIR, help="where the artifacts and eval JSON go")
    z = sub.add_parser("sentiment-zh", help="Chinese sentiment: logistic regression on multilingual-e5 vectors")
    z.add_argument("--n-train", type=int, default=6000, help="training reviews (e5 embeds ~25 per second)")
    z.add_argument("--n-test", type=int, default=1500, help="held-out reviews to evaluate on")
    sub.add_parser("abuse", help="meaning-based abuse: LoRA on multilingual-e5's top layers and a softmax head, "
                                 "trained on the policy example set, evaluated on the held-out set")
    args = parser.parse_args(argv)
    if args.what == "abuse":
        from training import abuse

        abuse.run()
        return
    if args.what == "sentiment-zh":
        from training import sentiment_zh

        sentiment_zh.run(args.n_train, args.n_test)
        return
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = SentimentConfig(epochs=args.epochs, top_layers=args.top_layers, rank=args.rank, lr=args.lr,
                          head_lr=args.head_lr, batch_size=args.batch_size,
                          keep_embedding=args.keep_embedding, seed=args.seed)
    run_sentiment(cfg, args.out, args.limit)


if __name__ == "__main__":
    main()
