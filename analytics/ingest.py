"""`python -m analytics.ingest`: import posts from CSV, Parquet or JSONL (analytics.data.ingest)."""
from analytics.data.ingest import main

if __name__ == "__main__":
    raise SystemExit(main())
