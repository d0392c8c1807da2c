"""Stored detections: the enrichment worker runs campaign detection and claim matching over the store and keeps
the results (`campaigns`, `campaign_posts`, `claim_matches`), so the review queue, the campaign view, the claim
view and exposure read them at once. The tables are derived: each refresh rewrites them whole, in one
transaction; decisions on their posts are history and stay in `moderation_decisions`."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Callable

import duckdb
import pandas as pd

from analytics import store
from analytics.access.auth import User, require
from analytics.moderation import accounts, campaigns, known_claims
from analytics.moderation.decisions import BulkResult, bulk_decide
from analytics.store.sql import STATES_CTE

REFRESHED_KEY = "detections_refreshed_at"  # meta: when the stored detections were last rewritten


def refresh(con: duckdb.DuckDBPyConnection, now: datetime | None = None) -> dict[str, int]:
    """Detect campaigns (flagged ones) and match every embedded post against the live known claims (at
    known_claims.THRESHOLD), and store both in place of the previous results; returns rows stored per table."""
    now = now or datetime.now()
    found = campaigns.detect(con)
    rows = pd.DataFrame({
        "campaign_id": found["campaign_id"], "start_at": found["start"], "end_at": found["end"],
        "n_posts": found["n_posts"], "n_accounts": found["n_accounts"], "author_ids": found["author_ids"],
        "shared_text": found["shared_text"], "links": found["links"],
        "signals": [json.dumps(s, default=str) for s in found["signals"]], "reason": found["reason"],
        "detected_at": now})
    members = found[["campaign_id", "post_ids"]].explode("post_ids").rename(columns={"post_ids": "post_id"})
    hits = known_claims.similarities(con, at_least=known_claims.THRESHOLD).assign(matched_at=now)
    written = store.replace(con, {"campaigns": rows, "campaign_posts": members.dropna(), "claim_matches": hits})
    store.upsert(con, "meta", pd.DataFrame({"key": [REFRESHED_KEY], "value": [now.isoformat()]}))
    return written


def refreshed_at(con: duckdb.DuckDBPyConnection) -> datetime | None:
    """When the stored detections were last refreshed (None: never, so they are missing)."""
    rows = con.execute("SELECT value FROM meta WHERE key = ?", [REFRESHED_KEY]).fetchall()
    return datetime.fromisoformat(rows[0][0]) if rows else None


def stored_campaigns(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The detected campaigns, most accounts first: campaign_id, start_at, end_at, n_posts, n_accounts,
    shared_text, links, reason, signals (dict), removed, approved and undecided (posts by current decision),
    suspended (accounts whose standing state is suspended)."""
    df = con.execute(f"""WITH {STATES_CTE}, {accounts.STANDING_CTE},
        st AS (SELECT cp.campaign_id, count(*) FILTER (s.state = 'remove') AS removed,
                      count(*) FILTER (s.state = 'approve') AS approved,
                      count(*) FILTER (s.state IS NULL OR s.state = 'escalate') AS undecided
               FROM campaign_posts cp LEFT JOIN states s USING (post_id) GROUP BY cp.campaign_id),
        su AS (SELECT c.campaign_id, count(*) AS suspended FROM campaigns c, unnest(c.author_ids) AS a(user_id)
               JOIN account_states x ON x.user_id = a.user_id WHERE x.account_state = 'suspend'
               GROUP BY c.campaign_id)
        SELECT c.campaign_id, c.start_at, c.end_at, c.n_posts, c.n_accounts, c.shared_text, c.links, c.reason,
               c.signals, coalesce(st.removed, 0) AS removed, coalesce(st.approved, 0) AS approved,
               coalesce(st.undecided, 0) AS undecided, coalesce(su.suspended, 0) AS suspended
        FROM campaigns c LEFT JOIN st USING (campaign_id) LEFT JOIN su USING (campaign_id)
        ORDER BY c.n_accounts DESC, c.start_at, c.campaign_id""").df()
    df["signals"] = [json.loads(s) for s in df["signals"]]
    return df


def campaign_posts(con: duckdb.DuckDBPyConnection, campaign_id: str) -> pd.DataFrame:
    """A campaign's posts in time order: post_id, created_at, author_id, handle, account_created, account_state,
    text, state (current decision or 'undecided'), decision_id (standing; what a decision passes as `seen`)."""
    return con.execute(f"""WITH {STATES_CTE}, {accounts.STANDING_CTE}
        SELECT p.post_id, p.created_at, p.author_id, u.handle, u.created_at AS account_created,
               x.account_state, p.text, coalesce(s.state, 'undecided') AS state, s.decision_id
        FROM campaign_posts cp JOIN posts p USING (post_id) LEFT JOIN users u ON u.user_id = p.author_id
        LEFT JOIN states s USING (post_id) LEFT JOIN account_states x ON x.user_id = p.author_id
        WHERE cp.campaign_id = ? ORDER BY p.created_at, p.post_id""", [campaign_id]).df()


def decide_campaign(con: duckdb.DuckDBPyConnection, user: User | None, campaign_id: str,
                    reviewed: list[tuple[str, int | None]], action: str, reason_code: str, note: str | None = None,
                    suspend: bool = False, now: datetime | None = None,
                    progress: Callable[[int, int], None] | None = None) -> BulkResult:
    """Decide a campaign as a whole: one bulk decision (decisions.bulk_decide: posts decided since they were
    `reviewed` are skipped) on the posts shown, and with `suspend` (removals only) a suspension of every account
    that posted them, all in one transaction, audited with the campaign's id. Needs 'moderate'."""
    require(user, "moderate")
    if suspend and action != "remove":
        raise ValueError("accounts are suspended only with a removal")
    members = set(con.execute("SELECT post_id FROM campaign_posts WHERE campaign_id = ?",
                              [campaign_id]).fetchnumpy()["post_id"].tolist())
    if not members:
        raise KeyError(f"no detected campaign {campaign_id}")
    if outside := [p for p, _ in reviewed if p not in members]:
        raise ValueError(f"not posts of campaign {campaign_id}: {', '.join(outside[:5])}")
    now = now or datetime.now()
    with store.transaction(con):
        result = bulk_decide(con, user, reviewed, action, reason_code, note, now, progress, context={
            "campaign_id": campaign_id, "suspend_accounts": suspend})
        if suspend and result.decided:
            authors = con.execute("SELECT DISTINCT author_id FROM posts WHERE post_id IN (SELECT unnest(?::VARCHAR[])) "
                                  "ORDER BY 1", [result.decided]).fetchnumpy()["author_id"].tolist()
            accounts.act(con, user, authors, "suspend", reason_code, note, campaign_id, now)
    return result
