"""Analyst topics: each topic's share and sentiment over time side by side, against the previous period,
trending terms and word clouds."""
from dataclasses import replace
from datetime import datetime, timedelta

import streamlit as st

from analytics.analyst.releases import Release
from components import charts, data, privacy
from components.auth import require
from components.clouds import word_cloud_panel
from components.drilldown import drill_down, drill_filter, selectable_chart, table
from components.enrichment import waiting_note
from components.filters import post_filter
from components.post_card import escape_md, post_card

require("view_analytics")

st.title("Topics")
f = post_filter("topics")
topics = data.topic_table(f)
if topics.empty:
    st.info("No posts match the filters.")
    st.stop()
c = st.columns(3)
c[0].metric("Topics", len(topics))
growth = topics.dropna(subset=["posts_change_pct"])
if not growth.empty:
    g = growth.loc[growth["posts_change_pct"].idxmax()]
    c[1].metric("Fastest growing", escape_md(privacy.text(g["topic"])), f"{g['posts_change_pct']:+.0f}% posts")
negative = topics.dropna(subset=["negative_share"])
if not negative.empty:
    n = negative.loc[negative["negative_share"].idxmax()]
    c[2].metric("Most negative", escape_md(privacy.text(n["topic"])), f"{n['negative_share']:.0%} negative",
                delta_color="off")
st.caption("Topics are NMF clusters of the TF-IDF of the post texts, labelled by their top three terms.")
table(topics.rename(columns={"posts_change_pct": "posts_change_%"}), "topics_table", "topics.csv",
      ["topic", "posts", "share", "authors", "likes", "posts_change_%", "scored", "negative_share", "net",
       "net_change"], release=Release("topic", f, n=100))

with st.expander("Most liked posts of a topic"):
    topic = st.selectbox("Topic", topics["topic"].tolist(), key="topics_pick", format_func=privacy.text)
    for p in data.list_posts(replace(f, topics=(topic,)), 5, "likes").to_dict("records"):
        post_card(p, f"{p['likes']} likes · {p['replies']} replies · {p['shares']} shares")

st.subheader("Topic share over time")
points = selectable_chart(charts.topic_share_chart(privacy.labels(data.volume_by_day(f), ("topic",))), "topics_share")
drill_down(drill_filter(f, points, "day", "topics"), "topics_share_drill")

st.subheader("Sentiment by topic")
scored, total = waiting_note(f)
if scored:
    grain = st.radio("Bucket", ["week", "day"], horizontal=True, key="topics_grain")
    top = topics["topic"].head(6).tolist()
    shown = st.multiselect("Topics side by side", topics["topic"].tolist(), default=top, key="topics_side",
                           format_func=privacy.text)
    sent = privacy.labels(data.sentiment_over_time(f, grain, by_topic=True), ("topic",))
    points = selectable_chart(charts.topic_sentiment_chart(sent, privacy.texts(shown)), "topics_sent_chart")
    drill_down(drill_filter(f, points, grain, "topics"), "topics_sent_drill")
    st.caption("Net sentiment (positive minus negative share of scored posts), 3-bucket rolling mean.")
    st.plotly_chart(charts.comparison_bars(privacy.labels(topics.dropna(subset=["net"]), ("topic",)), "net",
                                           "net sentiment"), width="stretch")
    st.caption(f"This period against the {(f.end - f.start).days + 1} days before it.")

st.subheader("Trending terms")
span = st.slider("Window: the last N days of the selection", 1, 14, 3, key="topics_window")
end = datetime.combine(f.end + timedelta(days=1), datetime.min.time())
trend = data.trending_terms(f, end - timedelta(days=span), end, redact=privacy.redacting())
st.caption(f"Terms used more in the last {span} days than in the 14 days before, by the z-score of their "
           "log-odds ratio (informative Dirichlet prior).")
table(trend, "topics_trending", "trending_terms.csv",
      release=Release("term", f, window=(end - timedelta(days=span), end), n=20, redact=privacy.redacting()))

st.subheader("Word clouds")
word_cloud_panel(f, "topics_cloud")
