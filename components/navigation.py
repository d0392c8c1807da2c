"""The dashboard's navigation table as plain data: every page with its section, title, icon and the capability it
needs. app.py turns it into st.Page objects; the tests take their page lists and role matrix from it. Each page
also checks its capability itself (components.auth.require), so hiding a page here is never the only guard."""
from __future__ import annotations

from dataclasses import dataclass

from analytics.access import auth


@dataclass(frozen=True)
class NavPage:
    """One page of the navigation: its script (relative to the repository root) and what it needs."""

    path: str
    title: str
    icon: str
    capability: str
    default: bool = False
    url_path: str = ""  # the page's short URL, e.g. /topics (shared links and deep links use it)


# (section, pages) in the order the navigation shows them.
SECTIONS: tuple[tuple[str, tuple[NavPage, ...]], ...] = (
    ("Analyst", (
        NavPage("pages/analyst_overview.py", "Overview", ":material/monitoring:", "view_analytics", default=True,
                url_path="overview"),
        NavPage("pages/analyst_topics.py", "Topics", ":material/category:", "view_analytics", url_path="topics"),
        NavPage("pages/analyst_claims.py", "Claims", ":material/fact_check:", "view_analytics", url_path="claims"),
    )),
    ("Moderator", (
        NavPage("pages/moderator_queue.py", "Review queue", ":material/shield:", "moderate", url_path="queue"),
        NavPage("pages/moderator_campaigns.py", "Campaigns", ":material/campaign:", "moderate",
                url_path="campaigns"),
        NavPage("pages/moderator_reports.py", "Reported posts", ":material/flag:", "moderate", url_path="reported"),
        NavPage("pages/moderator_audit.py", "Audit log", ":material/history:", "view_audit", url_path="audit"),
        NavPage("pages/moderator_quality.py", "Quality", ":material/target:", "view_audit", url_path="quality"),
    )),
    ("Product", (
        NavPage("pages/product_feed.py", "Feed preview", ":material/explore:", "view_feeds", url_path="feed"),
    )),
    ("Models", (
        NavPage("pages/models.py", "Model cards", ":material/science:", "view_analytics", url_path="model-cards"),
    )),
    ("Data", (
        NavPage("pages/data_import.py", "Import posts", ":material/upload_file:", "import_posts", url_path="import"),
    )),
)

PAGES: tuple[NavPage, ...] = tuple(p for _, pages in SECTIONS for p in pages)


def offered(user: auth.User) -> dict[str, list[NavPage]]:
    """The sections and pages the navigation offers `user`: the pages whose capability their role has, in table
    order; a section with none of them is left out."""
    shown: dict[str, list[NavPage]] = {}
    for section, pages in SECTIONS:
        allowed = [p for p in pages if user.can(p.capability)]
        if allowed:
            shown.setdefault(section, []).extend(allowed)
    return shown
