"""Pure analytics layer: DuckDB connection in, pandas DataFrame out. Never imports streamlit."""
