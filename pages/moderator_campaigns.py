"""Moderator: coordinated campaigns the enrichment worker detected, each with why it was flagged (its signals and
their values), its posts and accounts, and how far it travelled. A campaign is decided as a whole: one bulk
decision on exactly the posts shown (posts decided meanwhile are skipped), optionally suspending its accounts,
after an explicit confirmation; all of it audited with the campaign's id."""
import pandas as pd
import streamlit as st

from analytics import moderation
from analytics.access.auth import User
from components import data, privacy
from components.auth import require
from components.drilldown import table
from components.enrichment import detection_note
from components.moderation import decide_campaign


def on_decide(user: User, campaign_id: str, reviewed: list[tuple[str, int | None]], action: str, reason: str,
              suspend: bool) -> None:
    """The campaign's decision button: exactly the `reviewed` (post_id, seen) pairs the table showed."""
    try:
        r = decide_campaign(user, campaign_id, reviewed, action, reason, st.session_state.get("cmp_note"), suspend)
        text = (f"Campaign {campaign_id}: {len(r.decided):,} posts {action}d as {reason}"
                + (", and their accounts suspended" if suspend and r.decided else "") + ". Audited; undo from the "
                "review queue's Undo (it asks first).") if r.batch_id else "Nothing recorded."
        if r.skipped:
            text += f" {len(r.skipped):,} skipped: decided by someone else since you reviewed them."
        notice = ("warning" if r.skipped else "success", text)
    except (moderation.ClaimedByOther, ValueError, KeyError) as e:
        notice = ("warning", f"Nothing recorded: {e}")
    st.session_state["cmp_notice"] = notice
    st.session_state["cmp_confirm"] = False


user = require("moderate")
st.title("Campaigns")
st.caption("Many accounts posting copies or re-wordings of one message in a burst (near-duplicate text by MinHash, "
           "the same link, or multilingual embeddings), flagged on coordination signals: accounts posting within "
           "an hour, fresh accounts, repeat posting, hashtag or link stuffing, one shared link. Organic sharing "
           "(established accounts, credited reshares) is left out.")
if notice := st.session_state.pop("cmp_notice", None):
    kind, text = notice
    getattr(st, kind)(text)

found = data.campaigns()
if found.empty:
    if (when := data.detections_refreshed_at()) is None:
        detection_note()
    else:
        st.info(f"No coordinated campaign detected (last checked {when:%Y-%m-%d %H:%M}).")
    st.stop()

overview = found.drop(columns=["signals", "links"]).assign(
    status=lambda d: d.apply(lambda r: "removed" if r["removed"] == r["n_posts"] else
                             f"{r['undecided']} undecided" if r["undecided"] else "decided", axis=1))
table(overview[["campaign_id", "start_at", "end_at", "n_posts", "n_accounts", "status", "suspended", "reason",
                "shared_text"]], "cmp_overview", "campaigns.csv")
labels = {r.campaign_id: f"{r.campaign_id} · {r.start_at:%Y-%m-%d %H:%M} · {r.n_accounts} accounts, {r.n_posts} posts"
          for r in found.itertuples()}
chosen = st.selectbox("Open a campaign", list(labels), format_func=labels.get, key="cmp_id")
c = found.set_index("campaign_id").loc[chosen]
posts = data.campaign_posts(chosen)
exp = data.exposure_summary(tuple(posts["post_id"]))

st.subheader(f"Campaign {chosen}")
m = st.columns(6)
m[0].metric("Posts", f"{c['n_posts']:,}")
m[1].metric("Accounts", f"{c['n_accounts']:,}")
m[2].metric("Minutes", f"{c['signals']['minutes']:.0f}")
m[3].metric("Removed", f"{c['removed']:,}")
m[4].metric("Reached users", f"{exp['viewers']:,}", help="Distinct users who viewed a post of it before its removal: "
            "the feeds that showed it.")
m[5].metric("Likes / shares", f"{exp['likes']:,} / {exp['shares']:,}", help="Before each post's removal.")
st.markdown("**Why it was flagged**")
st.text(privacy.text(c["reason"]))
sig = pd.DataFrame({"signal": list(c["signals"]), "value": [str(v) for v in c["signals"].values()]})
st.dataframe(privacy.shown(sig), hide_index=True)
st.markdown("**Shared text** (the most common copy)")
st.text(privacy.text(c["shared_text"]))
st.text("Links: " + privacy.text(", ".join(c["links"])) if len(c["links"]) else "No links.")

tabs = st.tabs(["Posts", "Accounts"])
with tabs[0]:
    table(posts, "cmp_posts", f"campaign_{chosen}_posts.csv",
          ["created_at", "handle", "account_created", "account_state", "state", "text", "post_id"])
with tabs[1]:
    acc = posts.groupby(["author_id", "handle"], dropna=False).agg(
        posts=("post_id", "size"), account_created=("account_created", "first"),
        account_state=("account_state", "first"), first_post=("created_at", "min")).reset_index()
    table(acc, "cmp_accounts", f"campaign_{chosen}_accounts.csv",
          ["handle", "account_created", "first_post", "posts", "account_state"])

undecided = posts[posts["state"].isin(["undecided", "escalate"])]
with st.container(border=True):
    st.markdown(f"**Decide the campaign as a whole** ({len(undecided):,} of {len(posts):,} posts undecided)")
    if undecided.empty:
        st.caption("Every post of this campaign is decided. Undo a batch from the review queue.")
    else:
        b = st.columns(3)
        action = b[0].selectbox("Action", moderation.ACTIONS, index=list(moderation.ACTIONS).index("remove"),
                                key="cmp_action")
        codes = moderation.reason_codes(action)
        reason = b[1].selectbox("Reason", codes, index=codes.index("spam") if "spam" in codes else 0,
                                key="cmp_reason", format_func=lambda code: f"{code}: {moderation.POLICY[code]}")
        n_acc = undecided["author_id"].nunique()
        suspend = b[2].checkbox(f"Also suspend its {n_acc} accounts", key="cmp_suspend", disabled=action != "remove",
                                help="Recorded append-only per account, like decisions.") and action == "remove"
        st.text_input("Note for the batch", key="cmp_note", max_chars=500)
        sure = st.checkbox(f"I reviewed this campaign: {action} its {len(undecided):,} undecided posts as {reason}"
                           + (f" and suspend {n_acc} accounts" if suspend else ""), key="cmp_confirm")
        reviewed = list(zip(undecided["post_id"], map(moderation.as_seen, undecided["decision_id"])))
        st.button(f"{action.capitalize()} {len(undecided):,} posts", key="cmp_go", type="primary",
                  disabled=not sure, on_click=on_decide, args=(user, chosen, reviewed, action, reason, suspend))
