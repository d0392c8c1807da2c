"""`python -m analytics.campaigns`: the coordinated campaigns detected in a store (analytics.moderation.campaigns).

Usage: python -m analytics.campaigns [--db PATH] [--json] [--all]
Reads only. With --json, prints a JSON list: per campaign campaign_id, flagged, start, end, n_posts, n_accounts,
post_ids, author_ids, shared_text, links, signals and reason. --all adds the candidates that were not flagged
(with the reason they fell short).
"""
from __future__ import annotations

import argparse
import json
import sys

from analytics import store
from analytics.moderation import campaigns


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", default=None, help="store path (default: $SOCIAL_DB or data/social.duckdb)")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a summary")
    ap.add_argument("--all", action="store_true", help="include candidates that were not flagged")
    args = ap.parse_args(argv)
    try:
        con = store.connect(args.db, read_only=True)
    except (FileNotFoundError, store.StoreLockedError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 3
    try:
        found = campaigns.detect(con, include_unflagged=args.all)
    finally:
        con.close()
    if args.json:
        print(json.dumps(found.to_dict("records"), default=str, ensure_ascii=False, indent=1))
        return 0
    if found.empty:
        print("No coordinated campaigns found.")
    for c in found.itertuples():
        print(f"{c.campaign_id} {'CAMPAIGN' if c.flagged else 'not flagged'}: {c.n_posts} posts by {c.n_accounts} "
              f"accounts, {c.start:%Y-%m-%d %H:%M} to {c.end:%H:%M}; {c.reason}\n  {c.shared_text!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
