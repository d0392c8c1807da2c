"""A write clears only the cached query results it affects (components.caching)."""
import ast
from pathlib import Path

import pytest

from analytics.analyst.filters import PostFilter
from components import caching, data

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def runs(scored_app_db, monkeypatch):
    """The names of the analytics functions that really ran (cache misses), in order."""
    calls = []
    real = data._run
    monkeypatch.setattr(data, "_run", lambda fn, *a, **k: calls.append(fn.__name__) or real(fn, *a, **k))
    return calls


def test_a_decision_leaves_analyst_queries_cached(runs):
    end = data.data_end().date()
    f = PostFilter(start=end.replace(day=1), end=end)
    data.topic_table(f), data.reported_posts(f, 50), data.team_thresholds()
    data.topic_table(f), data.reported_posts(f, 50), data.team_thresholds()
    assert runs == ["data_end", "topic_table", "reported_posts", "thresholds"], "the second round: from the cache"
    caching.clear("decisions")
    data.topic_table(f), data.reported_posts(f, 50), data.team_thresholds()
    assert runs[4:] == ["reported_posts"]
    caching.clear("settings")
    data.topic_table(f), data.team_thresholds()
    assert runs[5:] == ["thresholds"]
    caching.clear("scores")
    data.topic_table(f), data.team_thresholds()
    assert runs[6:] == ["topic_table"]
    caching.clear("posts")
    data.topic_table(f), data.reported_posts(f, 50)
    assert runs[7:] == ["topic_table", "reported_posts"]


def test_unknown_kinds_of_write_are_refused():
    with pytest.raises(ValueError, match="unknown kind of write"):
        caching.clear("everything")


def test_every_cached_query_says_what_it_reads():
    """No plain st.cache_data on a store query (it would outlive every write or be cleared by all of them); and no
    write clears the whole cache."""
    for path in [*ROOT.glob("components/*.py"), *ROOT.glob("pages/*.py"), ROOT / "app.py"]:
        src = path.read_text()
        assert "st.cache_data.clear()" not in src, path
        for node in ast.walk(ast.parse(src)):
            if isinstance(node, ast.FunctionDef) and path.name != "caching.py":
                decos = [ast.unparse(d) for d in node.decorator_list]
                plain = [d for d in decos if d.startswith("st.cache_data")]
                # measurements (live or a benchmark's file) and a rendered image: no store read
                allowed = {"model_speed", "speed_measured", "crosslingual", "_image"}
                assert not plain or node.name in allowed, (path.name, node.name)
