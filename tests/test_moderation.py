"""Moderation queue, claims, decisions and undo on tiny hand-made stores with exact expected results."""
import json
import math
import os
import signal
import subprocess
import sys
from datetime import datetime, timedelta

import pandas as pd
import pytest

from analytics import moderation, store
from analytics.access.auth import PermissionDenied, User
from analytics.models import abuse
from analytics.models.registry import model_key
from analytics.moderation import DEFAULT_THRESHOLDS, LABELS

ROOT = store.DEFAULT_DB.parent.parent
T = datetime(2026, 2, 1, 12, 0)
MOD, MOD2 = User("m1", "Mod One", "moderator"), User("m2", "Mod Two", "moderator")
ANALYST = User("an", "Ann Analyst", "analyst")
SCRIPT = "<script>alert(1)</script> **bold** [x](javascript:alert(1))"


def tox_rows(scores: dict[str, dict[str, float]], version: str | None = None) -> pd.DataFrame:
    model_id, current = model_key("toxicity")
    full = {pid: {label: s.get(label, 0.0) for label in LABELS} for pid, s in scores.items()}
    return pd.DataFrame({"post_id": list(full), "model_id": model_id, "model_version": version or current,
                         "label": [max(s, key=s.get) for s in full.values()],
                         "score": [max(s.values()) for s in full.values()],
                         "scores": [json.dumps(s) for s in full.values()], "scored_at": T})


@pytest.fixture
def con(tmp_path):
    c = store.connect(tmp_path / "mod.duckdb")
    store.upsert(c, "users", pd.DataFrame({"user_id": ["a", "b", "c"], "handle": ["ann", "bob", "cat"],
                                           "source": "test"}))
    store.upsert(c, "follows", pd.DataFrame({"follower_id": ["b", "c", "a"], "followee_id": ["a", "a", "b"]}))
    ids = [f"p{i}" for i in range(1, 10)]
    store.upsert(c, "posts", pd.DataFrame({
        "post_id": ids, "author_id": ["a", "a", "b", "c", "b", "c", "c", "c", "c"],
        "created_at": [datetime(2026, 1, i) for i in range(1, 10)],
        "text": ["you idiot", "what a loser", "watch your back", "calm down", SCRIPT, "old model hates this",
                 "reply to p4", "reply to p7", "reply to p8"],
        "topic": ["t1", "t2", "t1", "t1", "t2", "t1", "t1", "t1", "t1"],
        "parent_id": [None, None, None, "p3", None, None, "p4", "p7", "p8"], "source": "test"}))
    store.upsert(c, "interactions", pd.DataFrame({
        "interaction_id": range(6), "user_id": "c", "post_id": ["p3"] * 5 + ["p1"], "kind": "view",
        "ts": T}))
    store.upsert(c, "model_scores", tox_rows({
        "p1": {"toxic": 0.9, "insult": 0.2}, "p2": {"toxic": 0.3, "insult": 0.7},
        "p3": {"toxic": 0.6, "threat": 0.55}, "p4": {"toxic": 0.1}, "p5": {"toxic": 0.8}}))
    store.upsert(c, "model_scores", tox_rows({"p6": {"toxic": 0.99}}, version="old"))  # stale version: ignored
    yield c
    c.close()


def ids(df):
    return df["post_id"].tolist()


def rows(con, table):
    return con.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()


def states(con):
    return dict(moderation.post_states(con)[["post_id", "state"]].values.tolist())


def test_policy():
    assert moderation.reason_codes("approve") == ("no_violation", "context_ok", "satire")
    assert "harassment" in moderation.reason_codes("remove") == moderation.reason_codes("escalate")
    assert set(moderation.POLICY) == {c for a in moderation.ACTIONS for c in moderation.reason_codes(a)}
    assert set(DEFAULT_THRESHOLDS) == set(LABELS) and "identity_hate" in LABELS
    with pytest.raises(ValueError):
        moderation.reason_codes("undo")


