"""Stored detections in moderation: the worker's campaigns and known-claim matches enter the review queue as label
families, a campaign is decided as a whole (its accounts suspended, append-only, audited) and leaves the feeds, its
exposure is counted from the interactions, and analysts see each claim's spread and who spread it."""
import re
import shutil
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from analytics import feed, moderation, store
from analytics.access.auth import PermissionDenied, User
from analytics.analyst import claims
from analytics.moderation import accounts, detections, exposure, known_claims
from components import charts
from tests.helpers import query

MOD = User("mod1", "Mod", "moderator")
ANALYST = User("ana", "Ana", "analyst")
CAMPAIGN_DAY = datetime(2026, 10, 9)  # feeds as of the end of the campaign's day


@pytest.fixture
def db(detected, tmp_path) -> Path:
    return Path(shutil.copy(detected, tmp_path / "social.duckdb"))


def truth(con, kind: str) -> set[str]:
    return {r[0] for r in con.execute("SELECT post_id FROM sim_truth WHERE kind = ?", [kind]).fetchall()}


def test_stored_detections_enter_the_queue_as_label_families(db):
    con = store.connect(db)
    [cmp] = detections.stored_campaigns(con).to_dict("records")
    assert set(detections.campaign_posts(con, cmp["campaign_id"])["post_id"]) == truth(con, "campaign")
    assert (cmp["n_posts"], cmp["n_accounts"], cmp["removed"], cmp["undecided"], cmp["suspended"]) == (80, 36, 0, 80, 0)
    assert cmp["reason"].startswith(f"{cmp['signals']['accounts_within_window']} accounts posted copies within 60 "
                                    "minutes; 100% of the accounts are fresh")
    matched = {r[0] for r in con.execute("SELECT post_id FROM claim_matches").fetchall()}
    assert len(matched) == 25 and matched <= truth(con, "claim"), \
        "23 paraphrases and the 2 confirmed examples, nothing else"

    q = moderation.queue(con, families=["campaign"], limit=500)
    assert set(q["post_id"]) == truth(con, "campaign")
    assert q["max_label"].eq("campaign").all() and q["campaign_id"].eq(cmp["campaign_id"]).all()
    assert q["campaign_reason"].eq(cmp["reason"]).all() and all(list(f) == ["campaign"] for f in q["families"])
    c = moderation.queue(con, families=["known claim"], limit=500)
    assert set(c["post_id"]) == matched and c["max_label"].eq("known claim").all()
    assert c["claim_similarity"].min() >= known_claims.THRESHOLD
    assert c["claim_text"].eq(known_claims.claims(con)["text"].iloc[0]).all()
    everything = moderation.queue(con, limit=5000)
    assert set(q["post_id"]) | set(c["post_id"]) <= set(everything["post_id"]), "all families by default"
    assert set(moderation.queue(con, families=["toxicity"], limit=5000)["post_id"]).isdisjoint(q["post_id"])
    assert moderation.queue_stats(con)["families"] == {"toxicity": len(everything) - 80 - 25, "campaign": 80,
                                                        "known claim": 25}
    with pytest.raises(ValueError, match="families must be"):
        moderation.queue(con, families=["spam"])

    first = detections.refreshed_at(con)
    detections.refresh(con)
    assert detections.stored_campaigns(con)["campaign_id"].tolist() == [cmp["campaign_id"]], "a stable id"
    assert detections.refreshed_at(con) > first
    known_claims.update(con, MOD, 1, retire=True)
    assert moderation.queue(con, families=["known claim"]).empty, "a retired claim stops flagging at once"
    detections.refresh(con)
    assert query(db, "SELECT count(*) FROM claim_matches") == [(0,)]
    con.close()


