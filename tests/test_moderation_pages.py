"""Sign-in and the moderator pages, headless (AppTest) on a copy of the small store with real toxicity scores."""
import shutil
from pathlib import Path

import pandas as pd
import pytest
from helpers import query

from analytics import store
from analytics.access import auth
from analytics.models import scoring

MOD = auth.User("maria", "Maria", "moderator")
IVAN = auth.User("ivan", "Ivan", "moderator")
ANALYST = auth.User("ann", "Ann", "analyst")


@pytest.fixture
def db(scored_app_db) -> Path:
    return scored_app_db


def decisions(path: Path) -> list[tuple]:
    return query(path, "SELECT post_id, moderator, action, reason_code, batch_id, undoes "
                       "FROM moderation_decisions ORDER BY decision_id")


def press(at, button) -> None:
    """Send one press of `button` as the browser sends it, and run the page. `button` may be from an earlier run and
    no longer on screen: a key pressed again before the page re-rendered arrives for the button the browser still
    showed (AppTest's click() only reaches what the last run rendered)."""
    states = at._tree.get_widget_states()
    pressed = button._widget_state
    pressed.trigger_value = True
    states.widgets.append(pressed)
    at._run(states)
    assert not at.exception, [e.value for e in at.exception]


def test_sign_in_with_the_first_run_admin(monkeypatch, tmp_path, small_db, use_db, app_run):
    from components import resources

    db = use_db(Path(shutil.copy(small_db, tmp_path / "s.duckdb")))
    monkeypatch.setenv("SOCIAL_AUTH", str(tmp_path / "auth.json"))
    at = app_run("app.py", None)
    assert at.title[0].value == "Sign in" and "admin_password.txt" in at.info[0].value
    password_file = tmp_path / "admin_password.txt"
    password = password_file.read_text().strip()
    at.text_input(key="sign_in_user").input("admin")
    at.text_input(key="sign_in_password").input("wrong password")
    at.button[0].click().run()
    assert [e.value for e in at.error] == ["Wrong username or password."] and not at.get("html")
    at.text_input(key="sign_in_password").input(password)
    at.button[0].click().run()
    assert "Choose your own to continue" in at.info[0].value and not at.get("html"), "no session before a new password"
    at.text_input(key="new_password_1").input("my-own-password")
    at.text_input(key="new_password_2").input("my-own-passwort")
    at.button[0].click().run()
    assert [e.value for e in at.error] == ["The two passwords differ."]
    at.text_input(key="new_password_2").input("my-own-password")
    at.button[0].click().run()
    assert not at.exception and not password_file.exists(), "the generated password's file is gone"
    [html] = [h.value for h in at.get("html")]
    cookie = resources.sessions().redeem(html.split("ticket=")[1].split("&")[0])
    assert resources.sessions().username(cookie) == "admin"
    assert auth.authenticate("admin", "my-own-password") == auth.User("admin", "Administrator", "admin")
    assert query(db, "SELECT actor, action FROM audit_log ORDER BY event_id") == [
        ("admin", "sign_in_failed"), ("admin", "sign_in"), ("admin", "password_changed")]


def test_pages_refuse_the_wrong_role(db, app_run):
    at = app_run("pages/moderator_queue.py", ANALYST)
    assert "does not allow this page" in at.error[0].value and not at.button
    at = app_run("pages/moderator_audit.py", None)
    assert at.title[0].value == "Sign in" and not at.dataframe


def test_queue_decide_next_undo(db, app_run):
    at = app_run("pages/moderator_queue.py", MOD)
    first = at.session_state["queue_current"]
    assert first and at.subheader[0].value.startswith("Flagged for")
    at.button(key=f"queue_remove_{first}").click().run()
    assert not at.exception
    assert decisions(db) == [(first, "maria", "remove", "harassment", None, None)]
    second = at.session_state["queue_current"]
    assert second and second != first, "after a decision the next item loads"
    assert "Next item loaded" in at.success[0].value
    (undone,), = query(db, "SELECT decision_id FROM moderation_decisions")
    at.button(key=f"queue_undo_{undone}").click().run()
    assert at.success[0].value == f"Decision #{undone} undone (recorded as new events); back in the queue."
    rows = decisions(db)
    assert len(rows) == 2 and rows[1][:3] == (first, "maria", "undo") and rows[1][5] is not None
    assert rows[0] == (first, "maria", "remove", "harassment", None, None), "the decision itself is kept"


