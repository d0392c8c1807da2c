"""Privacy by role, enforced on the server: the policy per role, each redaction pattern gap closed (linear-time
patterns), and every page an analyst or a product manager may see, with every export, free of planted PII; a
moderator sees posts as written, and a moderator's reveal of masked words is audited."""
import json
import shutil
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
import streamlit.testing.v1.element_tree as et

from analytics import store
from analytics.access import auth, privacy
from analytics.models import scoring
from components import navigation

ANALYST = auth.User("an", "an", "analyst")
PRODUCT = auth.User("pm", "pm", "product")
MOD = auth.User("maria", "Maria", "moderator")
ADMIN = auth.User("root", "Root", "admin")


# --- the policy ----------------------------------------------------------------------------------------------------

def test_policy_by_role():
    fixed = {(r, c): (p.redact, p.pseudonymise, p.can_choose) for r in auth.ROLES for c in (None, True, False)
             for p in [privacy.policy(auth.User("u", "u", r), c)]}
    assert fixed == {
        ("analyst", None): (True, True, False), ("analyst", True): (True, True, False),
        ("analyst", False): (True, True, False),  # a session cannot ask its way out
        ("product", None): (True, True, False), ("product", True): (True, True, False),
        ("product", False): (True, True, False),
        ("moderator", None): (False, False, False), ("moderator", True): (False, False, False),
        ("moderator", False): (False, False, False),
        ("admin", None): (True, True, True), ("admin", True): (True, True, True),
        ("admin", False): (False, False, True)}
    assert privacy.policy(None, False).redact and privacy.policy(auth.User("x", "x", "intern"), False).redact
    assert "analyst" in privacy.policy(ANALYST).why


# --- the patterns --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    # the basics: an email, phone numbers, a link with a token, a long opaque link, a handle
    ("mail me at jane.doe+x@example.co.uk now", "mail me at [email] now"),
    ("call +1 (415) 555-0199 or 020 7946 0958", "call [phone] or [phone]"),
    ("reset: https://acme.io/reset?token=abc123 ok", "reset: [url] ok"),
    ("doc https://d.io/s/AbCdEfGhIjKlMnOpQrSt", "doc [url]"),
    ("thanks @united for nothing", "thanks @user for nothing"),
    ("flight 2026-10-17 delayed 45 min, see https://united.com",
     "flight 2026-10-17 delayed 45 min, see https://united.com"),
    # handles: after CJK text, glued to RT, with a fullwidth or small at sign
    ("你好@张三 你好", "你好@user 你好"),
    ("RT@john: same here", "RT@user: same here"),
    ("hi ＠bob and ﹫ann", "hi @user and @user"),
    ("@" + "a" * 40 + " x", "@user x"),  # a long handle goes whole
    # links: without a scheme, on a shortener, with credentials
    ("reset at www.x.com/reset?token=abc123 now", "reset at [url] now"),
    ("see t.co/AbCd12 lol", "see [url] lol"),
    ("https://bit.ly/3xYz", "[url]"),
    ("db at https://user:pass@host ok", "db at [url] ok"),
    ("db at https://user:pass@host.example.com/x ok", "db at [url] ok"),
    ("see https://united.com and t.co and www.x.com/about", "see https://united.com and t.co and www.x.com/about"),
    # phones: after CJK text, in fullwidth digits and signs, split by en dashes
    ("电话13800138000", "电话[phone]"),
    ("在13800138000号", "在[phone]号"),
    ("call １３８００１３８０００ now", "call [phone] now"),
    ("＋８６ １３８－００１３－８０００", "[phone]"),
    ("（０２０）７９４６ ０９５８", "[phone]"),
    ("call 415–555–0199 or 415—555—0199", "call [phone] or [phone]"),
    # what must stay
    ("flight 2026-10-17 delayed 45 min", "flight 2026-10-17 delayed 45 min"),
    ("order AB12345678 and 3.5/4 stars", "order AB12345678 and 3.5/4 stars"),
])
def test_pattern_gaps_closed(text, expected):
    assert privacy.redact(text) == expected


