"""Median 'For You' feed time per user on the sample store and on the 1M-post synthetic store (read-only).

Usage: .venv/bin/python bench/recommend.py [--sample PATH] [--big PATH] [--users 5] [--runs 5]

The sample is data/scored_sample.duckdb (a fully scored copy of the sample, so it has embeddings), else
data/social.duckdb. The synthetic store has model scores but no embeddings; its posts reuse the sample's texts, so
unless --no-borrow is given each post gets the scored sample's embedding of the same text, in a temporary in-memory
table of this connection (the store file is not written). Users: the heaviest engagers (the slowest case) plus a
seeded random pick of users who liked something. Each feed is built once to warm up, then --runs times with a
cached EmbeddingIndex, whose build time is reported on its own. Targets: 200 ms (sample), 1 s (1M posts).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from analytics import feed, store  # noqa: E402

DATA = Path(__file__).resolve().parent.parent / "data"


def has_embeddings(con) -> bool:
    return con.execute("SELECT count(*) FROM embeddings").fetchall()[0][0] > 0


def borrow_embeddings(con, source: Path) -> int:
    """Give every post of `con` the embedding `source` holds for a post with the same text (lowest post_id when
    several), as a TEMP table that shadows `embeddings` for this connection only. Returns rows."""
    con.execute(f"ATTACH '{str(source).replace(chr(39), chr(39) * 2)}' AS src (READ_ONLY)")
    con.execute("""
        CREATE TEMP TABLE embeddings AS
        WITH by_text AS (SELECT sp.text, e.model_id, e.model_version, e.vec
                         FROM src.embeddings e JOIN src.posts sp USING (post_id)
                         QUALIFY row_number() OVER (PARTITION BY sp.text, e.model_id ORDER BY e.post_id) = 1)
        SELECT p.post_id, b.model_id, b.model_version, b.vec FROM posts p JOIN by_text b USING (text)""")
    con.execute("DETACH src")
    return con.execute("SELECT count(*) FROM embeddings").fetchall()[0][0]


def pick_users(con, n: int, seed: int = 0) -> list[str]:
    """The 2 users with the most interactions, then a seeded random pick of users who liked something."""
    heavy = [r[0] for r in con.execute(
        "SELECT user_id FROM interactions GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 2").fetchall()]
    likers = [r[0] for r in con.execute(
        "SELECT DISTINCT user_id FROM interactions WHERE kind = 'like' ORDER BY 1").fetchall()]
    rest = [u for u in np.random.default_rng(seed).permutation(likers).tolist() if u not in heavy]
    return heavy + rest[:max(n - len(heavy), 0)]


def bench(db: Path, users: int, runs: int, borrow_from: Path | None) -> dict:
    """Index build ms and, per user, the median of each stage and of the total over `runs` feeds."""
    con = store.connect(db, read_only=True)
    try:
        note = ""
        if not has_embeddings(con):
            if borrow_from and borrow_from.exists():
                t0 = time.perf_counter()
                n = borrow_embeddings(con, borrow_from)
                note = (f"no embeddings stored: borrowed {n:,} by text from {borrow_from.name} "
                        f"in {time.perf_counter() - t0:.0f} s (a temporary in-memory table without the stored "
                        "table's primary-key index, so embedding lookups are if anything slower than on a real store)")
            else:
                note = ("NO EMBEDDINGS: semantic relevance is 0 and the similar-posts source is off; store them "
                        f"with `.venv/bin/python -m analytics.score --all --model embedding --db {db}`")
        index = feed.EmbeddingIndex.build(con)
        out = {"note": note, "index_ms": index.build_ms, "index_rows": len(index), "users": {}}
        for user in pick_users(con, users):
            feed.recommend(con, user, index=index)  # warm-up
            feeds = [feed.recommend(con, user, index=index) for _ in range(runs)]
            stages = {k: statistics.median(f.timings[k] for f in feeds) for k in feeds[0].timings}
            out["users"][user] = {"stages": stages, "engaged": feeds[0].context.engaged,
                                  "candidates": feeds[0].candidates["unique"], "items": len(feeds[0].items)}
        return out
    finally:
        con.close()


def report(name: str, res: dict, target_ms: float) -> bool:
    print(f"\n== {name}: index {res['index_rows']:,} posts built in {res['index_ms']:.0f} ms (once, then cached)")
    if res["note"]:
        print(f"   {res['note']}")
    stages = ["context", "candidates.in_network", "candidates.similar", "candidates.popular", "filters", "scoring",
              "rerank", "explain"]
    short = ["context", "in_net", "similar", "popular", "filters", "scoring", "rerank", "explain"]
    print(f"{'user':<10} {'engaged':>7} {'cands':>6} " + " ".join(f"{s:>8}" for s in short) + f" {'total':>8}")
    totals = []
    for user, r in res["users"].items():
        s = r["stages"]
        totals.append(s["total"])
        print(f"{user:<10} {r['engaged']:>7,} {r['candidates']:>6} " + " ".join(f"{s.get(k, 0):8.1f}" for k in stages)
              + f" {s['total']:8.1f}")
    med = statistics.median(totals)
    ok = med < target_ms
    print(f"median feed {med:.0f} ms (slowest user {max(totals):.0f} ms) vs target {target_ms:.0f} ms: "
          f"{med / target_ms:.2f}x of budget, {'PASS' if ok else 'FAIL'}")
    return ok


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    scored = DATA / "scored_sample.duckdb"
    ap.add_argument("--sample", type=Path, default=scored if scored.exists() else DATA / "social.duckdb")
    ap.add_argument("--big", type=Path, default=DATA / "synth_1000000.duckdb")
    ap.add_argument("--users", type=int, default=5, help="users per store (2 heaviest + random)")
    ap.add_argument("--runs", type=int, default=5, help="timed feeds per user, after one warm-up")
    ap.add_argument("--no-borrow", action="store_true", help="do not borrow the sample's embeddings for --big")
    args = ap.parse_args(argv)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; DuckDB default threads; ms per stage "
          f"are medians of {args.runs} feeds (default Weights and Settings: n=20, 7-day window)")
    ok = report(f"sample {args.sample.name}", bench(args.sample, args.users, args.runs, None), 200)
    if args.big.exists():
        borrow = None if args.no_borrow else scored
        ok &= report(f"1M {args.big.name}", bench(args.big, args.users, args.runs, borrow), 1000)
    else:
        print(f"\n{args.big} not found: build it with `.venv/bin/python -m analytics.synth --posts 1000000 "
              f"--scores-from {scored}`")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