def test_queue_orders_and_columns(con):
    q = moderation.queue(con, now=T)
    assert ids(q) == ["p1", "p5", "p2", "p3"]  # by max_score; p4 below every threshold, p6 only has a stale score
    assert list(q.columns) == ["post_id", "created_at", "handle", "author_id", "topic", "text", "parent_id", "lang",
                               "max_label", "max_score", *LABELS, "families", "flagged_by", "abuse_category",
                               "abuse_score", *(f"a_{c}" for c in (*abuse.CATEGORIES, "abuse")), "campaign_id",
                               "campaign_reason",
                               "claim_id", "claim_similarity", "claim_text", "followers", "interactions", "reach",
                               "state", "decision_id", "claimed_by"]
    p2 = q.set_index("post_id").loc["p2"]
    assert (p2.max_label, p2.max_score, p2.toxic, p2.insult, p2.handle) == ("insult", 0.7, 0.3, 0.7, "ann")
    assert q[["post_id", "followers", "interactions", "reach"]].values.tolist() == [
        ["p1", 2, 1, 3], ["p5", 1, 0, 1], ["p2", 2, 0, 2], ["p3", 1, 5, 6]]
    assert ids(moderation.queue(con, order="newest", now=T)) == ["p5", "p3", "p2", "p1"]
    assert ids(moderation.queue(con, order="oldest", now=T)) == ["p1", "p2", "p3", "p5"]
    assert ids(moderation.queue(con, order="reach", now=T)) == ["p3", "p1", "p2", "p5"]
    assert ids(moderation.queue(con, limit=2, now=T)) == ["p1", "p5"]
    with pytest.raises(ValueError):
        moderation.queue(con, order="random")


def test_posts_the_toxicity_model_cannot_screen_are_marked_and_listed_on_request(con):
    """A Chinese post scored harmless by the English model is not passed silently: the stats count it and the queue
    lists it on request, after the flagged posts, as 'not screened'; a Chinese post the model did flag stays
    flagged."""
    store.upsert(con, "posts", pd.DataFrame({
        "post_id": ["z1", "z2"], "author_id": "b", "created_at": [datetime(2026, 1, 10), datetime(2026, 1, 11)],
        "text": ["你这个蠢货，滚出去", "fuck 你"], "lang": "zh", "topic": "t1", "source": "test"}))
    store.upsert(con, "model_scores", tox_rows({"z1": {"toxic": 0.02}, "z2": {"toxic": 0.95}}))
    assert "z1" not in ids(moderation.queue(con, now=T)) and "z2" in ids(moderation.queue(con, now=T))
    assert moderation.queue_stats(con, now=T)["unscreened"] == 2  # undecided posts in other languages
    q = moderation.queue(con, now=T, unscreened=True)
    assert ids(q) == ["z2", "p1", "p5", "p2", "p3", "z1"], "after the flagged ones in score order"
    z1 = q.set_index("post_id").loc["z1"]
    assert (z1.max_label, z1.lang) == (moderation.NOT_SCREENED, "zh") and math.isnan(z1.max_score)
    assert q.set_index("post_id").loc["z2"].max_label == "toxic"
    assert moderation.claim_next(con, MOD, order="newest", now=T, unscreened=True) == "z2"
    moderation.decide(con, MOD, "z1", "approve", "no_violation", seen=None)
    assert moderation.queue_stats(con, now=T)["unscreened"] == 1


