"""Tests for analytics.data.ingest: good imports in every format, upserts, mapping, every bad input, atomicity, CLI, lock."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from analytics import store
from analytics.data import ingest
from analytics.data.ingest import MAX_TEXT_CHARS, IngestError, import_file, validate_frame

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data" / "import_example.csv"

GOOD_CSV = """post_id,author_id,author_handle,created_at,text,lang,parent_id
p1,u1,@alice,2024-05-01T08:00:00Z,Hello #World and #python,en,
p2,u2,,2024-05-01T10:00:00+02:00,"A reply, with a comma",,p1
p3,u1,alice,1714550400,Third post #Python #news,en,
"""


@pytest.fixture
def con(tmp_path):
    c = store.connect(tmp_path / "t.duckdb")
    yield c
    c.close()


@pytest.fixture
def seeded(con, tmp_path):
    """A store that already holds one good import, so 'nothing changed' is checked against non-empty tables."""
    path = tmp_path / "seed.csv"
    path.write_text(GOOD_CSV)
    import_file(con, path)
    return con


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", newline="")
    return path


def rows(con, sql, *params):
    return con.execute(sql, list(params)).fetchall()


# ------------------------------------------------------------------------------------------------ good files

def test_good_csv(con, tmp_path):
    res = import_file(con, write(tmp_path, "good.csv", GOOD_CSV))
    assert res | {"event_id": None} == {"file": "good.csv", "format": "csv", "rows": 3, "new": 3, "updated": 0,
                                       "changed": 0, "new_authors": 2, "dry_run": False, "event_id": None}
    got = {r[0]: r for r in rows(con, "SELECT post_id, author_id, created_at, text, lang, hashtags, parent_id, source "
                                      "FROM posts")}
    assert got["p1"][2] == datetime(2024, 5, 1, 8, 0)
    assert got["p2"][2] == datetime(2024, 5, 1, 8, 0)               # +02:00 converted to naive UTC
    assert got["p3"][2] == datetime(2024, 5, 1, 8, 0)               # epoch seconds
    assert got["p1"][5] == ["world", "python"]                       # extracted from the text, lower-cased
    assert got["p3"][5] == ["python", "news"]
    assert got["p2"][5] == []
    assert got["p2"][4] == "en" and got["p1"][4] == "en", "p2 gives none: detected from its text"
    assert got["p2"][6] == "p1" and got["p1"][6] is None
    assert {r[7] for r in got.values()} == {"import:good.csv"}
    assert rows(con, "SELECT user_id, handle, created_at, source FROM users ORDER BY user_id") == [
        ("u1", "alice", None, "import:good.csv"), ("u2", "u2", None, "import:good.csv")]
    (audit,) = rows(con, "SELECT actor, action, target_type, target_id, details FROM audit_log")
    assert audit[0] == (os.environ.get("USER") or "cli")
    assert audit[1:4] == ("import", "file", "good.csv")
    details = json.loads(audit[4])
    assert (details["rows"], details["new"], details["updated"], details["new_authors"]) == (3, 3, 0, 2)


def test_good_parquet(con, tmp_path):
    df = pd.DataFrame({
        "post_id": [101, 102],
        "author_id": ["u9", "u9"],
        "created_at": pd.to_datetime(["2024-05-01T10:00:00+02:00", "2024-05-02T00:00:00+02:00"], utc=True)
                        .tz_convert("Europe/Berlin"),
        "text": ["Parquet post #Ignored", "这是第二条"],
        "hashtags": [["#Data", "eng"], []],
        "topic": ["tech", None],
    })
    path = tmp_path / "posts.parquet"
    df.to_parquet(path)
    res = import_file(con, path)
    assert (res["format"], res["rows"], res["new"], res["new_authors"]) == ("parquet", 2, 2, 1)
    assert rows(con, "SELECT post_id, created_at, hashtags, topic, lang FROM posts ORDER BY post_id") == [
        ("101", datetime(2024, 5, 1, 8, 0), ["data", "eng"], "tech", "en"),
        ("102", datetime(2024, 5, 1, 22, 0), [], None, "zh")]
    assert rows(con, "SELECT user_id, handle FROM users") == [("u9", "u9")]
    assert rows(con, "SELECT target_id FROM audit_log") == [("posts.parquet",)]


def test_good_jsonl(con, tmp_path):
    lines = [
        {"post_id": "j1", "author_id": 7, "created_at": 1714550400, "text": "From JSON #one", "hashtags": "Alpha, beta gamma"},
        {"post_id": "j2", "author_id": "8", "author_handle": "@bob", "created_at": "2024-05-01T08:00:00",
         "text": "No tags here #two", "parent_id": None, "lang": "fr"},
    ]
    text = json.dumps(lines[0]) + "\n\n" + json.dumps(lines[1]) + "\n"
    res = import_file(con, write(tmp_path, "feed.jsonl", text))
    assert (res["format"], res["rows"], res["new"], res["new_authors"]) == ("jsonl", 2, 2, 2)
    assert rows(con, "SELECT post_id, author_id, created_at, hashtags, lang FROM posts ORDER BY post_id") == [
        ("j1", "7", datetime(2024, 5, 1, 8, 0), ["alpha", "beta", "gamma"], "en"),
        ("j2", "8", datetime(2024, 5, 1, 8, 0), ["two"], "fr")]
    assert rows(con, "SELECT user_id, handle FROM users ORDER BY user_id") == [("7", "7"), ("8", "bob")]
    assert len(rows(con, "SELECT * FROM audit_log")) == 1


def test_sample_file_imports(con):
    res = import_file(con, SAMPLE)
    assert res["rows"] == 8 and res["new"] == 8
    assert store.table_counts(con)["posts"] == 8


def test_reimport_upserts(con, tmp_path):
    path = write(tmp_path, "good.csv", GOOD_CSV)
    import_file(con, path)
    path.write_text(GOOD_CSV.replace("Hello #World", "Edited #World") + "p4,u3,,2024-05-03T00:00:00Z,Brand new,,\n")
    res = import_file(con, path)
    assert (res["rows"], res["new"], res["updated"], res["new_authors"]) == (4, 1, 3, 1)
    counts = store.table_counts(con)
    assert (counts["posts"], counts["users"], counts["audit_log"]) == (4, 3, 2)
    assert rows(con, "SELECT text FROM posts WHERE post_id = 'p1'") == [("Edited #World and #python",)]
    details = json.loads(rows(con, "SELECT details FROM audit_log ORDER BY event_id DESC LIMIT 1")[0][0])
    assert (details["new"], details["updated"]) == (1, 3)


def test_reimport_with_new_text_drops_scores_and_reopens_decisions(con, tmp_path):
    import hashlib

    from analytics import moderation
    from analytics.access.auth import User
    from analytics.models import scoring

    path = write(tmp_path, "good.csv", GOOD_CSV)
    import_file(con, path)
    scoring.score_posts(con)
    mod = User("mod1", "Mod", "moderator")
    decision = moderation.decide(con, mod, "p1", "approve", "no_violation", seen=None)
    old = rows(con, "SELECT post_id, model_id FROM model_scores ORDER BY 1, 2")
    assert len(old) == 9 and rows(con, "SELECT count(*) FROM embeddings") == [(3,)]  # 3 models x 3 posts
    edited = "you are a worthless idiot and everyone hates you"
    path.write_text(GOOD_CSV.replace("Hello #World and #python", edited))
    res = import_file(con, path, actor="importer")
    assert (res["new"], res["updated"], res["changed"]) == (0, 3, 1)
    assert rows(con, "SELECT DISTINCT post_id FROM model_scores ORDER BY 1") == [("p2",), ("p3",)], "p1's are gone"
    assert rows(con, "SELECT post_id FROM embeddings ORDER BY 1") == [("p2",), ("p3",)]
    assert rows(con, "SELECT moderator, action, undoes, note FROM moderation_decisions ORDER BY decision_id") == [
        ("mod1", "approve", None, None), ("system", "undo", decision, "text changed on import of good.csv")]
    assert moderation.post_states(con).empty, "p1 is undecided again"
    (details,), = rows(con, "SELECT details FROM audit_log WHERE action = 'import' ORDER BY event_id DESC LIMIT 1")
    sha = lambda t: hashlib.sha256(t.encode()).hexdigest()  # noqa: E731
    assert json.loads(details)["text_changes"] == [
        {"post_id": "p1", "old_sha256": sha("Hello #World and #python"), "new_sha256": sha(edited)}]
    assert json.loads(details)["reopened_decisions"] == [decision]
    assert scoring.score_posts(con) == {"sentiment": 1, "toxicity": 1, "embedding": 1, "abuse": 0}, \
        "only the changed post is scored again"
    assert moderation.queue(con)["post_id"].tolist() == ["p1"], "the edited post is back in the queue, flagged"


def test_existing_users_untouched(con, tmp_path):
    store.upsert(con, "users", pd.DataFrame({"user_id": ["u1"], "handle": ["original"], "source": ["simulated"],
                                             "community": ["sports"]}))
    res = import_file(con, write(tmp_path, "good.csv", GOOD_CSV))
    assert res["new_authors"] == 1
    assert rows(con, "SELECT handle, source, community FROM users WHERE user_id = 'u1'") == [
        ("original", "simulated", "sports")]


def test_mapping(con, tmp_path):
    csv = "id,user,ts,body,tags\nm1,u1,2024-05-01 08:00:00,Mapped body,\"a b\"\n"
    res = import_file(con, write(tmp_path, "m.csv", csv),
                      mapping={"post_id": "id", "author_id": "user", "created_at": "ts", "text": "body",
                               "hashtags": "tags"})
    assert res["new"] == 1
    assert rows(con, "SELECT post_id, author_id, text, hashtags FROM posts") == [("m1", "u1", "Mapped body", ["a", "b"])]


def test_mapping_to_missing_source(seeded, tmp_path):
    before = store.table_counts(seeded)
    with pytest.raises(IngestError) as e:
        import_file(seeded, write(tmp_path, "m.csv", GOOD_CSV), mapping={"text": "body", "nope": "text"})
    msg = str(e.value)
    assert "--map text=body: the file has no column 'body'" in msg
    assert "'nope' is not a target column" in msg
    assert store.table_counts(seeded) == before


def test_dry_run_writes_nothing(seeded, tmp_path):
    before = store.table_counts(seeded)
    res = import_file(seeded, write(tmp_path, "good.csv", GOOD_CSV), dry_run=True)
    assert res["dry_run"] and (res["new"], res["updated"], res["new_authors"]) == (0, 3, 0)
    assert store.table_counts(seeded) == before
    assert import_file(None, write(tmp_path, "good.csv", GOOD_CSV), dry_run=True)["rows"] == 3


def test_encoding_option(con, tmp_path):
    path = write(tmp_path, "latin.csv", "post_id,author_id,created_at,text\nl1,u1,2024-05-01,Caf\xe9 cr\xe8me\n"
                 .encode("latin-1"))
    import_file(con, path, encoding="latin-1")
    assert rows(con, "SELECT text FROM posts") == [("Café crème",)]


def test_utf8_bom_header(con, tmp_path):
    import_file(con, write(tmp_path, "bom.csv", "\ufeff" + GOOD_CSV))
    assert store.table_counts(con)["posts"] == 3


def test_validate_frame():
    df = pd.DataFrame({"post_id": ["a", "a"], "author_id": ["u", None], "created_at": ["2024-01-01", "soon"],
                       "text": ["ok", "ok"]})
    problems = validate_frame(df)
    assert "row 2, column 'author_id': missing value" in problems
    assert any(p.startswith("row 2, column 'created_at': cannot parse timestamp 'soon'") for p in problems)
    assert any("duplicate post_id 'a', already used in row 1" in p for p in problems)
    assert validate_frame(df.iloc[:1]) == []


# ------------------------------------------------------------------------------------------------ bad files

HEAD = "post_id,author_id,created_at,text\n"
BAD_CASES = {
    "missing_columns": ("x.csv", "id,author_id,created_at,body\n1,u,2024-01-01,hi\n",
                        ["missing required columns 'post_id', 'text'", "'id', 'author_id', 'created_at', 'body'",
                         "--map post_id=id --map text=body"]),
    "bad_timestamp": ("x.csv", HEAD + 'a,u,2024-01-01,"two\nlines"\nb,u,yesterday-ish,hi\n',
                      ["row 2 (line 4), column 'created_at': cannot parse timestamp 'yesterday-ish'"]),
    "epoch_millis": ("x.csv", HEAD + "a,u,1714550400000,hi\n",
                     ["row 1 (line 2), column 'created_at': epoch value '1714550400000' is out of range"]),
    "duplicate_id": ("x.csv", HEAD + "a,u,2024-01-01,hi\nb,u,2024-01-01,hi\na,u,2024-01-02,again\n",
                     ["row 3 (line 4), column 'post_id': duplicate post_id 'a', already used in row 1 (line 2)"]),
    "non_utf8": ("x.csv", (HEAD + "a,u,2024-01-01,ok\nb,u,2024-01-01,caf\xe9\n").encode("latin-1"),
                 ["line 3, byte offset 70 (byte 19 of the line)", "cannot decode e9 as utf-8", "--encoding"]),
    "empty_text": ("x.csv", HEAD + "a,u,2024-01-01,hi\nb,u,2024-01-01,\n",
                   ["row 2 (line 3), column 'text': text is empty"]),
    "whitespace_text": ("x.csv", HEAD + 'a,u,2024-01-01,"   "\n',
                        ["row 1 (line 2), column 'text': text is empty or only whitespace"]),
    "huge_text": ("x.csv", HEAD + "a,u,2024-01-01," + "x" * (MAX_TEXT_CHARS + 1) + "\n",
                  [f"row 1 (line 2), column 'text': text is {MAX_TEXT_CHARS + 1:,} characters long"]),
    "nul_csv": ("x.csv", HEAD + "a,u,2024-01-01,bad\x00text\n",
                ["row 1 (line 2), column 'text': contains a NUL byte"]),
    "nul_jsonl": ("x.jsonl", '{"post_id": "a", "author_id": "u\\u0000x", "created_at": 0, "text": "hi"}\n',
                  ["row 1 (line 1), column 'author_id': contains a NUL byte"]),
    "empty_file": ("x.csv", "", ["the file is empty"]),
    "blank_jsonl": ("x.jsonl", "\n  \n", ["the file is empty"]),
    "header_only": ("x.csv", HEAD, ["header row but no data rows"]),
    "empty_parquet": ("x.parquet", None, ["the file has no rows"]),
    "malformed_json": ("x.jsonl", '{"post_id": "a", "author_id": "u", "created_at": 0, "text": "hi"}\n'
                                  '{"post_id": "b", "author_id": \n',
                       ["line 2: malformed JSON"]),
    "null_post_id": ("x.csv", HEAD + ",u,2024-01-01,hi\n", ["row 1 (line 2), column 'post_id': missing value"]),
    "null_author_id": ("x.jsonl", '\n{"post_id": "a", "author_id": null, "created_at": 0, "text": "hi"}\n',
                       ["row 1 (line 2), column 'author_id': missing value"]),
    "ragged_csv": ("x.csv", HEAD + "a,u,2024-01-01,hi,extra\n", ["row 1 (line 2): has 5 fields but the header has 4"]),
    "unknown_ext": ("x.txt", HEAD + "a,u,2024-01-01,hi\n", ["--format"]),
}


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_bad_input_reports_and_writes_nothing(seeded, tmp_path, case):
    name, content, expected = BAD_CASES[case]
    if content is None:
        path = tmp_path / name
        pd.DataFrame({c: pd.Series([], dtype=str) for c in ["post_id", "author_id", "created_at", "text"]}) \
            .to_parquet(path)
    else:
        path = write(tmp_path, name, content)
    before = store.table_counts(seeded)
    with pytest.raises(IngestError) as e:
        import_file(seeded, path)
    msg = str(e.value)
    for part in expected:
        assert part in msg, f"{part!r} not in:\n{msg}"
    assert "nothing was imported" in msg
    assert store.table_counts(seeded) == before


def test_all_problems_reported_and_capped(con, tmp_path):
    body = "".join(f"p{i},u,not-a-date,hi\n" for i in range(60)) + ",u,2024-01-01,  \n"
    with pytest.raises(IngestError) as e:
        import_file(con, write(tmp_path, "many.csv", HEAD + body))
    assert len(e.value.problems) == 62          # 60 timestamps + missing post_id + whitespace text
    msg = str(e.value)
    assert msg.count("\n  - ") == ingest.MAX_PROBLEMS
    assert "... and 12 more" in msg
    assert store.table_counts(con)["posts"] == 0


def test_mid_write_failure_rolls_back(seeded, tmp_path, monkeypatch):
    before = store.table_counts(seeded)
    real_upsert = store.upsert
    calls = []

    def failing_upsert(con, table, df):
        calls.append(table)
        if table == "posts":
            raise RuntimeError("disk on fire")
        return real_upsert(con, table, df)

    monkeypatch.setattr(store, "upsert", failing_upsert)
    csv = GOOD_CSV + "p9,u_new,,2024-05-09T00:00:00Z,From a new author,,\n"
    with pytest.raises(RuntimeError, match="disk on fire"):
        import_file(seeded, write(tmp_path, "fail.csv", csv))
    assert calls == ["users", "posts"]          # users were written before the failure...
    assert store.table_counts(seeded) == before  # ...and rolled back with everything else
    assert rows(seeded, "SELECT count(*) FROM users WHERE user_id = 'u_new'") == [(0,)]


# ------------------------------------------------------------------------------------------------ CLI

def run_cli(*args, timeout=30):
    env = {k: v for k, v in os.environ.items() if k != "SOCIAL_DB"}
    return subprocess.run([sys.executable, "-m", "analytics.ingest", *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_cli_good_and_bad(tmp_path):
    db = tmp_path / "cli.duckdb"
    ok = run_cli(SAMPLE, "--db", db)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == "Imported 8 posts from import_example.csv: 8 new, 0 updated; 5 new authors."

    bad = write(tmp_path, "bad.csv", HEAD + "a,u,2024-01-01,hi\nb,u,yesterday-ish,hi\n")
    res = run_cli(bad, "--db", db, "--map", "post_id=post_id")
    assert res.returncode == 2
    assert "row 2 (line 3), column 'created_at': cannot parse timestamp 'yesterday-ish'" in res.stderr
    assert res.stdout == ""
    con = store.connect(db, read_only=True)
    try:
        assert store.table_counts(con)["posts"] == 8
    finally:
        con.close()


def test_cli_locked_db(tmp_path, hold_db):
    db = tmp_path / "locked.duckdb"
    store.connect(db).close()
    with hold_db(db) as pid:
        res = run_cli(SAMPLE, "--db", db)
    assert res.returncode == 3, res.stderr
    assert "locked" in res.stderr
    assert f"process {pid}" in res.stderr
