"""How the queue and the model are doing: queue size and age, decisions per moderator, the precision of the
model's flags at a threshold and what another threshold would do."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Sequence

import duckdb
import numpy as np
import pandas as pd

from analytics.models.registry import ABUSE_MODEL, DEFAULT_THRESHOLDS, TOXICITY_LANGS, model_key
from analytics.models.registry import TOXICITY_LABELS as LABELS
from analytics.moderation.flags import FAMILIES, SCORES_CTE, flag_condition, flagged_ctes, period, query_params, run
from analytics.moderation.thresholds import abuse_thresholds
from analytics.store.sql import STATES_CTE


def decisions_per_moderator(con: duckdb.DuckDBPyConnection, start: date | None = None,
                            end: date | None = None) -> pd.DataFrame:
    """Per moderator in [start, end]: decisions (excluding undos), approve, remove, escalate, undo, first, last."""
    params: dict = {}
    conds = ["TRUE"] + period(start, end, "created_at", params)
    return run(con, f"""
        SELECT moderator, count(*) FILTER (action <> 'undo') AS decisions,
               count(*) FILTER (action = 'approve') AS approve, count(*) FILTER (action = 'remove') AS remove,
               count(*) FILTER (action = 'escalate') AS escalate, count(*) FILTER (action = 'undo') AS undo,
               min(created_at) AS first, max(created_at) AS last
        FROM moderation_decisions WHERE {' AND '.join(conds)}
        GROUP BY moderator ORDER BY decisions DESC, moderator""", params).df()


def queue_stats(con: duckdb.DuckDBPyConnection, thresholds: dict[str, float] = DEFAULT_THRESHOLDS,
                now: datetime | None = None) -> dict:
    """The whole queue (claimed items included): size, claimed (live claims), escalated (flagged posts waiting
    in that state, not counted in size), oldest_age and median_age of the undecided items (timedelta; None if
    the queue is empty), unscreened: undecided posts in languages the BiLSTM cannot screen that the meaning model
    has not read yet (the queue lists them on request), and families: undecided items per label family (a post
    flagged by two counts in both)."""
    ctes, flag_params = flagged_ctes(thresholds, None, include_escalated=True,
                                     abuse_thresholds=abuse_thresholds(con))
    size, claimed, escalated, oldest, median, *per_family = run(con, f"""WITH {ctes}
        SELECT count(*) FILTER (state = 'undecided'), count(claimed_by) FILTER (state = 'undecided'),
               count(*) FILTER (state = 'escalate'),
               max(epoch($now) - epoch(created_at)) FILTER (state = 'undecided'),
               median(epoch($now) - epoch(created_at)) FILTER (state = 'undecided'),
               {", ".join(f"count(*) FILTER (state = 'undecided' AND list_contains(families, '{f}'))"
                          for f in FAMILIES)}
        FROM flagged""", query_params(now, **flag_params)).fetchall()[0]
    (unscreened,), = con.execute(f"""WITH {STATES_CTE}
        SELECT count(*) FROM posts p LEFT JOIN states s USING (post_id)
        WHERE s.state IS NULL AND coalesce(p.lang, 'und') NOT IN (SELECT unnest(?::VARCHAR[]))
          AND NOT EXISTS (SELECT 1 FROM model_scores m WHERE m.post_id = p.post_id AND m.model_id = ?
                          AND m.model_version = ?)""", [list(TOXICITY_LANGS), *model_key(ABUSE_MODEL)]).fetchall()
    age = lambda s: timedelta(seconds=s) if s is not None else None  # noqa: E731
    return {"size": size, "claimed": claimed, "escalated": escalated, "oldest_age": age(oldest),
            "median_age": age(median), "unscreened": unscreened, "families": dict(zip(FAMILIES, per_family))}


def flag_precision(con: duckdb.DuckDBPyConnection, thresholds: dict[str, float] = DEFAULT_THRESHOLDS) -> pd.DataFrame:
    """Per label in `thresholds`: threshold, flagged (scored posts at or above it), decided (of those, currently
    approved or removed; escalated ones wait), removed, approved, precision = removed / decided (NaN if none)."""
    labels, _, _ = flag_condition(thresholds)
    unpivot = ", ".join(f'"{label}"' for label in LABELS)
    return run(con, f"""WITH {SCORES_CTE}, {STATES_CTE},
        th AS (SELECT unnest($labels::VARCHAR[]) AS label, unnest($ts::DOUBLE[]) AS threshold),
        long AS (UNPIVOT tox ON {unpivot} INTO NAME label VALUE score)
        SELECT th.label, th.threshold, count(long.post_id) AS flagged,
               count(*) FILTER (s.state IN ('approve', 'remove')) AS decided,
               count(*) FILTER (s.state = 'remove') AS removed, count(*) FILTER (s.state = 'approve') AS approved,
               removed / nullif(decided, 0) AS precision
        FROM th LEFT JOIN long ON long.label = th.label AND long.score >= th.threshold
        LEFT JOIN states s USING (post_id)
        GROUP BY th.label, th.threshold ORDER BY list_position($labels::VARCHAR[], th.label)""",
               query_params(labels=list(labels), ts=[float(thresholds[label]) for label in labels])).df()


def threshold_tuner(con: duckdb.DuckDBPyConnection, label: str,
                    thresholds: Sequence[float] = np.arange(0.1, 1.0, 0.05)) -> pd.DataFrame:
    """What a threshold on one label would do: per threshold, queue_items (undecided posts at or above it), and
    from past decisions on those posts decided (approved or removed), removed and precision (removed / decided)."""
    if label not in LABELS:
        raise ValueError(f"label must be one of {', '.join(LABELS)}")
    return run(con, f"""WITH {SCORES_CTE}, {STATES_CTE},
        th AS (SELECT unnest($ts::DOUBLE[]) AS threshold),
        scored AS (SELECT tox."{label}" AS score, s.state FROM tox LEFT JOIN states s USING (post_id))
        SELECT th.threshold, count(*) FILTER (scored.score IS NOT NULL AND scored.state IS NULL) AS queue_items,
               count(*) FILTER (scored.state IN ('approve', 'remove')) AS decided,
               count(*) FILTER (scored.state = 'remove') AS removed, removed / nullif(decided, 0) AS precision
        FROM th LEFT JOIN scored ON scored.score >= th.threshold
        GROUP BY th.threshold ORDER BY th.threshold""",
               query_params(ts=[round(float(t), 4) for t in thresholds])).df()
