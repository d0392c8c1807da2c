"""Differentially private counts (OpenDP) and the ledger of releases that enforces each user's privacy budget.

The unit of privacy is an author: a release is (epsilon, delta)-DP with respect to adding or removing every post of
one author. Each author counts at most once per key and towards at most `keys_per_author` keys (their most used),
so one author changes at most that many counts by 1 each. Counts get Laplace noise and keys whose noisy count is
under a threshold are withheld (OpenDP's make_laplace_threshold): the set of released keys is itself private, so a
rare hashtag or term cannot single anyone out. Everything else in a release is computed from the noisy counts.
"""
from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime
from functools import lru_cache

import duckdb
import opendp.prelude as dp
import pandas as pd

from analytics import store

TOTAL = "\x1e"  # keys starting with it are totals: each author's count towards a total comes before any other key
DELTA = 1e-6  # per release: the chance that the threshold lets a key through on one author's say
EPSILONS = (0.25, 0.5, 1.0, 2.0)


class BudgetExceeded(RuntimeError):
    """The release would take the user past their privacy budget."""


def budget() -> float:
    """Total epsilon each user may spend on releases (env SOCIAL_DP_BUDGET, default 10)."""
    return float(os.environ.get("SOCIAL_DP_BUDGET", "10"))


@lru_cache(maxsize=64)
def _mechanism(keys_per_author: int, epsilon: float, delta: float) -> tuple[dp.Measurement, int]:
    dp.enable_features("contrib")
    domain = dp.map_domain(dp.atom_domain(T=str), dp.atom_domain(T=int))
    metric = dp.l01inf_distance(dp.absolute_distance(T=int))
    d_in = (keys_per_author, keys_per_author, 1)  # keys touched, total change, change per key
    scale = keys_per_author / epsilon

    def make(threshold: int) -> dp.Measurement:
        return dp.m.make_laplace_threshold(domain, metric, scale=scale, threshold=threshold)

    threshold = dp.binary_search_param(make, d_in=d_in, d_out=(epsilon, delta), T=int)
    return make(threshold), threshold


def bounded_counts(pairs: pd.DataFrame, keys_per_author: int) -> pd.Series:
    """Distinct authors per key from `pairs` (columns author_id, key, one row per use), each author counted towards
    at most `keys_per_author` keys: totals (keys starting with TOTAL) first, then those they used most, ties broken
    by key."""
    if pairs.empty:
        return pd.Series(dtype="int64", name="authors").rename_axis("key")
    uses = pairs.groupby(["author_id", "key"], sort=False).size().rename("uses").reset_index()
    uses["total"] = uses["key"].str.startswith(TOTAL)
    uses = uses.sort_values(["author_id", "total", "uses", "key"], ascending=[True, False, False, True])
    kept = uses[uses.groupby("author_id", sort=False).cumcount() < keys_per_author]
    return kept.groupby("key").size().rename("authors").astype("int64")


def private_counts(pairs: pd.DataFrame, keys_per_author: int, epsilon: float,
                   delta: float = DELTA) -> tuple[pd.Series, int]:
    """(noisy distinct-author counts per key, the threshold under which keys were withheld): `bounded_counts` through
    OpenDP's Laplace-threshold mechanism, (epsilon, delta)-DP per author. Most first."""
    if epsilon <= 0:
        raise ValueError("epsilon must be positive")
    measurement, threshold = _mechanism(keys_per_author, float(epsilon), float(delta))
    counts = bounded_counts(pairs, keys_per_author)
    noisy = measurement({str(k): int(v) for k, v in counts.items()}) if len(counts) else {}
    out = pd.Series(list(noisy.values()), index=pd.Index(list(noisy), dtype=object, name="key"), dtype="int64",
                    name="authors")
    return out.sort_values(ascending=False, kind="stable"), threshold


def spec_key(spec: dict) -> str:
    """A stable id of what a release computes (its query, parameters and epsilon): the same export asked again is
    the same release."""
    return hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()[:32]


def spent(con: duckdb.DuckDBPyConnection, username: str) -> float:
    """Epsilon `username` has spent on releases (basic composition: the sum)."""
    return float(con.execute("SELECT coalesce(sum(epsilon), 0) FROM dp_releases WHERE username = ?",
                             [username]).fetchall()[0][0])


def check(con: duckdb.DuckDBPyConnection, username: str, epsilon: float) -> None:
    """Raise BudgetExceeded unless `username` has `epsilon` left."""
    left = budget() - spent(con, username)
    if epsilon > left + 1e-9:
        raise BudgetExceeded(f"this export needs ε {epsilon:g} and {username} has ε {max(left, 0):g} of "
                             f"{budget():g} left")


def find(con: duckdb.DuckDBPyConnection, username: str, key: str) -> tuple[pd.DataFrame, datetime] | None:
    """`username`'s earlier release of `key` (its table and when it was made), or None."""
    rows = con.execute("SELECT result, created_at FROM dp_releases WHERE username = ? AND spec_key = ? "
                       "ORDER BY release_id LIMIT 1", [username, key]).fetchall()
    if not rows:
        return None
    stored = json.loads(rows[0][0])
    table = pd.DataFrame(stored["table"])
    table.attrs.update(stored["attrs"])
    return table, rows[0][1]


def record(con: duckdb.DuckDBPyConnection, username: str, spec: dict, epsilon: float, table: pd.DataFrame,
           delta: float = DELTA, now: datetime | None = None) -> int:
    """Store a release and charge its epsilon to `username`; refuses (BudgetExceeded) past their budget. Returns the
    release id."""
    check(con, username, epsilon)
    result = json.dumps({"table": table.to_dict("list"), "attrs": table.attrs}, default=str, ensure_ascii=False)
    (release_id,) = store.append(con, "dp_releases", pd.DataFrame({
        "username": [username], "spec_key": [spec_key(spec)], "spec": [json.dumps(spec, default=str)],
        "epsilon": [float(epsilon)], "delta": [float(delta)], "result": [result],
        "created_at": [now or datetime.now()]}))
    return release_id
