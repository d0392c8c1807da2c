"""Streamlit widgets and renderers shared by the pages."""
