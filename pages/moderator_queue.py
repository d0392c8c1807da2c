"""Moderator review queue: claim the next flagged post, decide with a reason, undo, or act on the whole
filtered queue at once. Keys: A approve, X remove, E escalate, S skip, U undo.

Every button acts on what was on screen when it was pressed: the decision and skip buttons carry the card's post id
in their key and (post id, state seen) in their callback's arguments, the undo button the decision it undoes, the
bulk button the exact list shown. A key pressed twice acts once: the second press belongs to a card already decided
and is refused, and the next card's buttons act only once that card is displayed. Undoing a batch asks first."""
import streamlit as st

from analytics import moderation
from analytics.access.auth import User
from analytics.models import drafts
from components import data, privacy
from components.auth import require
from components.drafts import draft
from components.enrichment import screening_note
from components.moderation import (
    bulk_decide,
    claim_next,
    decide,
    queue_settings,
    release,
    review_card,
    stale_notice,
    undo_last,
    undo_preview,
)
from components.resources import cursor


def _done(post_id: str) -> None:
    """The card `post_id` is finished with: load the next one, unless another card is already on screen."""
    if st.session_state.get("queue_current") == post_id:
        st.session_state["queue_current"] = None


def on_decide(user: User, post_id: str, seen: int | None, action: str) -> None:
    """A decision button of the card `post_id`, shown in state `seen` (runs before the page, once per press)."""
    reason = st.session_state[f"queue_reason_{action}"]
    try:
        decide(user, post_id, seen, action, reason, st.session_state.get("queue_note"))
        notice = ("success", f"{action.capitalize()}d ({reason}). Next item loaded.")
        st.session_state["queue_note"] = ""  # the note was this card's
    except moderation.StaleDecision as e:
        if e.by == user.username and st.session_state.get("queue_current") != post_id:
            notice = ("info", "That post is already decided: the repeated press was ignored. Nothing else changed.")
        else:
            notice = ("warning", stale_notice(e, user))
    except moderation.ClaimedByOther:
        notice = ("warning", "Your claim expired and another moderator took this post; nothing was recorded. "
                             "Next item loaded.")
    _done(post_id)
    st.session_state["queue_notice"] = notice


def on_skip(user: User, post_id: str) -> None:
    release(user, post_id)
    _done(post_id)


def on_undo(user: User, last: dict, confirmed: bool = False) -> None:
    """Undo `last` (undo_preview as shown); a batch only once confirmed."""
    if last["batch_id"] and not confirmed:
        st.session_state["queue_undo_ask"] = last["decision_id"]
        return
    st.session_state.pop("queue_undo_ask", None)
    try:
        undone = undo_last(user, last["decision_id"], confirm_batch=confirmed)
        what = f"{last['count']:,} decisions of a batch" if last["batch_id"] else f"Decision #{undone}"
        notice = ("success", f"{what} undone (recorded as new events); back in the queue.")
    except moderation.StaleUndo:
        notice = ("info", "Your latest decision is no longer the one shown (already undone?): nothing was undone.")
    st.session_state["queue_notice"] = notice


def on_bulk(user: User, reviewed: list[tuple[str, int | None]], action: str, reason: str) -> None:
    """Bulk action on exactly the `reviewed` (post_id, seen) pairs the table showed."""
    try:
        r = bulk_decide(user, reviewed, action, reason, st.session_state.get("queue_bulk_note"))
        text = (f"Batch {r.batch_id[:8]}: {len(r.decided):,} posts {action}d, all or none." if r.batch_id
                else "Nothing recorded.")
        if r.skipped:
            text += (f" {len(r.skipped):,} skipped: decided by someone else since you reviewed them ("
                     + ", ".join(f"{c.post_id} by {c.by}" for c in r.skipped[:10])
                     + (", …" if len(r.skipped) > 10 else "") + ").")
        notice = ("warning" if r.skipped else "success", text)
    except moderation.ClaimedByOther as e:
        notice = ("warning", f"Nothing recorded: {e}. Try again.")
    st.session_state["queue_notice"] = notice
    st.session_state["queue_current"] = None
    st.session_state["queue_bulk_confirm"] = False


user = require("moderate")
st.title("Review queue")
s = queue_settings("queue", data.filter_options()["topics"], data.team_thresholds())
if notice := st.session_state.pop("queue_notice", None):
    kind, text = notice
    getattr(st, kind)(text)

with cursor() as cur:
    stats = moderation.queue_stats(cur, s["thresholds"])
