"""Moderation quality: model vs human agreement per label, decisions per moderator, queue size and age, and a
threshold tuner from past decisions."""
import streamlit as st

from analytics import moderation
from components import charts, data
from components.auth import require
from components.drilldown import table
from components.moderation import save_thresholds
from components.resources import cursor

user = require("view_audit")
st.title("Quality")
if saved := st.session_state.pop("quality_saved", None):
    st.success(saved)
team = data.team_thresholds()
with cursor() as cur:
    stats = moderation.queue_stats(cur, team)
    precision = moderation.flag_precision(cur, team)
    per_moderator = moderation.decisions_per_moderator(cur)
c = st.columns(4)
c[0].metric("Queue size", f"{stats['size']:,}")
c[1].metric("Escalated", f"{stats['escalated']:,}")
c[2].metric("Oldest waiting", "–" if stats["oldest_age"] is None else f"{stats['oldest_age'].days} days")
c[3].metric("Median wait", "–" if stats["median_age"] is None else f"{stats['median_age'].days} days")

st.subheader("Model vs moderators, per label")
st.caption("Precision of the model's flags at the team's threshold: of the flagged posts that moderators decided, "
           "the share they removed (escalated posts wait for a final call and are not counted).")
table(precision, "quality_precision", "flag_precision.csv")

st.subheader("Decisions per moderator")
table(per_moderator, "quality_moderators", "decisions_per_moderator.csv")

st.subheader("Threshold tuner")
label = st.selectbox("Label", moderation.LABELS, key="quality_label")
with cursor() as cur:
    tuner = moderation.threshold_tuner(cur, label)
st.plotly_chart(charts.threshold_chart(tuner, label, team[label]), width="stretch")
st.caption("For each threshold: how many undecided posts the queue would hold, and the precision that past "
           "decisions give at that threshold (removed / decided among posts scoring at or above it). The dashed "
           "line is the team's current threshold.")
table(tuner, "quality_tuner", f"threshold_tuner_{label}.csv")
if user.can("tune_thresholds"):
    c = st.columns([1, 2])
    new = c[0].number_input(f"Team threshold for {label}", 0.05, 0.95, team[label], 0.05, key="quality_new")
    if c[1].button(f"Save {new:.2f} as the team's {label} threshold", key="quality_save"):
        save_thresholds(user, {label: new})
        st.session_state["quality_saved"] = f"The team's {label} threshold is now {new:.2f} (audited)."
        st.rerun()
else:
    st.caption(f"The team's {label} threshold is {team[label]:.2f}; an admin can change it here.")