def test_a_key_pressed_twice_removes_one_post_and_the_next_only_once_it_is_on_screen(db, app_run):
    at = app_run("pages/moderator_queue.py", MOD)
    first = at.session_state["queue_current"]
    x_on_first = at.button(key=f"queue_remove_{first}")  # the X button: its key names the card it belongs to
    assert x_on_first.label == "Remove (X)"
    press(at, x_on_first)
    removed = [(first, "maria", "remove", "harassment", None, None)]
    second = at.session_state["queue_current"]
    assert decisions(db) == removed and second and second != first
    on_screen = {b.key for b in at.button}
    assert f"queue_remove_{second}" in on_screen and f"queue_remove_{first}" not in on_screen
    # X again, landing on the first card's button (the browser had not shown the second card yet): not applied to
    # the second card, which the moderator has not seen; and the first card is decided already, so nothing at all
    press(at, x_on_first)
    assert decisions(db) == removed and at.session_state["queue_current"] == second
    # X on the second card once it is on screen removes it, once
    x_on_second = at.button(key=f"queue_remove_{second}")
    press(at, x_on_second)
    removed.append((second, "maria", "remove", "harassment", None, None))
    assert decisions(db) == removed and at.success[0].value == "Removed (harassment). Next item loaded."
    press(at, x_on_second)
    assert decisions(db) == removed and at.session_state["queue_current"] not in (first, second)


def test_undoing_a_batch_asks_first(db, app_run):
    at = app_run("pages/moderator_queue.py", MOD)
    at.selectbox(key="queue_bulk_action").set_value("approve").run()
    at.checkbox(key="queue_bulk_confirm").check().run()
    at.button(key="queue_bulk_go").click().run()
    batch = decisions(db)
    (last,), = query(db, "SELECT max(decision_id) FROM moderation_decisions")
    assert len(batch) > 1 and {r[2] for r in batch} == {"approve"}
    at.button(key=f"queue_undo_{last}").click().run()  # U
    assert decisions(db) == batch, "nothing undone yet"
    assert at.warning[0].value.startswith(f"Undo {len(batch):,} decisions? Your last decision was a bulk action")
    at.button(key="queue_undo_cancel").click().run()
    assert not at.warning and not [b for b in at.button if b.key == f"queue_undo_confirm_{last}"]
    assert decisions(db) == batch
    at.button(key=f"queue_undo_{last}").click().run()
    at.button(key=f"queue_undo_confirm_{last}").click().run()
    rows = decisions(db)
    assert rows[:len(batch)] == batch and [(r[0], r[2]) for r in rows[len(batch):]] == [(r[0], "undo") for r in batch]
    assert at.success[0].value == f"{len(batch):,} decisions of a batch undone (recorded as new events); back in " \
                                  "the queue."


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
    at = app_run("pages/moderator_queue.py", MOD)
    at.button(key=f"queue_approve_{at.session_state['queue_current']}").click().run()
    at = app_run("pages/moderator_audit.py", MOD)
    log = at.dataframe[0].value
    assert log[["moderator", "action", "reason_code"]].values.tolist() == [["maria", "approve", "no_violation"]]
    at = app_run("pages/moderator_quality.py", MOD)
    assert at.get("plotly_chart") and len(at.dataframe) == 5  # precision, moderators, tuner, abuse heads and thresholds


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
    at.button(key=f"queue_remove_{post}").click().run()
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


def test_a_stale_decision_on_a_reported_post_is_refused_with_a_notice(db, app_run):
    from analytics import moderation

    at = app_run("pages/moderator_reports.py", MOD)
    post = next(b for b in at.button if b.key and b.key.startswith("reports_go_")).key.removeprefix("reports_go_")
    assert any("· undecided" in c.value for c in at.caption)
    at.selectbox(key=f"reports_action_{post}").set_value("approve").run()
    con = store.connect(db)  # meanwhile Ivan removes it, from the queue or his own Reported posts page
    try:
        moderation.decide(con, IVAN, post, "remove", "spam", seen=None)
    finally:
        con.close()
    at.button(key=f"reports_go_{post}").click().run()  # Maria approves what she still sees as undecided
    assert not at.exception and not at.success
    assert at.warning[0].value == ("This post was decided by ivan meanwhile (now remove); nothing was recorded. "
                                   "Reload to see it: the page now shows its current state.")
    assert decisions(db) == [(post, "ivan", "remove", "spam", None, None)], "Ivan's decision stands"
    assert any("· remove" in c.value for c in at.caption), "the card shows the current state"
    at.button(key=f"reports_go_{post}").click().run()  # now deciding on what she sees overrides, knowingly
    assert at.success[0].value == "Recorded: approve (no_violation)."
    assert decisions(db)[-1] == (post, "maria", "approve", "no_violation", None, None)
