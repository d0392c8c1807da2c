"""Product: preview a reader's recommended feed (a user or a cold-start persona) with every pipeline stage
visible: candidates, filters with reasons, score components, diversity re-ranking, explanations; compare two
strategies; who to follow; offline evaluation."""
from datetime import datetime, time, timedelta

import pandas as pd
import streamlit as st

from analytics import feed as feed_api
from analytics.analyst.filters import PostFilter
from components import charts, data, privacy
from components.auth import require
from components.drilldown import table
from components.enrichment import waiting_note
from components.post_card import escape_md, post_card

require("view_feeds")


def strategy(key: str, defaults: feed_api.Weights, lam: float) -> tuple[feed_api.Weights, feed_api.Settings]:
    """Weight and diversity sliders (sidebar) for one strategy."""
    w = {c: st.slider(c.replace("_", " "), 0.0, 1.0, float(getattr(defaults, c)), 0.05, key=f"{key}_{c}")
         for c in feed_api.COMPONENTS}
    half_life = st.slider("recency half-life (hours)", 1, 168, int(defaults.half_life_hours), key=f"{key}_half")
    mmr = st.slider("MMR λ (1 = relevance only, lower = more diverse)", 0.0, 1.0, lam, 0.05, key=f"{key}_mmr")
    if sum(w.values()) == 0:
        st.warning("All weights are 0: using the defaults.")
        return feed_api.Weights(), feed_api.Settings(n=n, mmr_lambda=mmr, thresholds=team)
    return (feed_api.Weights(**w, half_life_hours=half_life),
            feed_api.Settings(n=n, mmr_lambda=mmr, thresholds=team))


def feed_cards(feed: feed_api.Feed) -> None:
    for p in feed.items.to_dict("records"):
        parts = " · ".join(f"{c.replace('_', ' ')} {p[c]:.2f}" for c in feed_api.COMPONENTS)
        post_card(p, f"#{p['rank']} · score {p['score']:.3f} ({parts}) · {privacy.text(p['explanation'])}")


st.title("Feed preview")
opts = data.filter_options()
team = data.team_thresholds()  # posts the moderation team would flag never reach a feed
mode = st.radio("Reader", ["A user", "A cold-start persona"], horizontal=True, key="feed_mode")
if mode == "A user":
    if privacy.pseudonymising():  # searched by pseudonym: a handle typed in finds nobody, so it reveals nobody
        q = st.text_input("Find a user by pseudonym", key="feed_q")
        users = data.search_users("", 1_000_000)
        wanted = q.strip().lower().lstrip("@")
        users = users[[wanted in privacy.handle(h) for h in users["handle"]]].head(20)
    else:
        q = st.text_input("Find a user by handle", key="feed_q")
        users = data.search_users(q, 20)
    if users.empty:
        st.warning(f"No user {'pseudonym' if privacy.pseudonymising() else 'handle'} contains '{escape_md(q)}'.")
        st.stop()
    labels = {r.user_id: f"@{privacy.handle(r.handle)} · {r.followers} followers · {privacy.text(r.community)}"
              for r in users.itertuples()}
    reader = st.selectbox("User", list(labels), format_func=labels.get, key="feed_user")
    prof = data.user_profile(reader)
    c = st.columns(4)
    c[0].metric("Followers", prof["followers"])
    c[1].metric("Following", prof["following"])
    c[2].metric("Posts", prof["posts"])
    c[3].metric("Likes given", prof["likes_given"])
else:
    topics = st.multiselect("Interested in topics", opts["topics"], key="feed_persona_topics",
                            format_func=privacy.text)
    text = st.text_input("…or describe the interest in a few words", key="feed_persona_text",
                         placeholder="e.g. delayed flights and lost luggage")
    if not topics and not text.strip():
        st.info("Pick topics or describe an interest to preview a new reader's feed.")
        st.stop()
    reader = (tuple(topics), text.strip())

end = data.data_end()
with st.sidebar:
    st.subheader("Feed")
    day = st.date_input("Feed as of (end of that day)", end.date(), max_value=end.date(), key="feed_as_of",
                        help="Replay the feed as it stood then: candidates from the week before, the reader's "
                             "history up to then, and today's moderation decisions and thresholds.")
    as_of = None if day >= end.date() else datetime.combine(day + timedelta(days=1), time())
    n = st.slider("Feed length", 5, 50, 20, key="feed_n")
    with st.expander("Strategy A weights", expanded=True):
        weights_a, settings_a = strategy("feed_a", feed_api.Weights(), 0.7)
    compare = st.toggle("Compare with strategy B", key="feed_compare")
    if compare:
        with st.expander("Strategy B weights", expanded=True):
            weights_b, settings_b = strategy("feed_b", feed_api.Weights(semantic=0.1, social_proof=0.2,
                                                                        popularity=0.5, recency=0.2,
                                                                        sentiment_fit=0.0), 1.0)

# Similarity, sentiment fit and toxicity screening need the candidate window's posts enriched.
until = as_of or end
recent = PostFilter(start=(until - timedelta(days=settings_a.window_days)).date(), end=min(day, end.date()))
for model in ("embedding", "sentiment", "toxicity"):
    waiting_note(recent, model)

