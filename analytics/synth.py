"""Scale store for benchmarks: N posts re-using the real texts, with the same simulation scaled up.

Usage: python -m analytics.synth --posts 1000000 [--users N] [--db PATH]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analytics import build

DATA = Path(__file__).resolve().parent.parent / "data"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--posts", type=int, required=True, help="number of posts")
    ap.add_argument("--users", type=int, default=None, help="number of users (default: posts / 13, as in the sample)")
    ap.add_argument("--db", default=None, help="output path (default: data/synth_<posts>.duckdb)")
    args = ap.parse_args(argv)
    if args.posts < 100:
        ap.error("--posts must be at least 100")
    db = Path(args.db) if args.db else DATA / f"synth_{args.posts}.duckdb"
    cfg = build.load_config(n_users=args.users or max(100, args.posts // 13))
    counts = build.run_with_bar(lambda progress: build.build(db, cfg, progress=progress, n_posts=args.posts))
    print(f"Built {db}: " + ", ".join(f"{v:,} {k}" for k, v in counts.items() if v))
    return 0


if __name__ == "__main__":
    sys.exit(main())
