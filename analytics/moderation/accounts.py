"""Account-level actions (suspend, reinstate, warn), recorded append-only like decisions: an account's state is its
latest action, and every action has its audit row in the same transaction."""
from __future__ import annotations

from datetime import datetime
from typing import Sequence

import duckdb
import pandas as pd

from analytics import store
from analytics.access.auth import User, require
from analytics.moderation.policy import reason_codes

ACCOUNT_ACTIONS = ("suspend", "reinstate", "warn")
# An account's standing state: its latest suspend or reinstate (a warning leaves the state as it was).
STANDING_CTE = """account_states AS (
    SELECT user_id, action AS account_state, moderator AS account_by, created_at AS account_at
    FROM account_actions WHERE action IN ('suspend', 'reinstate')
    QUALIFY row_number() OVER (PARTITION BY user_id ORDER BY action_id DESC) = 1)"""


def act(con: duckdb.DuckDBPyConnection, user: User | None, user_ids: Sequence[str], action: str,
        reason_code: str, note: str | None = None, campaign_id: str | None = None,
        now: datetime | None = None, audit: bool = True) -> list[int]:
    """Record `action` on every account in `user_ids` (needs 'moderate'), with one audit row for them (unless
    `audit` is False: the caller writes its own inside its transaction). Returns the action ids."""
    require(user, "moderate")
    if action not in ACCOUNT_ACTIONS:
        raise ValueError(f"action must be one of {', '.join(ACCOUNT_ACTIONS)}")
    if reason_code not in reason_codes("remove" if action != "reinstate" else "approve"):
        raise ValueError(f"reason {reason_code!r} does not go with {action!r}")
    user_ids = list(dict.fromkeys(map(str, user_ids)))
    if not user_ids:
        raise ValueError("no accounts selected")
    now = now or datetime.now()
    with store.transaction(con):
        known = {r[0] for r in con.execute("SELECT user_id FROM users WHERE user_id IN (SELECT unnest(?::VARCHAR[]))",
                                           [user_ids]).fetchall()}
        if missing := [u for u in user_ids if u not in known]:
            raise KeyError(f"unknown account(s): {', '.join(missing[:5])}")
        ids = store.append(con, "account_actions", pd.DataFrame({
            "user_id": user_ids, "moderator": user.username, "action": action, "reason_code": reason_code,
            "note": note, "campaign_id": campaign_id, "created_at": now}))
        if audit:
            store.append_audit(con, user.username, f"account_{action}", "accounts", campaign_id or user_ids[0],
                               {"user_ids": user_ids, "reason_code": reason_code, "note": note,
                                "campaign_id": campaign_id, "action_ids": [ids[0], ids[-1]]}, now)
    return ids


def account_states(con: duckdb.DuckDBPyConnection, user_ids: Sequence[str]) -> pd.DataFrame:
    """Per account of `user_ids` with any action: user_id, account_state ('suspend' or 'reinstate'; NULL after
    warnings only), account_by, account_at, warnings, actions (all of them)."""
    return con.execute(f"""WITH {STANDING_CTE}
        SELECT a.user_id, any_value(s.account_state) AS account_state, any_value(s.account_by) AS account_by,
               any_value(s.account_at) AS account_at, count(*) FILTER (a.action = 'warn') AS warnings,
               count(*) AS actions
        FROM account_actions a LEFT JOIN account_states s USING (user_id)
        WHERE a.user_id IN (SELECT unnest(?::VARCHAR[])) GROUP BY a.user_id ORDER BY a.user_id""",
                       [list(user_ids)]).df()


def log(con: duckdb.DuckDBPyConnection, limit: int = 500) -> pd.DataFrame:
    """The latest account actions, newest first: action_id, created_at, moderator, action, user_id, handle,
    reason_code, note, campaign_id."""
    return con.execute("""SELECT a.action_id, a.created_at, a.moderator, a.action, a.user_id, u.handle, a.reason_code,
                                 a.note, a.campaign_id
                          FROM account_actions a LEFT JOIN users u USING (user_id)
                          ORDER BY a.action_id DESC LIMIT ?""", [limit]).df()


def history(con: duckdb.DuckDBPyConnection, user_id: str) -> pd.DataFrame:
    """Every action on one account, newest first: action_id, created_at, moderator, action, reason_code, note,
    campaign_id."""
    return con.execute("""SELECT action_id, created_at, moderator, action, reason_code, note, campaign_id
                          FROM account_actions WHERE user_id = ? ORDER BY action_id DESC""", [user_id]).df()
