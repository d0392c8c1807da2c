"""Campaign detection time and quality: on the sample (scored against its injected ground truth) and on the 1M-post
synthetic store, in one run (read-only).

Usage: .venv/bin/python bench/campaigns.py [--sample PATH] [--big PATH] [--runs 2]
The sample is data/social.duckdb; the big store is data/synth_1000000.duckdb, built with `analytics.synth` when
missing (~2 min). The synthetic store re-uses the sample's real texts at random times, so every text is a
near-duplicate group of ~25 posts: the grouping's worst case, and a check that copies spread over months are not
called campaigns. Target: under 60 s at 1M posts. Reports the best of --runs.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from analytics import store  # noqa: E402
from analytics.data import synth  # noqa: E402
from analytics.moderation import campaigns  # noqa: E402

DATA = Path(__file__).resolve().parent.parent / "data"
TARGET_S = 60.0


def run(db: Path, runs: int) -> tuple[float, int, object]:
    """(best seconds, posts, the detected frame with unflagged candidates)."""
    con = store.connect(db, read_only=True)
    try:
        (posts,) = con.execute("SELECT count(*) FROM posts").fetchone()
        best, found = float("inf"), None
        for _ in range(runs):
            t0 = time.perf_counter()
            found = campaigns.detect(con, include_unflagged=True)
            best = min(best, time.perf_counter() - t0)
        truth = con.execute("SELECT kind, list(post_id) FROM sim_truth GROUP BY kind").fetchall()
    finally:
        con.close()
    return best, posts, (found, {k: set(v) for k, v in truth})


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sample", type=Path, default=DATA / "social.duckdb")
    ap.add_argument("--big", type=Path, default=DATA / "synth_1000000.duckdb")
    ap.add_argument("--runs", type=int, default=2)
    args = ap.parse_args()
    if not args.big.exists():
        synth.main(["--posts", "1000000", "--db", str(args.big)])
    ok = True
    for name, db in (("sample", args.sample), ("1M synth", args.big)):
        secs, posts, (found, truth) = run(db, args.runs)
        flagged = found[found["flagged"]]
        line = (f"{name}: {posts:,} posts, detection {secs:.1f} s (best of {args.runs}), {len(found):,} candidate "
                f"episodes, {len(flagged):,} flagged")
        if "campaign" in truth:
            hit_posts = {p for ids in flagged["post_ids"] for p in ids}
            tp = len(hit_posts & truth["campaign"])
            line += (f"; against sim_truth: precision {tp / max(len(hit_posts), 1):.2f}, recall "
                     f"{tp / len(truth['campaign']):.2f}, organic posts flagged "
                     f"{len(hit_posts & truth.get('organic', set()))}")
        print(line)
        if name == "1M synth":
            ok = secs < TARGET_S
            print(f"target < {TARGET_S:.0f} s at 1M posts: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
