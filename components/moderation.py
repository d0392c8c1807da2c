"""Moderator widgets: queue settings, the review card (masked or highlighted offending words) and the write
calls, each under the app's write lock and followed by clearing cached query results. Decisions name the state
the moderator saw (`seen`), so a stale one is refused (StaleDecision) rather than overwriting a newer one."""
from __future__ import annotations

import streamlit as st

from analytics import moderation, store
from analytics.access.auth import User
from analytics.models.explain import offending_words
from analytics.moderation import detections, exposure, known_claims
from components import caching, data, privacy
from components.enrichment import worker
from components.highlight import attribution_markdown
from components.post_card import escape_md, post_card
from components.resources import cursor, models

PAST = {"approve": "approved", "remove": "removed", "escalate": "escalated"}
MASK_AT = 0.05  # offending: removing the word lowers P(toxic) by 5 points, or the word alone is toxic


def queue_settings(key: str, topics: list[str], team: dict[str, float]) -> dict:
    """Sidebar: per-label thresholds (starting at the team's), order, label/topic/author filters, escalated
    items, masking. Returns them."""
    with st.sidebar:
        st.subheader("Queue")
        order = st.selectbox("Priority", list(moderation.ORDERS), key=f"{key}_order",
                             format_func={"score": "highest score", "newest": "newest", "oldest": "oldest",
                                          "reach": "expected reach (followers + interactions)"}.get)
        families = st.multiselect("Flagged by", moderation.FAMILIES, key=f"{key}_families",
                                  help="Label families: the toxicity model, a detected coordinated campaign, a "
                                       "match to a known false claim (all when empty).")
        labels = st.multiselect("Toxicity labels", moderation.LABELS, key=f"{key}_labels",
                                help="Only posts flagged for these labels (all when empty).")
        topic = st.multiselect("Topics", topics, key=f"{key}_topics")
        author = st.text_input("Author handle", key=f"{key}_author").strip().lstrip("@")
        escalated = st.checkbox("Include escalated posts", key=f"{key}_escalated")
        unscreened = st.checkbox("Include posts the toxicity model cannot screen", key=f"{key}_unscreened",
                                 help="Posts in languages other than English, which its English vocabulary cannot "
                                      "read; they come after the flagged posts, marked 'not screened'.")
        with st.expander("Thresholds per label"):
            st.caption("Start at the team's thresholds (an admin sets them on the Quality page); changes here "
                       "only affect this session's queue.")
            thresholds = {label: st.slider(label, 0.05, 0.95, team[label], 0.05, key=f"{key}_t_{label}")
                          for label in moderation.LABELS}
        mask = st.toggle("Mask offending words until revealed", value=True, key=f"{key}_mask")
    return {"thresholds": thresholds, "order": order, "labels": labels or None, "families": families or None,
            "topics": tuple(topic),
            "author": author or None, "include_escalated": escalated, "unscreened": unscreened, "mask": mask}


def _masked(pairs: list[tuple[str, float]]) -> str:
    return " ".join("█" * len(w) if a >= MASK_AT else w for w, a in pairs)


def _reveal(state_key: str, post_id: str, masked: int, page: str) -> None:
    """Show the masked words of one post, and log that this moderator revealed them (audit log, through the store
    writer): raw offensive text is seen on purpose, and on the record."""
    from components.auth import current_user

    user = current_user()
    with cursor() as cur:
        store.append_audit(cur, user.username if user else "anonymous", "reveal", "post", post_id,
                           {"masked_words": masked, "view": page})
    st.session_state[state_key] = True


