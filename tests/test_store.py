"""The store's writer: one write lock per process, so concurrent writers wait instead of aborting."""
import pandas as pd

from analytics import store


def test_threads_writing_the_same_keys_all_land(tmp_path, in_threads):
    con = store.connect(tmp_path / "s.duckdb")
    errors: list[Exception] = []

    def work(i: int) -> None:
        cur = con.cursor()
        try:
            for j in range(20):
                with store.transaction(cur):
                    store.upsert(cur, "meta", pd.DataFrame({"key": ["shared"], "value": [f"{i}-{j}"]}))
                    store.append_audit(cur, f"writer{i}", "test", "meta", "shared", {"j": j})
        except Exception as e:  # noqa: BLE001 - any error is the failure this test looks for
            errors.append(e)
        finally:
            cur.close()

    in_threads(work, range(6))
    assert errors == []
    assert con.execute("SELECT actor, count(*) FROM audit_log GROUP BY 1 ORDER BY 1").fetchall() == [
        (f"writer{i}", 20) for i in range(6)]
    (value,), = con.execute("SELECT value FROM meta WHERE key = 'shared'").fetchall()
    last = con.execute("SELECT actor, details->>'j' FROM audit_log ORDER BY event_id DESC LIMIT 1").fetchone()
    assert value == f"{last[0].removeprefix('writer')}-{last[1]}", "the last transaction's upsert is what stays"


def test_claims_are_taken_by_exactly_one_racing_caller(tmp_path, in_threads):
    from datetime import datetime, timedelta

    con = store.connect(tmp_path / "s.duckdb")
    now = datetime(2026, 1, 1)
    won: list[str] = []

    def claim(name: str) -> None:
        cur = con.cursor()
        if store.claim(cur, "p1", name, now, now + timedelta(minutes=10)):
            won.append(name)
        cur.close()

    in_threads(claim, (f"mod{i}" for i in range(8)))
    assert len(won) == 1
    assert con.execute("SELECT post_id, moderator FROM claims").fetchall() == [("p1", won[0])]
    assert store.release_claims(con, ["p1"], "someone-else") == []
    assert store.release_claims(con, ["p1"], won[0]) == ["p1"]
