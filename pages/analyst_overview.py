"""Analyst overview: the selection against its previous period, volume and sentiment over time with explained
spikes and drill-down, topics, hashtags and posts."""
import streamlit as st

from analytics.analyst.releases import Release
from analytics.analyst.spikes import detect_spikes, volume_spikes
from components import charts, data, privacy
from components.auth import require
from components.drilldown import drill_down, drill_filter, selectable_chart, table
from components.enrichment import waiting_note
from components.filters import post_filter
from components.post_card import post_card
from components.spikes import spike_list

require("view_analytics")

MIN_SCORED = 20  # shares of fewer scored posts per bucket are too noisy to call spikes

st.title("Overview")
f = post_filter("overview")
cmp = data.period_comparison(f).to_dict("records")[0]
days = (f.end - f.start).days + 1
c = st.columns(4)
c[0].metric("Posts", f"{cmp['posts']:,}", None if cmp["prev_posts"] == 0 else f"{cmp['posts_change_pct']:+.1f}%")
c[1].metric("Negative share", "–" if cmp["scored"] == 0 else f"{cmp['negative_share']:.1%}",
            None if cmp["negative_share_change"] != cmp["negative_share_change"] else
            f"{cmp['negative_share_change']:+.1f} pp", delta_color="inverse")
c[2].metric("Net sentiment", "–" if cmp["scored"] == 0 else f"{100 * cmp['net']:+.0f}",
            None if cmp["net_change"] != cmp["net_change"] else f"{cmp['net_change']:+.1f}")
c[3].metric("Scored posts", f"{cmp['scored']:,}")
st.caption(f"Changes compare the {days} selected days with the {days} days before them "
           "(net sentiment = positive minus negative share, in points).")

vol = data.volume_by_day(f)
if vol.empty:
    st.info("No posts match the filters.")
    st.stop()
st.subheader(f"Daily volume · {int(vol['posts'].sum()):,} posts selected")
events = data.sim_events()
vspikes = volume_spikes(vol, min_value=20)
points = selectable_chart(charts.volume_chart(privacy.labels(vol, ("topic",)), privacy.labels(events, ("name",)),
                                              privacy.labels(vspikes, ("topic",))), "overview_volume")
st.caption("Triangles: a topic's daily volume more than 4 robust z-scores above the median of its 14 days before "
           "(days with ≥ 20 posts). Shaded: events injected into the simulated sample, the ground truth. "
           "Click or box-select bars to list their posts.")
drill_down(drill_filter(f, points, "day", "topics"), "overview_volume_drill")
spike_list(f, vspikes, "day", "posts", "overview_vspikes")

st.subheader("Sentiment over time")
scored, total = waiting_note(f)
grain = st.radio("Bucket", ["day", "week", "hour"], horizontal=True, key="overview_grain")
sent = data.sentiment_over_time(f, grain)
if scored:
    nspikes = detect_spikes(sent[sent["scored"] >= MIN_SCORED], "negative_share", kind="share")
    points = selectable_chart(charts.sentiment_chart(sent, spikes=nspikes), "overview_sent_chart")
    st.caption(f"{scored:,} of {total:,} posts scored. Crosses: negative share more than 4 robust z-scores above "
               f"the median of the 14 buckets before (buckets with ≥ {MIN_SCORED} scored posts). "
               "Click a band to list its posts.")
    drill_down(drill_filter(f, points, grain, "sentiment"), "overview_sent_drill")
    spike_list(f, nspikes, grain, "negative_share", "overview_nspikes", sentiment="negative")

left, right = st.columns([3, 2])
with left:
    st.subheader("Topics")
    st.plotly_chart(charts.topic_bar(privacy.labels(data.topic_summary(f), ("topic",))), width="stretch")
with right:
    st.subheader("Top hashtags")
    table(data.top_hashtags(f, 30), "overview_tags", "hashtags.csv", release=Release("hashtag", f, n=30))

st.subheader("Posts")
order = st.radio("Order", ["newest", "likes", "oldest"], horizontal=True, key="overview_order")
posts = data.list_posts(f, 200, order)
privacy.download(posts, "posts.csv", "overview_posts", label="Export these posts (CSV)")
for p in posts.head(20).to_dict("records"):
    scores = f" · {p['sentiment']} ({p['sentiment_p']:.2f})" if isinstance(p["sentiment"], str) else ""
    post_card(p, f"{p['likes']} likes · {p['replies']} replies · {p['shares']} shares · {p['views']} views{scores}")
