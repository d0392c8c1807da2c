"""Analyst overview: headline counts, volume over time with injected events, topics, hashtags, posts."""
import streamlit as st

from analytics.spikes import detect_spikes
from components import charts, data
from components.filters import post_filter
from components.post_card import post_card
from components.scoring import scoring_panel

st.title("Overview")
f = post_filter("overview")
o = data.overview()
c = st.columns(5)
c[0].metric("Posts", f"{o['posts']:,}")
c[1].metric("Authors", f"{o['authors']:,}")
c[2].metric("Interactions", f"{o['interactions']:,}")
c[3].metric("Follows", f"{o['follows']:,}")
c[4].metric("Days covered", (o["last_post"] - o["first_post"]).days + 1 if o["posts"] else 0)

with st.expander("Model scores for this selection"):
    scoring_panel(f, "overview")

vol = data.volume_by_day(f)
if vol.empty:
    st.info("No posts match the filters.")
    st.stop()
st.subheader(f"Daily volume · {int(vol['posts'].sum()):,} posts selected")
events = data.sim_events()
st.plotly_chart(charts.volume_chart(vol, events), width="stretch")
if not events.empty:
    st.caption("Shaded: events injected into the simulated sample (ground truth for spike detection).")

st.subheader("Sentiment over time")
grain = st.radio("Bucket", ["day", "week", "hour"], horizontal=True, key="overview_grain")
sent = data.sentiment_over_time(f, grain)
if sent["scored"].sum() == 0:
    st.info("No post in this selection is scored yet: open 'Model scores for this selection' above to score it.")
else:
    trusted = sent[sent["scored"] >= 20]  # shares of fewer scored posts are too noisy to call spikes
    spikes = detect_spikes(trusted, "negative_share", kind="share")
    st.plotly_chart(charts.sentiment_chart(sent, spikes=spikes), width="stretch")
    st.caption(f"{int(sent['scored'].sum()):,} of {int(sent['posts'].sum()):,} posts scored. Crosses: negative share "
               "more than 4 robust z-scores above the median of the 14 buckets before (buckets with ≥ 20 scored posts).")

left, right = st.columns([3, 2])
with left:
    st.subheader("Topics")
    topics = data.topic_summary(f)
    st.plotly_chart(charts.topic_bar(topics), width="stretch")
with right:
    st.subheader("Top hashtags")
    st.dataframe(data.top_hashtags(f), hide_index=True, width="stretch")

st.subheader("Posts")
order = st.radio("Order", ["newest", "likes", "oldest"], horizontal=True, key="overview_order")
posts = data.list_posts(f, 200, order)
st.download_button("Export these posts (CSV)", posts.to_csv(index=False), "posts.csv", "text/csv")
for p in posts.head(20).to_dict("records"):
    post_card(p, f"{p['likes']} likes · {p['replies']} replies · {p['shares']} shares · {p['views']} views")
