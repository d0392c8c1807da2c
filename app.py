"""Social-media intelligence dashboard: entry point, sign-in and navigation by role."""
import streamlit as st

from components import privacy
from components.auth import account_box, current_user, sign_in_page

st.set_page_config(page_title="Social intelligence", page_icon=":material/insights:", layout="wide")

# (section, capability needed, pages); each page also checks its capability itself.
SECTIONS = [
    ("Analyst", "view_analytics", [
        st.Page("pages/analyst_overview.py", title="Overview", icon=":material/monitoring:", default=True),
        st.Page("pages/analyst_topics.py", title="Topics", icon=":material/category:")]),
    ("Moderator", "moderate", [
        st.Page("pages/moderator_queue.py", title="Review queue", icon=":material/shield:"),
        st.Page("pages/moderator_reports.py", title="Reported posts", icon=":material/flag:")]),
    ("Moderator", "view_audit", [
        st.Page("pages/moderator_audit.py", title="Audit log", icon=":material/history:"),
        st.Page("pages/moderator_quality.py", title="Quality", icon=":material/target:")]),
    ("Product", "view_feeds", [st.Page("pages/product_feed.py", title="Feed preview", icon=":material/explore:")]),
    ("Models", "view_analytics", [st.Page("pages/models.py", title="Model cards", icon=":material/science:")]),
]

user = current_user()
if user is None:
    st.navigation([st.Page(sign_in_page, title="Sign in", icon=":material/login:")]).run()
else:
    account_box(user)
    privacy.settings()
    pages: dict[str, list] = {}
    for section, capability, section_pages in SECTIONS:
        if user.can(capability):
            pages.setdefault(section, []).extend(section_pages)
    st.navigation(pages).run()
