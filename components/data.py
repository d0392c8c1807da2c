"""Cached read queries for the pages (components.caching: ttl, max_entries, and what each reads); after a write,
`caching.clear(kind)` drops only the results that read what it changed."""
from __future__ import annotations

from datetime import datetime

import pandas as pd
import streamlit as st

from analytics import feed as feed_api
from analytics import moderation, store
from analytics.analyst import claims, queries, terms, trends
from analytics.analyst.filters import PostFilter
from analytics.feed import evaluation as feed_eval
from analytics.models import abuse_heads as abuse_heads_api
from analytics.models import coverage, registry
from analytics.models.abuse import Head
from analytics.moderation import detections, exposure, learning
from components.caching import cached
from components.resources import cursor, embedding_index, models


def _run(fn, *args, **kwargs):
    with cursor() as cur:
        return fn(cur, *args, **kwargs)


@cached("posts")
def filter_options() -> dict:
    return _run(queries.filter_options)


@cached("posts", "scores")
def volume_by_day(f: PostFilter) -> pd.DataFrame:
    return _run(queries.volume_by_day, f)


@cached("posts", "scores")
def topic_summary(f: PostFilter) -> pd.DataFrame:
    return _run(queries.topic_summary, f)


@cached("posts", "scores")
def top_hashtags(f: PostFilter, n: int = 15) -> pd.DataFrame:
    return _run(queries.top_hashtags, f, n)


@cached("posts", "scores")
def list_posts(f: PostFilter, limit: int, order: str) -> pd.DataFrame:
    return _run(queries.list_posts, f, limit, order)


@cached("posts", "scores", "decisions")
def reported_posts(f: PostFilter, limit: int) -> pd.DataFrame:
    return _run(moderation.reported_posts, f, limit)


@cached("posts")
def imported_post_ids() -> frozenset[str]:
    return _run(queries.imported_post_ids)


@cached("posts", "scores")
def get_post(post_id: str) -> pd.DataFrame:
    return _run(queries.get_post, post_id)


@cached("posts")
def search_users(query: str, limit: int = 20) -> pd.DataFrame:
    return _run(feed_api.search_users, query, limit)


@cached("posts")
def user_profile(user_id: str) -> dict:
    return _run(feed_api.user_profile, user_id)


@cached("posts")
def sim_events() -> pd.DataFrame:
    return _run(queries.sim_events)


@cached("posts", "scores")
def sentiment_over_time(f: PostFilter, grain: str, by_topic: bool = False) -> pd.DataFrame:
    return _run(trends.sentiment_over_time, f, grain, by_topic)


@cached("posts", "scores")
def period_comparison(f: PostFilter, by_topic: bool = False) -> pd.DataFrame:
    return _run(trends.period_comparison, f, by_topic)


@cached("posts", "scores")
def topic_table(f: PostFilter) -> pd.DataFrame:
    return _run(trends.topic_table, f)


@cached("posts", "scores")
def term_counts(f: PostFilter, limit: int = 150, redact: bool = False) -> pd.DataFrame:
    return _run(terms.term_counts, f, limit, redact=redact)


@cached("posts", "scores")
def trending_terms(f: PostFilter, start: datetime, end: datetime, redact: bool = False) -> pd.DataFrame:
    return _run(terms.trending_terms, f, start, end, redact=redact)


@cached("posts", "scores")
def explain_window(f: PostFilter, start: datetime, end: datetime, redact: bool = False) -> dict:
    return _run(terms.explain_window, f, start, end, redact=redact)


def _reader(cur, reader: str | tuple[tuple[str, ...], str],
            as_of: datetime | None = None) -> str | feed_api.UserContext:
    """A user id as is; a persona (topics, interest text) as its context (as of `as_of`)."""
    if isinstance(reader, str):
        return reader
    topics, text = reader
    return feed_api.persona_context(cur, topics, text or None, as_of=as_of)


