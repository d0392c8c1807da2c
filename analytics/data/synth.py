"""Scale store for benchmarks: N posts re-using the real texts, with the same simulation scaled up.

Usage: python -m analytics.synth --posts 1000000 [--users N] [--db PATH] [--scores-from SCORED_STORE]

--scores-from copies the current sentiment and toxicity scores of an already-scored store (e.g. a scored copy of
data/social.duckdb) onto every synth post with the identical text, so the scale store carries real model output.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import duckdb

from analytics import store
from analytics.data import build
from analytics.models.registry import ABUSE_MODEL, SCORED_MODELS, model_key

DATA = Path(__file__).resolve().parents[2] / "data"


def copy_scores(con: duckdb.DuckDBPyConnection, source: str | Path) -> dict[str, int]:
    """Give every post the current-version scores that the store at `source` holds for a post with the same text.

    Returns rows written per model. Texts scored more than once in `source` take the score of the lowest post_id.
    The abuse model's stored branch features come along with its scores, so adopting a retrained head re-scores
    these posts too.
    """
    src = store.connect(source, read_only=True)
    try:
        by_text = {(name, "model_scores"): src.execute("""
            SELECT p.text, s.model_id, s.model_version, s.label, s.score, s.scores, s.scored_at
            FROM model_scores s JOIN posts p USING (post_id) WHERE s.model_id = ? AND s.model_version = ?
            QUALIFY row_number() OVER (PARTITION BY p.text ORDER BY s.post_id) = 1
        """, list(model_key(name))).df() for name in SCORED_MODELS}
        by_text[(ABUSE_MODEL, "abuse_features")] = src.execute("""
            SELECT p.text, f.model_version, f.vec FROM abuse_features f JOIN posts p USING (post_id)
            WHERE f.model_version = ? QUALIFY row_number() OVER (PARTITION BY p.text ORDER BY f.post_id) = 1
        """, [model_key(ABUSE_MODEL)[1]]).df()
    finally:
        src.close()
    written = {}
    # One set-based join per table instead of store.upsert: at 1M posts, materialising the joined rows in pandas
    # would double the memory and time for nothing; upsert_select has the same upsert semantics.
    with store.transaction(con):
        for (name, table), rows in by_text.items():
            con.register("_rows_by_text", rows)
            try:
                n = store.upsert_select(con, table, """
                    SELECT p.post_id, s.* EXCLUDE (text) FROM posts p JOIN _rows_by_text s USING (text)""")
            finally:
                con.unregister("_rows_by_text")
            if table == "model_scores":
                written[name] = n
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--posts", type=int, required=True, help="number of posts")
    ap.add_argument("--users", type=int, default=None, help="number of users (default: posts / 13, as in the sample)")
    ap.add_argument("--db", default=None, help="output path (default: data/synth_<posts>.duckdb)")
    ap.add_argument("--scores-from", type=Path, default=None, metavar="PATH",
                    help="scored store whose model scores are copied onto synth posts with the same text")
    args = ap.parse_args(argv)
    if args.posts < 100:
        ap.error("--posts must be at least 100")
    if args.scores_from and not args.scores_from.exists():
        ap.error(f"--scores-from: no store at {args.scores_from}")
    db = Path(args.db) if args.db else DATA / f"synth_{args.posts}.duckdb"
    cfg = build.load_config(n_users=args.users or max(100, args.posts // 13))
    counts = build.run_with_bar(lambda progress: build.build(db, cfg, progress=progress, n_posts=args.posts))
    print(f"Built {db}: " + ", ".join(f"{v:,} {k}" for k, v in counts.items() if v))
    if args.scores_from:
        con = store.connect(db)
        try:
            written = copy_scores(con, args.scores_from)
        finally:
            con.close()
        print(f"Copied scores from {args.scores_from}: " + ", ".join(f"{n:,} {m}" for m, n in written.items()))
    return 0