def test_queue_thresholds_per_label_and_filters(con):
    assert ids(moderation.queue(con, {"toxic": 0.85, "insult": 0.5}, now=T)) == ["p1", "p2"]
    threat = moderation.queue(con, labels=["threat"], now=T)
    assert threat[["post_id", "max_label", "max_score"]].values.tolist() == [["p3", "threat", 0.55]]
    assert ids(moderation.queue(con, {**DEFAULT_THRESHOLDS, "toxic": 0.6}, now=T)) == ["p1", "p5", "p2", "p3"]
    assert ids(moderation.queue(con, {**DEFAULT_THRESHOLDS, "toxic": 0.61, "threat": 0.6}, now=T)) == ["p1", "p5", "p2"]
    assert ids(moderation.queue(con, topics=("t2",), now=T)) == ["p5", "p2"]
    assert ids(moderation.queue(con, author="@bob", now=T)) == ["p5", "p3"]
    for bad in [{"toxic": 0.5, "rude": 0.5}, {}]:
        with pytest.raises(ValueError):
            moderation.queue(con, bad)
    with pytest.raises(ValueError):
        moderation.queue(con, {"toxic": 0.5}, labels=["insult"])


def test_queue_returns_text_unchanged_and_filters_are_parameterised(con):
    q = moderation.queue(con, now=T)
    assert q.set_index("post_id").loc["p5", "text"] == SCRIPT
    assert moderation.queue(con, author="x' OR '1'='1", now=T).empty
    assert moderation.queue(con, topics=("t1') OR TRUE --",), now=T).empty
    assert moderation.queue(con, moderator="m1' OR TRUE --", now=T)["post_id"].tolist() == ids(q)
    assert store.table_counts(con)["posts"] == 9


def test_claims_hide_items_from_others_until_expiry(con):
    assert moderation.claim_next(con, MOD, now=T) == "p1"
    assert ids(moderation.queue(con, moderator="m2", now=T)) == ["p5", "p2", "p3"]
    assert ids(moderation.queue(con, now=T)) == ["p5", "p2", "p3"]
    mine = moderation.queue(con, moderator="m1", now=T)
    assert mine[["post_id", "claimed_by"]].values.tolist()[0] == ["p1", "m1"]
    assert moderation.claim_next(con, MOD2, now=T) == "p5"
    assert moderation.claim_next(con, MOD, now=T + timedelta(minutes=1)) == "p1"  # own claim, renewed
    later = T + timedelta(minutes=11)
    assert ids(moderation.queue(con, moderator="m2", now=later)) == ["p1", "p5", "p2", "p3"]
    assert moderation.claim_next(con, MOD2, labels=["insult"], now=T) == "p2"
    with pytest.raises(moderation.ClaimedByOther):
        moderation.decide(con, MOD2, "p1", "remove", "harassment", now=T, seen=None)
    assert moderation.release(con, MOD, "p1") and not moderation.release(con, MOD, "p1")
    assert rows(con, "claims") == [("p2", "m2", T, T + timedelta(minutes=10)),
                                   ("p5", "m2", T, T + timedelta(minutes=10))]
    moderation.decide(con, MOD2, "p5", "remove", "spam", now=T, seen=None)
    assert [r[0] for r in rows(con, "claims")] == ["p2"]  # deciding releases the claim


def test_decide_validates_and_checks_role(con):
    for user in (ANALYST, None, User("p", "P", "product")):
        with pytest.raises(PermissionDenied):
            moderation.decide(con, user, "p1", "remove", "harassment", seen=None)
    with pytest.raises(PermissionDenied):
        moderation.undo_last(con, ANALYST)
    with pytest.raises(PermissionDenied):
        moderation.bulk_decide(con, ANALYST, [("p1", None)], "remove", "spam")
    with pytest.raises(PermissionDenied):
        moderation.audit(con, ANALYST)
    for action, reason in [("delete", "spam"), ("remove", "satire"), ("approve", "spam"), ("undo", None)]:
        with pytest.raises(ValueError):
            moderation.decide(con, MOD, "p1", action, reason, seen=None)
    with pytest.raises(KeyError):
        moderation.decide(con, MOD, "nope", "remove", "spam", seen=None)
    assert rows(con, "moderation_decisions") == [] and rows(con, "audit_log") == []


