"""`make run`'s server (components.serve) as a process: enrichment starts before anyone opens a browser, and
`python -m analytics.ingest` imports through it while it owns the store."""
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from analytics import store
from analytics.data import build
from analytics.models.coverage import coverage
from analytics.models.registry import TOXIC_THRESHOLD

ROOT = Path(__file__).resolve().parent.parent


def wait_for_log(log: Path, pattern: str, timeout: float = 300) -> re.Match:
    """The first match of `pattern` in the server's log, waiting for it (fails after `timeout` s)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if m := re.search(pattern, log.read_text(), re.S):
            return m
        time.sleep(0.5)
    pytest.fail(f"no {pattern!r} in the server log:\n{log.read_text()[-3000:]}")


@pytest.fixture
def served(tmp_path, serve):
    """A fresh, unscored 300-post store served by components.serve with enrichment on; yields (db, log, stop)."""
    db = tmp_path / "social.duckdb"
    build.build(db, build.load_config(n_users=100, days=60), limit=300)
    _, stop = serve(db, tmp_path / "auth.json")
    return db, tmp_path / "server.log", stop


def test_the_server_enriches_without_a_session_and_imports_what_the_cli_hands_it(served, tmp_path):
    db, log, stop = served
    assert "First run: created the user 'admin'; its password is in" in log.read_text()
    # Nobody has opened the dashboard: the worker started with the server, toxicity first.
    wait_for_log(log, r"enrichment: 300 posts scored by toxicity.*enrichment: 300 posts scored by sentiment.*"
                      r"enrichment: 300 posts scored by embedding")

    (tmp_path / "new.csv").write_text("post_id,author_id,created_at,text\n"
                                      "cli1,ua,2026-08-01T10:00:00Z,you are a worthless idiot\n"
                                      "cli2,ub,2026-08-01T11:00:00Z,what a lovely morning\n")
    cli = subprocess.run([sys.executable, "-m", "analytics.ingest", str(tmp_path / "new.csv"), "--db", str(db)],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert cli.returncode == 0, cli.stderr
    lines = cli.stdout.splitlines()
    assert re.fullmatch(rf"The dashboard \(process \d+\) owns {re.escape(str(db))}: handed the validated batch to "
                        rf"it as {re.escape(str(db))}\.inbox/\d{{8}}T\d{{6}}-[0-9a-f]{{8}}\.", lines[0])
    assert lines[1] == ("Imported 2 posts from new.csv: 2 new, 0 updated; 2 new authors. Imported by the dashboard, "
                        "which scores the new posts in the background.")
    wait_for_log(log, r"inbox: Imported 2 posts.*enrichment: 2 posts scored by toxicity.*"
                      r"enrichment: 2 posts scored by sentiment.*enrichment: 2 posts scored by embedding")
    with pytest.raises(store.StoreLockedError):
        store.connect(db, read_only=True)
    stop()
    text = log.read_text()
    assert "Traceback" not in text and "error" not in text.lower(), text[-3000:]
    con = store.connect(db, read_only=True)
    assert coverage(con) == dict.fromkeys(("sentiment", "toxicity", "embedding", "abuse"), (302, 302))
    assert con.execute("SELECT post_id, CAST(scores->>'toxic' AS DOUBLE) >= ? FROM model_scores WHERE post_id LIKE "
                       "'cli%' AND model_id = 'jigsaw-bilstm' ORDER BY 1", [TOXIC_THRESHOLD]).fetchall() == [
        ("cli1", True), ("cli2", False)]
    assert con.execute("SELECT actor, details->>'via' FROM audit_log WHERE action = 'import'").fetchall() == [
        (os.environ.get("USER") or "cli", "the dashboard's inbox")]
    con.close()
