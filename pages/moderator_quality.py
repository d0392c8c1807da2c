"""Moderation quality: model vs human agreement per label, decisions per moderator, queue size and age, a
threshold tuner from past decisions, and the abuse model learning from decisions (retrain, held-out gate, adopt,
roll back, per-category thresholds)."""
import streamlit as st

from analytics import moderation
from components import charts, data
from components import moderation as moderation_ui
from components.auth import require
from components.drilldown import table
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
        moderation_ui.save_thresholds(user, {label: new})
        st.session_state["quality_saved"] = f"The team's {label} threshold is now {new:.2f} (audited)."
        st.rerun()
else:
    st.caption(f"The team's {label} threshold is {team[label]:.2f}; an admin can change it here.")

st.subheader("Abuse model: learning from decisions")
st.caption("Decisions become labels for the meaning model's head: removed for a policy category teaches that "
           "category, approved teaches 'none'. A retrain fits a new head from the head in force and the decided "
           "posts; it is checked on the held-out set before it can be adopted, and adopting re-scores every post "
           "at once. A rollback puts back the head in force before.")
if done := st.session_state.pop("quality_abuse_done", None):
    st.success(done)
heads, state = data.abuse_heads(), data.abuse_head_state()
current = heads.loc[heads["in_force"], "version"].iloc[0]
st.markdown(f"**In force:** `{current}`")
table(heads, "quality_abuse_heads", "abuse_heads.csv")
retrained = heads[heads["decisions"] > 0]
if user.can("tune_thresholds"):
    c = st.columns(3)
    if c[0].button(f"Retrain from {state['decided']:,} decided posts", key="quality_abuse_retrain"):
        got = moderation_ui.retrain_abuse(user)
        if got:
            st.session_state["quality_abuse_done"] = (
                f"New head {got['version']}: {got['evaluation']['gate']}. Adopt it below to put it in force.")
            st.rerun()
    adoptable = heads.loc[heads["passed_gate"] & ~heads["in_force"], "version"].tolist()
    if adoptable:
        pick = c[1].selectbox("Head to adopt", adoptable, key="quality_abuse_pick")
        if c[1].button("Adopt and re-score every post", key="quality_abuse_adopt"):
            moderation_ui.adopt_abuse_head(user, pick)
            st.session_state["quality_abuse_done"] = f"Head {pick} is in force; every post was re-scored (audited)."
            st.rerun()
    if state["previous"] and c[2].button(f"Roll back to {state['previous']}", key="quality_abuse_rollback"):
        back = moderation_ui.adopt_abuse_head(user, state["previous"], rollback=True)
        st.session_state["quality_abuse_done"] = f"Rolled back: head {back} is in force again (audited)."
        st.rerun()
if len(retrained):
    shown = st.selectbox("Before and after of a retrain", retrained["version"].tolist(), key="quality_abuse_eval")
    ev = data.abuse_head_evaluation(shown)
    labels = ", ".join(f"{n} {k}" for k, n in ev["decided"]["by_label"].items())
    st.caption(f"{ev['decided']['posts']:,} decided posts ({labels}); "
               f"'after' on decided posts is {ev['decided']['after_is']}. Held-out gate: {ev['gate']}.")
    table(moderation.before_after(ev), "quality_abuse_before_after", f"abuse_head_{shown}.csv")

st.markdown("**Meaning model thresholds** (for the head in force)")
abuse_th = data.team_abuse_thresholds()
cats = [k for k in abuse_th if k not in ("any", "corroborate")]
if user.can("tune_thresholds"):
    c = st.columns([1, 1, 2])
    cat = c[0].selectbox("Category", cats, key="quality_abuse_cat")
    value = c[1].number_input(f"Threshold for {cat}", 0.05, 1.0, float(abuse_th[cat]), 0.025, key="quality_abuse_th")
    if c[2].button(f"Save {value:.3f} as the team's {cat} threshold", key="quality_abuse_save"):
        moderation_ui.save_abuse_thresholds(user, {cat: value})
        st.session_state["quality_abuse_done"] = f"The meaning model's {cat} threshold is now {value:.3f} (audited)."
        st.rerun()
st.dataframe({"category": [*cats, "any (on P(abuse))", "BiLSTM corroboration"],
              "threshold": [abuse_th[c] for c in cats] + [abuse_th.get("any", 2.0), abuse_th["corroborate"]]},
             hide_index=True, width="stretch")
