"""The import inbox: how `python -m analytics.ingest` imports while the dashboard owns the store."""
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from analytics import store
from analytics.data import inbox, ingest

CSV = ("post_id,author_id,created_at,text\n"
       "in1,ua,2026-08-01T10:00:00Z,hello from the inbox\n"
       "in2,ub,2026-08-01T11:00:00Z,a second post\n")


@pytest.fixture
def db(small_db, tmp_path) -> Path:
    return Path(shutil.copy(small_db, tmp_path / "social.duckdb"))


@pytest.fixture
def new_csv(tmp_path) -> Path:
    path = tmp_path / "new.csv"
    path.write_text(CSV)
    return path


@pytest.fixture
def holder(db):
    """Another process holding the store read-write (as the dashboard does); yields its pid."""
    proc = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                             "print('held', flush=True); time.sleep(120)", str(db)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    yield proc.pid
    proc.kill()
    proc.wait()


def test_a_handed_over_batch_is_imported_audited_and_receipted(db, new_csv):
    box = inbox.inbox_dir(db)
    batch = ingest.load_file(new_csv)
    batch_id = inbox.submit(box, {"file": batch.file, "format": batch.fmt, "actor": "alice"}, batch.posts, batch.users)
    assert inbox.pending(box) == [batch_id]
    con = store.connect(db)
    [receipt] = ingest.drain_inbox(con, box)
    assert receipt == {"id": batch_id, "ok": True, "result": {
        "file": "new.csv", "format": "csv", "rows": 2, "new": 2, "updated": 0, "changed": 0, "new_authors": 2,
        "dry_run": False, "event_id": receipt["result"]["event_id"]}}
    assert inbox.pending(box) == [] and sorted(p.name for p in box.iterdir()) == [f"{batch_id}.receipt.json"]
    assert inbox.wait(box, batch_id, 0) == receipt
    assert con.execute("SELECT post_id, text FROM posts WHERE post_id LIKE 'in%' ORDER BY 1").fetchall() == [
        ("in1", "hello from the inbox"), ("in2", "a second post")]
    actor, details = con.execute("SELECT actor, details FROM audit_log WHERE event_id = ?",
                                 [receipt["result"]["event_id"]]).fetchone()
    assert actor == "alice" and json.loads(details)["via"] == "the dashboard's inbox"


def test_a_batch_that_cannot_be_written_gets_a_failed_receipt(db, new_csv):
    box = inbox.inbox_dir(db)
    batch = ingest.load_file(new_csv)
    batch_id = inbox.submit(box, {"file": "new.csv", "format": "csv", "actor": "alice"}, batch.posts,
                            batch.users.drop(columns=["handle"]))
    con = store.connect(db)
    before = store.table_counts(con)
    [receipt] = ingest.drain_inbox(con, box)
    assert receipt["id"] == batch_id and not receipt["ok"] and "handle" in receipt["error"]
    assert store.table_counts(con) == before and inbox.pending(box) == []


def test_the_owner_is_a_live_process_that_beat_recently(tmp_path):
    box = tmp_path / "x.inbox"
    assert inbox.owner(box) is None
    inbox.beat(box)
    assert inbox.owner(box) == os.getpid()
    (box / "owner.json").write_text(json.dumps({"pid": os.getpid(), "at": time.time() - inbox.STALE_S - 1}))
    assert inbox.owner(box) is None, "stale"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (box / "owner.json").write_text(json.dumps({"pid": int(dead.stdout), "at": time.time()}))
    assert inbox.owner(box) is None, "gone"


def test_the_cli_exits_3_when_the_holder_is_not_a_dashboard(db, new_csv, holder, capsys):
    assert ingest.main([str(new_csv), "--db", str(db)]) == 3
    err = capsys.readouterr().err
    assert err.startswith("error: the store is locked and no running dashboard takes imports, nothing was imported:")
    assert f"process {holder}" in err and inbox.pending(inbox.inbox_dir(db)) == []


def test_the_cli_hands_over_and_exits_4_when_no_receipt_comes(db, new_csv, holder, capsys):
    box = inbox.inbox_dir(db)
    box.mkdir()
    (box / "owner.json").write_text(json.dumps({"pid": holder, "at": time.time()}))
    assert ingest.main([str(new_csv), "--db", str(db), "--wait", "0.2"]) == 4
    out = capsys.readouterr().out
    [batch_id] = inbox.pending(box)
    assert out == (f"The dashboard (process {holder}) owns {db}: handed the validated batch to it as {box / batch_id}."
                   f"\nThe dashboard has not imported it within 0.2 s; it stays queued and is imported when the "
                   f"dashboard's worker next looks (its receipt will be {box / batch_id}.receipt.json).\n")
