"""Learning from moderators: standing decisions become labels for the abuse model's head (remove with a policy
category's reason code: that category; approve: none); an admin retrains the head from them; the new head is
checked on the held-out set before it may be adopted; adopting re-scores every post at once from the stored
features; a rollback puts back the head that was in force before. Retrains, adoptions and rollbacks are audited.

Every retrain refits the shipped head (a warm start pulled back towards it by an L2 penalty) on the shipped training
posts plus all decided posts, which weigh DECISION_WEIGHT each: a few dozen decisions move it where the team's calls
differ from the policy set, and no further. Starting from the shipped head, never from an earlier retrain, keeps the
figures honest: "after" on decided posts is out of fold (each decided post scored by a head fitted without it), and
the held-out gate compares against both the head in force and the shipped head, so retrains cannot drift down."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Callable

import duckdb
import numpy as np
import pandas as pd

from analytics import store
from analytics.access.auth import User, require
from analytics.models import abuse, abuse_heads
from analytics.models.registry import ABUSE_ID, ABUSE_VERSION
from analytics.moderation.thresholds import abuse_thresholds, thresholds
from analytics.store.sql import STATES_CTE

DECISION_WEIGHT = 50.0  # one decided post counts as this many policy examples
L2 = 0.02  # pull towards the shipped head
FOLDS = 5
MIN_DECISIONS = 10
GATE_TOLERANCE = 0.02  # held-out macro F1 a new head may lose against the head in force and the shipped one

Progress = Callable[[int, int, str], None]
# Decided posts that label the head and whose branch features are stored (parameters: ABUSE_VERSION, CATEGORIES).
_DECIDED = f"""{STATES_CTE}, decided AS (
    SELECT s.post_id, s.state, s.reason_code, s.decided_at, f.vec FROM states s JOIN abuse_features f USING (post_id)
    WHERE f.model_version = ? AND (s.state = 'approve' OR (s.state = 'remove'
                                  AND s.reason_code IN (SELECT unnest(?::VARCHAR[])))))"""


def screening(con: duckdb.DuckDBPyConnection) -> dict:
    """The team's screening in force, as keyword arguments of analytics.models.screen() and is_flagged(): the head
    in force, the meaning model's thresholds and the BiLSTM's, as the team set them."""
    return {"head": abuse_heads.in_force(con), "thresholds": abuse_thresholds(con),
            "bilstm_thresholds": thresholds(con)}


def decided_count(con: duckdb.DuckDBPyConnection) -> int:
    """How many decided posts a retrain would learn from (decision_labels without loading them)."""
    return con.execute(f"WITH {_DECIDED} SELECT count(*) FROM decided",
                       [ABUSE_VERSION, list(abuse.CATEGORIES)]).fetchall()[0][0]


def decision_labels(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Posts whose standing decision labels them and whose features are stored: post_id, text, label (a class of
    abuse.CLASSES), y (its index), decided_at, vec."""
    df = con.execute(f"""WITH {_DECIDED}
        SELECT d.post_id, p.text, CASE WHEN d.state = 'approve' THEN 'none' ELSE d.reason_code END AS label,
               d.decided_at, d.vec
        FROM decided d JOIN posts p USING (post_id) ORDER BY d.post_id""", [ABUSE_VERSION, list(abuse.CATEGORIES)]).df()
    return df.assign(y=df["label"].map({c: i for i, c in enumerate(abuse.CLASSES)}).astype(int))


def _fit(x_dec: np.ndarray, y_dec: np.ndarray, version: str) -> abuse.Head:
    shipped, f = abuse.shipped_head(), abuse.training_features()
    x = np.vstack([f["x_train"], x_dec])
    y = np.concatenate([f["y_train"], y_dec])
    # Training's objective (class weights from the training posts, smoothed targets), so that without decisions
    # the refit stays where training left the head.
    w = np.concatenate([np.ones(len(f["y_train"])), np.full(len(y_dec), DECISION_WEIGHT)])
    w *= abuse.class_weights(f["y_train"])[y]
    weight, bias = abuse.fit_head(x, y, w, shipped, L2, abuse.meta().evaluation["config"]["label_smoothing"])
    head = abuse.Head(version, weight, bias, {}, shipped.corroborate)
    return abuse.Head(version, weight, bias, abuse.tune_thresholds(head.probs(f["x_val"]), f["y_val"]),
                      shipped.corroborate)


def _folds(n: int) -> list[np.ndarray]:
    order = np.random.default_rng(0).permutation(n)
    return [order[i::min(FOLDS, n)] for i in range(min(FOLDS, n))]


