"""Social-media intelligence dashboard: entry point, sign-in and navigation by role."""
import streamlit as st

from components import privacy
from components.auth import account_box, current_user, sign_in_page
from components.enrichment import status_bar, worker
from components.navigation import PAGES, offered

st.set_page_config(page_title="Social intelligence", page_icon=":material/insights:", layout="wide")

# The navigation table (section, page, title, icon, capability) is components/navigation.py; each page also checks
# its capability itself.
worker()  # started already by components.serve (make run); under plain `streamlit run`, at the first session
user = current_user()
if user is None:
    # Every page stays reachable by its URL (hidden from the menu) and shows the sign-in form itself, so a deep link
    # opened while signed out lands on its own page, with its query, after sign-in.
    st.navigation([st.Page(sign_in_page, title="Sign in", icon=":material/login:", default=True)]
                  + [st.Page(p.path, title=p.title, icon=p.icon, url_path=p.url_path) for p in PAGES],
                  position="hidden").run()
else:
    account_box(user)
    with st.sidebar:
        status_bar()
    privacy.settings()
    pages = {section: [st.Page(p.path, title=p.title, icon=p.icon, default=p.default,
                               url_path=None if p.default else p.url_path) for p in section_pages]
             for section, section_pages in offered(user).items()}
    st.navigation(pages).run()
