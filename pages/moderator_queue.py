"""Moderator review queue: claim the next flagged post, decide with a reason, undo, or act on the whole
filtered queue at once. Keys: A approve, X remove, E escalate, S skip, U undo."""
import streamlit as st

from analytics import moderation
from analytics.models import drafts
from components import data, privacy
from components.auth import require
from components.drafts import draft
from components.enrichment import screening_note
from components.moderation import bulk_decide, claim_next, decide, queue_settings, release, review_card, undo_last
from components.resources import cursor

user = require("moderate")
st.title("Review queue")
s = queue_settings("queue", data.filter_options()["topics"], data.team_thresholds())
if notice := st.session_state.pop("queue_notice", None):
    ok, text = notice
    (st.success if ok else st.warning)(text)

with cursor() as cur:
    stats = moderation.queue_stats(cur, s["thresholds"])
c = st.columns(4)
c[0].metric("Waiting", f"{stats['size']:,}")
c[1].metric("Being reviewed", f"{stats['claimed']:,}")
c[2].metric("Escalated", f"{stats['escalated']:,}")
c[3].metric("Oldest waiting", "–" if stats["oldest_age"] is None else f"{stats['oldest_age'].days} days")

QUERY = {k: s[k] for k in ("thresholds", "order", "labels", "topics", "author", "include_escalated")}


def waiting():
    """The filtered queue as this moderator sees it (their own claim included, others' left out)."""
    with cursor() as cur:
        return moderation.queue(cur, moderator=user.username, limit=500, **QUERY)


items = waiting()
current = st.session_state.get("queue_current")
if current not in set(items["post_id"]):
    if current is not None:
        release(user, current)  # settings changed: give the old item back at once rather than at claim expiry
    current = st.session_state["queue_current"] = claim_next(user, s)
    items = waiting()
item = items[items["post_id"] == current].to_dict("records")
if not item:
    st.session_state["queue_current"] = None
    if not screening_note("toxicity"):
        st.success("Nothing to review with these settings.")
else:
    item = item[0]
    st.subheader(f"Flagged for {item['max_label']} ({item['max_score']:.2f})")
    review_card(item, s["mask"], s["thresholds"], "queue")
    with st.expander("Draft a notice to the author (for a removal)"):
        code = st.session_state.get("queue_reason_remove", moderation.reason_codes("remove")[0])
        who = privacy.handle(item["handle"])
        # The facts are a template, so the reason is always cited right; the model only adds the wording after.
        opening = (f"Hi @{who}, a moderator removed your post because it breaks our rule on "
                   f"{moderation.POLICY[code][0].lower()}{moderation.POLICY[code][1:]} (reason: {code}).")
        st.text(opening)
        prompt = drafts.removal_notice_prompt(code, moderation.POLICY[code], privacy.text(item["text"]), who)
        if text := draft(prompt, f"queue_draft_{item['post_id']}_{code}", "Draft the rest with the language model"):
            st.text(text)
        if st.button("Use as the note", key="queue_use_draft"):
            st.session_state["queue_note"] = f"{opening} {text}" if text else opening
    note = st.text_area("Note (optional; saved with the decision)", key="queue_note", max_chars=1000, height=80)
    cols = st.columns(4)
    for col, action, shortcut in zip(cols, ("approve", "remove", "escalate"), ("A", "X", "E")):
        reason = col.selectbox(f"{action.capitalize()} reason", moderation.reason_codes(action),
                               key=f"queue_reason_{action}", help=moderation.POLICY.get)
        if col.button(f"{action.capitalize()} ({shortcut})", key=f"queue_{action}", shortcut=shortcut,
                      type="primary" if action == "remove" else "secondary", width="stretch"):
            try:
                decide(user, item["post_id"], action, reason, note)
                st.session_state["queue_notice"] = (True, f"{action.capitalize()}d ({reason}). Next item loaded.")
            except moderation.ClaimedByOther:
                st.session_state["queue_notice"] = (False, "Your claim expired and another moderator took this "
                                                           "post; nothing was recorded. Next item loaded.")
            st.session_state["queue_current"] = None
            st.rerun()
    if cols[3].button("Skip (S)", key="queue_skip", shortcut="S", width="stretch"):
        release(user, item["post_id"])
        st.session_state["queue_current"] = claim_next(user, s)
        st.rerun()

if st.button("Undo my last decision (U)", key="queue_undo", shortcut="U"):
    undone = undo_last(user)
    st.session_state["queue_notice"] = (bool(undone), f"Decision #{undone} undone (recorded as a new event); the "
                                        "post is back in the queue." if undone else "Nothing to undo.")
    st.rerun()

with st.expander(f"Bulk action on the filtered queue ({len(items):,} posts, first 500)"):
    st.dataframe(privacy.shown(items[["created_at", "handle", "topic", "max_label", "max_score", "text"]]),
                 hide_index=True, width="stretch")
    b = st.columns(2)
    action = b[0].selectbox("Action", moderation.ACTIONS, key="queue_bulk_action")
    reason = b[1].selectbox("Reason", moderation.reason_codes(action), key="queue_bulk_reason")
    bulk_note = st.text_input("Note for the batch", key="queue_bulk_note", max_chars=500)
    sure = st.checkbox(f"I reviewed these {len(items):,} posts: {action} all of them as {reason}",
                       key="queue_bulk_confirm")
    if st.button(f"{action.capitalize()} {len(items):,} posts", key="queue_bulk_go", disabled=not sure or items.empty):
        try:
            batch = bulk_decide(user, items["post_id"].tolist(), action, reason, bulk_note)
            st.session_state["queue_notice"] = (True, f"Batch {batch[:8]}: {len(items):,} posts {action}d, "
                                                      "all or none.")
        except moderation.ClaimedByOther as e:
            st.session_state["queue_notice"] = (False, f"Nothing recorded: {e}. Try again.")
        st.session_state["queue_current"] = None
        del st.session_state["queue_bulk_confirm"]
        st.rerun()
