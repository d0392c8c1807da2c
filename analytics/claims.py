"""`python -m analytics.claims`: the known false claims and the posts that repeat them
(analytics.moderation.known_claims).

Usage:
  python -m analytics.claims add "TEXT" [--verdict false|misleading|unproven] [--source URL] [--example "POST"]...
                                 [--db PATH]
  python -m analytics.claims matches [--threshold T] [--json] [--db PATH]
  python -m analytics.claims list [--all] [--json] [--db PATH]
  python -m analytics.claims retire CLAIM_ID [--db PATH]

`add` and `retire` are audited as the shell user ($USER), acting as a moderator. While the dashboard owns the store,
`add` hands the claim to it (as `analytics.ingest` does with imports) and waits for its receipt. `matches` embeds
the posts and claims that have no embedding yet (the dashboard's worker does this on arrival), so it works on any
store, including one built from imported posts; each match has post_id, claim_id and similarity (cosine).
"""
from __future__ import annotations

import argparse
import json
import os
import sys

from analytics import store
from analytics.access.auth import User
from analytics.data import inbox
from analytics.moderation import known_claims


def _actor() -> User:
    name = os.environ.get("USER") or "cli"
    return User(name, name, "moderator")


def _embed(texts):
    from analytics import models  # loads torch: only the commands that embed need it
    return models.embed(texts)


def _print(df, as_json: bool) -> None:
    if as_json:
        print(json.dumps(df.drop(columns=["vec"], errors="ignore").to_dict("records"), default=str,
                         ensure_ascii=False, indent=1))
    else:
        print(df.to_string(index=False) if len(df) else "(none)")


def _add(args) -> int:
    try:
        con = store.connect(args.db)
    except store.StoreLockedError as locked:
        box = inbox.inbox_dir(args.db or store.db_path())
        pid = inbox.owner(box)
        if pid is None:
            print(f"error: the store is locked and no running dashboard takes work, nothing was added: {locked}",
                  file=sys.stderr)
            return 3
        batch = inbox.submit(box, {"kind": "claim", "actor": _actor().username, "text": args.text,
                                   "verdict": args.verdict, "source_url": args.source, "examples": args.example})
        receipt = inbox.wait(box, batch, args.wait)
        if receipt is None:
            print(f"The dashboard (process {pid}) has not taken the claim within {args.wait:g} s; it stays queued.")
            return 4
        if not receipt["ok"]:
            print(f"error: the dashboard could not add it: {receipt['error']}", file=sys.stderr)
            return 1
        print(f"Added claim {receipt['claim_id']} through the dashboard (process {pid}), which embeds it.")
        return 0
    try:
        claim_id = known_claims.add(con, _actor(), args.text, args.verdict, args.source, args.example, embed=_embed)
    finally:
        con.close()
    print(f"Added claim {claim_id}.")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", default=None, help="store path (default: $SOCIAL_DB or data/social.duckdb)")
    sub = ap.add_subparsers(dest="command", required=True)
    add = sub.add_parser("add", help="add a claim")
    add.add_argument("text")
    add.add_argument("--verdict", default="false", choices=known_claims.VERDICTS)
    add.add_argument("--source", default=None, help="the fact-check's URL")
    add.add_argument("--example", action="append", default=[],
                     help="a post that says the claim in other words (repeatable); matched like the claim")
    add.add_argument("--wait", type=float, default=60.0, help="seconds to wait for a running dashboard to take it")
    matches = sub.add_parser("matches", help="posts that repeat a live claim")
    matches.add_argument("--threshold", type=float, default=known_claims.THRESHOLD)
    matches.add_argument("--json", action="store_true")
    listing = sub.add_parser("list", help="the claims")
    listing.add_argument("--all", action="store_true", help="include retired claims")
    listing.add_argument("--json", action="store_true")
    retire = sub.add_parser("retire", help="stop matching a claim")
    retire.add_argument("claim_id", type=int)
    for p in (add, matches, listing, retire):  # --db after the command works too
        p.add_argument("--db", default=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    try:
        if args.command == "add":
            return _add(args)
        con = store.connect(args.db, read_only=args.command == "list")
    except (FileNotFoundError, ValueError, store.StoreLockedError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 3 if not isinstance(e, ValueError) else 2
    try:
        if args.command == "list":
            _print(known_claims.claims(con, include_retired=args.all), args.json)
        elif args.command == "retire":
            known_claims.update(con, _actor(), args.claim_id, retire=True)
            print(f"Retired claim {args.claim_id}.")
        else:
            from analytics.models import scoring  # loads torch: embeds what the worker has not yet
            scoring.score_posts(con, names=["embedding"])
            known_claims.embed_missing(con, _embed)
            found = known_claims.matches(con, args.threshold)
            _print(found if args.json else found[["post_id", "claim_id", "similarity", "created_at", "text"]],
                   args.json)
    except (KeyError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    finally:
        con.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
