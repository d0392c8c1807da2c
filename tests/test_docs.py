"""Docs that cannot drift: the README's schema table, Layout block and CLI commands match the code."""
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from analytics import store

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def _section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start:end if end > 0 else None]


def _names(cell: str) -> list[str]:
    """Column names listed in a schema-table cell: 'a, b (note, more), c `TYPE` — remark' -> [a, b, c]."""
    cell = re.split(r" — |:", cell)[0]
    cell = re.sub(r"\([^)]*\)|`[^`]*`", "", cell)
    return [item.split()[0] for item in cell.split(",") if item.strip()]


def _readme_schema() -> dict[str, tuple[list[str], list[str]]]:
    rows = re.findall(r"^\| `(\w+)` \| ([^|]+) \| ([^|]+) \|$", _section("Store and schema"), re.M)
    return {table: (re.findall(r"\w+", key.split("(sequence)")[0].replace("`", "")), _names(cols))
            for table, key, cols in rows}


def test_readme_schema_table_matches_the_store():
    con = duckdb.connect()
    con.execute(store.SCHEMA)
    tables = {t: [c[0] for c in con.execute(f"DESCRIBE {t}").fetchall()] for t in [*store.KEYS, *store.APPEND_ONLY]}
    keys = {**{t: list(k) for t, k in store.KEYS.items()}, "moderation_decisions": ["decision_id"],
            "audit_log": ["event_id"], "dp_releases": ["release_id"], "account_actions": ["action_id"]}
    documented = _readme_schema()
    assert sorted(documented) == sorted(tables)
    for table, (key, cols) in documented.items():
        assert key == keys[table], table
        assert key + cols == tables[table], table


def test_readme_layout_lists_every_package_and_module():
    block = _section("Layout").split("```")[1]
    entries: dict[str, str] = {}  # path -> its description, continuation lines included
    parent = current = ""
    for line in block.strip("\n").splitlines():
        m = re.match(r"^(  )?([\w.-]+/|[\w.-]+\.py) ", line)
        if m:
            current = (parent if m.group(1) else "") + m.group(2)
            if not m.group(1):
                parent = current
            entries[current] = line[m.end():]
        else:
            entries[current] += " " + line.strip()
    packages = sorted(f"analytics/{p.parent.name}/" for p in (ROOT / "analytics").glob("*/__init__.py"))
    assert sorted(p for p in entries if p.startswith("analytics/") and p != "analytics/") == packages
    for path, text in entries.items():
        assert (ROOT / path).exists(), path
        named = set(re.findall(r"\b(\w+\.py)\b", text))
        if path.endswith("/") and named and path != "tests/":  # naming modules means naming them all
            actual = {p.name for p in (ROOT / path).glob("*.py")} - {"__init__.py"}
            assert named == actual, path


def test_paths_the_readme_names_exist():
    named = set(re.findall(r"`((?:analytics|components|pages|tests|bench|training|sample_data)/[\w./-]*)`", README))
    assert {"analytics/store/writer.py", "analytics/models/weights/sentiment_adapter.safetensors"} <= named
    assert sorted(p for p in named if not (ROOT / p).exists()) == []


CLIS = sorted(set(re.findall(r"python -m analytics\.(\w+)", README)))


def test_readme_names_the_clis():
    assert CLIS == ["auth", "build", "campaigns", "claims", "ingest", "score", "synth", "train"]


@pytest.mark.parametrize("cli", CLIS)
def test_every_documented_cli_answers_help(cli):
    out = subprocess.run([sys.executable, "-m", f"analytics.{cli}", "--help"], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("usage:") and "--help" in out.stdout