def test_a_campaign_removed_as_a_whole_leaves_the_feeds_with_its_accounts_suspended(db):
    con = store.connect(db)
    [cmp] = detections.stored_campaigns(con).to_dict("records")
    posts = detections.campaign_posts(con, cmp["campaign_id"])
    readers = [u for (u,) in con.execute("SELECT user_id FROM users ORDER BY user_id LIMIT 400").fetchall()]
    shown = {u: set(feed.recommend(con, u, as_of=CAMPAIGN_DAY).items["post_id"]) & set(posts["post_id"])
             for u in readers}
    reached = [u for u, ids in shown.items() if ids]
    assert len(reached) >= 50, "the campaign's bought engagement makes it popular: it fills feeds that day"
    before = exposure.summary(con, posts["post_id"])
    viewers = query(db, "SELECT count(DISTINCT user_id) FROM interactions WHERE kind = 'view' AND post_id IN "
                        "(SELECT post_id FROM sim_truth WHERE kind = 'campaign')")[0][0]
    assert before == {"posts": 80, "removed": 0, "viewers": viewers, **{
        k: query(db, "SELECT count(*) FROM interactions WHERE kind = ? AND post_id IN (SELECT post_id FROM sim_truth "
                     "WHERE kind = 'campaign')", [kind])[0][0]
        for kind, k in exposure.KINDS.items()}}

    reviewed = list(zip(posts["post_id"], map(moderation.as_seen, posts["decision_id"])))
    with pytest.raises(PermissionDenied):
        detections.decide_campaign(con, ANALYST, cmp["campaign_id"], reviewed, "remove", "spam")
    with pytest.raises(ValueError, match="only with a removal"):
        detections.decide_campaign(con, MOD, cmp["campaign_id"], reviewed, "approve", "no_violation", suspend=True)
    with pytest.raises(ValueError, match="not posts of campaign"):
        detections.decide_campaign(con, MOD, cmp["campaign_id"], [*reviewed, ("x00100", None)], "remove", "spam")
    with pytest.raises(KeyError):
        detections.decide_campaign(con, MOD, "cmp-nope", reviewed, "remove", "spam")
    moderation.decide(con, User("mod2", "Mod 2", "moderator"), posts["post_id"].iloc[0], "remove", "spam", seen=None)

    result = detections.decide_campaign(con, MOD, cmp["campaign_id"], reviewed, "remove", "spam", "bought likes",
                                        suspend=True)
    assert len(result.decided) == 79 and [c.post_id for c in result.skipped] == [posts["post_id"].iloc[0]], \
        "the post decided meanwhile is skipped, the rest decided in one batch"
    authors = sorted(posts[posts["post_id"].isin(result.decided)]["author_id"].unique())
    [row] = detections.stored_campaigns(con).to_dict("records")
    assert (row["removed"], row["undecided"], row["suspended"]) == (80, 0, len(authors))
    assert len(authors) == 35, "the accounts of the posts decided here: the skipped post's author posted only it"
    states = accounts.account_states(con, authors)
    assert states["account_state"].eq("suspend").all() and len(states) == len(authors)
    audit = query(db, "SELECT actor, action, target_id, details->>'campaign_id', details->>'count' FROM audit_log "
                      "WHERE action IN ('bulk_decide', 'account_suspend') ORDER BY event_id")
    assert audit == [("mod1", "bulk_decide", result.batch_id, cmp["campaign_id"], "79"),
                     ("mod1", "account_suspend", cmp["campaign_id"], cmp["campaign_id"], None)]

    after = exposure.summary(con, posts["post_id"])
    assert after["removed"] == 80 and after["viewers"] == viewers, "everything happened before the removal"
    for u in reached:
        f = feed.recommend(con, u, as_of=CAMPAIGN_DAY)
        assert not set(f.items["post_id"]) & shown[u], "the removed posts left the feed"
        assert set(f.filtered.loc[f.filtered["post_id"].isin(shown[u]), "reason"]) == {"removed"}

    accounts.act(con, MOD, [authors[0]], "reinstate", "no_violation", "appealed")
    assert accounts.account_states(con, [authors[0]])["account_state"].tolist() == ["reinstate"]
    assert accounts.history(con, authors[0])["action"].tolist() == ["reinstate", "suspend"], "append-only"
    with pytest.raises(ValueError, match="action must be"):
        accounts.act(con, MOD, [authors[0]], "delete", "spam")
    with pytest.raises(KeyError):
        accounts.act(con, MOD, ["nobody"], "warn", "spam")
    con.close()


def test_account_actions_survive_a_rebuild(db, tmp_path):
    from analytics.data import build

    con = store.connect(db)
    accounts.act(con, MOD, ["u000001"], "warn", "harassment", "first warning")
    con.close()
    build.build(db, build.load_config(n_users=300, days=60), limit=2000)
    assert query(db, "SELECT user_id, moderator, action, note FROM account_actions") == [
        ("u000001", "mod1", "warn", "first warning")]
    con = store.connect(db)
    assert accounts.act(con, MOD, ["u000001"], "suspend", "harassment") == [2], "ids continue after the carried ones"
    con.close()


def test_analysts_see_each_claims_spread_and_who_spread_it(db):
    con = store.connect(db)
    [row] = claims.overview(con).to_dict("records")
    matched = con.execute("SELECT p.post_id, p.author_id, p.created_at, p.lang FROM claim_matches JOIN posts p "
                          "USING (post_id)").df()
    assert (row["claim_id"], row["verdict"], row["matches"], row["authors"]) == (1, "false", 25,
                                                                                matched["author_id"].nunique())
    assert list(row["languages"]) == ["en", "zh"] and row["first_at"] == matched["created_at"].min()
    spread = claims.spread(con, 1)
    assert spread["posts"].sum() == 25 and spread["cumulative"].max() == 25
    assert spread.groupby("lang")["posts"].sum().to_dict() == matched["lang"].value_counts().to_dict()
    assert spread["day"].min() == pd.Timestamp("2026-10-18")
    who = claims.spreaders(con, 1)
    assert who["posts"].sum() == 25 and set(who["author_id"]) == set(matched["author_id"])
    assert who["followers"].is_monotonic_decreasing
    posts = claims.matched_posts(con, 1)
    assert posts["similarity"].is_monotonic_decreasing and posts["state"].eq("undecided").all()

    fig = charts.claim_spread_chart(spread).to_dict()
    bars = [t for t in fig["data"] if t["type"] == "bar"]
    assert [t["name"] for t in bars] == ["en", "zh"] and sum(sum(t["y"]) for t in bars) == 25
    assert fig["data"][-1]["name"] == "total so far" and fig["data"][-1]["y"][-1] == 25
    assert fig["data"][-1]["yaxis"] == "y2"
    con.close()