def test_decide_writes_decision_and_audit(con):
    did = moderation.decide(con, MOD, "p1", "remove", "harassment", note="'; DROP TABLE posts; --", now=T,
                            seen=None)
    assert rows(con, "moderation_decisions") == [(did, "p1", "m1", "remove", "harassment", "'; DROP TABLE posts; --",
                                                  None, None, T)]
    (event,) = rows(con, "audit_log")
    assert event[1:5] == ("m1", "decide", "post", "p1") and event[6] == T
    assert json.loads(event[5]) == {"decision_id": did, "action": "remove", "reason_code": "harassment",
                                    "note": "'; DROP TABLE posts; --", "seen": None}
    assert states(con) == {"p1": "remove"} and "p1" not in ids(moderation.queue(con, now=T))


def test_undo_chains_only_append(con):
    history = {"moderation_decisions": [], "audit_log": []}

    def appended_only():
        for table, before in history.items():
            now = rows(con, table)
            assert len(now) > len(before) and now[:len(before)] == before
            history[table] = now
        return True

    d1 = moderation.decide(con, MOD, "p1", "remove", "harassment", now=T, seen=None)
    assert moderation.undo_last(con, MOD, now=T) == d1 and appended_only()
    assert states(con) == {} and "p1" in ids(moderation.queue(con, now=T))
    d2 = moderation.decide(con, MOD, "p2", "approve", "context_ok", now=T, seen=None)
    assert moderation.undo_last(con, MOD, now=T) == d2 and states(con) == {}
    d3 = moderation.decide(con, MOD, "p2", "escalate", "hate", now=T, seen=None)
    assert states(con) == {"p2": "escalate"} and appended_only()
    assert "p2" not in ids(moderation.queue(con, now=T))
    esc = moderation.queue(con, include_escalated=True, now=T).set_index("post_id")
    assert esc.loc["p2", "state"] == "escalate" and esc.loc["p1", "state"] == "undecided"
    d4 = moderation.decide(con, MOD, "p3", "remove", "threat", now=T, seen=None)
    d5 = moderation.decide(con, MOD, "p3", "approve", "satire", now=T, seen=d4)
    assert states(con) == {"p2": "escalate", "p3": "approve"}
    assert moderation.undo_last(con, MOD, now=T) == d5 and states(con) == {"p2": "escalate", "p3": "remove"}
    assert moderation.undo_last(con, MOD, now=T) == d4 and states(con) == {"p2": "escalate"}
    assert moderation.undo_last(con, MOD2, now=T) is None  # only your own decisions
    assert moderation.undo_last(con, MOD, now=T) == d3 and states(con) == {}
    assert moderation.undo_last(con, MOD, now=T) is None and appended_only()
    log = rows(con, "moderation_decisions")
    assert [(r[3], r[7]) for r in log if r[3] == "undo"] == [("undo", d1), ("undo", d2), ("undo", d5), ("undo", d4),
                                                             ("undo", d3)]
    assert len(rows(con, "audit_log")) == len(log)


