"""PII redaction and pseudonyms."""
import pandas as pd

from analytics.access import privacy


def test_redact_frame_pseudonymises_ids_consistently():
    df = pd.DataFrame({"handle": ["ann", "bob", "ann"], "text": ["x@y.org hi", None, "@bob ok"], "likes": [1, 2, 3]})
    out = privacy.redact_frame(df, key=b"k")
    assert out["text"].tolist()[0] == "[email] hi" and out["text"].isna().tolist()[1] and out["text"][2] == "@user ok"
    assert out["handle"][0] == out["handle"][2] != out["handle"][1] and out["handle"][0].startswith("u_")
    assert "ann" not in out.to_csv() and out["likes"].tolist() == [1, 2, 3]
    assert privacy.redact_frame(df, key=b"other")["handle"][0] != out["handle"][0], "keyed, not a plain hash"
    assert df["handle"][0] == "ann", "the input is not modified"


def test_secret_is_created_once_and_private(tmp_path, monkeypatch):
    monkeypatch.delenv("SOCIAL_PSEUDONYM_KEY", raising=False)
    key = privacy.pseudonym_key(tmp_path / "k")
    assert key == privacy.pseudonym_key(tmp_path / "k") and len(key) == 64
    assert (tmp_path / "k").stat().st_mode & 0o777 == 0o600


def test_no_raw_pii_reaches_a_csv_export_with_redaction_on(small_db, use_db, tmp_path, monkeypatch):
    import shutil
    from datetime import datetime
    from pathlib import Path

    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from analytics import store
    from analytics.access import auth

    db = use_db(tmp_path / "pii.duckdb")
    shutil.copy(small_db, db)
    planted = "refund pls, write jane.roe@example.com or call +44 20 7946 0958 @janeroe https://x.io/r?token=s3cr3t"
    con = store.connect(db)
    (author, handle), = con.execute("SELECT user_id, handle FROM users ORDER BY user_id LIMIT 1").fetchall()
    store.upsert(con, "posts", pd.DataFrame({"post_id": ["pii1"], "author_id": [author], "text": [planted],
                                             "created_at": [datetime(2026, 8, 1, 12)], "source": "test",
                                             "hashtags": [["refund"]]}))
    con.close()
    exports = []
    real = st.download_button
    monkeypatch.setattr(st, "download_button", lambda label, data, *a, **k: exports.append(data) or real(
        label, data, *a, **k))

    def run(redact: bool) -> str:
        exports.clear()
        at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "pages/analyst_overview.py"),
                               default_timeout=120)
        # An analyst always gets redaction, whatever the session asks; a moderator sees posts as written.
        at.session_state["user"] = auth.User("t", "T", "analyst" if redact else "moderator")
        at.session_state["privacy_redact"] = not redact
        at.query_params["q"] = "refund pls"
        at.run()
        assert not at.exception and exports
        shown = " ".join(t.value for t in at.text) + " ".join(c.value for c in at.caption)
        return " ".join(exports) + shown

    raw = run(False)
    assert "jane.roe@example.com" in raw and "7946 0958" in raw and handle in raw, "the check can see PII"
    out = run(True)
    for secret in ("jane.roe@example.com", "7946 0958", "@janeroe", "s3cr3t", handle):
        assert secret not in out, secret
    assert "[email]" in out and "[phone]" in out
