"""Scoring engine: upserts, never scores twice, resumable after interruption, CLI."""
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from analytics import store
from analytics.analyst.filters import PostFilter
from analytics.models import coverage, scoring

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def db(tmp_path, small_db):
    path = tmp_path / "s.duckdb"
    shutil.copy(small_db, path)
    return path


def test_scores_and_embeddings_are_upserted_once(db):
    con = store.connect(db)
    ids = coverage.unscored(con, "sentiment", limit=40)
    done = scoring.score_posts(con, post_ids=ids, chunk=16)
    assert done == {"sentiment": 40, "toxicity": 40, "embedding": 40, "abuse": 0}, "the embedding pass scores abuse"
    rows = con.execute("SELECT model_id, count(*), count(DISTINCT post_id) FROM model_scores GROUP BY 1 ORDER BY 1").fetchall()
    assert rows == [("e5-abuse", 40, 40), ("jigsaw-bilstm", 40, 40), ("minilm-sentiment", 40, 40)]
    assert con.execute("SELECT count(*), min(len(vec)), any_value(model_id) FROM embeddings").fetchone() == \
        (40, 384, "multilingual-e5-small")
    (js,), = con.execute("SELECT scores FROM model_scores WHERE model_id = 'minilm-sentiment' LIMIT 1").fetchall()
    assert set(__import__("json").loads(js)) == {"negative", "neutral", "positive"}
    assert scoring.score_posts(con, post_ids=ids) == {"sentiment": 0, "toxicity": 0, "embedding": 0, "abuse": 0}
    assert coverage.unscored(con, "embedding", post_ids=ids) == []
    assert coverage.unscored(con, "toxicity", post_ids=ids) == []


def test_new_embeddings_replace_those_of_an_earlier_encoder(db):
    con = store.connect(db)
    ids = coverage.unscored(con, "embedding", limit=3)
    store.upsert(con, "embeddings", pd.DataFrame({"post_id": ids, "model_id": "minilm-sentiment",
                                                  "model_version": "old", "vec": [[0.0] * 384] * 3}))
    assert coverage.unscored(con, "embedding", post_ids=ids) == ids, "an older encoder's vectors are not current"
    assert scoring.score_posts(con, post_ids=ids, names=["embedding"]) == {"embedding": 3}
    assert con.execute("SELECT DISTINCT model_id FROM embeddings WHERE post_id IN (SELECT unnest(?::VARCHAR[]))",
                       [ids]).fetchall() == [("multilingual-e5-small",)]


def test_interrupted_run_keeps_finished_chunks_and_resumes(db):
    con = store.connect(db)
    ids = coverage.unscored(con, "toxicity", limit=50)
    calls = []
    done = scoring.score_posts(con, post_ids=ids, names=["toxicity"], chunk=20,
                               progress=lambda d, t, m: calls.append(d), should_stop=lambda: len(calls) >= 2)
    assert done == {"toxicity": 40} and calls == [20, 40]
    assert len(coverage.unscored(con, "toxicity", post_ids=ids)) == 10
    assert scoring.score_posts(con, post_ids=ids, names=["toxicity"]) == {"toxicity": 10}


def test_coverage_follows_the_filter(db):
    con = store.connect(db)
    f = PostFilter(keyword="flight")
    before = coverage.coverage(con, f)
    assert before["toxicity"][0] == 0 and before["toxicity"][1] > 0
    scoring.score_posts(con, f, names=["toxicity"])
    after = coverage.coverage(con, f)
    assert after["toxicity"][0] == after["toxicity"][1] == before["toxicity"][1]


def test_cli_scores_and_reports_lock(db, hold_db):
    r = subprocess.run([sys.executable, "-m", "analytics.score", "--limit", "30", "--model", "toxicity", "--db", str(db)],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "Scored 30 posts with toxicity" in r.stdout
    with hold_db(db) as pid:
        r = subprocess.run([sys.executable, "-m", "analytics.score", "--all", "--db", str(db)],
                           cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 3 and f"process {pid}" in r.stderr
