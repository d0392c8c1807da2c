"""Audit log: every moderation event (decisions and undos), filtered by moderator, action and date, with export."""
from datetime import date, timedelta

import streamlit as st

from analytics import moderation
from analytics.access import signin
from analytics.access.inert import strip_controls
from analytics.moderation import accounts, exposure
from components.auth import require
from components.drilldown import table
from components.resources import cursor

user = require("view_audit")
st.title("Audit log")
st.caption("Decisions are append-only events: an undo is a new event that cancels an earlier one, never a delete. "
           "A post's current state is its latest decision that no undo cancels.")
with cursor() as cur:
    moderators = moderation.decisions_per_moderator(cur)["moderator"].tolist()
c = st.columns(3)
who = c[0].selectbox("Moderator", ["any", *moderators], key="audit_moderator", format_func=strip_controls)
action = c[1].selectbox("Action", ["any", *moderation.ACTIONS, moderation.UNDO], key="audit_action")
today = date.today()
period = c[2].date_input("Dates", (today - timedelta(days=30), today), key="audit_dates")
start, end = (period if len(period) == 2 else (period[0], period[0]))
with cursor() as cur:
    log = moderation.audit(cur, user, None if who == "any" else who, None if action == "any" else action, start, end)
st.metric("Events", f"{len(log):,}")
table(log, "audit", "audit_log.csv")
removals = log[(log["action"] == "remove") & ~log["undone"]]["post_id"].drop_duplicates().tolist()
if removals:
    with st.expander(f"Exposure of the {len(removals):,} removed posts listed: how far they travelled before removal"):
        with cursor() as cur:
            table(exposure.per_post(cur, removals), "audit_exposure", "exposure_before_removal.csv")
        st.caption("Viewers are the distinct users who viewed the post before its removal (the feeds that showed "
                   "it); views, likes, shares, replies and reports are the interactions before then.")

st.subheader("Account actions")
st.caption("Suspensions, reinstatements and warnings, append-only like decisions: an account's state is its latest "
           "suspend or reinstate.")
with cursor() as cur:
    table(accounts.log(cur), "audit_accounts", "account_actions.csv")

st.subheader("Sign-in events")
st.caption(f"Every sign-in, failure, lockout and refused attempt. {signin.MAX_FAILURES} wrong passwords for a "
           f"username within {signin.WINDOW.seconds // 60} minutes lock it for {signin.WINDOW.seconds // 60} minutes; "
           f"{signin.CLIENT_MAX_FAILURES} from one client address lock that address.")
with cursor() as cur:
    table(signin.events(cur, user), "audit_sign_in", "sign_in_events.csv")
