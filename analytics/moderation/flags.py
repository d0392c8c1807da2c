"""SQL shared by the moderation queries: toxicity scores per label, the flag condition, the flagged posts."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Iterable

import duckdb

from analytics.models import abuse
from analytics.models.registry import ABUSE_MODEL, TOXICITY_LANGS, model_key
from analytics.models.registry import TOXICITY_LABELS as LABELS
from analytics.store.sql import STATES_CTE

SCORES_CTE = ("tox AS (SELECT post_id, "
              + ", ".join(f"CAST(scores->>'{label}' AS DOUBLE) AS \"{label}\"" for label in LABELS)
              + " FROM model_scores WHERE model_id = $model_id AND model_version = $model_version)")


def run(con: duckdb.DuckDBPyConnection, sql: str, params: dict) -> duckdb.DuckDBPyConnection:
    """Execute `sql` with those of the named `params` it uses ($name); DuckDB rejects unused ones."""
    used = set(re.findall(r"\$(\w+)", sql))
    return con.execute(sql, {k: v for k, v in params.items() if k in used})


def query_params(now: datetime | None = None, **extra) -> dict:
    """Named parameters of every moderation query: the current toxicity and abuse models' keys, `now`, and
    `extra`."""
    model_id, version = model_key("toxicity")
    abuse_id, abuse_version = model_key(ABUSE_MODEL)
    return {"model_id": model_id, "model_version": version, "abuse_id": abuse_id, "abuse_version": abuse_version,
            "now": now or datetime.now(), **extra}


# The meaning model's stored scores: one column per category (a_<category>) and a_abuse = 1 - P(none).
ABUSE_CTE = ("abu AS (SELECT post_id, label AS a_label, score AS a_score, "
             + ", ".join(f"CAST(scores->>'{c}' AS DOUBLE) AS a_{c}" for c in (*abuse.CATEGORIES, "abuse"))
             + " FROM model_scores WHERE model_id = $abuse_id AND model_version = $abuse_version)")


def abuse_condition(thresholds: dict[str, float] | None = None) -> tuple[str, str, dict]:
    """(SQL condition over `abu`: a category at or above its threshold or P(abuse) at or above the `any` one (the
    stored label is the most likely category), the corroboration condition a BiLSTM flag
    needs: the meaning model has not read the post or sees some abuse, their parameters). `thresholds` as
    thresholds.abuse_thresholds gives them (the team's in force); by default the shipped head's."""
    head = abuse.shipped_head()
    th = {**head.thresholds, "corroborate": head.corroborate, **(thresholds or {})}
    cond = " OR ".join(f"abu.a_{c} >= $ath_{c}" for c in (*abuse.CATEGORIES, "abuse"))
    return (f"({cond})", "(abu.post_id IS NULL OR abu.a_abuse >= $corroborate)",
            {**{f"ath_{c}": float(th[c]) for c in abuse.CATEGORIES}, "ath_abuse": float(th.get("any", 2.0)),
             "corroborate": float(th["corroborate"])})


def flag_condition(thresholds: dict[str, float],
                   labels: Iterable[str] | None = None) -> tuple[tuple[str, ...], str, dict]:
    """(labels, SQL condition over `tox`: any of the labels at or above its threshold, its parameters)."""
    labels = tuple(labels or thresholds)
    unknown = [label for label in labels if label not in LABELS]
    if unknown or not labels:
        raise ValueError(f"labels must be a non-empty selection of {', '.join(LABELS)}; got {unknown or 'none'}")
    missing = [label for label in labels if label not in thresholds]
    if missing:
        raise ValueError(f"no threshold for {', '.join(missing)}")
    cond = " OR ".join(f'tox."{label}" >= $th_{label}' for label in labels)
    return labels, f"({cond})", {f"th_{label}": float(thresholds[label]) for label in labels}


NOT_SCREENED = "not screened"  # the queue's label for a post in a language the toxicity model cannot read


FAMILIES = ("toxicity", "campaign", "known claim")  # the queue's label families: which detector put a post there


def flagged_ctes(thresholds: dict[str, float], labels: Iterable[str] | None,
                 include_escalated: bool, unscreened: bool = False,
                 families: Iterable[str] | None = None,
                 abuse_thresholds: dict[str, float] | None = None) -> tuple[str, dict]:
    """CTEs ending in `flagged`: posts flagged by any of the label `families` (default all), undecided (or
    escalated), with their standing decision_id (NULL while undecided) and any live claim.

    - toxicity (abuse screening): posts where the meaning model (analytics.models.abuse) puts a category over its
      threshold, or the BiLSTM a selected label over its threshold and the meaning model, where it has read the
      post, corroborates it (flagged_by says which; abuse_category, abuse_score its top category). With
      `unscreened`, also every post that neither model can read: not in TOXICITY_LANGS and no meaning score yet
      (max_label NOT_SCREENED, max_score NULL).
    - campaign: posts of a stored detected campaign (campaign_id, campaign_reason).
    - known claim: posts matching a live known claim (claim_id, claim_similarity and claim_text of the best one).

    max_label is the toxicity label when toxicity flagged the post, else 'campaign' or 'known claim'; max_score is
    the toxicity score (NULL for posts only the other families flagged); `families` lists every family that
    flagged it."""
    families = tuple(families or FAMILIES)
    if unknown := set(families) - set(FAMILIES):
        raise ValueError(f"families must be a selection of {', '.join(FAMILIES)}; got {sorted(unknown)}")
    labels, bilstm, params = flag_condition(thresholds, labels)
    meaning, corroborated, abuse_params = abuse_condition(abuse_thresholds)
    params.update(abuse_params)
    cols = [f'tox."{label}"' for label in labels]
    top = f"greatest({', '.join(cols)})"
    top_label = "CASE " + " ".join(f"WHEN {c} = {top} THEN '{label}'" for c, label in zip(cols, labels)) + " END"
    by = f"CASE WHEN coalesce({meaning}, FALSE) THEN 'meaning model' ELSE 'BiLSTM' END"
    top_label = f"CASE WHEN coalesce({meaning}, FALSE) THEN abu.a_label ELSE {top_label} END"
    top = f"CASE WHEN coalesce({meaning}, FALSE) THEN abu.a_score ELSE {top} END"
    cond = f"(coalesce({meaning}, FALSE) OR coalesce({bilstm} AND {corroborated}, FALSE))"
    if unscreened:
        params["screened"] = list(TOXICITY_LANGS)
        other = (f"(coalesce(p.lang, 'und') NOT IN (SELECT unnest($screened::VARCHAR[])) AND abu.post_id IS NULL "
                 f"AND NOT {cond})")
        top_label = f"CASE WHEN {other} THEN '{NOT_SCREENED}' ELSE {top_label} END"
        top = f"CASE WHEN {other} THEN NULL ELSE {top} END"
        by = f"CASE WHEN {other} THEN NULL ELSE {by} END"
        cond = f"({cond} OR {other})"
    states = "s.state IS NULL OR s.state = 'escalate'" if include_escalated else "s.state IS NULL"
    all_cols = ", ".join(f'tox."{label}"' for label in LABELS)
    on = {f: "TRUE" if f in families else "FALSE" for f in FAMILIES}
    return f"""{SCORES_CTE}, {ABUSE_CTE}, {STATES_CTE},
        live_claims AS (SELECT post_id, moderator AS claimed_by FROM claims WHERE expires_at > $now),
        tox_hits AS (SELECT p.post_id, {top_label} AS tox_label, {top} AS tox_score, {by} AS flagged_by
                     FROM posts p LEFT JOIN tox USING (post_id) LEFT JOIN abu USING (post_id)
                     WHERE {on["toxicity"]} AND (tox.post_id IS NOT NULL OR abu.post_id IS NOT NULL
                                                 {"OR TRUE" if unscreened else ""}) AND {cond}),
        cmp_hits AS (SELECT cp.post_id, cp.campaign_id, c.reason AS campaign_reason
                     FROM campaign_posts cp JOIN campaigns c USING (campaign_id) WHERE {on["campaign"]}),
        clm_hits AS (SELECT m.post_id, arg_max(m.claim_id, m.similarity) AS claim_id,
                            max(m.similarity) AS claim_similarity, arg_max(k.text, m.similarity) AS claim_text
                     FROM claim_matches m JOIN known_claims k USING (claim_id)
                     WHERE {on["known claim"]} AND k.retired_at IS NULL GROUP BY m.post_id),
        hits AS (SELECT post_id FROM tox_hits UNION SELECT post_id FROM cmp_hits UNION SELECT post_id FROM clm_hits),
        flagged AS (
            SELECT p.post_id, p.created_at, u.handle, p.author_id, p.topic, p.text, p.parent_id, p.lang,
                   coalesce(th.tox_label, CASE WHEN ch.post_id IS NOT NULL THEN 'campaign' ELSE 'known claim' END)
                       AS max_label,
                   th.tox_score AS max_score, {all_cols},
                   list_filter([CASE WHEN th.post_id IS NOT NULL THEN 'toxicity' END,
                                CASE WHEN ch.post_id IS NOT NULL THEN 'campaign' END,
                                CASE WHEN mh.post_id IS NOT NULL THEN 'known claim' END], lambda x: x IS NOT NULL)
                       AS families,
                   th.flagged_by, abu.a_label AS abuse_category, abu.a_score AS abuse_score,
                   {", ".join(f"abu.a_{c}" for c in (*abuse.CATEGORIES, "abuse"))},
                   ch.campaign_id, ch.campaign_reason, mh.claim_id, mh.claim_similarity, mh.claim_text,
                   coalesce(s.state, 'undecided') AS state, s.decision_id, c.claimed_by
            FROM hits JOIN posts p USING (post_id) LEFT JOIN tox USING (post_id) LEFT JOIN abu USING (post_id)
            LEFT JOIN tox_hits th USING (post_id) LEFT JOIN cmp_hits ch USING (post_id)
            LEFT JOIN clm_hits mh USING (post_id) LEFT JOIN users u ON u.user_id = p.author_id
            LEFT JOIN states s USING (post_id) LEFT JOIN live_claims c USING (post_id)
            WHERE {states})""", params


def period(start: date | None, end: date | None, col: str, params: dict) -> list[str]:
    """Conditions for `col` within [start, end] (dates, end inclusive); adds their parameters to `params`."""
    conds = []
    if start:
        conds.append(f"{col} >= $start")
        params["start"] = start
    if end:
        conds.append(f"{col} < $end")
        params["end"] = end + timedelta(days=1)
    return conds
