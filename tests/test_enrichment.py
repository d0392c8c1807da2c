"""The enrichment worker: every post brought to current scores, toxicity first, resumable, in the background."""
import shutil
import threading
from pathlib import Path

import pandas as pd
import pytest

from analytics import store
from analytics.data import build, ingest
from analytics.models import enrichment
from analytics.models.coverage import coverage
from analytics.moderation import detections


@pytest.fixture(scope="module")
def tiny_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("tiny") / "social.duckdb"
    build.build(path, build.load_config(n_users=100, days=60), limit=300)
    return path


@pytest.fixture
def db(tiny_db, tmp_path) -> Path:
    return Path(shutil.copy(tiny_db, tmp_path / "db.duckdb"))


def test_a_pass_scores_every_post_toxicity_first(db):
    con = store.connect(db)
    writes = []
    worker = enrichment.Enricher(con.cursor, chunk=100,
                                 on_write=lambda model, finished: writes.append((model, finished)))
    assert worker.status() == enrichment.Status() and worker.status().line() == "Enrichment is starting…"
    assert worker.run_pass(con) == {"toxicity": 300, "sentiment": 300, "embedding": 300, "abuse": 0}
    assert coverage(con) == dict.fromkeys(("sentiment", "toxicity", "embedding", "abuse"), (300, 300))
    assert con.execute("SELECT count(*) FROM embeddings").fetchone()[0] == 300
    chunks = {model: [(model, i == 2) for i in range(3)] for model in ("toxicity", "sentiment", "embedding")}
    # a new store gets its detections right after toxicity (campaigns need no model), and again after the pass
    assert writes == [*chunks["toxicity"], ("detections", True), *chunks["sentiment"], *chunks["embedding"],
                      ("detections", True)]
    assert detections.refreshed_at(con) is not None
    s = worker.status()
    assert (s.state, s.current) == ("idle", None)
    assert s.models["toxicity"].done == s.models["sentiment"].done == 300 and s.models["sentiment"].rate > 0
    assert s.line() == "All 300 posts enriched by every model"
    before = len(writes)
    assert worker.run_pass(con) == dict.fromkeys(("toxicity", "sentiment", "embedding", "abuse"), 0), \
        "nothing is scored twice"
    assert len(writes) == before, "nothing changed: the stored detections stand, not refreshed"


def test_a_stopped_pass_keeps_its_chunks_and_the_next_resumes(db):
    con = store.connect(db)
    seen = []

    def on_write(model, finished):
        seen.append(worker.status())
        if model == "sentiment":
            worker.stop()  # after the first encoder chunk

    worker = enrichment.Enricher(con.cursor, chunk=100, on_write=on_write)
    assert worker.run_pass(con) == {"toxicity": 300, "sentiment": 100, "embedding": 0, "abuse": 0}
    assert worker.status().state == "stopped"
    enriching = seen[-1]
    assert (enriching.state, enriching.current) == ("enriching", "sentiment")
    assert enriching.line().startswith("Enriching (sentiment): 100 of 300 posts · ")
    assert coverage(con)["sentiment"] == (100, 300)
    again = enrichment.Enricher(con.cursor, chunk=100)
    assert again.run_pass(con) == {"toxicity": 0, "sentiment": 200, "embedding": 300, "abuse": 0}
    assert coverage(con)["sentiment"] == (300, 300)


def test_posts_arriving_mid_pass_are_screened_before_the_encoder_resumes(db, tmp_path):
    con = store.connect(db)
    writes = []
    pd.DataFrame({"post_id": ["m1", "m2"], "author_id": ["x1", "x1"], "created_at": "2026-08-01T10:00:00",
                  "text": ["you absolute idiot", "lovely day"]}).to_csv(tmp_path / "mid.csv", index=False)

    def intake(cur) -> int:  # an import lands after the encoder's first chunk
        if writes[-1:] != [("sentiment", False)] or any(w[0] == "late" for w in writes):
            return 0
        writes.append(("late", ingest.import_file(cur, tmp_path / "mid.csv")["new"]))
        return 2

    worker = enrichment.Enricher(con.cursor, chunk=100, tick_s=0, intake=intake,
                                 on_write=lambda model, finished: writes.append((model, finished)))
    assert worker.run_pass(con) == {"toxicity": 302, "sentiment": 302, "embedding": 302, "abuse": 0}
    assert writes == [("toxicity", False), ("toxicity", False), ("toxicity", True), ("detections", True),
                      ("sentiment", False), ("late", 2), ("toxicity", True), ("sentiment", False),
                      ("sentiment", False), ("sentiment", True), ("embedding", False), ("embedding", False),
                      ("embedding", False), ("embedding", True), ("detections", True)], \
        "the two new posts are screened first, then the encoders resume; detections after the first screening and " \
        "after the pass"
    assert coverage(con) == dict.fromkeys(("sentiment", "toxicity", "embedding", "abuse"), (302, 302))


def test_the_worker_thread_enriches_new_posts_after_wake(db, tmp_path):
    con = store.connect(db)
    passes = threading.Semaphore(0)  # released when a pass has finished the encoder

    def on_write(model: str, finished: bool) -> None:
        if finished and model == "embedding":
            passes.release()

    worker = enrichment.Enricher(con.cursor, idle_s=3600, on_write=on_write)
    worker.start()
    try:
        assert passes.acquire(timeout=300), "the first pass finished"
        pd.DataFrame({"post_id": ["n1", "n2"], "author_id": ["x1", "x1"], "created_at": "2026-08-01T10:00:00",
                      "text": ["you absolute idiot", "lovely day"]}).to_csv(tmp_path / "new.csv", index=False)
        assert ingest.import_file(con, tmp_path / "new.csv")["new"] == 2
        worker.wake()
        assert passes.acquire(timeout=300), "a pass after wake() finished"
    finally:
        worker.stop(timeout=60)
    assert not worker.running
    assert coverage(con) == dict.fromkeys(("sentiment", "toxicity", "embedding", "abuse"), (302, 302))
    (toxic,), = con.execute("SELECT label FROM model_scores WHERE post_id = 'n1' AND model_id = 'jigsaw-bilstm'"
                            ).fetchall()
    assert toxic == "toxic"


def test_the_sidebar_shows_the_workers_status(db, use_db, app_run, monkeypatch):
    from components import resources

    con = store.connect(db)
    enrichment.Enricher(con.cursor).run_pass(con)
    con.close()
    use_db(db)
    captions = lambda at: [c.value for c in at.sidebar.caption]  # noqa: E731
    assert "Background enrichment is off (SOCIAL_ENRICH=0): new posts wait for `python -m analytics.score`." in \
        captions(app_run("app.py"))
    monkeypatch.setenv("SOCIAL_ENRICH", "1")
    resources.enricher.clear()
    app_run("app.py")  # starts the worker
    worker = resources.enricher(str(db))
    try:
        for _ in range(600):  # wait for its first pass (nothing to do: the store is already enriched)
            if worker.status().state == "idle":
                break
            threading.Event().wait(0.2)
        assert "All 300 posts enriched by every model" in captions(app_run("app.py"))
    finally:
        worker.stop(timeout=60)
        resources.enricher.clear()