def test_bulk_decide_all_or_nothing_and_batch_undo(con):
    with pytest.raises(KeyError):
        moderation.bulk_decide(con, MOD, [("p1", None), ("p2", None), ("ghost", None)], "remove", "spam", now=T)
    with pytest.raises(ValueError):
        moderation.bulk_decide(con, MOD, [("p1", None), ("p1", None)], "remove", "spam", now=T)
    assert rows(con, "moderation_decisions") == [] and rows(con, "audit_log") == []
    seen = []
    result = moderation.bulk_decide(con, MOD, [("p1", None), ("p2", None), ("p3", None)], "remove", "spam", now=T,
                                    progress=lambda done, total: seen.append((done, total)))
    batch = result.batch_id
    assert result == moderation.BulkResult(batch, ["p1", "p2", "p3"], [])
    log = rows(con, "moderation_decisions")
    assert [(r[1], r[6]) for r in log] == [("p1", batch), ("p2", batch), ("p3", batch)] and seen == [(3, 3)]
    (event,) = rows(con, "audit_log")
    assert event[2:5] == ("bulk_decide", "batch", batch) and json.loads(event[5])["count"] == 3
    assert states(con) == {"p1": "remove", "p2": "remove", "p3": "remove"}
    moderation.decide(con, MOD2, "p5", "remove", "spam", now=T, seen=None)
    assert moderation.undo_preview(con, MOD) == {"decision_id": log[-1][0], "post_id": "p3", "action": "remove",
                                                 "batch_id": batch, "count": 3}
    with pytest.raises(moderation.ConfirmBatchUndo) as asked:  # one U must not cancel a batch unasked
        moderation.undo_last(con, MOD, now=T)
    assert (asked.value.decision_id, asked.value.batch_id, asked.value.count) == (log[-1][0], batch, 3)
    assert len(rows(con, "moderation_decisions")) == 4 and len(rows(con, "audit_log")) == 2, "nothing written"
    assert moderation.undo_last(con, MOD, now=T, seen=log[-1][0], confirm_batch=True) == log[-1][0]
    undos = rows(con, "moderation_decisions")[4:]
    assert [(r[1], r[3], r[7]) for r in undos] == [("p1", "undo", log[0][0]), ("p2", "undo", log[1][0]),
                                                   ("p3", "undo", log[2][0])]
    assert len({r[6] for r in undos}) == 1 and undos[0][6] not in (None, batch)
    assert states(con) == {"p5": "remove"} and len(rows(con, "audit_log")) == 3
    assert moderation.undo_preview(con, MOD) is None


def test_a_decision_on_a_state_no_longer_current_is_refused_and_writes_nothing(con):
    d1 = moderation.decide(con, MOD2, "p1", "remove", "harassment", now=T, seen=None)
    before = {t: rows(con, t) for t in ("moderation_decisions", "audit_log", "claims")}
    moderation.claim_next(con, MOD, labels=["insult"], now=T)  # m1 holds p2: a refusal must not drop the claim
    before["claims"] = rows(con, "claims")
    # m1 still sees p1 undecided (e.g. the Reported posts page loaded before m2 decided): refused, nothing written
    with pytest.raises(moderation.StaleDecision) as stale:
        moderation.decide(con, MOD, "p1", "approve", "satire", now=T, seen=None)
    e = stale.value
    assert (e.post_id, e.seen, e.current, e.state, e.by) == ("p1", None, d1, "remove", "m2")
    assert {t: rows(con, t) for t in before} == before and states(con) == {"p1": "remove"}
    # deciding on the state now current works, and the decision names it
    d2 = moderation.decide(con, MOD, "p1", "approve", "satire", now=T, seen=d1)
    assert states(con) == {"p1": "approve"} and json.loads(rows(con, "audit_log")[-1][5])["seen"] == d1
    assert moderation.undo_last(con, MOD, now=T, seen=d2) == d2 and states(con) == {"p1": "remove"}
    with pytest.raises(moderation.StaleDecision) as stale:  # seen d2, but d2 was undone since: back to d1
        moderation.decide(con, MOD2, "p1", "escalate", "threat", now=T, seen=d2)
    assert stale.value.current == d1 and stale.value.state == "remove" and stale.value.by == "m1"
    with pytest.raises(moderation.StaleDecision):  # a seen id that never stood on the post
        moderation.decide(con, MOD, "p2", "remove", "spam", now=T, seen=d1)
    assert moderation.seen_state(con, "p1") == d1 and moderation.seen_state(con, "p2") is None


def test_repeated_undo_never_steps_back_further_than_the_user_saw(con):
    d1 = moderation.decide(con, MOD, "p1", "remove", "harassment", now=T, seen=None)
    d2 = moderation.decide(con, MOD, "p2", "approve", "satire", now=T, seen=None)
    assert moderation.undo_last(con, MOD, now=T, seen=d2) == d2
    count = len(rows(con, "moderation_decisions"))
    with pytest.raises(moderation.StaleUndo) as stale:  # U pressed twice: the second names d2 again
        moderation.undo_last(con, MOD, now=T, seen=d2)
    assert (stale.value.seen, stale.value.current) == (d2, d1)
    assert len(rows(con, "moderation_decisions")) == count and states(con) == {"p1": "remove"}


