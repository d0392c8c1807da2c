"""Moderator: posts that users reported, most reported first, with thread context and decision state."""
import streamlit as st

from components import data, privacy
from components.auth import require
from components.filters import post_filter
from components.post_card import post_card

require("moderate")

st.title("Reported posts")
st.caption("Posts flagged by user reports. The model-flagged review queue with decisions builds on this.")
f = post_filter("reports")
limit = st.slider("Show", 10, 200, 30, step=10)
rep = data.reported_posts(f, limit)
if rep.empty:
    st.info("No reported posts match the filters.")
    st.stop()
c = st.columns(3)
c[0].metric("Reported posts shown", len(rep))
c[1].metric("Reports", int(rep["reports"].sum()))
c[2].metric("Undecided", int(rep["decision"].isna().sum()))
privacy.download(rep, "reported_posts.csv", "reports", label="Export (CSV)")
for p in rep.to_dict("records"):
    state = p["decision"] if isinstance(p["decision"], str) else "undecided"
    post_card(p, f"{p['reports']} reports from {p['reporters']} users · last {str(p['last_report'])[:16]} · {state}")
    if isinstance(p["parent_id"], str):
        parent = data.get_post(p["parent_id"])
        if not parent.empty:
            with st.expander("In reply to"):
                post_card(parent.iloc[0].to_dict())