def review_card(item: dict, mask: bool, thresholds: dict[str, float], key: str) -> None:
    """One queued post: text (offending words masked until revealed, or highlighted), label scores against their
    thresholds, the author's record and the thread it replies to."""
    models()
    pairs = offending_words(privacy.text(item["text"]))
    with st.container(border=True):
        meta = [f"@{privacy.handle(item['handle'])}", str(item["created_at"])[:16], item["topic"] or "",
                f"reach {item['reach']:,}"]
        st.caption(" · ".join(escape_md(x) for x in meta if x))
        with cursor() as cur:
            e = exposure.per_post(cur, [item["post_id"]]).iloc[0]
        st.caption(f"Exposure so far: {e['viewers']:,} users viewed it · {e['likes']:,} likes · {e['shares']:,} "
                   f"shares · {e['replies']:,} replies · {e['reports']:,} reports")
        revealed = st.session_state.get(f"{key}_reveal_{item['post_id']}", False)
        if mask and not revealed:
            st.text(_masked(pairs))
            st.button("Reveal", key=f"{key}_reveal_btn", help="Show the masked words, highlighted (logged)",
                      on_click=_reveal, args=(f"{key}_reveal_{item['post_id']}", item["post_id"],
                                              sum(a >= MASK_AT for _, a in pairs), key))
        else:
            st.markdown(attribution_markdown(pairs, threshold=MASK_AT, neg_color="gray"))
        if item["max_label"] == moderation.NOT_SCREENED:
            st.warning(f"Not screened by the toxicity model: this post is in '{escape_md(item['lang'] or 'und')}', "
                       "and the model reads English only. Its scores below mean nothing; read the post.")
        why(item)
        meaning(item)
        scores = {label: float(item[label]) for label in moderation.LABELS if item[label] is not None
                  and item[label] == item[label]}
        if scores:
            st.caption("The BiLSTM (word-based, English only): its flag counts only when the meaning model, where it "
                       f"has read the post, puts P(abuse) at {data.team_abuse_thresholds()['corroborate']:g} or more")
            st.dataframe({"label": list(scores), "score": [round(s, 3) for s in scores.values()],
                          "threshold": [thresholds[label] for label in scores],
                          "over threshold": [s >= thresholds[label] for label, s in scores.items()]},
                         hide_index=True, width="stretch")
    left, right = st.columns(2)
    with left:
        with cursor() as cur:
            h = moderation.author_history(cur, item["author_id"], thresholds)
        st.markdown(f"**Author @{escape_md(privacy.handle(item['handle']))}**")
        share = "–" if h["flagged_share"] is None else f"{h['flagged_share']:.0%}"
        st.caption(f"{h['posts']:,} posts · {h['flagged']:,} of {h['scored']:,} scored flagged ({share}) · "
                   + " · ".join(f"{n} {PAST[a]}" for a, n in h["states"].items()))
    with right:
        with cursor() as cur:
            thread = moderation.thread_context(cur, item["post_id"])
        st.markdown("**In reply to**" if not thread.empty else "**Not a reply**")
        for p in thread.to_dict("records"):
            post_card(p)


def meaning(item: dict) -> None:
    """The meaning model's reading of a queued post: which model flagged it, the category scores against their
    thresholds, and the policy examples nearest in meaning (the explanation)."""
    if item.get("flagged_by"):
        st.caption(f"Abuse screening: flagged by the {item['flagged_by']} ({escape_md(str(item['max_label']))})")
    if item.get("a_abuse") is None or item["a_abuse"] != item["a_abuse"]:
        st.caption("The meaning model has not read this post yet (it waits for the post's embedding).")
        return
    team = data.team_abuse_thresholds()
    th = {c: t for c, t in team.items() if c not in ("any", "corroborate")}
    st.dataframe({"category": list(th), "score": [round(float(item[f"a_{c}"]), 3) for c in th],
                  "threshold": list(th.values()),
                  "over threshold": [float(item[f"a_{c}"]) >= t for c, t in th.items()]},
                 hide_index=True, width="stretch")
    if team.get("any", 2.0) <= 1:
        st.caption(f"P(abuse) {float(item['a_abuse']):.3f}: at {team['any']:g} or more the "
                   "post is flagged under its most likely category even when no single category reaches its "
                   "threshold.")
    with cursor() as cur:
        near = moderation.nearest_policy_examples(cur, item["post_id"], item["abuse_category"])
    if not near.empty:
        st.caption(f"Nearest policy examples of '{item['abuse_category']}' (cosine similarity):")
        st.dataframe(near[["similarity", "text", "kind", "lang"]], hide_index=True, width="stretch")


def why(item: dict) -> None:
    """Which detectors put the post in the queue, each with its reason (campaign signals, claim similarity)."""
    families = list(item.get("families") if item.get("families") is not None else [])
    st.caption("Flagged by: " + ", ".join(families))
    if "campaign" in families:
        st.info(f"Part of detected campaign {item['campaign_id']}: {item['campaign_reason']}. Decide it as a whole "
                "on the Campaigns page.")
    if "known claim" in families:
        st.info(f"Repeats known claim #{int(item['claim_id'])} (similarity {item['claim_similarity']:.3f}, threshold "
                f"{moderation.CLAIM_THRESHOLD}):")
        st.text(privacy.text(item["claim_text"]))


def claim_next(user: User, s: dict) -> str | None:
    """Claim the next item for `user` under settings `s` (another moderator's live claim is skipped)."""
    with cursor() as cur:
        return moderation.claim_next(cur, user, s["thresholds"], s["order"], s["labels"], s["topics"],
                                     s["author"], s["include_escalated"], unscreened=s["unscreened"],
                                     families=s["families"])


def decide(user: User, post_id: str, seen: int | None, action: str, reason: str, note: str | None) -> int:
    """Record a decision by `user` on the state they saw (`seen`: the post's standing decision_id on screen, None
    if undecided); StaleDecision if it changed meanwhile (nothing recorded). The analytics layer checks the role."""
    try:
        with cursor() as cur:
            return moderation.decide(cur, user, post_id, action, reason, note or None, seen=moderation.as_seen(seen))
    finally:
        caching.clear("decisions")  # a refused decision means the cached state is out of date too


