"""Sign-in and the moderator pages, headless (AppTest) on a copy of the small store with real toxicity scores."""
import shutil
from pathlib import Path

import pandas as pd
import pytest

from analytics import store
from analytics.access import auth
from analytics.models import scoring

MOD = auth.User("maria", "Maria", "moderator")
ANALYST = auth.User("ann", "Ann", "analyst")


@pytest.fixture
def db(scored_small, tmp_path, use_db) -> Path:
    """A copy of the toxicity-scored small store (conftest's scored_small) for the app."""
    return use_db(Path(shutil.copy(scored_small, tmp_path / "db.duckdb")))


def decisions(path: Path) -> list[tuple]:
    con = store.connect(path)  # read-write like the app's connection in this process: DuckDB needs one config
    try:
        return con.execute("SELECT post_id, moderator, action, reason_code, batch_id, undoes "
                           "FROM moderation_decisions ORDER BY decision_id").fetchall()
    finally:
        con.close()


def test_sign_in_with_the_first_run_admin(monkeypatch, tmp_path, small_db, use_db, app_run):
    use_db(small_db)
    monkeypatch.setenv("SOCIAL_AUTH", str(tmp_path / "auth.json"))
    at = app_run("app.py", None)
    assert at.title[0].value == "Sign in" and "admin_password.txt" in at.info[0].value
    password = (tmp_path / "admin_password.txt").read_text().strip()
    at.text_input(key="sign_in_user").input("admin")
    at.text_input(key="sign_in_password").input("wrong password")
    at.button[0].click().run()
    assert at.error[0].value == "Wrong username or password." and "user" not in at.session_state
    at.text_input(key="sign_in_password").input(password)
    at.button[0].click().run()
    assert not at.exception and at.session_state["user"].role == "admin"
    assert at.title[0].value == "Overview", "signed in: the default page"


def test_pages_refuse_the_wrong_role(db, app_run):
    at = app_run("pages/moderator_queue.py", ANALYST)
    assert "does not allow this page" in at.error[0].value and not at.button
    at = app_run("pages/moderator_audit.py", None)
    assert at.warning[0].value == "Sign in to see this page." and not at.dataframe


def test_queue_decide_next_undo(db, app_run):
    at = app_run("pages/moderator_queue.py", MOD)
    first = at.session_state["queue_current"]
    assert first and at.subheader[0].value.startswith("Flagged for")
    at.button(key="queue_remove").click().run()
    assert not at.exception
    assert decisions(db) == [(first, "maria", "remove", "harassment", None, None)]
    second = at.session_state["queue_current"]
    assert second and second != first, "after a decision the next item loads"
    assert "Next item loaded" in at.success[0].value
    at.button(key="queue_undo").click().run()
    rows = decisions(db)
    assert len(rows) == 2 and rows[1][:3] == (first, "maria", "undo") and rows[1][5] is not None
    assert rows[0] == (first, "maria", "remove", "harassment", None, None), "the decision itself is kept"


def test_bulk_action_needs_confirmation_and_is_one_batch(db, app_run):
    at = app_run("pages/moderator_queue.py", MOD)
    assert at.button(key="queue_bulk_go").disabled
    at.selectbox(key="queue_bulk_action").set_value("approve").run()
    at.checkbox(key="queue_bulk_confirm").check().run()
    at.button(key="queue_bulk_go").click().run()
    assert not at.exception
    rows = decisions(db)
    assert rows and {r[2] for r in rows} == {"approve"} and len({r[4] for r in rows}) == 1 and rows[0][4]
    assert len({r[0] for r in rows}) == len(rows)
    assert "Nothing to review" in at.success[-1].value or at.session_state["queue_current"] not in {r[0] for r in rows}


def test_audit_and_quality_pages(db, app_run):
    app_run("pages/moderator_queue.py", MOD).button(key="queue_approve").click().run()
    at = app_run("pages/moderator_audit.py", MOD)
    log = at.dataframe[0].value
    assert log[["moderator", "action", "reason_code"]].values.tolist() == [["maria", "approve", "no_violation"]]
    at = app_run("pages/moderator_quality.py", MOD)
    assert at.get("plotly_chart") and len(at.dataframe) == 3


