"""Score posts with the sentiment and toxicity models and store their multilingual embeddings; resumable (posts
already done are skipped).

Usage: python -m analytics.score --all [--model sentiment|toxicity|embedding] [--limit N] [--db PATH]
Ctrl-C keeps every finished chunk; run the same command again to continue.
"""
from __future__ import annotations

import argparse
import sys

from analytics import models, store
from analytics.models import scoring


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--all", action="store_true", help="score every post that lacks a current score")
    ap.add_argument("--model", choices=models.MODELS, action="append", help="only this model (repeatable)")
    ap.add_argument("--limit", type=int, default=None, help="at most N posts per model")
    ap.add_argument("--db", default=None, help="database (default: $SOCIAL_DB or data/social.duckdb)")
    args = ap.parse_args(argv)
    if not args.all and not args.limit:
        ap.error("say --all, or --limit N for a partial run")
    try:
        con = store.connect(args.db)
    except store.StoreLockedError as e:
        print(f"error: {e}", file=sys.stderr)
        return 3
    from tqdm import tqdm

    bars: dict[str, tqdm] = {}

    def progress(done: int, total: int, msg: str) -> None:
        name = msg.split(":")[0]
        bar = bars.setdefault(name, tqdm(total=total, desc=name, unit="post"))
        bar.update(done - bar.n)

    print(f"Scoring on {models.device()}")
    try:
        done = scoring.score_posts(con, names=args.model or models.MODELS, limit=args.limit, progress=progress)
    except KeyboardInterrupt:
        print("\nInterrupted: finished chunks are saved; run the same command to continue.", file=sys.stderr)
        return 130
    finally:
        for bar in bars.values():
            bar.close()
        con.close()
    print("Scored " + ", ".join(f"{n:,} posts with {m}" for m, n in done.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
