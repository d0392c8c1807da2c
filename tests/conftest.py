import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analytics.access import auth  # noqa: E402
from analytics.data import build  # noqa: E402

ADMIN = auth.User("tester", "Test Admin", "admin")


@pytest.fixture(scope="session")
def full_db(tmp_path_factory) -> Path:
    """The full sample store (all 38k tweets, default config), built once per test run (~10 s)."""
    path = tmp_path_factory.mktemp("full") / "social.duckdb"
    build.build(path)
    return path


@pytest.fixture(scope="session")
def narrative(full_db, tmp_path_factory) -> Path:
    """The sample with embeddings for every post of the claim's topic in the narrative's weeks (the hard negatives:
    complaints about cancelled flights, and the true news story shared widely) and for the claim; copy it to write."""
    import shutil
    from datetime import date

    from analytics import models, store
    from analytics.analyst.filters import PostFilter
    from analytics.models import scoring
    from analytics.moderation import known_claims

    db = Path(shutil.copy(full_db, tmp_path_factory.mktemp("claims") / "social.duckdb"))
    con = store.connect(db)
    (topic,) = con.execute("SELECT any_value(topic) FROM posts JOIN sim_truth USING (post_id) WHERE kind = 'claim'"
                           ).fetchone()
    scoring.score_posts(con, PostFilter(start=date(2026, 10, 15), end=date(2026, 10, 31), topics=(topic,)),
                        names=["embedding"])
    assert known_claims.embed_missing(con, models.embed) == 1
    con.close()
    return db


@pytest.fixture(scope="session")
def detected(narrative, tmp_path_factory) -> Path:
    """`narrative` with the worker's stored detections: the injected campaign, and the posts matching the claim;
    copy it to write."""
    import shutil

    from analytics import store
    from analytics.moderation import detections

    db = Path(shutil.copy(narrative, tmp_path_factory.mktemp("detected") / "social.duckdb"))
    con = store.connect(db)
    detections.refresh(con)
    con.close()
    return db


@pytest.fixture(scope="session")
def small_cfg():
    return build.load_config(n_users=300, days=60)


@pytest.fixture(scope="session")
def small_db(tmp_path_factory, small_cfg) -> Path:
    """A small slice: 2,000 real tweets, 300 simulated users, 60 days."""
    path = tmp_path_factory.mktemp("small") / "social.duckdb"
    build.build(path, small_cfg, limit=2000)
    return path


@pytest.fixture(scope="session")
def scored_small(small_db, tmp_path_factory) -> Path:
    """The small slice with real toxicity scores (so moderation queues have flagged posts); copy it to write."""
    import shutil

    from analytics import store
    from analytics.models import scoring

    path = Path(shutil.copy(small_db, tmp_path_factory.mktemp("scored") / "scored.duckdb"))
    con = store.connect(path)
    scoring.score_posts(con, names=["toxicity"])
    con.close()
    return path


@pytest.fixture
def scored_app_db(scored_small, tmp_path, use_db) -> Path:
    """This test's copy of the toxicity-scored small store, as the app's store (SOCIAL_DB)."""
    import shutil

    return use_db(Path(shutil.copy(scored_small, tmp_path / "db.duckdb")))


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
def app_run():
    """`app_run(page, user=ADMIN, state=None, **params)`: run `page` (a path from the repository root, e.g.
    "pages/models.py" or "app.py") headless as `user` (signed in; None: nobody), with `state` preset in its session
    state and `params` as its URL query parameters; asserts the run raised nothing and returns the AppTest."""
    from streamlit.testing.v1 import AppTest

    def _run(page: str, user: auth.User | None = ADMIN, state: dict | None = None, **params: str) -> AppTest:
        at = AppTest.from_file(str(ROOT / page), default_timeout=120)
        at.query_params.update(params)
        if user:
            at.session_state["user"] = user
        for key, value in (state or {}).items():
            at.session_state[key] = value
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        return at
    return _run


@pytest.fixture
def in_threads():
    """`in_threads(fn, args)`: call fn(arg) for every arg, each in its own thread at once, and wait for them all."""
    import threading

    def _run(fn, args) -> None:
        threads = [threading.Thread(target=fn, args=(a,)) for a in args]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    return _run


@pytest.fixture
def serve(tmp_path):
    """`serve(db, auth_path, **env)`: the dashboard as `make run` starts it (components.serve, enrichment on) on the
    store `db`, in its own process, logging to tmp_path/server.log; returns (base URL, stop()). Stopped after the
    test if still running."""
    import socket
    import time
    import urllib.request

    running = []

    def start(db: Path, auth_path: Path, **env: str):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = {**os.environ, "SOCIAL_DB": str(db), "SOCIAL_AUTH": str(auth_path), "SOCIAL_ENRICH": "1", **env}
        log = tmp_path / "server.log"
        with open(log, "w") as out:
            proc = subprocess.Popen([sys.executable, "-m", "components.serve", "--server.port", str(port),
                                     "--server.headless", "true", "--server.fileWatcherType", "none",
                                     "--browser.gatherUsageStats", "false"], cwd=ROOT, env=env, stdout=out,
                                    stderr=subprocess.STDOUT)
        running.append(proc)
        base = f"http://127.0.0.1:{port}"
        for _ in range(240):
            try:
                if urllib.request.urlopen(f"{base}/_stcore/health", timeout=1).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail(f"the dashboard did not start:\n{log.read_text()[-3000:]}")
        return base, lambda: (proc.terminate(), proc.wait(timeout=60))

    yield start
    for proc in running:
        proc.terminate()
        proc.wait(timeout=60)


@pytest.fixture(scope="session")
def tiny():
    """(tokenizer, model): word-level tokenizer, 1-layer random Llama that never emits EOS, ~2 ms per step."""
    import time

    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    words = ["<unk>", "<|im_start|>", "<|im_end|>"] + [f"w{i}" for i in range(61)]
    backend = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>", eos_token="<|im_end|>")
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(words), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=1024,
                         bos_token_id=None, eos_token_id=None, pad_token_id=None)
    model = LlamaForCausalLM(config).eval()
    model.generation_config.eos_token_id = None
    model.generation_config.suppress_tokens = [0, 1, 2]  # every generated token is a w-word
    model.register_forward_pre_hook(lambda *args: time.sleep(0.002))
    return tokenizer, model


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


# Pages run in-process under AppTest: no background enrichment worker there (tests that want one start it).
os.environ["SOCIAL_ENRICH"] = "0"
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
