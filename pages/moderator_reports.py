"""Moderator: posts that users reported, most reported first, with thread context, decision state and a
decision form per post. Each Record button carries its post and the state the card shows: if the post was decided
meanwhile (here, in the queue or by another moderator) the decision is refused with a notice, nothing recorded."""
import streamlit as st

from analytics import moderation
from analytics.access.auth import User
from components import data, privacy
from components.auth import require
from components.filters import post_filter
from components.moderation import decide, stale_notice
from components.post_card import post_card


def on_record(user: User, post_id: str, seen: int | None) -> None:
    """The Record button of the card `post_id`, shown in state `seen` (runs before the page, once per press)."""
    action = st.session_state[f"reports_action_{post_id}"]
    reason = st.session_state[f"reports_reason_{post_id}"]
    try:
        decide(user, post_id, seen, action, reason, None)
        notice = ("success", f"Recorded: {action} ({reason}).")
    except moderation.StaleDecision as e:
        notice = ("warning", stale_notice(e, user))
    except moderation.ClaimedByOther:
        notice = ("warning", "Another moderator is reviewing this post; nothing recorded.")
    st.session_state["reports_notice"] = notice


user = require("moderate")

st.title("Reported posts")
st.caption("Posts users reported, most reports first. Decisions here are the same events as in the review queue "
           "(audited, undoable there with Undo).")
if notice := st.session_state.pop("reports_notice", None):
    kind, text = notice
    getattr(st, kind)(text)
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
    with st.expander("Decide"):
        c = st.columns([1, 2, 1])
        action = c[0].selectbox("Action", moderation.ACTIONS, key=f"reports_action_{p['post_id']}")
        c[1].selectbox("Reason", moderation.reason_codes(action), key=f"reports_reason_{p['post_id']}",
                       format_func=lambda code: f"{code}: {moderation.POLICY[code]}")
        c[2].button("Record", key=f"reports_go_{p['post_id']}", type="primary", on_click=on_record,
                    args=(user, p["post_id"], moderation.as_seen(p["decision_id"])))
