"""The structure the code promises: no import cycles in analytics, every SQL write in the store, query modules
that load neither torch nor streamlit."""
import ast
import io
import re
import subprocess
import sys
import tokenize
from pathlib import Path

from analytics import store

ROOT = Path(__file__).resolve().parent.parent
ANALYTICS = ROOT / "analytics"
# SQL that changes rows; DDL (the schema, a bench's TEMP table) is not a write to the store's data.
WRITE_SQL = re.compile(r"(?i)\b(insert\s+(or\s+\w+\s+)?into|update\s+\w+\s+set|delete\s+from)\b")


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module(p): p for p in ANALYTICS.rglob("*.py")}


def _imports(path: Path, known: set[str]) -> set[str]:
    """analytics modules `path` imports, anywhere in it (function-level imports count too)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name in known}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "analytics":
            for a in node.names:  # `from analytics.x import y`: the submodule y if it is one, else analytics.x
                sub = f"{node.module}.{a.name}"
                out.add(sub if sub in known else node.module)
    return out


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module, or a module importing itself (Tarjan)."""
    index, low, stack, on, found = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in graph[v]:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_inside_analytics():
    modules = _modules()
    graph = {m: _imports(p, set(modules)) for m, p in modules.items()}
    assert graph["analytics.moderation.review"] >= {"analytics.store", "analytics.moderation.flags"}
    assert _cycles(graph) == []


def _write_statements(path: Path) -> list[str]:
    """Write SQL found in the string literals of a Python file."""
    tokens = tokenize.generate_tokens(io.StringIO(path.read_text()).readline)
    return [m.group(0) for t in tokens if t.type == tokenize.STRING for m in WRITE_SQL.finditer(t.string)]


def _api_writes(path: Path, tables: set[str]) -> list[str]:
    """Writes through DuckDB's Python API: relation.insert_into(...), con.append('<table>', df)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            first = node.args[0] if node.args else None
            if node.func.attr == "insert_into" or (
                    node.func.attr == "append" and isinstance(first, ast.Constant) and first.value in tables):
                out.append(ast.unparse(node)[:80])
    return out


def test_sql_writes_only_in_the_store(tmp_path):
    writer = ANALYTICS / "store" / "writer.py"
    assert len(_write_statements(writer)) >= 4, "the pattern finds the store's own writes"
    tables = set(store.KEYS) | set(store.APPEND_ONLY)
    probe = tmp_path / "probe.py"
    probe.write_text("con.append('posts', df)\nrel.insert_into('users')\nrows.append('x')\n")
    assert _api_writes(probe, tables) == ["con.append('posts', df)", "rel.insert_into('users')"]
    files = [p for d in ("analytics", "components", "pages", "bench", "training") for p in (ROOT / d).rglob("*.py")]
    files.append(ROOT / "app.py")
    outside = {str(p.relative_to(ROOT)): w for p in files
               if (ANALYTICS / "store") not in p.parents and (w := _write_statements(p) + _api_writes(p, tables))}
    assert outside == {}


QUERY_PACKAGES = ("analytics.analyst", "analytics.moderation", "analytics.feed", "analytics.store")


def test_query_modules_import_neither_torch_nor_streamlit():
    mods = sorted(m for m in _modules() if m.startswith(QUERY_PACKAGES)) + [
        "analytics.models", "analytics.models.registry", "analytics.models.coverage"]
    assert "analytics.analyst.queries" in mods and "analytics.feed.pipeline" in mods
    code = ("import importlib, json, sys\n"
            f"for m in {mods!r}: importlib.import_module(m)\n"
            "print(json.dumps(sorted(x for x in ('torch', 'transformers', 'streamlit') if x in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_models_contract_is_importable_without_loading_torch():
    code = ("import sys\nfrom analytics.models import TOXIC_THRESHOLD, embed, score_sentiment, score_toxicity\n"
            "print(TOXIC_THRESHOLD, callable(embed), 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["0.5", "True", "True"]  # looking up a function that runs a model loads torch
    code = ("import sys, analytics.models as m\n"
            "print(m.TOXIC_THRESHOLD, m.model_key('toxicity'), 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0.5 ('jigsaw-bilstm', 'toxic-comment-classifier==0.3.0') False"


def test_analytics_never_imports_streamlit():
    code = ("import importlib, pkgutil, sys, analytics\n"
            "for m in pkgutil.walk_packages(analytics.__path__, 'analytics.'): importlib.import_module(m.name)\n"
            "print('streamlit' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