def test_bulk_decides_exactly_the_reviewed_list_and_skips_posts_changed_since(con):
    reviewed = moderation.queue(con, now=T)  # what the moderator reviewed: p1, p5, p2, p3, all undecided
    pairs = list(zip(reviewed["post_id"], map(moderation.as_seen, reviewed["decision_id"])))
    assert pairs == [("p1", None), ("p5", None), ("p2", None), ("p3", None)]
    esc = moderation.decide(con, MOD2, "p2", "escalate", "hate", now=T, seen=None)  # meanwhile, by m2
    store.upsert(con, "model_scores", tox_rows({"p4": {"toxic": 0.95}}))  # and p4 joined the queue
    assert ids(moderation.queue(con, now=T)) == ["p4", "p1", "p5", "p3"]
    result = moderation.bulk_decide(con, MOD, pairs, "remove", "spam", now=T)
    assert result == moderation.BulkResult(result.batch_id, ["p1", "p5", "p3"],
                                           [moderation.Changed("p2", None, esc, "escalate", "m2")])
    assert states(con) == {"p1": "remove", "p2": "escalate", "p3": "remove", "p5": "remove"}, "p4 untouched"
    event = json.loads(rows(con, "audit_log")[-1][5])
    assert (event["count"], event["post_ids"], event["skipped"]) == (3, ["p1", "p5", "p3"], ["p2"])
    # every reviewed post changed since: nothing written at all
    count = len(rows(con, "moderation_decisions")), len(rows(con, "audit_log"))
    again = moderation.bulk_decide(con, MOD, [("p1", None), ("p2", None)], "approve", "satire", now=T)
    assert again.batch_id is None and again.decided == [] and [c.post_id for c in again.skipped] == ["p1", "p2"]
    assert (len(rows(con, "moderation_decisions")), len(rows(con, "audit_log"))) == count


def test_claims_need_the_moderate_role(con):
    for user in (ANALYST, None, User("p", "P", "product")):
        with pytest.raises(PermissionDenied):
            moderation.claim_next(con, user, now=T)
        with pytest.raises(PermissionDenied):
            moderation.release(con, user, "p1")
    assert rows(con, "claims") == []
    assert moderation.claim_next(con, User("boss", "Boss", "admin"), now=T) == "p1"


def test_author_history_and_thread_context(con):
    moderation.decide(con, MOD, "p1", "remove", "harassment", now=T, seen=None)
    assert moderation.author_history(con, "a") == {"posts": 2, "scored": 2, "flagged": 2, "flagged_share": 1.0,
                                                   "states": {"approve": 0, "remove": 1, "escalate": 0}}
    assert moderation.author_history(con, "c") == {"posts": 5, "scored": 1, "flagged": 0, "flagged_share": 0.0,
                                                   "states": {"approve": 0, "remove": 0, "escalate": 0}}
    assert moderation.author_history(con, "nobody")["flagged_share"] is None
    ctx = moderation.thread_context(con, "p9")
    assert ctx[["depth", "post_id", "handle", "text"]].values.tolist() == [
        [3, "p4", "cat", "calm down"], [2, "p7", "cat", "reply to p4"], [1, "p8", "cat", "reply to p7"]]
    assert ids(moderation.thread_context(con, "p7")) == ["p3", "p4"]
    assert moderation.thread_context(con, "p1").empty