WORST_CASES = {  # inputs that made the old patterns backtrack (each start position rescanning the run)
    "email local part": "a." * 50_000,
    "email domain": "a@" + "b-." * 33_000,
    "email at signs": "a@" * 50_000,
    "link path": "http://" + "/a" * 50_000,
    "host names": "a." * 50_000 + "/",
    "phone digits": "1 " * 50_000,
    "phone long run": "1" * 100_000,
    "handles": "@" * 100_000,
    "mixed": "x@y.z 415–555 t.co/ " * 5_000,
}


@pytest.mark.parametrize("name", WORST_CASES)
def test_worst_case_inputs_complete(name):
    """Each pattern starts a match only at the start of a run of its characters and never gives back what its
    possessive repeats took, so these complete in linear time (bench/redact.py measures them: well under 50 ms per
    10,000 characters)."""
    text = WORST_CASES[name]
    assert isinstance(privacy.redact(text), str)


def test_patterns_are_possessive_or_bounded():
    """No unbounded repeat that can backtrack: every + and * in the patterns is possessive."""
    import re
    for pattern in (privacy.EMAIL, privacy.URL, privacy.HANDLE):
        src = re.sub(r"\\.", "", pattern.pattern)  # escaped characters are literals
        src = re.sub(r"\[[^\]]*\]", "C", src)  # character classes are one character
        src = re.sub(r"(?:[+*]|\{\d+,\d*\})\+", "", src)  # possessive repeats
        assert not re.search(r"[+*]|\{\d+,\}", src), pattern.pattern


def test_redact_frame_covers_explanations_lists_and_imported_ids():
    df = pd.DataFrame({
        "post_id": ["ext-1", "p2"], "handle": ["ann", "bob"], "proof": [["ann", "cy"], []],
        "evidence": ["@ann", "cosine 0.5"], "explanation": ["from @ann, whom you follow", "'mail x@y.org'"],
        "detail": ["you hid a post by @bob", None], "reason": ["followed by 2 people you follow (@ann, @cy)", "x"],
        "topic": ["call 415-555-0199", "ok"], "likes": [1, 2]})
    out = privacy.redact_frame(df, key=b"k", imported={"ext-1"})
    ann, cy = privacy.pseudonym("ann", b"k"), privacy.pseudonym("cy", b"k")
    assert out.astype(object).where(out.notna(), None).to_dict("list") == {
        "post_id": [privacy.post_pseudonym("ext-1", b"k"), "p2"], "handle": [ann, privacy.pseudonym("bob", b"k")],
        "proof": [[ann, cy], []], "evidence": ["@user", "cosine 0.5"],
        "explanation": ["from @user, whom you follow", "'mail [email]'"], "detail": ["you hid a post by @user", None],
        "reason": ["followed by 2 people you follow (@user, @user)", "x"], "topic": ["call [phone]", "ok"],
        "likes": [1, 2]}
    assert out["post_id"][0].startswith("p_")


# --- every page an analyst or a product manager may see -------------------------------------------------------------

EMAIL, PHONE, HANDLE, POST_ID = "jane.roe@example.com", "415 555 0199", "janeroe_pii", "pii-jane-"
SECRETS = (EMAIL, PHONE, "jane.roe", HANDLE, POST_ID, "s3cr3t")
TOPIC = f"support {EMAIL}"
KEYWORD = "refund pls"


