"""Posts users reported, with their current moderation state."""
from __future__ import annotations

import duckdb
import pandas as pd

from analytics.analyst.filters import PostFilter
from analytics.store.sql import STATES_CTE


def reported_posts(con: duckdb.DuckDBPyConnection, f: PostFilter, limit: int = 50) -> pd.DataFrame:
    """Posts users reported, most reports first, with their current moderation state: decision (approve/remove/
    escalate, NULL if undecided) and decision_id (the standing decision, NULL if undecided: what a decision taken
    on this row passes as `seen`)."""
    where, params = f.where()
    return con.execute(f"""
        WITH rep AS (
            SELECT i.post_id, count(*) AS reports, count(DISTINCT i.user_id) AS reporters, max(i.ts) AS last_report
            FROM interactions i WHERE i.kind = 'report' GROUP BY 1
        ), {STATES_CTE}
        SELECT p.post_id, p.created_at, u.handle, p.topic, p.text, p.parent_id, rep.reports, rep.reporters,
               rep.last_report, states.state AS decision, states.decision_id
        FROM rep JOIN posts p USING (post_id) JOIN users u ON u.user_id = p.author_id
        LEFT JOIN states USING (post_id)
        WHERE {where}
        ORDER BY rep.reports DESC, rep.last_report DESC, p.post_id LIMIT ?
    """, params + [limit]).df()
