"""Known false claims: maintained by moderators and audited, carried over rebuilds, matched by meaning (the sample's
injected narrative, in English and Chinese), and the CLI on a store of imported posts, directly and through a running
dashboard's inbox."""
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from analytics import models, store
from analytics.access.auth import PermissionDenied, User
from analytics.data import build, inbox, ingest
from analytics.moderation import known_claims
from tests.helpers import query

ROOT = Path(__file__).resolve().parent.parent
MOD = User("mod1", "Mod", "moderator")
ANALYST = User("ana", "Ana", "analyst")


def test_the_narratives_paraphrases_are_matched_and_the_true_story_is_not(narrative):
    con = store.connect(narrative)
    [claim] = known_claims.claims(con).to_dict("records")
    assert claim["added_by"] == "sample build" and claim["embedded"] and len(claim["examples"]) == 2
    truth = con.execute("SELECT kind, post_id, text FROM sim_truth JOIN posts USING (post_id)").df()
    paraphrases = set(truth[(truth["kind"] == "claim") & ~truth["text"].isin(claim["examples"])]["post_id"])
    found = known_claims.matches(con)
    found = found[~found["text"].isin(claim["examples"])]  # the examples are known, not found
    hit = set(found["post_id"]) & paraphrases
    assert len(hit) / len(found) == 1.0 and len(hit) / len(paraphrases) >= 0.85  # measured: 23 of 26
    assert {"航空公司拿暴风雪当挡箭牌，真实原因是燃油太贵"} <= set(found["text"]), "Chinese paraphrases match"
    assert not set(found["post_id"]) & set(truth[truth["kind"] == "organic"]["post_id"])
    assert list(found.columns) == ["post_id", "claim_id", "similarity", "created_at", "author_id", "text", "verdict"]
    assert found["similarity"].min() >= known_claims.THRESHOLD and found["verdict"].eq("false").all()
    con.close()


def test_claims_are_audited_retired_and_need_a_moderator(narrative, tmp_path):
    db = Path(shutil.copy(narrative, tmp_path / "x.duckdb"))
    con = store.connect(db)
    with pytest.raises(PermissionDenied):
        known_claims.add(con, ANALYST, "the moon is cheese", "false", None)
    with pytest.raises(ValueError, match="verdict must be one of"):
        known_claims.add(con, MOD, "the moon is cheese", "wrong", None)
    cid = known_claims.add(con, MOD, "  The moon is made of cheese ", "false", "https://example.org/moon",
                           examples=["la luna es de queso"])
    assert cid == 2, "ids continue after the seeded claim"
    known_claims.update(con, MOD, cid, verdict="misleading", add_examples=["月亮是奶酪做的"])
    assert known_claims.claims(con).set_index("claim_id").loc[cid, "embedded"] == False  # noqa: E712 - re-embed
    assert known_claims.embed_missing(con, models.embed) == 1
    known_claims.update(con, MOD, cid, retire=True)
    assert known_claims.claims(con)["claim_id"].tolist() == [1]
    assert known_claims.matches(con, claim_ids=[cid]).empty, "a retired claim stops matching"
    audit = con.execute("SELECT actor, action, details FROM audit_log WHERE target_type = 'known_claim' "
                        "ORDER BY event_id").fetchall()
    assert [(a, b) for a, b, _ in audit] == [("mod1", "claim_added"), ("mod1", "claim_changed"),
                                            ("mod1", "claim_retired")]
    assert json.loads(audit[0][2])["text"] == "The moon is made of cheese"
    assert json.loads(audit[1][2]) == {"verdict": {"old": "false", "new": "misleading"},
                                       "examples_added": ["月亮是奶酪做的"]}
    con.close()


def test_a_rebuild_keeps_the_claims_moderators_changed_or_added(narrative, tmp_path):
    db = Path(shutil.copy(narrative, tmp_path / "social.duckdb"))
    con = store.connect(db)
    known_claims.update(con, MOD, 1, verdict="misleading")
    known_claims.add(con, MOD, "Vaccines contain microchips", "false", "https://example.org/chips")
    con.close()
    build.build(db)
    assert query(db, "SELECT claim_id, verdict, added_by FROM known_claims ORDER BY 1") == [
        (1, "misleading", "sample build"), (2, "false", "mod1")]
    con = store.connect(db)
    assert known_claims.add(con, MOD, "another claim", "unproven", None) == 3, "the id sequence continues"
    con.close()


@pytest.fixture
def imported(tmp_path) -> Path:
    """A store of imported posts only: two that repeat a claim in other words, two that do not."""
    posts = pd.DataFrame({"post_id": ["p1", "p2", "p3", "p4"], "author_id": ["a", "b", "c", "d"],
                          "created_at": "2026-05-01T10:00:00Z",
                          "text": ["5G masts are what really spread the virus", "病毒其实是通过5G基站传播的",
                                   "Lovely weather for a picnic today", "My phone finally got 5G coverage"]})
    posts.to_csv(tmp_path / "p.csv", index=False)
    db = tmp_path / "imp.duckdb"
    con = store.connect(db)
    ingest.import_file(con, tmp_path / "p.csv")
    con.close()
    return db


def cli(*args, db: Path):
    return subprocess.run([sys.executable, "-m", "analytics.claims", *args, "--db", str(db)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)


def test_cli_adds_a_claim_and_lists_its_matches_on_an_imported_store(imported):
    run = cli("add", "5G networks spread the coronavirus", "--verdict", "false", "--source",
              "https://example.org/5g", db=imported)
    assert run.returncode == 0 and run.stdout.strip() == "Added claim 1.", run.stderr
    run = cli("matches", "--json", db=imported)
    assert run.returncode == 0, run.stderr
    got = json.loads(run.stdout)
    # the English paraphrase matches (0.954); the Chinese post (0.883) and "My phone finally got 5G coverage"
    # (0.902) stay under the threshold
    assert [(m["post_id"], m["claim_id"]) for m in got] == [("p1", 1)]
    run = cli("add", "5G networks spread the coronavirus", "--example", "新冠病毒是5G网络传播的", db=imported)
    got = json.loads(cli("matches", "--json", db=imported).stdout)
    assert {(m["post_id"], m["claim_id"]) for m in got} == {("p1", 1), ("p1", 2), ("p2", 2)}, \
        "a Chinese example brings the Chinese post in (0.972)"
    assert all(m["similarity"] >= known_claims.THRESHOLD for m in got)
    assert query(imported, "SELECT actor, action FROM audit_log WHERE target_type = 'known_claim'") == [
        (os.environ.get("USER") or "cli", "claim_added")] * 2


def test_cli_hands_a_claim_to_the_running_dashboard(imported, hold_db):
    box = inbox.inbox_dir(imported)
    with hold_db(imported):
        inbox.beat(box)  # this process plays the dashboard that drains the inbox
        done = threading.Event()
        result = {}

        def run():
            result["run"] = cli("add", "5G spreads the virus", "--wait", "60", db=imported)
            done.set()

        threading.Thread(target=run, daemon=True).start()
        for _ in range(600):  # the dashboard's side: its worker drains the inbox
            if inbox.pending(box, "claim") or done.is_set():
                break
            time.sleep(0.1)
        [batch] = inbox.pending(box, "claim")
    con = store.connect(imported)  # the holder is gone: play the dashboard
    [receipt] = known_claims.drain_inbox(con, box)
    con.close()
    assert receipt == {"id": batch, "ok": True, "claim_id": 1}
    assert done.wait(60)
    run = result["run"]
    assert run.returncode == 0 and "Added claim 1 through the dashboard" in run.stdout, run.stderr
