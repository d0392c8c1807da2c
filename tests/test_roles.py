"""Roles × pages, from the app's navigation table (components/navigation.py): every page refuses every role that
lacks its capability (and anyone signed out) before it reads the store, and the navigation offers each role exactly
the pages its capabilities allow."""
from pathlib import Path

import pytest
import streamlit
from streamlit.testing.v1.element_tree import Block

from analytics.access import auth
from analytics.models import sentiment, toxicity
from components import navigation, resources

ROOT = Path(__file__).resolve().parent.parent

# What the navigation must offer each role, written out so that a change to either the table or CAPABILITIES
# shows up here: section -> page scripts, in the order shown.
ANALYTICS = {"Analyst": ["pages/analyst_overview.py", "pages/analyst_topics.py", "pages/analyst_claims.py"],
             "Models": ["pages/models.py"]}
DATA = {"Data": ["pages/data_import.py"]}
EXPECTED = {
    "analyst": {**ANALYTICS, **DATA},
    "moderator": {"Analyst": ANALYTICS["Analyst"],
                  "Moderator": ["pages/moderator_queue.py", "pages/moderator_campaigns.py",
                                "pages/moderator_reports.py", "pages/moderator_audit.py", "pages/moderator_quality.py"],
                  "Models": ANALYTICS["Models"]},
    "product": {"Analyst": ANALYTICS["Analyst"], "Product": ["pages/product_feed.py"], "Models": ANALYTICS["Models"]},
    "admin": {"Analyst": ANALYTICS["Analyst"],
              "Moderator": ["pages/moderator_queue.py", "pages/moderator_campaigns.py", "pages/moderator_reports.py",
                            "pages/moderator_audit.py", "pages/moderator_quality.py"],
              "Product": ["pages/product_feed.py"], "Models": ANALYTICS["Models"], **DATA},
}
# The admin's navigation in full, as app.py showed it before the table moved: (section, script, title, icon, default).
ADMIN_NAV = [
    ("Analyst", "pages/analyst_overview.py", "Overview", ":material/monitoring:", True),
    ("Analyst", "pages/analyst_topics.py", "Topics", ":material/category:", False),
    ("Analyst", "pages/analyst_claims.py", "Claims", ":material/fact_check:", False),
    ("Moderator", "pages/moderator_queue.py", "Review queue", ":material/shield:", False),
    ("Moderator", "pages/moderator_campaigns.py", "Campaigns", ":material/campaign:", False),
    ("Moderator", "pages/moderator_reports.py", "Reported posts", ":material/flag:", False),
    ("Moderator", "pages/moderator_audit.py", "Audit log", ":material/history:", False),
    ("Moderator", "pages/moderator_quality.py", "Quality", ":material/target:", False),
    ("Product", "pages/product_feed.py", "Feed preview", ":material/explore:", False),
    ("Models", "pages/models.py", "Model cards", ":material/science:", False),
    ("Data", "pages/data_import.py", "Import posts", ":material/upload_file:", False),
]

REFUSED = [(page, role) for page in navigation.PAGES for role in auth.ROLES
           if page.capability not in auth.CAPABILITIES[role]]


def user(role: str) -> auth.User:
    return auth.User(f"{role}1", f"Test {role}", role)


@pytest.fixture
def store_reads(monkeypatch, small_db, use_db) -> list:
    """The small store for the app, and a list of every attempt to open it (each attempt also fails the run)."""
    use_db(small_db)
    reads = []

    def connection(path):
        reads.append(path)
        raise AssertionError(f"the page opened the store at {path}")

    def models(*args, **kwargs):
        reads.append("models")
        raise AssertionError("the page loaded the models")
    monkeypatch.setattr(resources, "connection", connection)
    # The loaders themselves, so a module holding its own reference to resources.models is caught too.
    monkeypatch.setattr(sentiment, "load", models)
    monkeypatch.setattr(toxicity, "load", models)
    return reads


def shown(at) -> list[tuple[str, str]]:
    """(element type, value) of every element the run rendered, sidebar included."""
    return [(n.type, getattr(n, "value", None)) for n in at if not isinstance(n, Block)]


def test_matrix_is_the_complement_of_the_navigation():
    assert set(EXPECTED) == set(auth.ROLES)
    every = {p.path for p in navigation.PAGES}
    for role in auth.ROLES:
        refused = {page.path for page, r in REFUSED if r == role}
        assert refused == every - {p for pages in EXPECTED[role].values() for p in pages}, role
    assert len(REFUSED) == 14 and len(navigation.PAGES) == 11


@pytest.mark.parametrize("page,role", REFUSED, ids=[f"{p.path.removeprefix('pages/')}-{r}" for p, r in REFUSED])
def test_page_refuses_a_role_without_its_capability(page, role, store_reads, app_run):
    at = app_run(page.path, user(role))
    assert shown(at) == [("error", f"Your role ({role}) does not allow this page.")], "the notice and nothing else"
    assert not at.text and not at.dataframe and not at.metric and not at.get("plotly_chart") and not at.title
    assert store_reads == [], "refused before reading the store"


@pytest.mark.parametrize("page", navigation.PAGES, ids=[p.path.removeprefix("pages/") for p in navigation.PAGES])
def test_page_shows_anyone_signed_out_the_sign_in_form_and_nothing_else(page, store_reads, app_run):
    at = app_run(page.path, None)
    assert [t.value for t in at.title] == ["Sign in"]
    assert [w.label for w in at.text_input] == ["Username", "Password"]
    assert {type_ for type_, _ in shown(at)} <= {"title", "info", "text_input", "button"}, "no page content"
    assert store_reads == []


def test_page_urls_are_short_and_unique():
    urls = [p.url_path for p in navigation.PAGES]
    assert urls == ["overview", "topics", "claims", "queue", "campaigns", "reported", "audit", "quality", "feed",
                    "model-cards", "import"]


@pytest.mark.parametrize("role", auth.ROLES)
def test_table_offers_exactly_the_pages_of_the_roles_capabilities(role):
    caps = auth.CAPABILITIES[role]
    from_table = {p.path for p in navigation.PAGES if p.capability in caps}
    assert from_table == {p for pages in EXPECTED[role].values() for p in pages}
    assert {s: [p.path for p in pages] for s, pages in navigation.offered(user(role)).items()} == EXPECTED[role]


@pytest.fixture
def navigations(monkeypatch) -> list[dict]:
    """Every st.navigation call of the app, as {section: [(script, title, icon, default)]}, and its chosen page."""
    calls = []
    real = streamlit.navigation

    def spy(pages, **kwargs):
        assert isinstance(pages, dict), "signed in: pages grouped by section"
        calls.append({section: [(str(Path(p._page).relative_to(ROOT)), p.title, p.icon, p._default) for p in ps]
                      for section, ps in pages.items()})
        chosen = real(pages, **kwargs)
        calls.append(chosen.title)
        return chosen
    monkeypatch.setattr(streamlit, "navigation", spy)
    return calls


@pytest.mark.parametrize("role", auth.ROLES)
def test_app_navigation_offers_exactly_the_roles_pages(role, small_db, use_db, app_run, navigations):
    use_db(small_db)
    at = app_run("app.py", user(role))
    offered, chosen = navigations
    assert {s: [p[0] for p in pages] for s, pages in offered.items()} == EXPECTED[role]
    assert list(offered) == list(EXPECTED[role]), "sections in table order"
    assert chosen == "Overview" and at.title[0].value == "Overview", "every role starts on the default page"
    if role == "admin":
        assert [(s, *p) for s, pages in offered.items() for p in pages] == ADMIN_NAV
