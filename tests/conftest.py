import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analytics import build  # noqa: E402


@pytest.fixture(scope="session")
def full_db(tmp_path_factory) -> Path:
    """The full sample store (all 38k tweets, default config), built once per test run (~10 s)."""
    path = tmp_path_factory.mktemp("full") / "social.duckdb"
    build.build(path)
    return path


@pytest.fixture(scope="session")
def small_cfg():
    return build.load_config(n_users=300, days=60)


@pytest.fixture(scope="session")
def small_db(tmp_path_factory, small_cfg) -> Path:
    """A small slice: 2,000 real tweets, 300 simulated users, 60 days."""
    path = tmp_path_factory.mktemp("small") / "social.duckdb"
    build.build(path, small_cfg, limit=2000)
    return path


@pytest.fixture(scope="session", autouse=True)
def auth_file(tmp_path_factory) -> Path:
    """Users file of the test run (SOCIAL_AUTH), so tests never create data/auth.json in the checkout."""
    path = tmp_path_factory.mktemp("auth") / "auth.json"
    os.environ["SOCIAL_AUTH"] = str(path)
    return path


@pytest.fixture
def use_db(monkeypatch):
    """Point the app (SOCIAL_DB) at a given store for the test, with no query results cached from another store."""
    import streamlit as st

    def _use(path: Path) -> Path:
        monkeypatch.setenv("SOCIAL_DB", str(path))
        st.cache_data.clear()
        return path
    return _use


@pytest.fixture
def auto_limit(monkeypatch):
    """Set how many unscored posts a chart scores without asking (0: never, so a test runs no model it needn't)."""
    from components import scoring

    return lambda n: monkeypatch.setattr(scoring, "AUTO_LIMIT", n)


@contextmanager
def _held(path: Path):
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                               "print('ready', flush=True); time.sleep(60)", str(path)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        yield holder.pid
    finally:
        holder.kill()
        holder.wait()


@pytest.fixture
def hold_db():
    """`with hold_db(path) as pid:` keeps the store open read-write in another process, as a running dashboard does."""
    return _held


os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
