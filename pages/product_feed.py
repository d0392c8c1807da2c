"""Product: preview a user's following feed (newest unseen posts from accounts they follow)."""
import streamlit as st

from components import data
from components.auth import require
from components.post_card import escape_md, post_card

require("view_feeds")

st.title("Feed preview")
q = st.text_input("Find a user by handle", key="feed_q")
users = data.search_users(q, 20)
if users.empty:
    st.warning(f"No user handle contains '{q}'.")
    st.stop()
labels = {r.user_id: f"@{r.handle} · {r.followers} followers · {r.community}" for r in users.itertuples()}
user_id = st.selectbox("User", list(labels), format_func=labels.get, key="feed_user")
prof = data.user_profile(user_id)
c = st.columns(4)
c[0].metric("Followers", prof["followers"])
c[1].metric("Following", prof["following"])
c[2].metric("Posts", prof["posts"])
c[3].metric("Likes given", prof["likes_given"])
st.caption(f"Community: {escape_md(prof['community'] or 'none')}")

n = st.slider("Feed length", 5, 50, 15, key="feed_n")
feed = data.following_feed(user_id, n)
st.subheader("Following feed (chronological, unseen)")
if feed.empty:
    st.info("This user follows nobody who has posted anything they have not seen yet.")
for p in feed.to_dict("records"):
    why = f"From @{p['handle']}, whom you follow"
    if p["followees_liked"]:
        why += f" · {p['followees_liked']} people you follow liked this"
    post_card(p, why)
