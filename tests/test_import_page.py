"""The Import page, headless (AppTest drives st.file_uploader): a bad file shows every problem and writes nothing;
a good one shows its preview, then one click writes it in one audited transaction."""
import json
from pathlib import Path

import pytest
from helpers import query

from analytics import store
from analytics.access import auth
from analytics.data import ingest
from components import imports
from components.post_card import escape_md

PAGE = "pages/data_import.py"
ANN = auth.User("ann", "Ann", "analyst")


@pytest.fixture
def db(scored_app_db) -> Path:
    return scored_app_db


def counts(path: Path) -> dict[str, int]:
    con = store.connect(path)
    try:
        return store.table_counts(con)
    finally:
        con.close()


def upload(at, name: str, content: bytes):
    """Put `content` in the page's (empty) uploader as the file `name` and run the page."""
    at.file_uploader[0].set_value((name, content, "application/octet-stream")).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_parse_mapping():
    assert imports.parse_mapping("") == {} and imports.parse_mapping("  ,") == {}
    assert imports.parse_mapping("text=body, created_at = ts,") == {"text": "body", "created_at": "ts"}
    for bad, part in (("text", "text"), ("text=body, author_id", "author_id"), ("=body", "=body"), ("text=", "text=")):
        with pytest.raises(ValueError, match=f"expected TARGET=SOURCE, got '{part}'"):
            imports.parse_mapping(bad)
    with pytest.raises(ValueError, match="'text' is mapped twice"):
        imports.parse_mapping("text=body, text=content")


def test_page_offers_the_upload_and_no_button_before_one(db, app_run):
    at = app_run(PAGE, ANN)
    assert at.title[0].value == "Import posts"
    assert "post_id, author_id, created_at, text" in at.caption[0].value
    assert "lang, parent_id, hashtags, topic, author_handle" in at.caption[0].value
    assert at.file_uploader[0].allowed_type == [".csv", ".parquet", ".pq", ".jsonl", ".ndjson"]
    assert at.selectbox(key="import_encoding").options == ["utf-8", "utf-8-sig", "cp1252", "latin-1"]
    assert at.metric[0].label == "Posts in the store" and at.metric[0].value == f"{counts(db)['posts']:,}"
    assert not at.button and not at.dataframe and not at.error


def test_bad_file_shows_every_problem_and_writes_nothing(db, app_run):
    before = counts(db)
    at = upload(app_run(PAGE, ANN), "bad <b>*posts*</b>.csv",
                b"post_id,author_id,created_at\nn1,a1,2024-01-01T10:00:00\nn2,a1,yesterday\n")
    assert at.error[0].value == escape_md("bad <b>*posts*</b>.csv: 2 problems found, nothing was imported. Fix the "
                                          "file (or the column mapping or encoding) and upload it again.")
    missing_text = ("missing required column 'text'; the file has columns: 'post_id', 'author_id', 'created_at'. "
                    "If they are named differently, map them with --map TARGET=SOURCE, e.g. --map text=YOUR_COLUMN")
    bad_time = ("row 2 (line 3), column 'created_at': cannot parse timestamp 'yesterday' (expected ISO 8601 such as "
                "2024-05-01T12:30:00Z, or unix epoch seconds)")
    assert at.dataframe[0].value["problem"].tolist() == [missing_text, bad_time], "the CLI's text, one row each"
    assert not at.button and not at.metric[2:], "no preview, nothing to import"
    assert counts(db) == before


def test_bad_mapping_syntax_is_an_error_not_a_crash(db, app_run):
    at = app_run(PAGE, ANN)
    at.text_input(key="import_map").input("text body")
    upload(at, "posts.csv", b"post_id,author_id,created_at,body\nn1,a1,2024-01-01T10:00:00,hello\n")
    assert at.error[0].value == escape_md("column mapping: expected TARGET=SOURCE, got 'text body' (pairs separated "
                                          "by commas, e.g. text=body, created_at=timestamp)")
    assert not at.button
    at.text_input(key="import_map").input("text=body").run()
    assert not at.error and at.button(key="import_go").label == "Import 1 post", "mapped: valid"


def test_good_file_previews_then_imports_once(db, app_run):
    old_id, old_author = query(db, "SELECT post_id, author_id FROM posts ORDER BY post_id LIMIT 1")[0]
    assert query(db, "SELECT count(*) FROM model_scores WHERE post_id = ?", [old_id])[0][0] > 0
    before = counts(db)
    content = (f"post_id,author_id,created_at,text,author_handle\n"
               f"imp-1,imp-author,2024-05-01T12:30:00Z,First imported post #hello,newbie\n"
               f"imp-2,{old_author},1714566600,\"Second, with a comma\",\n"
               f"{old_id},{old_author},2024-05-01T13:00:00Z,Edited text of an old post,\n").encode()
    at = upload(app_run(PAGE, ANN), "my_posts.csv", content)
    assert not at.error
    shown = {m.label: m.value for m in at.metric}
    assert shown == {"Posts in the store": f"{before['posts']:,}", "Authors": f"{before['users']:,}",
                     "New posts": "2", "Updated posts": "1", "Updated with changed text": "1", "New authors": "1"}
    rows = at.dataframe[0].value
    assert list(rows.columns) == ["post_id", "author_id", "created_at", "text", "lang", "topic"]
    assert rows["post_id"].tolist() == ["imp-1", "imp-2", old_id]
    assert counts(db) == before, "the preview writes nothing"

    at.button(key="import_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.success[0].value == escape_md("Imported 3 posts from my_posts.csv: 2 new, 1 updated (1 with new text: "
                                            "scored again, decisions reopened); 1 new authors.")
    assert any("SOCIAL_ENRICH=0" in c.value for c in at.caption), "enrichment is off in tests: the page says so"
    after = counts(db)
    assert after["posts"] == before["posts"] + 2 and after["users"] == before["users"] + 1
    assert after["audit_log"] == before["audit_log"] + 1
    assert {m.label: m.value for m in at.metric} == {"Posts in the store": f"{after['posts']:,}",
                                                     "Authors": f"{after['users']:,}"}
    posts = dict(query(db, "SELECT post_id, text FROM posts WHERE post_id IN ('imp-1', 'imp-2', ?)", [old_id]))
    assert posts == {"imp-1": "First imported post #hello", "imp-2": "Second, with a comma",
                     old_id: "Edited text of an old post"}
    assert query(db, "SELECT source FROM posts WHERE post_id = 'imp-1'") == [("import:my_posts.csv",)]
    (actor, target, details), = query(db, "SELECT actor, target_id, details FROM audit_log WHERE action = 'import'")
    assert (actor, target) == ("ann", "my_posts.csv")
    details = json.loads(details)
    assert (details["new"], details["updated"], details["changed"], details["new_authors"]) == (2, 1, 1, 1)
    assert [c["post_id"] for c in details["text_changes"]] == [old_id]
    assert query(db, "SELECT count(*) FROM model_scores WHERE post_id = ?", [old_id]) == [(0,)], "old scores dropped"

    # The uploader is emptied: the same upload cannot be imported a second time by accident.
    assert at.file_uploader[0].value is None and not at.button and not at.dataframe
    assert counts(db) == after


def test_write_checks_the_capability(db):
    batch = ingest.load_file(Path(__file__).resolve().parent.parent / "sample_data" / "import_example.csv")
    with pytest.raises(auth.PermissionDenied):
        imports.write(auth.User("maria", "Maria", "moderator"), batch)
