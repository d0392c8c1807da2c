"""Import posts: upload a CSV, Parquet or JSONL file, see every problem or a preview against the store, then
write it in one transaction (audited); the background enrichment scores the new posts."""
import duckdb
import pandas as pd
import streamlit as st

from analytics.data import ingest
from components import imports, privacy
from components.auth import require
from components.post_card import escape_md

user = require("import_posts")

st.title("Import posts")
st.caption(f"Upload a CSV, Parquet or JSONL file of posts. Required columns: {', '.join(ingest.REQUIRED)}; "
           f"optional: {', '.join(ingest.OPTIONAL)}. The whole file is validated first and written in one "
           f"transaction: all rows or none; a post_id already in the store updates that post.")
counts = imports.store_counts()
c = st.columns(2)
c[0].metric("Posts in the store", f"{counts['posts']:,}")
c[1].metric("Authors", f"{counts['users']:,}")
if notice := st.session_state.pop("import_notice", None):
    st.success(escape_md(notice), icon=":material/check_circle:")
    st.caption("The background enrichment scores the new posts; progress in the sidebar."
               if imports.enrichment_running() else
               "Background enrichment is off (SOCIAL_ENRICH=0): score the new posts with `python -m analytics.score`.")

# A new key after each import empties the uploader, so the same upload cannot be imported twice by accident.
upload = st.file_uploader("File", type=list(imports.UPLOAD_TYPES),
                          key=f"import_file_{st.session_state.get('import_round', 0)}")
c = st.columns([3, 1])
mapping_text = c[0].text_input("Column mapping (optional)", key="import_map", placeholder="text=body, created_at=ts",
                               help="TARGET=SOURCE pairs separated by commas: read the target column from the "
                                    "file's column SOURCE.")
encoding = c[1].selectbox("Encoding", imports.ENCODINGS, key="import_encoding", help="Of CSV and JSONL files.")
if upload is None:
    st.stop()
try:
    mapping = imports.parse_mapping(mapping_text)
except ValueError as e:
    st.error(escape_md(e))
    st.stop()
if upload.file_id in st.session_state.get("import_done", ()):
    st.info("This upload was already imported. Upload the file again to import it once more.")
    st.stop()

# Validated once per upload, mapping and encoding; reruns (the import button among them) reuse the result.
checked_key = (upload.file_id, tuple(sorted(mapping.items())), encoding)
checked = st.session_state.get("import_checked")
if not checked or checked["key"] != checked_key:
    try:
        with st.spinner("Validating the whole file…"):
            checked = {"key": checked_key, "batch": imports.validate_upload(upload.name, upload.getvalue(), mapping,
                                                                            encoding), "problems": None}
    except ingest.IngestError as e:
        checked = {"key": checked_key, "batch": None, "problems": e.problems}
    st.session_state["import_checked"] = checked

if checked["problems"] is not None:
    n = len(checked["problems"])
    st.error(escape_md(f"{upload.name}: {n} problem{'s' if n != 1 else ''} found, nothing was imported. Fix the "
                       f"file (or the column mapping or encoding) and upload it again."))
    st.dataframe(privacy.shown(pd.DataFrame({"problem": checked["problems"]})), hide_index=True, width="stretch")
    st.stop()

batch = checked["batch"]
p = imports.preview(batch)
c = st.columns(4)
c[0].metric("New posts", f"{p['new']:,}")
c[1].metric("Updated posts", f"{p['updated']:,}")
c[2].metric("Updated with changed text", f"{p['changed']:,}",
            help="Their scores are dropped and computed again; decided posts go back to the review queue.")
c[3].metric("New authors", f"{p['new_authors']:,}")
if p["changed"]:
    st.caption("Posts whose text changes lose their scores (computed again in the background), and any moderation "
               "decision on them is reopened: they go back to the review queue.")
st.dataframe(privacy.shown(batch.posts[imports.PREVIEW_COLUMNS].head(imports.PREVIEW_ROWS)), hide_index=True,
             width="stretch")
if len(batch.posts) > imports.PREVIEW_ROWS:
    st.caption(f"The first {imports.PREVIEW_ROWS} of {len(batch.posts):,} rows.")

rows = p["rows"]
if st.button(f"Import {rows:,} post{'s' if rows != 1 else ''}", key="import_go", type="primary"):
    try:
        result = imports.write(user, batch)
    except duckdb.Error as e:
        st.error(escape_md(f"The write failed and was rolled back, nothing was imported: {e}"))
        st.stop()
    st.session_state.setdefault("import_done", set()).add(upload.file_id)
    st.session_state["import_round"] = st.session_state.get("import_round", 0) + 1
    st.session_state.pop("import_checked", None)
    st.session_state["import_notice"] = ingest.summary(result)
    st.rerun()