def test_a_moderator_removes_a_campaign_from_its_page_after_confirming(db, use_db, app_run):
    use_db(db)
    at = app_run("pages/moderator_campaigns.py", MOD)
    assert at.selectbox(key="cmp_id").value.startswith("cmp-")
    assert [m.value for m in at.metric[:4]] == ["80", "36", at.metric[2].value, "0"]
    assert at.button(key="cmp_go").disabled, "nothing happens before the confirmation"
    assert at.selectbox(key="cmp_reason").value == "spam"
    at.checkbox(key="cmp_suspend").check().run()
    at.checkbox(key="cmp_confirm").check().run()
    assert at.checkbox(key="cmp_confirm").label == ("I reviewed this campaign: remove its 80 undecided posts as spam "
                                                    "and suspend 36 accounts")
    at.button(key="cmp_go").click().run()
    assert not at.exception
    assert at.success[0].value.startswith("Campaign cmp-") and "80 posts removed as spam, and their accounts " \
        "suspended" in at.success[0].value
    assert query(db, "SELECT count(*), count(DISTINCT batch_id) FROM moderation_decisions WHERE action = 'remove'") \
        == [(80, 1)]
    assert query(db, "SELECT count(*) FROM account_actions WHERE action = 'suspend'") == [(36,)]
    assert "Every post of this campaign is decided" in " ".join(c.value for c in at.caption)
    at = app_run("pages/moderator_audit.py", MOD, state={"privacy_redact": False})
    exposure_table = next(d.value for d in at.dataframe if "viewers" in d.value.columns)
    assert len(exposure_table) == 80 and exposure_table["removed_at"].notna().all()
    views = query(db, "SELECT count(*) FROM interactions i JOIN sim_truth t USING (post_id) "
                      "WHERE i.kind = 'view' AND t.kind = 'campaign'")[0][0]
    assert exposure_table["views"].sum() == views
    actions = next(d.value for d in at.dataframe if "campaign_id" in d.value.columns)
    assert len(actions) == 36 and set(actions["action"]) == {"suspend"} and set(actions["moderator"]) == {"mod1"}


def test_the_queue_filters_by_family_and_says_why_a_post_is_there(db, use_db, app_run):
    use_db(db)
    at = app_run("pages/moderator_queue.py", MOD, state={"queue_families": ["known claim"]})
    assert at.subheader[0].value == "Flagged as known claim"
    why = " ".join(i.value for i in at.info)
    assert re.match(rf"Repeats known claim #1 \(similarity [01]\.\d{{3}}, threshold {known_claims.THRESHOLD}\):", why)
    assert "Waiting by label family: toxicity" in " ".join(c.value for c in at.caption)
    at = app_run("pages/moderator_queue.py", MOD, state={"queue_families": ["campaign"]})
    assert at.subheader[0].value == "Flagged as campaign"
    assert "Decide it as a whole on the Campaigns page" in " ".join(i.value for i in at.info)


def test_claims_page_for_analysts_and_moderators(db, use_db, app_run):
    use_db(db)
    at = app_run("pages/analyst_claims.py", ANALYST)
    assert [m.value for m in at.metric] == ["25", at.metric[1].value, "en, zh", at.metric[3].value, "0"]
    assert at.get("plotly_chart") and not at.text_area, "analysts read; they do not add claims"
    assert not [b for b in at.button if b.key and b.key.startswith("claims_retire")]
    at = app_run("pages/analyst_claims.py", MOD)
    at.text_area(key="claims_new_text").input("5G towers spread the flu")
    at.text_input(key="claims_new_source").input("https://example.org/5g")
    at.button(key="claims_add").click().run()
    assert at.success[0].value.startswith("Claim #2 added")
    assert query(db, "SELECT claim_id, text, verdict, added_by FROM known_claims WHERE claim_id = 2") == [
        (2, "5G towers spread the flu", "false", "mod1")]
    assert query(db, "SELECT action FROM audit_log WHERE target_id = '2'") == [("claim_added",)]
    at.button(key="claims_retire_1").click().run()
    assert query(db, "SELECT retired_at IS NOT NULL FROM known_claims WHERE claim_id = 1") == [(True,)]
