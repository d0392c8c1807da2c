"""Social-media intelligence dashboard: entry point and navigation."""
import streamlit as st

st.set_page_config(page_title="Social intelligence", page_icon="📊", layout="wide")

pages = {
    "Analyst": [st.Page("pages/analyst_overview.py", title="Overview", icon="📈", default=True),
                st.Page("pages/analyst_topics.py", title="Topics", icon="🗂️")],
    "Moderator": [st.Page("pages/moderator_reports.py", title="Reported posts", icon="🛡️")],
    "Product": [st.Page("pages/product_feed.py", title="Feed preview", icon="🧭")],
    "Models": [st.Page("pages/models.py", title="Model cards", icon="🧪")],
}
st.navigation(pages).run()
