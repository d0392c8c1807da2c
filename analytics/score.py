"""Score posts with the sentiment and toxicity models and store their multilingual embeddings; resumable (posts
already done are skipped).

Usage: python -m analytics.score --all [--model sentiment|toxicity|embedding|abuse] [--limit N] [--db PATH]
       [--engine local|ray [--address ADDR] [--actors N]]
Ctrl-C keeps every finished chunk; run the same command again to continue. `--engine ray` runs the models on a Ray
actor pool (local mode on this machine unless --address joins a cluster; one actor per GPU where there are GPUs) and
this process writes every finished batch, as the store's one writer.
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
    ap.add_argument("--engine", choices=("local", "ray"), default="local", help="where the models run")
    ap.add_argument("--address", default=None, help="Ray cluster to join (default: local mode)")
    ap.add_argument("--actors", type=int, default=None, help="Ray actors (default: one per GPU, or per 2 cores)")
    args = ap.parse_args(argv)
    if not args.all and not args.limit:
        ap.error("say --all, or --limit N for a partial run")
    try:
        con = store.connect(args.db)
    except store.StoreLockedError as e:
        print(f"error: {e}\nA running dashboard enriches its own store with every model in the background (its status "
              "bar shows the progress), so there is nothing to hand it: this command is for stores no dashboard holds.",
              file=sys.stderr)
        return 3
    from tqdm import tqdm

    bars: dict[str, tqdm] = {}

    def progress(done: int, total: int, msg: str) -> None:
        name = msg.split(":")[0]
        bar = bars.setdefault(name, tqdm(total=total, desc=name, unit="post"))
        bar.update(done - bar.n)

    print(f"Scoring on {'Ray' if args.engine == 'ray' else models.device()}")
    names = args.model or models.MODELS
    try:
        if args.engine == "ray":
            from analytics.models import distributed

            done = distributed.score_posts(con, names, address=args.address, limit=args.limit, actors=args.actors,
                                           progress=progress)
        else:
            done = scoring.score_posts(con, names=names, limit=args.limit, progress=progress)
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