def retrain(con: duckdb.DuckDBPyConnection, user: User | None, progress: Progress = lambda done, total, msg: None,
            now: datetime | None = None) -> dict:
    """Fit a new head from the decisions (needs 'tune_thresholds'), measure it before/after on decided posts and on
    the held-out set, and keep it as a version (not yet in force). Returns version, passed_gate, evaluation."""
    require(user, "tune_thresholds")
    now = now or datetime.now()
    base = abuse_heads.in_force(con)
    dec = decision_labels(con)
    if len(dec) < MIN_DECISIONS:
        raise ValueError(f"retraining needs at least {MIN_DECISIONS} decided posts the meaning model has read "
                         f"(removed for {', '.join(abuse.CATEGORIES)}, or approved); there are {len(dec)}")
    x, y = np.stack(dec["vec"]).astype(np.float32), dec["y"].to_numpy()
    folds = _folds(len(dec))
    steps = len(folds) + 2
    oof = np.zeros((len(dec), len(abuse.CLASSES)), np.float32)
    oof_flags = np.zeros((len(dec), len(abuse.CATEGORIES)), bool)
    for i, fold in enumerate(folds):
        progress(i, steps, f"fold {i + 1} of {len(folds)}: fitting without {len(fold)} decided posts")
        keep = np.setdiff1d(np.arange(len(dec)), fold)
        head = _fit(x[keep], y[keep], "fold")
        oof[fold] = head.probs(x[fold])
        oof_flags[fold] = abuse.category_flags(oof[fold], head.thresholds)
    progress(len(folds), steps, f"fitting on all {len(dec)} decided posts")
    digest = hashlib.sha256(np.ascontiguousarray(x).tobytes() + y.tobytes() + base.version.encode()).hexdigest()[:8]
    head = _fit(x, y, f"{ABUSE_ID}-head-{now:%Y%m%d%H%M%S%f}-{digest}")
    progress(len(folds) + 1, steps, "checking the held-out set")
    before, after = abuse.held_out_report(base), abuse.held_out_report(head)
    floor = max(before["macro_f1"], abuse.held_out_report(abuse.shipped_head())["macro_f1"]) - GATE_TOLERANCE
    passed = after["macro_f1"] >= floor
    evaluation = {
        "decided": {"posts": int(len(dec)), "by_label": dec["label"].value_counts().to_dict(),
                    "before": abuse.category_report(base.probs(x), y, base.thresholds),
                    "after": abuse.flags_report(oof_flags, y), "after_is": f"out of fold ({len(folds)} folds)"},
        "held_out": {"before": before, "after": after},
        "gate": f"held-out macro F1 {after['macro_f1']:.3f} against {before['macro_f1']:.3f} for the head in force "
                f"(at most {GATE_TOLERANCE} below it and below the shipped head's): "
                f"{'passed' if passed else 'failed'}",
        "parent": base.version, "decision_weight": DECISION_WEIGHT, "l2": L2}
    with store.transaction(con):
        abuse_heads.save(con, head, base.version, user.username, len(dec), passed, evaluation, now)
        store.append_audit(con, user.username, "retrain_abuse_head", "abuse_head", head.version,
                           {"parent": base.version, "decisions": int(len(dec)), "passed_gate": passed}, now)
    progress(steps, steps, "done")
    return {"version": head.version, "passed_gate": passed, "evaluation": evaluation}


def adopt(con: duckdb.DuckDBPyConnection, user: User | None, version: str, now: datetime | None = None,
          action: str = "adopt_abuse_head") -> int:
    """Put head `version` in force (needs 'tune_thresholds'; only a head that passed the held-out gate) and
    re-score every post under it, audited with the head it replaces. Returns the posts re-scored."""
    require(user, "tune_thresholds")
    head = abuse_heads.load(con, version)
    if head is None:
        raise ValueError(f"no abuse head {version!r} for the current model")
    passed = version == abuse.shipped_head().version or con.execute(
        "SELECT passed_gate FROM abuse_heads WHERE version = ?", [version]).fetchall()[0][0]
    if not passed:
        raise ValueError(f"head {version} failed the held-out check and cannot be adopted")
    if version == abuse_heads.in_force(con).version:
        raise ValueError(f"head {version} is already in force")
    with store.transaction(con):
        old = abuse_heads.in_force(con).version
        n = abuse_heads.put_in_force(con, head)
        store.append_audit(con, user.username, action, "abuse_head", version, {"old": old, "new": version,
                                                                               "posts_rescored": n}, now)
    return n


def previous(con: duckdb.DuckDBPyConnection) -> str | None:
    """The head that was in force before the current one (what rollback() restores), if any."""
    current = abuse_heads.in_force(con).version
    rows = con.execute("""SELECT details->>'old' FROM audit_log
                          WHERE action IN ('adopt_abuse_head', 'rollback_abuse_head') AND target_id = ?
                          ORDER BY event_id DESC LIMIT 1""", [current]).fetchall()
    return rows[0][0] if rows and abuse_heads.load(con, rows[0][0]) is not None else None


def rollback(con: duckdb.DuckDBPyConnection, user: User | None, now: datetime | None = None) -> str:
    """Put back the head in force before the current one and re-score every post; returns its version."""
    version = previous(con)
    if version is None:
        raise ValueError("there is no earlier head to roll back to")
    adopt(con, user, version, now, action="rollback_abuse_head")
    return version


def evaluation(con: duckdb.DuckDBPyConnection, version: str) -> dict | None:
    """The stored evaluation of a retrained head (None for the shipped head or an unknown version)."""
    rows = con.execute("SELECT evaluation FROM abuse_heads WHERE version = ?", [version]).fetchall()
    return json.loads(rows[0][0]) if rows else None


def before_after(ev: dict) -> pd.DataFrame:
    """A retrain's precision and recall before and after, per category and for any abuse, on the decided posts
    and on the held-out set: one row per (set, category)."""
    rows = []
    for where, label in (("decided", "decided posts"), ("held_out", "held-out set")):
        b, a = ev[where]["before"], ev[where]["after"]
        for cat in (*abuse.CATEGORIES, "any abuse"):
            pb = b["any_abuse"] if cat == "any abuse" else b["by_category"][cat]
            pa = a["any_abuse"] if cat == "any abuse" else a["by_category"][cat]
            rows.append({"set": label, "category": cat, "positives": pb["positives"],
                         "precision before": pb["precision"], "precision after": pa["precision"],
                         "recall before": pb["recall"], "recall after": pa["recall"]})
    return pd.DataFrame(rows)