def test_untrusted_text_in_the_queue_is_inert(db, app_run):
    evil = "<script>alert(1)</script> **idiot** [x](javascript:alert(1))"
    con = store.connect(db)
    (author,), = con.execute("SELECT min(user_id) FROM users").fetchall()
    store.upsert(con, "posts", pd.DataFrame({"post_id": ["evil1"], "author_id": [author],
                                             "created_at": [pd.Timestamp("2026-10-30")], "text": [evil],
                                             "source": "test"}))
    scoring.score_posts(con, names=["toxicity"], post_ids=["evil1"])
    con.close()
    # flagged (P(toxic) is high) and unclaimed, so it stays current
    at = app_run("pages/moderator_queue.py", MOD, state={"queue_current": "evil1"})
    assert at.session_state["queue_current"] == "evil1"
    assert any("█" in t.value and "alert(1)" in t.value for t in at.text), "masked, as plain st.text"
    at.button(key="queue_reveal_btn").click().run()
    shown = " ".join(m.value for m in at.markdown)
    assert "<script>" not in shown and r"\<script\>" in shown, "revealed words are markdown-escaped"


def test_removal_notice_draft_becomes_the_saved_note(db, tiny, monkeypatch, app_run):
    from analytics.models import drafts
    from components import drafts as draft_component

    tokenizer, model = tiny  # a tiny random model: the page flow, not the wording, is under test here
    fake = drafts.Drafter(tokenizer=tokenizer, model=model)
    monkeypatch.setattr(draft_component, "drafter", lambda: fake)
    at = app_run("pages/moderator_queue.py", MOD)
    post = at.session_state["queue_current"]
    next(b for b in at.button if b.label == "Draft the rest with the language model").click().run()
    assert not at.exception and any("Draft — check before use" in c.value for c in at.caption)
    at.button(key="queue_use_draft").click().run()
    note = at.text_area(key="queue_note").value
    assert note.startswith("Hi @") and "(reason: harassment)" in note and " w" in note, note
    at.text_area(key="queue_note").input(note + " Edited.").run()
    at.button(key="queue_remove").click().run()
    con = store.connect(db)
    saved = con.execute("SELECT post_id, note FROM moderation_decisions").fetchall()
    con.close()
    assert saved == [(post, note + " Edited.")], "what the moderator edited is what is saved"


def test_admin_saves_a_team_threshold_that_queues_start_from(db, app_run):
    at = app_run("pages/moderator_quality.py", MOD)
    assert not [b for b in at.button if b.key == "quality_save"], "moderators cannot change team thresholds"
    at = app_run("pages/moderator_quality.py", auth.User("root", "Root", "admin"))
    at.selectbox(key="quality_label").set_value("insult").run()
    at.number_input(key="quality_new").set_value(0.3).run()
    at.button(key="quality_save").click().run()
    assert not at.exception and "insult threshold is now 0.30" in at.success[0].value
    assert app_run("pages/moderator_queue.py", MOD).slider(key="queue_t_insult").value == 0.3


def test_decide_on_a_reported_post(db, app_run):
    at = app_run("pages/moderator_reports.py", MOD)
    first = next(b for b in at.button if b.key and b.key.startswith("reports_go_"))
    post = first.key.removeprefix("reports_go_")
    at.selectbox(key=f"reports_action_{post}").set_value("escalate").run()
    at.selectbox(key=f"reports_reason_{post}").set_value("threat").run()
    at.button(key=f"reports_go_{post}").click().run()
    assert not at.exception and at.success[0].value == "Recorded: escalate (threat)."
    assert decisions(db) == [(post, "maria", "escalate", "threat", None, None)]
    assert any("· escalate" in c.value for c in at.caption), "the card shows the new state"