c = st.columns(4)
c[0].metric("Waiting", f"{stats['size']:,}")
c[1].metric("Being reviewed", f"{stats['claimed']:,}")
c[2].metric("Escalated", f"{stats['escalated']:,}")
c[3].metric("Oldest waiting", "–" if stats["oldest_age"] is None else f"{stats['oldest_age'].days} days")

QUERY = {k: s[k] for k in ("thresholds", "order", "labels", "families", "topics", "author", "include_escalated",
                           "unscreened")}
st.caption("Waiting by label family: " + " · ".join(f"{name} {n:,}" for name, n in stats["families"].items())
           + ". Filter with 'Flagged by' in the sidebar.")
if stats["unscreened"] and not s["unscreened"]:
    st.caption(f"{stats['unscreened']:,} undecided posts are in languages the toxicity model cannot screen: tick "
               "'Include posts the toxicity model cannot screen' in the sidebar to review them.")


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
    if item["max_label"] == moderation.NOT_SCREENED:
        st.subheader("Not screened by the toxicity model")
    elif item["max_label"] in moderation.FAMILIES:
        st.subheader(f"Flagged as {item['max_label']}")
    else:
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
    st.text_area("Note (optional; saved with the decision)", key="queue_note", max_chars=1000, height=80)
    cols = st.columns(4)
    post_id, seen = item["post_id"], moderation.as_seen(item["decision_id"])
    for col, action, shortcut in zip(cols, ("approve", "remove", "escalate"), ("A", "X", "E")):
        col.selectbox(f"{action.capitalize()} reason", moderation.reason_codes(action),
                      key=f"queue_reason_{action}", help=moderation.POLICY.get)
        # The key and the arguments name this card: a press meant for it can never decide another one.
        col.button(f"{action.capitalize()} ({shortcut})", key=f"queue_{action}_{post_id}", shortcut=shortcut,
                   type="primary" if action == "remove" else "secondary", width="stretch",
                   on_click=on_decide, args=(user, post_id, seen, action))
    cols[3].button("Skip (S)", key=f"queue_skip_{post_id}", shortcut="S", width="stretch", on_click=on_skip,
                   args=(user, post_id))

last = undo_preview(user)
if st.session_state.get("queue_undo_ask") not in (None, last and last["decision_id"]):
    del st.session_state["queue_undo_ask"]  # asked about a batch that is no longer the latest decision
st.button("Undo my last decision (U)", key=f"queue_undo_{last['decision_id'] if last else 'none'}", shortcut="U",
          disabled=last is None, on_click=on_undo, args=(user, last),
          help=None if last is None else f"Undoes {last['action']} of {last['count']:,} post(s)")
if last and st.session_state.get("queue_undo_ask") == last["decision_id"]:
    st.warning(f"Undo {last['count']:,} decisions? Your last decision was a bulk action ({last['action']} on "
               f"{last['count']:,} posts); undoing it puts them all back in the queue.")
    a = st.columns(2)
    a[0].button("Confirm", key=f"queue_undo_confirm_{last['decision_id']}", type="primary", on_click=on_undo,
                args=(user, last, True))
    a[1].button("Cancel", key="queue_undo_cancel", on_click=st.session_state.pop, args=("queue_undo_ask", None))

with st.expander(f"Bulk action on the filtered queue ({len(items):,} posts, first 500)"):
    st.dataframe(privacy.shown(items[["created_at", "handle", "topic", "max_label", "max_score", "families", "text"]]),
                 hide_index=True, width="stretch")
    b = st.columns(2)
    action = b[0].selectbox("Action", moderation.ACTIONS, key="queue_bulk_action")
    reason = b[1].selectbox("Reason", moderation.reason_codes(action), key="queue_bulk_reason")
    st.text_input("Note for the batch", key="queue_bulk_note", max_chars=500)
    sure = st.checkbox(f"I reviewed these {len(items):,} posts: {action} all of them as {reason}",
                       key="queue_bulk_confirm")
    # Exactly the rows above, with the state each was shown in: posts decided meanwhile are skipped, not decided,
    # and a post that joined the queue since is not touched.
    reviewed = list(zip(items["post_id"], map(moderation.as_seen, items["decision_id"])))
    st.button(f"{action.capitalize()} {len(items):,} posts", key="queue_bulk_go", disabled=not sure or items.empty,
              on_click=on_bulk, args=(user, reviewed, action, reason))