feed = data.feed(reader, weights_a, settings_a, as_of)
if as_of:
    st.caption(f"Replayed as of the end of {day:%Y-%m-%d}: candidates from the {settings_a.window_days:g} days before, "
               "the reader's history up to then, today's moderation decisions and thresholds.")
for note in feed.notes:
    st.info(privacy.text(note))
c = st.columns(5)
for col, source in zip(c, feed_api.SOURCES):
    col.metric(f"Candidates: {source.replace('_', ' ')}", f"{feed.candidates.get(source, 0):,}")
c[3].metric("Filtered out", f"{len(feed.filtered):,}")
c[4].metric("Built in", f"{feed.timings['total']:.0f} ms")
st.caption("Stages (ms): " + " · ".join(f"{k} {v:.0f}" for k, v in feed.timings.items() if k != "total"))

tabs = st.tabs(["Feed", "Score components", "Filtered out", "Compare strategies", "Suggestions",
                "Offline evaluation"])
with tabs[0]:
    if feed.items.empty:
        st.info("No post is left for this reader after the filters.")
    feed_cards(feed)
with tabs[1]:
    if not feed.items.empty:
        st.plotly_chart(charts.score_components_chart(privacy.labels(feed.items, handles=("handle",)),
                                                      feed_api.COMPONENTS), width="stretch")
    st.caption("Score = the weighted sum of components, each scaled to 0..1: semantic (cosine of the post to the "
               "reader's interest vector), social proof (followees who liked or shared it), popularity (log "
               "engagement), recency (exponential decay with the half-life), sentiment fit (share of the "
               "reader's engaged posts with this post's sentiment). MMR then re-ranks for diversity; "
               "score_rank is the rank before re-ranking.")
    table(feed.items.drop(columns=["text"]), "feed_items", "feed.csv")
with tabs[2]:
    if feed.filtered.empty:
        st.info("Nothing was filtered out.")
    else:
        st.dataframe(privacy.shown(feed.filtered["reason"].value_counts().rename_axis("reason")
                                   .reset_index(name="posts")), hide_index=True)
        table(feed.filtered, "feed_filtered", "filtered_out.csv")
        st.caption("own_post: the reader's own; removed: a moderator's current decision; toxic: a toxicity label "
                   "at or above the moderation threshold; hidden_author: the reader hid this author; seen: "
                   "already viewed or engaged; diversity: scored high but MMR picked less similar posts.")
with tabs[3]:
    if not compare:
        st.info("Turn on 'Compare with strategy B' in the sidebar.")
    else:
        other = data.feed(reader, weights_b, settings_b, as_of)
        ov = feed_api.overlap(feed, other)
        c = st.columns(3)
        c[0].metric("In both", len(ov["shared"]))
        c[1].metric("Jaccard overlap", f"{ov['jaccard']:.2f}")
        c[2].metric("Only in B", len(ov["only_b"]))
        left, right = st.columns(2)
        for col, name, fd in ((left, "A", feed), (right, "B", other)):
            with col:
                st.markdown(f"**Strategy {name}**")
                shown = fd.items[["rank", "handle", "topic", "score", "text"]].assign(
                    in_both=fd.items["post_id"].isin(ov["shared"]))
                table(shown, f"feed_cmp_{name}", f"feed_{name}.csv")
with tabs[4]:
    left, right = st.columns(2)
    with left:
        st.markdown("**Who to follow**")
        table(data.who_to_follow(reader), "feed_wtf", "who_to_follow.csv",
              ["handle", "community", "followed_by", "topic", "topic_posts", "score", "reason"])
    with right:
        st.markdown("**Topics to explore**")
        table(data.topic_suggestions(reader), "feed_topics", "topic_suggestions.csv")
with tabs[5]:
    st.caption("Replays feeds at a cutoff using only what happened before it, and scores them against what "
               "users liked, replied to or shared in the 7 days after; compared with a popularity baseline and "
               "random picks from the same candidate window.")
    c = st.columns(3)
    cutoff = c[0].date_input("Cutoff", (end - timedelta(days=10)).date(), key="feed_eval_cutoff")
    k = c[1].number_input("k", 5, 50, 10, key="feed_eval_k")
    n_users = c[2].number_input("Users (sampled)", 10, 500, 50, step=10, key="feed_eval_users")
    if st.button("Run offline evaluation", key="feed_eval_run"):
        with st.spinner("Replaying feeds…"):
            st.session_state["feed_eval"] = data.evaluation(pd.Timestamp(cutoff).to_pydatetime(), int(k),
                                                            int(n_users), weights_a, settings_a)
    if (ev := st.session_state.get("feed_eval")) is not None:
        st.plotly_chart(charts.evaluation_chart(ev), width="stretch")
        table(ev.pivot(index="metric", columns="strategy", values="value").reset_index(), "feed_eval",
              "offline_evaluation.csv")
        st.caption(escape_md(f"{ev.attrs.get('users', '?')} users, catalogue {ev.attrs.get('catalogue', '?')} "
                             f"posts, cutoff {ev.attrs.get('cutoff')}"))