def test_audit_and_per_moderator(con):
    moderation.decide(con, MOD, "p1", "remove", "harassment", now=T, seen=None)
    moderation.decide(con, MOD, "p2", "approve", "satire", now=T + timedelta(days=1), seen=None)
    moderation.undo_last(con, MOD, now=T + timedelta(days=1))
    moderation.decide(con, MOD2, "p5", "escalate", "other", note="check", now=T + timedelta(days=2), seen=None)
    log = moderation.audit(con, MOD)
    assert log[["post_id", "moderator", "action", "undone"]].values.tolist() == [
        ["p5", "m2", "escalate", False], ["p2", "m1", "undo", False], ["p2", "m1", "approve", True],
        ["p1", "m1", "remove", False]]
    assert log["preview"].iloc[0] == SCRIPT and log["handle"].iloc[0] == "bob"
    assert ids(moderation.audit(con, MOD, moderator="m1", action="remove")) == ["p1"]
    assert ids(moderation.audit(con, MOD, start=T.date() + timedelta(days=1), end=T.date() + timedelta(days=1))) == [
        "p2", "p2"]
    assert moderation.audit(con, MOD, moderator="x' OR 1=1 --").empty
    per = moderation.decisions_per_moderator(con)
    assert per[["moderator", "decisions", "approve", "remove", "escalate", "undo"]].values.tolist() == [
        ["m1", 2, 1, 1, 0, 1], ["m2", 1, 0, 0, 1, 0]]
    assert moderation.decisions_per_moderator(con, end=T.date())["moderator"].tolist() == ["m1"]


def test_flag_precision_stats_and_tuner(con):
    moderation.decide(con, MOD, "p1", "remove", "harassment", now=T, seen=None)
    moderation.decide(con, MOD, "p2", "approve", "context_ok", now=T, seen=None)
    moderation.decide(con, MOD, "p3", "escalate", "threat", now=T, seen=None)
    moderation.decide(con, MOD, "p5", "remove", "spam", now=T, seen=None)
    fp = moderation.flag_precision(con).set_index("label")
    assert list(fp.index) == list(LABELS)
    assert fp.loc["toxic", ["flagged", "decided", "removed", "approved", "precision"]].tolist() == [3, 2, 2, 0, 1.0]
    assert fp.loc["insult", ["flagged", "decided", "removed", "approved", "precision"]].tolist() == [1, 1, 0, 1, 0.0]
    assert fp.loc["threat", ["flagged", "decided"]].tolist() == [1, 0] and math.isnan(fp.loc["threat", "precision"])
    assert fp.loc["obscene", "flagged"] == 0
    assert moderation.flag_precision(con, {"toxic": 0.85})[["label", "flagged", "precision"]].values.tolist() == [
        ["toxic", 1, 1.0]]

    moderation.undo_last(con, MOD)   # p5 back in the queue
    moderation.undo_last(con, MOD)   # p3 back in the queue
    moderation.claim_next(con, MOD2, labels=["threat"], now=T)
    stats = moderation.queue_stats(con, now=T)
    assert stats == {"size": 2, "claimed": 1, "escalated": 0, "oldest_age": T - datetime(2026, 1, 3),
                     "median_age": T - datetime(2026, 1, 4), "unscreened": 0,
                     "families": {"toxicity": 2, "campaign": 0, "known claim": 0}}
    tuner = moderation.threshold_tuner(con, "toxic", [0.5, 0.7, 0.95])
    assert tuner[["threshold", "queue_items", "decided", "removed"]].values.tolist() == [
        [0.5, 2, 1, 1], [0.7, 1, 1, 1], [0.95, 0, 0, 0]]
    assert tuner["precision"].tolist()[:2] == [1.0, 1.0] and math.isnan(tuner["precision"].iloc[2])
    assert len(moderation.threshold_tuner(con, "insult")) == 18
    with pytest.raises(ValueError):
        moderation.threshold_tuner(con, "rude")


def many_posts(path, n):
    """A store with `n` posts, every one flagged (P(toxic) between 0.6 and 0.99); closed on return."""
    c = store.connect(path)
    store.upsert(c, "users", pd.DataFrame({"user_id": ["u"], "handle": ["u"], "source": "test"}))
    pids = [f"q{i:04d}" for i in range(n)]
    store.upsert(c, "posts", pd.DataFrame({"post_id": pids, "author_id": "u", "text": "bad",
                                           "created_at": [T - timedelta(minutes=i) for i in range(n)],
                                           "source": "test"}))
    store.upsert(c, "model_scores", tox_rows({p: {"toxic": 0.6 + 0.39 * i / n} for i, p in enumerate(pids)}))
    c.close()


