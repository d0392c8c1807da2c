"""The team's flag thresholds, saved by admins in `meta` (every change audited): per BiLSTM toxicity label, and per
category of the meaning model's head in force (those apply to that head only: a newly adopted head starts from its
own tuned thresholds)."""
from __future__ import annotations

import json
from datetime import datetime

import duckdb
import pandas as pd

from analytics import store
from analytics.access.auth import User, require
from analytics.models import abuse, abuse_heads
from analytics.models.registry import DEFAULT_THRESHOLDS
from analytics.models.registry import TOXICITY_LABELS as LABELS

THRESHOLDS_KEY = "toxicity_thresholds"  # the team's thresholds, in `meta`
ABUSE_THRESHOLDS_KEY = "abuse_thresholds"  # {"head": version, "thresholds": {category or 'any': threshold}}


def thresholds(con: duckdb.DuckDBPyConnection) -> dict[str, float]:
    """The team's flag threshold per label: as an admin saved it (save_thresholds), else DEFAULT_THRESHOLDS."""
    rows = con.execute("SELECT value FROM meta WHERE key = ?", [THRESHOLDS_KEY]).fetchall()
    saved = json.loads(rows[0][0]) if rows else {}
    return {label: float(saved.get(label, DEFAULT_THRESHOLDS[label])) for label in LABELS}


def save_thresholds(con: duckdb.DuckDBPyConnection, user: User | None, new: dict[str, float],
                    now: datetime | None = None) -> dict[str, float]:
    """Set some labels' team thresholds (needs 'tune_thresholds'); the change is audited with old and new values.
    Returns the full set now in force."""
    require(user, "tune_thresholds")
    unknown = set(new) - set(LABELS)
    if unknown or not all(0 < float(t) < 1 for t in new.values()):
        raise ValueError(f"thresholds must be within (0, 1) for labels among {', '.join(LABELS)}")
    with store.transaction(con):
        old = thresholds(con)
        merged = {**old, **{label: round(float(t), 4) for label, t in new.items()}}
        store.upsert(con, "meta", pd.DataFrame({"key": [THRESHOLDS_KEY], "value": [json.dumps(merged)]}))
        store.append_audit(con, user.username, "set_thresholds", "meta", THRESHOLDS_KEY,
                           {"old": old, "new": merged}, now)
    return merged


def abuse_thresholds(con: duckdb.DuckDBPyConnection) -> dict[str, float]:
    """The meaning model's thresholds in force: per category and 'any' (on P(abuse)) as an admin saved them for the
    head in force, else that head's own; and 'corroborate', the P(abuse) a BiLSTM flag needs."""
    head = abuse_heads.in_force(con)
    rows = con.execute("SELECT value FROM meta WHERE key = ?", [ABUSE_THRESHOLDS_KEY]).fetchall()
    saved = json.loads(rows[0][0]) if rows else {}
    own = saved.get("thresholds", {}) if saved.get("head") == head.version else {}
    return {**{k: float(v) for k, v in head.thresholds.items()}, **own, "corroborate": head.corroborate}


def save_abuse_thresholds(con: duckdb.DuckDBPyConnection, user: User | None, new: dict[str, float],
                          now: datetime | None = None) -> dict[str, float]:
    """Set some of the meaning model's category thresholds (or 'any') for the head in force (needs
    'tune_thresholds'), audited with old and new values. Returns the thresholds now in force."""
    require(user, "tune_thresholds")
    keys = (*abuse.CATEGORIES, "any")
    if set(new) - set(keys) or not all(0 < float(t) <= 1 for t in new.values()):
        raise ValueError(f"thresholds must be within (0, 1] for categories among {', '.join(keys)}")
    with store.transaction(con):
        old = abuse_thresholds(con)
        head = abuse_heads.in_force(con).version
        merged = {k: old[k] for k in keys if k in old} | {k: round(float(t), 4) for k, t in new.items()}
        store.upsert(con, "meta", pd.DataFrame({"key": [ABUSE_THRESHOLDS_KEY],
                                                "value": [json.dumps({"head": head, "thresholds": merged})]}))
        store.append_audit(con, user.username, "set_abuse_thresholds", "abuse_head", head,
                           {"old": {k: old[k] for k in merged}, "new": merged}, now)
    return abuse_thresholds(con)