@pytest.fixture(scope="module")
def pii_db(small_db, tmp_path_factory) -> Path:
    """The small store plus an imported author `janeroe_pii` (the most followed user) with 30 posts on the last day
    that carry an email, a phone number, a handle and a link with a token, in a topic named with the email."""
    db = Path(shutil.copy(small_db, tmp_path_factory.mktemp("pii") / "pii.duckdb"))
    con = store.connect(db)
    try:
        end = con.execute("SELECT max(created_at) FROM posts").fetchall()[0][0]
        others = [r[0] for r in con.execute("SELECT user_id FROM users ORDER BY user_id LIMIT 80").fetchall()]
        store.upsert(con, "users", pd.DataFrame({"user_id": ["u_pii"], "handle": [HANDLE], "community": "support",
                                                 "source": "import:planted.csv"}))
        store.upsert(con, "follows", pd.DataFrame({"follower_id": others, "followee_id": "u_pii"}))
        text = (f"{KEYWORD}, write {EMAIL} or call +1 {PHONE} @{HANDLE} https://x.io/r?token=s3cr3t "
                "delayed luggage again")
        store.upsert(con, "posts", pd.DataFrame({
            "post_id": [f"{POST_ID}{i}" for i in range(30)], "author_id": "u_pii",
            "created_at": [end - timedelta(minutes=2 * i) for i in range(30)], "text": text, "lang": "en",
            "hashtags": [["refund"]] * 30, "topic": TOPIC, "source": "import:planted.csv"}))
        store.upsert(con, "topics", pd.DataFrame({"topic": [TOPIC], "terms": [["support"]], "n_posts": [30]}))
    finally:
        con.close()
    return db


def _shown(at) -> str:
    """Everything the page sent to the browser (every element's message: text, markdown, metric, widget labels and
    options, dataframe cells, chart specs), plus the structured values of tables and charts."""
    parts = []
    for node in at._tree:
        proto = getattr(node, "proto", None)
        if proto is not None:
            parts.append(str(proto))
        if isinstance(node, et.Dataframe):
            parts.append(node.value.to_csv())
        elif getattr(node, "type", None) == "plotly_chart":
            parts.append(json.dumps(json.loads(node.proto.spec)))
        elif isinstance(node, et.Metric):
            parts += [node.label, node.value, str(node.delta)]
        elif isinstance(node, (et.Selectbox, et.Multiselect, et.Radio)):
            parts += [str(o) for o in node.options]
    return "\n".join(parts)


def _visit(page: str, user: auth.User, db: Path, tmp_path, use_db, app_run, monkeypatch, **state) -> tuple[str, str]:
    """(what `page` shows, what its exports hold) for `user` on a copy of `db`."""
    import streamlit as st

    use_db(Path(shutil.copy(db, tmp_path / f"{Path(page).stem}_{user.role}.duckdb")))
    exports = []
    real = st.download_button
    monkeypatch.setattr(st, "download_button", lambda label, data, *a, **k: exports.append(data) or real(
        label, data, *a, **k))
    at = app_run(page, user, state=state or None, q=KEYWORD)
    shown = [_shown(at)]
    for key in [b.key for b in at.button if b.key and b.key.endswith("_dp")]:  # make every private export
        at.button(key=key).click().run()
        assert not at.exception, [e.value for e in at.exception]
        shown.append(_shown(at))
    exports.clear()
    at.run()
    assert not [b.key for b in at.button if b.key and b.key.endswith("_dp")], "every private export was made"
    assert len(exports) == len(at.get("download_button")), "every download button is one captured export"
    return "\n".join(shown), "\n".join(d.decode() if isinstance(d, bytes) else d for d in exports)


def _pages(user: auth.User) -> list[str]:
    return [p.path for pages in navigation.offered(user).values() for p in pages]


@pytest.mark.parametrize("user,page", [(u, p) for u in (ANALYST, PRODUCT) for p in _pages(u)],
                         ids=[f"{u.role}-{p}" for u in (ANALYST, PRODUCT) for p in _pages(u)])
def test_analysts_and_product_managers_never_see_planted_pii(user, page, pii_db, tmp_path, use_db, app_run,
                                                             monkeypatch):
    # The session asks for no redaction: neither role allows it.
    shown, exported = _visit(page, user, pii_db, tmp_path, use_db, app_run, monkeypatch, privacy_redact=False)
    for secret in SECRETS:
        assert secret not in shown, (secret, shown[max(0, shown.find(secret) - 300):shown.find(secret) + 100])
        assert secret not in exported, secret
    if user is ANALYST and page == "pages/analyst_overview.py":  # the planted posts reached the page, masked
        assert "[email]" in shown and "[phone]" in shown and "@user" in shown and "[email]" in exported
        assert "support [email]" in shown, "the topic, in the chart and the post cards"
    if user is PRODUCT and page == "pages/product_feed.py":
        assert "@" + privacy.pseudonym(HANDLE, privacy.pseudonym_key()) in shown, "the planted reader, pseudonymised"


