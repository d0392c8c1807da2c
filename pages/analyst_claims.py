"""Analyst: how known false claims spread. Each claim moderators keep (Meedan Check style: text, verdict, source)
with the posts that repeat it in any words or language (matched by the multilingual encoder at the shown
threshold), its spread over time by language, who spread it and how far it reached. Moderators also add claims
and retire them here; every change is audited."""
import pandas as pd
import streamlit as st

from analytics.access.auth import User
from analytics.analyst.filters import PostFilter
from analytics.moderation import known_claims
from components import charts, data, privacy
from components.auth import current_user, require
from components.drilldown import table
from components.enrichment import detection_note
from components.moderation import add_claim, retire_claim


def on_add(user: User) -> None:
    text = st.session_state["claims_new_text"]
    examples = [e for e in st.session_state["claims_new_examples"].splitlines() if e.strip()]
    try:
        claim_id = add_claim(user, text, st.session_state["claims_new_verdict"],
                             st.session_state["claims_new_source"], examples)
        notice = ("success", f"Claim #{claim_id} added (audited). Posts are matched against it in the background "
                             "within a minute.")
        for k in ("claims_new_text", "claims_new_source", "claims_new_examples"):
            st.session_state[k] = ""
    except ValueError as e:
        notice = ("warning", f"Not added: {e}")
    st.session_state["claims_notice"] = notice


def on_retire(user: User, claim_id: int) -> None:
    retire_claim(user, claim_id)
    st.session_state["claims_notice"] = ("success", f"Claim #{claim_id} retired (audited): it no longer matches.")


require("view_analytics")
user = current_user()
st.title("Known claims")
st.caption(f"Posts repeat a claim when their multilingual embedding is within cosine {known_claims.THRESHOLD} of "
           "the claim's text or one of its confirmed examples (tuned on the sample's labelled narrative: 23 of 26 "
           "re-worded posts, no false match). Paraphrases and translations count; a true report of the same event "
           "can come close, so read the posts.")
if notice := st.session_state.pop("claims_notice", None):
    getattr(st, notice[0])(notice[1])

overview = data.claims_overview()
if user is not None and user.can("moderate"):
    with st.expander("Add a known claim (moderators)"):
        st.text_area("Claim", key="claims_new_text", max_chars=500, height=80)
        c = st.columns(2)
        c[0].selectbox("Verdict", known_claims.VERDICTS, key="claims_new_verdict")
        c[1].text_input("Source (fact-check link)", key="claims_new_source", max_chars=500)
        st.text_area("Examples: posts that make the claim in other words, one per line (optional; they widen "
                     "the match)", key="claims_new_examples", height=80)
        st.button("Add claim", key="claims_add", on_click=on_add, args=(user,))
if overview.empty:
    st.info("No known claims yet." + (" Add one above." if user and user.can("moderate") else
                                      " Moderators add them here."))
    st.stop()
if data.detections_refreshed_at() is None:
    detection_note()

table(overview, "claims_overview", "known_claims.csv",
      ["claim_id", "verdict", "text", "matches", "authors", "languages", "first_at", "last_at", "viewers", "removed",
       "source_url", "added_by", "added_at", "retired_at"])
labels = {r.claim_id: f"#{r.claim_id} · {r.verdict} · {r.matches} posts · {r.text[:80]}"
          for r in overview.itertuples()}
chosen = st.selectbox("Open a claim", list(labels), format_func=lambda c: privacy.text(labels[c]), key="claims_id")
claim = overview.set_index("claim_id").loc[chosen]

st.subheader(f"Claim #{chosen} ({claim['verdict']})")
st.text(privacy.text(claim["text"]))
if isinstance(claim["source_url"], str) and claim["source_url"]:
    st.text("Fact-check: " + privacy.text(claim["source_url"]))
m = st.columns(5)
m[0].metric("Matching posts", f"{claim['matches']:,}")
m[1].metric("Accounts", f"{claim['authors']:,}")
m[2].metric("Languages", ", ".join(claim["languages"]) or "–")
m[3].metric("Reached users", f"{claim['viewers']:,}", help="Distinct users who viewed a matching post.")
m[4].metric("Removed", f"{claim['removed']:,}")
spread = data.claim_spread(int(chosen))
if spread.empty:
    embedded, total = data.model_coverage(PostFilter())["embedding"]
    st.info("No post matches this claim" + (
        f" yet: posts are matched by their embeddings, and {total - embedded:,} of {total:,} posts still wait for "
        "theirs (the background enrichment is computing them: progress in the sidebar)." if embedded < total
        else "."))
else:
    st.plotly_chart(charts.claim_spread_chart(spread), width="stretch")
    tabs = st.tabs(["Who spread it", "Matching posts"])
    with tabs[0]:
        table(data.claim_spreaders(int(chosen)), "claims_spreaders", f"claim_{chosen}_spreaders.csv",
              ["handle", "posts", "first_at", "followers", "viewers", "removed"])
        st.caption("Most followed first; viewers are distinct users who viewed their matching posts.")
    with tabs[1]:
        table(data.claim_posts(int(chosen)), "claims_posts", f"claim_{chosen}_posts.csv",
              ["created_at", "handle", "lang", "similarity", "state", "text", "post_id"])
if user is not None and user.can("moderate") and pd.isna(claim["retired_at"]):
    st.button("Retire this claim", key=f"claims_retire_{chosen}", on_click=on_retire, args=(user, int(chosen)),
              help="It stops matching new and old posts; audited.")
