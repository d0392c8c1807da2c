"""Social intelligence domain layer: DuckDB connection in, pandas DataFrame out. Never imports streamlit.

Sub-packages by domain: store (the only writer), models (registry, model code, scoring), analyst, moderation, feed,
data (corpus, simulation, build, import), access (users, roles, privacy). The top-level modules are the command-line
entry points (`python -m analytics.<command>`).
"""
