"""Median time of every query the analyst pages run, on synthetic stores of 100k and 1M posts (DuckDB, read-only).

Usage: .venv/bin/python bench/queries.py [--sizes 100000 1000000] [--scores-from data/scored_sample.duckdb] [--runs 7]
Missing stores are built with `analytics.synth` (1M: ~2 min) and given the model scores of --scores-from (a scored
copy of the sample: `.venv/bin/python -m analytics.score --all --db data/scored_sample.duckdb`). Each query runs once
to warm up, then --runs times; the verdict is against --budget-ms at the largest size. Exit code 1 if any fails.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from analytics import store  # noqa: E402
from analytics.analyst import queries, terms, trends  # noqa: E402
from analytics.analyst.filters import PostFilter  # noqa: E402
from analytics.data import synth  # noqa: E402
from analytics.models import coverage  # noqa: E402

DATA = Path(__file__).resolve().parent.parent / "data"
KEYWORD = "love"  # in ~2% of the texts

# (name, function of (con, filter), whether it uses the filter: those run under every selection, the rest once)
QUERIES: list[tuple[str, Callable[..., object], bool]] = [
    ("filter_options", lambda con, f: queries.filter_options(con), False),
    ("overview", lambda con, f: queries.overview(con), False),
    ("label_counts toxicity", lambda con, f: coverage.label_counts(con, "toxicity", 0.5), False),
    ("coverage", coverage.coverage, True),
    ("volume_by_day", queries.volume_by_day, True),
    ("topic_summary", queries.topic_summary, True),
    ("top_hashtags", queries.top_hashtags, True),
    ("list_posts newest", lambda con, f: queries.list_posts(con, f, 200, "newest"), True),
    ("list_posts likes", lambda con, f: queries.list_posts(con, f, 200, "likes"), True),
    *[(f"sentiment_over_time {g}", lambda con, f, g=g: trends.sentiment_over_time(con, f, g), True)
      for g in trends.GRAINS],
    ("sentiment by topic week", lambda con, f: trends.sentiment_over_time(con, f, "week", by_topic=True), True),
    ("period_comparison", trends.period_comparison, True),
    ("topic_table", trends.topic_table, True),
    ("term_counts (word cloud)", terms.term_counts, True),
    ("trending_terms 3 days", lambda con, f: terms.trending_terms(con, f, *last_days(f, 3)), True),
    ("explain_window 1 day", lambda con, f: terms.explain_window(con, f, *last_days(f, 1)), True),
    ("drill-down list_posts", lambda con, f: queries.list_posts(con, replace(f, window=last_days(f, 1)), 500,
                                                                "newest"), True),
]


def last_days(f: PostFilter, n: int) -> tuple[datetime, datetime]:
    """The last `n` days of the selection."""
    end = datetime.combine(f.end + timedelta(days=1), datetime.min.time())
    return end - timedelta(days=n), end


def ensure_store(n_posts: int, scores_from: Path) -> Path:
    """data/synth_<n>.duckdb, built if missing and given the current model scores if it has none."""
    db = DATA / f"synth_{n_posts}.duckdb"
    if not db.exists():
        synth.main(["--posts", str(n_posts), "--db", str(db), "--scores-from", str(scores_from)])
        return db
    con = store.connect(db)
    try:
        if coverage.coverage(con)["sentiment"][0] == 0:
            print(f"{db}: copying scores from {scores_from}: {synth.copy_scores(con, scores_from)}")
    finally:
        con.close()
    return db


def selections(con) -> dict[str, PostFilter]:
    """As the pages build them (dates always set): 'all' (every day); 'typical' (largest topic, last 30 days, a
    keyword); 'negative' (every day, negative by the current sentiment model)."""
    opts = queries.filter_options(con)
    every_day = PostFilter(start=opts["min_date"], end=opts["max_date"])
    return {
        "all": every_day,
        "typical": PostFilter(start=opts["max_date"] - timedelta(days=29), end=opts["max_date"],
                              topics=(opts["topics"][0],), keyword=KEYWORD),
        "negative": replace(every_day, sentiment="negative"),
    }


def median_ms(fn: Callable[[], object], runs: int) -> float:
    fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def bench(db: Path, runs: int) -> dict[tuple[str, str], float]:
    """Median ms per (query, selection) on the store at `db`, opened read-only."""
    con = store.connect(db, read_only=True)
    try:
        sels = selections(con)
        out = {}
        for name, fn, filtered in QUERIES:
            for sel, f in (sels.items() if filtered else [("-", PostFilter())]):
                out[(name, sel)] = median_ms(lambda: fn(con, f), runs)
        return out
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000], help="posts per synthetic store")
    ap.add_argument("--scores-from", type=Path, default=DATA / "scored_sample.duckdb", metavar="PATH",
                    help="scored store whose model scores synth posts get (only used for stores without scores)")
    ap.add_argument("--runs", type=int, default=7, help="timed runs per query, after one warm-up")
    ap.add_argument("--budget-ms", type=float, default=300.0, help="pass mark for the median at the largest size")
    args = ap.parse_args(argv)
    sizes = sorted(args.sizes)
    results = {}
    for n in sizes:
        db = ensure_store(n, args.scores_from)
        print(f"timing {db.name} ...", flush=True)
        results[n] = bench(db, args.runs)
    big, small = sizes[-1], sizes[0]
    heads = [f"{n:,} ms" for n in sizes] + ([f"{big:,}/{small:,}"] if len(sizes) > 1 else []) + ["verdict"]
    print(f"\n{'query':<26} {'selection':<9} " + " ".join(f"{h:>13}" for h in heads))
    failed = 0
    for key in results[big]:
        cells = [f"{results[n][key]:13.1f}" for n in sizes]
        if len(sizes) > 1:
            cells.append(f"{results[big][key] / results[small][key]:12.1f}x")
        ok = results[big][key] < args.budget_ms
        failed += not ok
        cells.append(f"{'PASS' if ok else 'FAIL':>13}")
        print(f"{key[0]:<26} {key[1]:<9} " + " ".join(cells))
    print(f"\n{len(results[big]) - failed} of {len(results[big])} under {args.budget_ms:.0f} ms at {big:,} posts "
          f"(median of {args.runs} runs after a warm-up; DuckDB default threads)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
