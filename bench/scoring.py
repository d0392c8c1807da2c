"""Scoring engine vs a naive one-text-at-a-time loop over the same model, same posts, same run.

Usage: .venv/bin/python bench/scoring.py [--n 2000] [--rounds 2]
Both sides compute sentiment probabilities + embeddings (MiniLM) and toxicity (BiLSTM) for every post.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from analytics import models  # noqa: E402
from analytics.data import corpus  # noqa: E402
from analytics.models import sentiment, toxicity  # noqa: E402


def naive(texts: list[str]) -> None:
    """The loop people write first: the same models, one text per forward pass, no batching or sorting."""
    enc, tox = sentiment.load(), toxicity.load()
    for t in texts:
        enc.forward([t])
        tox.predict([t], batch_size=1)


def engine(texts: list[str]) -> None:
    """analytics.models: length-sorted batches under inference_mode, one encoder pass for both outputs."""
    models.sentiment_and_embedding(texts)
    models.toxicity_probs(texts)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    texts = corpus.load_tweets().sample(args.n, random_state=0)["text"].tolist()
    models.set_threads()
    engine(texts[:64])  # load both models and warm up outside the timings
    naive(texts[:8])
    print(f"{args.n} posts, device {models.device()}, torch threads {torch.get_num_threads()}")
    rates: dict[str, float] = {}
    for rnd in range(args.rounds):  # interleaved rounds, best of each, so machine noise hits both sides alike
        for name, fn in [("naive loop", naive), ("engine", engine)]:
            t0 = time.perf_counter()
            fn(texts)
            rate = args.n / (time.perf_counter() - t0)
            rates[name] = max(rates.get(name, 0.0), rate)
            print(f"round {rnd + 1} {name:>10}: {rate:8.1f} posts/s")
    for name, rate in rates.items():
        print(f"best {name:>10}: {rate:8.1f} posts/s")
    print(f"ratio engine / naive: {rates['engine'] / rates['naive loop']:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