def test_the_checks_can_see_the_planted_pii(pii_db, tmp_path, use_db, app_run, monkeypatch):
    """A moderator sees posts as written (the check above is not vacuous); so does an admin who turns redaction off,
    on the feed page too."""
    shown, exported = _visit("pages/analyst_overview.py", MOD, pii_db, tmp_path, use_db, app_run, monkeypatch)
    for secret in (EMAIL, PHONE, HANDLE, TOPIC):
        assert secret in shown and secret in exported, secret
    shown, _ = _visit("pages/product_feed.py", ADMIN, pii_db, tmp_path, use_db, app_run, monkeypatch,
                      privacy_redact=False)
    assert f"@{HANDLE} · " in shown
    shown, _ = _visit("pages/product_feed.py", ADMIN, pii_db, tmp_path, use_db, app_run, monkeypatch)
    assert HANDLE not in shown, "an admin's default is redacted"


def test_sidebar_says_what_applies(small_db, tmp_path, use_db, app_run):
    use_db(Path(shutil.copy(small_db, tmp_path / "s.duckdb")))
    at = app_run("app.py", ANALYST)
    assert "privacy_redact" not in [t.key for t in at.sidebar.toggle], "no toggle for an analyst"
    assert any("Always on for the analyst role" in c.value for c in at.sidebar.caption)
    at = app_run("app.py", ADMIN)
    assert at.sidebar.toggle(key="privacy_redact").value is True, "an admin chooses, redacted by default"


def test_a_reveal_is_audited(scored_small, tmp_path, use_db, app_run):
    db = use_db(Path(shutil.copy(scored_small, tmp_path / "db.duckdb")))
    con = store.connect(db)
    (author,), = con.execute("SELECT min(user_id) FROM users").fetchall()
    store.upsert(con, "posts", pd.DataFrame({"post_id": ["evil1"], "author_id": [author],
                                             "created_at": [pd.Timestamp("2026-10-30")],
                                             "text": ["you idiot, you stupid idiot"], "source": "test"}))
    scoring.score_posts(con, names=["toxicity"], post_ids=["evil1"])
    con.close()
    at = app_run("pages/moderator_queue.py", MOD, state={"queue_current": "evil1"})
    assert any("█" in t.value for t in at.text), "masked first"
    at.button(key="queue_reveal_btn").click().run()
    assert not at.exception
    con = store.connect(db)
    try:
        rows = con.execute("SELECT actor, action, target_type, target_id, details FROM audit_log "
                           "WHERE action = 'reveal'").fetchall()
    finally:
        con.close()
    assert [r[:4] for r in rows] == [("maria", "reveal", "post", "evil1")]
    details = json.loads(rows[0][4])
    assert details["view"] == "queue" and details["masked_words"] >= 1


def test_the_author_filter_takes_pseudonyms_from_those_who_see_them(pii_db, tmp_path, use_db, app_run):
    """A raw handle typed by an analyst matches nothing (it cannot test whether a handle exists); the pseudonym shown
    on the posts finds them, and the link keeps the pseudonym."""
    use_db(Path(shutil.copy(pii_db, tmp_path / "a.duckdb")))
    at = app_run("pages/analyst_overview.py", ANALYST, author=HANDLE)
    assert "No posts match the filters." in [i.value for i in at.info]
    alias = privacy.pseudonym(HANDLE, privacy.pseudonym_key())
    at = app_run("pages/analyst_overview.py", ANALYST, author="@" + alias)
    assert at.metric[0].value == "30"
    assert at.query_params["author"] == alias and HANDLE not in _shown(at)
    at = app_run("pages/analyst_overview.py", MOD, author=HANDLE)
    assert at.metric[0].value == "30", "a moderator filters by handle"
