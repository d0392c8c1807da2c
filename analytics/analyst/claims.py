"""How known false claims spread: the posts the enrichment worker matched to each claim (claim_matches), over
time and by who posted them, with how far they travelled."""
from __future__ import annotations

import duckdb
import pandas as pd

from analytics.store.sql import STATES_CTE


def overview(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Per known claim (live ones first, then by matches): claim_id, text, verdict, source_url, added_by,
    added_at, retired_at, matches (posts), authors, first_at, last_at, languages (list), removed (matched posts
    removed by a moderator), viewers (distinct users who viewed a matched post)."""
    return con.execute(f"""WITH {STATES_CTE},
        m AS (SELECT m.claim_id, m.post_id, p.author_id, p.created_at, coalesce(p.lang, 'und') AS lang, s.state
              FROM claim_matches m JOIN posts p USING (post_id) LEFT JOIN states s USING (post_id)),
        agg AS (SELECT claim_id, count(*) AS matches, count(DISTINCT author_id) AS authors, min(created_at) AS first_at,
                       max(created_at) AS last_at, list(DISTINCT lang ORDER BY lang) AS languages,
                       count(*) FILTER (state = 'remove') AS removed
                FROM m GROUP BY claim_id),
        seen AS (SELECT m.claim_id, count(DISTINCT i.user_id) AS viewers FROM m JOIN interactions i USING (post_id)
                 WHERE i.kind = 'view' GROUP BY m.claim_id)
        SELECT k.claim_id, k.text, k.verdict, k.source_url, k.added_by, k.added_at, k.retired_at,
               coalesce(agg.matches, 0) AS matches, coalesce(agg.authors, 0) AS authors, agg.first_at, agg.last_at,
               coalesce(agg.languages, []) AS languages, coalesce(agg.removed, 0) AS removed,
               coalesce(seen.viewers, 0) AS viewers
        FROM known_claims k LEFT JOIN agg USING (claim_id) LEFT JOIN seen USING (claim_id)
        ORDER BY k.retired_at IS NOT NULL, matches DESC, k.claim_id""").df()


def spread(con: duckdb.DuckDBPyConnection, claim_id: int) -> pd.DataFrame:
    """A claim's matched posts per day and language: day, lang, posts, cumulative (all languages, up to that day),
    in day order."""
    return con.execute("""
        WITH d AS (SELECT date_trunc('day', p.created_at) AS day, coalesce(p.lang, 'und') AS lang, count(*) AS posts
                   FROM claim_matches m JOIN posts p USING (post_id) WHERE m.claim_id = ? GROUP BY ALL)
        SELECT day, lang, posts, sum(posts) OVER (ORDER BY day RANGE UNBOUNDED PRECEDING) AS cumulative
        FROM d ORDER BY day, lang""", [claim_id]).df()


def spreaders(con: duckdb.DuckDBPyConnection, claim_id: int, limit: int = 50) -> pd.DataFrame:
    """Who spread a claim, most followed first: author_id, handle, posts (matching it), first_at, followers,
    viewers (distinct users who viewed their matching posts), removed (of their matching posts)."""
    return con.execute(f"""WITH {STATES_CTE},
        m AS (SELECT p.post_id, p.author_id, p.created_at, s.state FROM claim_matches cm JOIN posts p USING (post_id)
              LEFT JOIN states s USING (post_id) WHERE cm.claim_id = ?),
        fol AS (SELECT followee_id AS author_id, count(*) AS followers FROM follows
                WHERE followee_id IN (SELECT author_id FROM m) GROUP BY 1),
        seen AS (SELECT m.author_id, count(DISTINCT i.user_id) AS viewers FROM m JOIN interactions i USING (post_id)
                 WHERE i.kind = 'view' GROUP BY 1)
        SELECT m.author_id, u.handle, count(*) AS posts, min(m.created_at) AS first_at,
               coalesce(any_value(fol.followers), 0) AS followers, coalesce(any_value(seen.viewers), 0) AS viewers,
               count(*) FILTER (m.state = 'remove') AS removed
        FROM m LEFT JOIN users u ON u.user_id = m.author_id LEFT JOIN fol USING (author_id)
        LEFT JOIN seen USING (author_id)
        GROUP BY m.author_id, u.handle ORDER BY followers DESC, posts DESC, m.author_id LIMIT ?""",
                       [claim_id, limit]).df()


def matched_posts(con: duckdb.DuckDBPyConnection, claim_id: int, limit: int = 500) -> pd.DataFrame:
    """A claim's matched posts, most similar first: post_id, created_at, handle, lang, similarity, text, state."""
    return con.execute(f"""WITH {STATES_CTE}
        SELECT m.post_id, p.created_at, u.handle, p.lang, m.similarity, p.text, coalesce(s.state, 'undecided') AS state
        FROM claim_matches m JOIN posts p USING (post_id) LEFT JOIN users u ON u.user_id = p.author_id
        LEFT JOIN states s USING (post_id) WHERE m.claim_id = ?
        ORDER BY m.similarity DESC, m.post_id LIMIT ?""", [claim_id, limit]).df()