@cached("posts", "scores", "decisions")
def feed(reader: str | tuple[tuple[str, ...], str], weights: feed_api.Weights,
         settings: feed_api.Settings, as_of: datetime | None = None) -> feed_api.Feed:
    """The reader's feed (a user id, or a persona as (topics, interest text)) as of `as_of` (default: the store's
    last post) with the cached embedding index of that window."""
    index = embedding_index(str(store.db_path()), settings.window_days, as_of)
    with cursor() as cur:
        return feed_api.recommend(cur, _reader(cur, reader, as_of), weights, settings, index=index, as_of=as_of)


@cached("posts")
def who_to_follow(reader: str | tuple[tuple[str, ...], str], n: int = 10) -> pd.DataFrame:
    with cursor() as cur:
        return feed_api.who_to_follow(cur, _reader(cur, reader), n)


@cached("posts", "scores")
def topic_suggestions(reader: str | tuple[tuple[str, ...], str], n: int = 5) -> pd.DataFrame:
    with cursor() as cur:
        return feed_api.topic_suggestions(cur, _reader(cur, reader), n)


@cached("posts")
def data_end() -> datetime:
    return _run(feed_api.data_end)


@cached("posts", "scores", "decisions", ttl=3600, max_entries=8)
def evaluation(cutoff: datetime, k: int, n_users: int, weights: feed_api.Weights,
               settings: feed_api.Settings) -> pd.DataFrame:
    return _run(feed_eval.evaluate, cutoff, k, n_users, weights=weights, settings=settings)


@cached("settings")
def team_thresholds() -> dict[str, float]:
    return _run(moderation.thresholds)


@cached("settings", "scores")
def team_abuse_thresholds() -> dict[str, float]:
    return _run(moderation.abuse_thresholds)


@cached("settings", "scores")
def abuse_head() -> Head:
    return _run(abuse_heads_api.in_force)


@cached("settings", "scores")
def abuse_heads() -> pd.DataFrame:
    return _run(abuse_heads_api.versions)


@cached("settings", "decisions", "scores")
def abuse_head_state() -> dict:
    """The previous head (what a rollback restores) and how many decided posts a retrain would learn from."""
    return {"previous": _run(moderation.previous), "decided": _run(learning.decided_count)}


@cached("settings")
def abuse_head_evaluation(version: str) -> dict | None:
    return _run(learning.evaluation, version)


@st.cache_data(ttl=3600, max_entries=1, show_spinner="Measuring model speed on this machine…")
def model_speed() -> dict:
    texts = list_posts(PostFilter(), 256, "newest")["text"].tolist()
    return models().measure(texts)


@st.cache_data(ttl=3600, max_entries=1)
def speed_measured() -> dict | None:
    return registry.speed_measured()


@st.cache_data(max_entries=1, show_spinner="Checking cross-lingual neighbours…")
def crosslingual() -> pd.DataFrame:
    return pd.DataFrame(models().crosslingual())


@cached("posts", "scores")
def model_coverage(f: PostFilter) -> dict[str, tuple[int, int]]:
    return _run(coverage.coverage, f)


@cached("posts", "scores")
def label_counts(name: str, threshold: float | None = None) -> pd.DataFrame:
    return _run(coverage.label_counts, name, threshold)


@cached("posts", "detections", "decisions")
def campaigns() -> pd.DataFrame:
    return _run(detections.stored_campaigns)


@cached("posts", "detections", "decisions")
def campaign_posts(campaign_id: str) -> pd.DataFrame:
    return _run(detections.campaign_posts, campaign_id)


@cached("posts", "decisions")
def exposure_summary(post_ids: tuple[str, ...]) -> dict:
    return _run(exposure.summary, list(post_ids))


@cached("posts", "detections", "decisions")
def claims_overview() -> pd.DataFrame:
    return _run(claims.overview)


@cached("posts", "detections")
def claim_spread(claim_id: int) -> pd.DataFrame:
    return _run(claims.spread, claim_id)


@cached("posts", "detections", "decisions")
def claim_spreaders(claim_id: int, limit: int = 50) -> pd.DataFrame:
    return _run(claims.spreaders, claim_id, limit)


@cached("posts", "detections", "decisions")
def claim_posts(claim_id: int, limit: int = 500) -> pd.DataFrame:
    return _run(claims.matched_posts, claim_id, limit)


@cached("detections")
def detections_refreshed_at() -> datetime | None:
    return _run(detections.refreshed_at)