def stale_notice(e: moderation.StaleDecision, user: User) -> str:
    """What a moderator reads when a decision was refused because the post changed since they saw it."""
    who = "you (elsewhere)" if e.by == user.username else e.by
    return (f"This post was decided by {who} meanwhile (now {e.state or 'undecided'}); nothing was recorded. "
            "Reload to see it: the page now shows its current state.")


def bulk_decide(user: User, reviewed: list[tuple[str, int | None]], action: str, reason: str,
                note: str | None) -> moderation.BulkResult:
    """Record one decision on each reviewed (post_id, seen) as a single all-or-nothing batch; posts that changed
    since they were reviewed are skipped (returned in `skipped`)."""
    bar = st.progress(0.0, text=f"Recording {len(reviewed):,} decisions…")
    try:
        with cursor() as cur:
            return moderation.bulk_decide(cur, user, reviewed, action, reason, note or None,
                                          progress=lambda d, t: bar.progress(d / max(t, 1)))
    finally:
        caching.clear("decisions")


def decide_campaign(user: User, campaign_id: str, reviewed: list[tuple[str, int | None]], action: str, reason: str,
                    note: str | None, suspend: bool) -> moderation.BulkResult:
    """Decide a detected campaign as a whole (the `reviewed` posts as shown, optionally suspending its accounts),
    with a progress bar; one transaction, audited with the campaign's id."""
    bar = st.progress(0.0, text=f"Recording {len(reviewed):,} decisions…")
    try:
        with cursor() as cur:
            return detections.decide_campaign(cur, user, campaign_id, reviewed, action, reason, note or None, suspend,
                                              progress=lambda d, t: bar.progress(d / max(t, 1)))
    finally:
        caching.clear("decisions")


def add_claim(user: User, text: str, verdict: str, source_url: str | None, examples: list[str]) -> int:
    """Add a known claim (audited); the worker embeds it and matches the posts against it in the background."""
    with cursor() as cur:
        claim_id = known_claims.add(cur, user, text, verdict, source_url or None, examples)
    caching.clear("detections")
    worker().redetect()
    return claim_id


def retire_claim(user: User, claim_id: int) -> None:
    """Retire a known claim (audited): it stops matching; the worker drops its stored matches."""
    with cursor() as cur:
        known_claims.update(cur, user, claim_id, retire=True)
    caching.clear("detections")
    worker().redetect()


def undo_preview(user: User) -> dict | None:
    """What `user`'s next undo would cancel (decision_id, post_id, action, batch_id, count), or None."""
    with cursor() as cur:
        return moderation.undo_preview(cur, user)


def undo_last(user: User, seen: int, confirm_batch: bool = False) -> int | None:
    """Undo `user`'s latest decision, provided it is still `seen` (StaleUndo otherwise; a batch needs
    confirm_batch, ConfirmBatchUndo otherwise); returns the undone decision id."""
    try:
        with cursor() as cur:
            return moderation.undo_last(cur, user, seen=seen, confirm_batch=confirm_batch)
    finally:
        caching.clear("decisions")


def save_thresholds(user: User, new: dict[str, float]) -> dict[str, float]:
    """Set team thresholds (admins); audited."""
    with cursor() as cur:
        merged = moderation.save_thresholds(cur, user, new)
    caching.clear("settings")
    return merged


def save_abuse_thresholds(user: User, new: dict[str, float]) -> dict[str, float]:
    """Set the meaning model's category thresholds for the head in force (admins); audited."""
    with cursor() as cur:
        merged = moderation.save_abuse_thresholds(cur, user, new)
    caching.clear("settings")
    return merged


def retrain_abuse(user: User) -> dict:
    """Retrain the abuse model's head from the decisions (admins), with a progress bar; the new version is kept,
    not adopted. Shows the error (too few decisions) and returns {} on bad input."""
    bar = st.progress(0.0, text="Retraining the abuse model's head from moderators' decisions…")
    try:
        with cursor() as cur:
            got = moderation.retrain(cur, user, lambda done, total, msg: bar.progress(done / total, text=msg))
    except ValueError as e:
        bar.empty()
        st.error(str(e))
        return {}
    caching.clear("settings")
    return got


def adopt_abuse_head(user: User, version: str, rollback: bool = False) -> str:
    """Put a head in force (or roll back to the previous one) and re-score every post under it (admins)."""
    with st.spinner("Re-scoring every post under the new head…"):
        with cursor() as cur:
            if rollback:
                version = moderation.rollback(cur, user)
            else:
                moderation.adopt(cur, user, version)
    caching.clear("scores", "settings")
    return version


def release(user: User, post_id: str) -> None:
    """Give a claimed item back to the queue."""
    with cursor() as cur:
        moderation.release(cur, user, post_id)
