"""Sessions behind the signed cookie, the sign-in throttle with its audit trail, and the sign-in form."""
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from analytics import store
from analytics.access import auth, sessions, signin


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def table():
    clock = Clock()
    return sessions.Sessions(b"k" * 32, idle_s=60, max_age_s=3600, clock=clock), clock


def test_a_ticket_buys_one_cookie_which_names_its_user_until_revoked(table):
    s, clock = table
    ticket = s.start("maria")
    cookie = s.redeem(ticket)
    assert s.redeem(ticket) is None, "a ticket works once"
    assert s.username(cookie) == "maria"
    s.revoke(cookie)
    assert s.username(cookie) is None


def test_forged_late_idle_and_expired_cookies_are_refused(table):
    s, clock = table
    late = s.start("a")
    clock.now += sessions.TICKET_S + 1
    assert s.redeem(late) is None
    cookie = s.redeem(s.start("maria"))
    sid, _, sig = cookie.partition(".")
    assert s.username(cookie.replace(sid, sid[:-1] + ("A" if sid[-1] != "A" else "B"))) is None, "forged"
    assert sessions.Sessions(b"other-key" * 4).username(cookie) is None, "signed with another key"
    clock.now += 59
    assert s.username(cookie) == "maria", "activity within the idle time keeps it alive"
    clock.now += 61
    assert s.username(cookie) is None, "idle too long"
    busy = s.redeem(s.start("ann"))
    for _ in range(70):
        clock.now += 55
        assert s.username(busy) in ("ann", None)
    assert s.username(busy) is None, "12 h absolute lifetime, however active"


@pytest.mark.parametrize("target,expected", [
    ("/topics?topic=a&from=2026-09-01", "/topics?topic=a&from=2026-09-01"), ("/", "/"),
    (None, "/"), ("", "/"), ("https://evil.example/", "/"), ("//evil.example/x", "/"), ("/\\evil.example", "/"),
    ("javascript:alert(1)", "/"), ("/ok\r\nSet-Cookie: x=1", "/")])
def test_after_sign_in_only_local_paths(target, expected):
    assert sessions.safe_next(target) == expected


def test_the_secret_key_is_created_private_once(tmp_path):
    path = tmp_path / "session.key"
    key = sessions.secret_key(path)
    assert len(key) == 32 and path.stat().st_mode & 0o777 == 0o600 and sessions.secret_key(path) == key


@pytest.fixture
def con(small_db, tmp_path, monkeypatch):
    monkeypatch.setenv("SOCIAL_AUTH", str(tmp_path / "auth.json"))
    auth.add_user("maria", "maria-pass-1", "moderator")
    c = store.connect(Path(shutil.copy(small_db, tmp_path / "s.duckdb")))
    yield c
    c.close()


def audit(con) -> list[tuple]:
    return con.execute("SELECT actor, action, target_id, details->>'client' FROM audit_log "
                       "ORDER BY event_id").fetchall()


def test_five_wrong_passwords_lock_the_account_then_the_right_one_is_refused_and_all_is_audited(con):
    t0 = datetime(2026, 11, 30, 10, 0)
    for i in range(4):
        with pytest.raises(signin.SignInRefused, match="^Wrong username or password.$"):
            signin.attempt(con, "maria", "guess", "10.0.0.1", now=t0 + timedelta(minutes=i))
    with pytest.raises(signin.SignInRefused, match="^Too many failed sign-ins. Try again after 10:19.$"):
        signin.attempt(con, "maria", "guess", "10.0.0.2", now=t0 + timedelta(minutes=4))
    with pytest.raises(signin.SignInRefused, match="after 10:19"):
        signin.attempt(con, "maria", "maria-pass-1", "10.0.0.3", now=t0 + timedelta(minutes=5))
    assert audit(con) == [("maria", "sign_in_failed", "maria", "10.0.0.1")] * 4 + [
        ("maria", "sign_in_failed", "maria", "10.0.0.2"), ("system", "lockout", "maria", "10.0.0.2"),
        ("maria", "sign_in_refused", "maria", "10.0.0.3")]
    user = signin.attempt(con, "maria", "maria-pass-1", "10.0.0.3", now=t0 + timedelta(minutes=19, seconds=1))
    assert user == auth.User("maria", "maria", "moderator")
    assert audit(con)[-1] == ("maria", "sign_in", "maria", "10.0.0.3")
    with pytest.raises(signin.SignInRefused, match="^Wrong"):
        signin.attempt(con, "maria", "guess", "10.0.0.1", now=t0 + timedelta(minutes=20))
    assert signin.locked_until(con, "maria", None, t0 + timedelta(minutes=20)) is None, "a success resets the count"


def test_one_client_guessing_many_names_is_locked_out(con):
    t0 = datetime(2026, 11, 30, 10, 0)
    for i in range(signin.CLIENT_MAX_FAILURES):
        with pytest.raises(signin.SignInRefused):
            signin.attempt(con, f"user{i}", "guess", "10.9.9.9", now=t0 + timedelta(seconds=i))
    with pytest.raises(signin.SignInRefused, match="Too many"):
        signin.attempt(con, "maria", "maria-pass-1", "10.9.9.9", now=t0 + timedelta(minutes=1))
    assert signin.attempt(con, "maria", "maria-pass-1", "10.0.0.1", now=t0 + timedelta(minutes=1)).username == "maria"


def test_sign_in_events_need_view_audit(con):
    signin.attempt(con, "maria", "maria-pass-1", "10.0.0.1")
    with pytest.raises(auth.PermissionDenied):
        signin.events(con, auth.User("a", "a", "analyst"))
    events = signin.events(con, auth.User("m", "m", "moderator"))
    assert events[["actor", "action", "username", "client"]].values.tolist() == [
        ["maria", "sign_in", "maria", "10.0.0.1"]]


def test_the_sign_in_form_starts_a_session_and_sends_the_browser_for_its_cookie(con, app_run, use_db, monkeypatch):
    from components import resources

    use_db(Path(con.execute("SELECT file FROM pragma_database_list WHERE name = current_database()").fetchone()[0]))
    con.close()
    at = app_run("pages/analyst_topics.py", None, topic="flight")
    at.text_input(key="sign_in_user").input("maria")
    at.text_input(key="sign_in_password").input("maria-pass-1")
    at.button[0].click().run()
    [html] = [h.value for h in at.get("html")]
    ticket = html.split("ticket=")[1].split("&")[0]
    # AppTest has no URL path (a browser's would be /topics, see tests/test_e2e.py); the query comes along.
    assert html == ('<script>window.location.replace('
                    f'"/api/session/start?ticket={ticket}&next=%2F%3Ftopic%3Dflight")</script>')
    cookie = resources.sessions().redeem(ticket)
    assert resources.sessions().username(cookie) == "maria"
