"""Backfills on Ray (local mode): the same scores as the local engine, written by the CLI as the store's one writer,
resumable; and the actor pool follows the cluster's resources."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from analytics import store
from analytics.models import coverage, distributed, scoring

ROOT = Path(__file__).resolve().parent.parent
NAMES = ["sentiment", "toxicity", "embedding"]


def _cli(db: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analytics.score", "--engine", "ray", "--db", str(db), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=900)


def _outputs(path: Path) -> tuple[dict, dict, dict]:
    con = store.connect(path, read_only=True)
    scores = {(p, m): json.loads(s) for p, m, s in con.execute("SELECT post_id, model_id, scores FROM model_scores")
              .fetchall()}
    vecs = {p: np.array(v) for p, v in con.execute("SELECT post_id, vec FROM embeddings").fetchall()}
    feats = {p: np.array(v) for p, v in con.execute("SELECT post_id, vec FROM abuse_features").fetchall()}
    con.close()
    return scores, vecs, feats


def test_ray_backfill_matches_the_local_engine_and_resumes(tmp_path, small_db):
    local, ray = tmp_path / "local.duckdb", tmp_path / "ray.duckdb"
    shutil.copy(small_db, local)
    shutil.copy(small_db, ray)
    for path in (local, ray):  # three of the 24 newest posts repeat the newest one's text: scored once on Ray
        con = store.connect(path)
        newest = coverage.unscored(con, "toxicity", limit=24)
        con.execute("UPDATE posts SET text = (SELECT text FROM posts WHERE post_id = ?) WHERE post_id IN (?, ?, ?)",
                    [newest[0], *newest[5:8]])
        con.close()
    models = [a for name in NAMES for a in ("--model", name)]
    r = _cli(ray, "--limit", "24", *models)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "Scored 24 posts with sentiment, 24 posts with toxicity, 24 posts with embedding" in r.stdout
    con = store.connect(local)
    assert scoring.score_posts(con, names=NAMES, limit=24) == dict.fromkeys(NAMES, 24)
    con.close()
    (ls, lv, lf), (rs, rv, rf) = _outputs(local), _outputs(ray)
    assert sorted(ls) == sorted(rs) and len(ls) == 24 * 3, "sentiment, toxicity and abuse scores of the same posts"
    for key, want in ls.items():
        assert rs[key] == pytest.approx(want, abs=1e-4), key
    assert sorted(lv) == sorted(rv) == sorted(lf) == sorted(rf)
    assert min(float(lv[p] @ rv[p] / np.linalg.norm(lv[p]) / np.linalg.norm(rv[p])) for p in lv) > 0.9999
    assert max(float(np.abs(lf[p] - rf[p]).max()) for p in lf) < 1e-3
    copies = [p for p in rv if np.array_equal(rv[p], rv[newest[0]])]
    assert sorted(copies) == sorted([newest[0], *newest[5:8]])
    again = _cli(ray, "--limit", "24", "--model", "toxicity")  # resumes: the next 24 posts, none twice
    assert again.returncode == 0 and "Scored 24 posts with toxicity" in again.stdout
    con = store.connect(ray, read_only=True)
    assert con.execute("SELECT count(*), count(DISTINCT post_id) FROM model_scores WHERE model_id = 'jigsaw-bilstm'"
                       ).fetchone() == (48, 48)


@pytest.mark.parametrize("resources, want", [
    ({"CPU": 16.0}, {"actors": 8, "num_gpus": 0, "num_cpus": 2}),
    ({"CPU": 2.0}, {"actors": 1, "num_gpus": 0, "num_cpus": 2}),
    ({"CPU": 1.0}, {"actors": 1, "num_gpus": 0, "num_cpus": 1}),
    ({"CPU": 32.0, "GPU": 4.0}, {"actors": 4, "num_gpus": 1, "num_cpus": 1}),
])
def test_actor_pool_follows_the_cluster(resources, want):
    assert distributed.plan(resources) == want
    assert distributed.plan(resources, actors=3)["actors"] == 3