def test_concurrent_moderators_never_share_a_post(tmp_path, in_threads):
    path = tmp_path / "many.duckdb"
    many_posts(path, 420)
    con = store.connect(path)
    claimed, errors = {}, []

    def work(name):
        cur, user = con.cursor(), User(name, name, "moderator")
        claimed[name] = []
        try:
            while len(claimed[name]) < 50:
                post_id = moderation.claim_next(cur, user)
                assert post_id is not None
                claimed[name].append(post_id)
                moderation.decide(cur, user, post_id, "remove", "spam", seen=None)
        except Exception as e:  # reported below; a thread's exception would otherwise vanish
            errors.append(e)
        finally:
            cur.close()

    in_threads(work, (f"mod{i}" for i in range(8)))
    assert errors == []
    every = [p for posts in claimed.values() for p in posts]
    assert len(every) == 400 and len(set(every)) == 400
    decided = con.execute("SELECT post_id, moderator FROM moderation_decisions").fetchall()
    assert len(decided) == 400 and len({p for p, _ in decided}) == 400
    assert sorted(decided) == sorted((p, name) for name, posts in claimed.items() for p in posts)
    assert store.table_counts(con)["audit_log"] == 400 and store.table_counts(con)["claims"] == 0
    assert len(moderation.queue(con, limit=100)) == 20
    con.close()


KILLED = """
import sys, time
from analytics import moderation, store
from analytics.access.auth import User

con = store.connect(sys.argv[1])
posts = [r[0] for r in con.execute("SELECT post_id FROM posts ORDER BY post_id").fetchall()]

def stall(done, total):
    print("started", done, total, flush=True)
    time.sleep(120)

moderation.bulk_decide(con, User("m1", "M", "moderator"), [(p, None) for p in posts], "remove", "spam",
                       progress=stall)
"""


def test_bulk_decide_killed_midway_leaves_nothing(tmp_path):
    path = tmp_path / "killed.duckdb"
    many_posts(path, 300)
    proc = subprocess.Popen([sys.executable, "-c", KILLED, str(path)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().split() == ["started", "100", "300"]  # inside the transaction
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    con = store.connect(path)
    counts = store.table_counts(con)
    assert (counts["moderation_decisions"], counts["audit_log"]) == (0, 0)
    posts = [r[0] for r in con.execute("SELECT post_id FROM posts").fetchall()]
    batch = moderation.bulk_decide(con, MOD, [(p, None) for p in posts], "remove", "spam").batch_id
    assert con.execute("SELECT count(*), count(DISTINCT post_id), any_value(batch_id) FROM moderation_decisions"
                       ).fetchone() == (300, 300, batch)
    con.close()


def test_team_thresholds_are_saved_by_admins_and_audited(tmp_path):
    from analytics import moderation, store
    from analytics.access import auth

    con = store.connect(tmp_path / "t.duckdb")
    assert moderation.thresholds(con) == moderation.DEFAULT_THRESHOLDS
    with pytest.raises(auth.PermissionDenied):
        moderation.save_thresholds(con, auth.User("m", "M", "moderator"), {"insult": 0.3})
    with pytest.raises(ValueError):
        moderation.save_thresholds(con, auth.User("a", "A", "admin"), {"insult": 1.5})
    got = moderation.save_thresholds(con, auth.User("a", "A", "admin"), {"insult": 0.3})
    assert got == moderation.thresholds(con) == {**moderation.DEFAULT_THRESHOLDS, "insult": 0.3}
    (actor, action, details), = con.execute("SELECT actor, action, details FROM audit_log").fetchall()
    assert (actor, action) == ("a", "set_thresholds") and '"insult": 0.3' in details
    con.close()
