"""The team's toxicity flag thresholds, saved by admins in `meta` (every change audited)."""
from __future__ import annotations

import json
from datetime import datetime

import duckdb
import pandas as pd

from analytics import store
from analytics.access.auth import User, require
from analytics.models.registry import DEFAULT_THRESHOLDS
from analytics.models.registry import TOXICITY_LABELS as LABELS

THRESHOLDS_KEY = "toxicity_thresholds"  # the team's thresholds, in `meta`


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
