"""Differentially private versions of the analyst's aggregate tables (analytics.access.dp).

A release counts distinct authors per topic, hashtag or term among a selection's posts (for a contrast: in a window
and in the baseline before it), recomputed from the store rather than from the table on screen, and every other
column (share, rates, lift, z, the top-n cut-off) is computed from the noisy counts. The first release of a table
by a user is stored and charged to their budget; asking again returns the same numbers without a new charge.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import datetime

import duckdb
import pandas as pd

from analytics import store
from analytics.access import dp
from analytics.analyst.filters import PostFilter
from analytics.analyst.terms import log_odds, post_terms, redacted

KEYS_PER_AUTHOR = {"topic": 3, "hashtag": 5, "term": 5}  # per period: a contrast allows twice as many
VERSION = 1  # of how releases are computed: a change makes new releases rather than reusing old ones
_SEP, _TOTAL = "\x1f", dp.TOTAL


@dataclass(frozen=True)
class Release:
    """An aggregate table to release: distinct authors per `field` (topic, hashtag or term) among `f`'s posts, the
    `n` largest; with `window` ([start, end)), the window against the `baseline_days` before it, the `n` items
    with the highest z > 0. `redact`: terms of the redacted texts."""

    field: str
    f: PostFilter
    window: tuple[datetime, datetime] | None = None
    baseline_days: int = 14
    n: int = 30
    redact: bool = False

    def spec(self, epsilon: float) -> dict:
        """What the release computes, as stored in the ledger."""
        return {"version": VERSION, "epsilon": float(epsilon), **asdict(self)}

    @property
    def keys_per_author(self) -> int:
        return KEYS_PER_AUTHOR[self.field] * (2 if self.window else 1)


def _item_sql(field: str) -> str:
    return {"topic": "coalesce(p.topic, '(none)')", "hashtag": "'#' || unnest(p.hashtags)", "term": "p.text"}[field]


def pairs(con: duckdb.DuckDBPyConnection, r: Release) -> pd.DataFrame:
    """One row per (author_id, key) use among the release's posts. For a contrast, keys are item + period, plus
    one total key per period for each author who posted in it."""
    f, periods = r.f, [("", None)]
    if r.window:
        start, end = (pd.Timestamp(t) for t in r.window)
        f = replace(f, start=None, end=None, window=None)
        periods = [("w", (start, end)), ("b", (start - pd.Timedelta(days=r.baseline_days), start))]
    where, params = f.where()
    frames = []
    for name, span in periods:
        cond, args = (where, params) if span is None else (f"{where} AND p.created_at >= ? AND p.created_at < ?",
                                                           params + list(span))
        df = con.execute(f"SELECT p.author_id, {_item_sql(r.field)} AS key FROM posts p WHERE {cond}", args).df()
        if r.field == "term":
            texts = df["key"].map(redacted) if r.redact else df["key"]
            df = pd.DataFrame([(a, t) for a, text in zip(df["author_id"], texts) for t in post_terms(text)],
                              columns=["author_id", "key"])
        if name:
            totals = pd.DataFrame({"author_id": df["author_id"].unique(), "key": _TOTAL + name})
            df = pd.concat([df.assign(key=df["key"] + _SEP + name), totals], ignore_index=True)
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def private_table(con: duckdb.DuckDBPyConnection, r: Release, epsilon: float,
                  delta: float = dp.DELTA) -> pd.DataFrame:
    """The release's table with fresh noise (`release` stores and reuses it). Counts: columns `field`, authors,
    share. Contrast: `field`, window_authors, baseline_authors, window_rate, baseline_rate, lift, z. `df.attrs`
    holds epsilon, delta and threshold (noisy counts under it were withheld)."""
    noisy, threshold = dp.private_counts(pairs(con, r), r.keys_per_author, epsilon, delta)
    if r.window is None:
        df = noisy.rename_axis(r.field).reset_index()
        df["share"] = (df["authors"] / df["authors"].sum()).round(4) if len(df) else []
        df = df.sort_values(["authors", r.field], ascending=[False, True], kind="stable").head(r.n)
    else:
        items = noisy[~noisy.index.str.startswith(_TOTAL)]
        split = items.index.str.rsplit(_SEP, n=1)
        counts = pd.DataFrame({"item": split.str[0], "period": split.str[1], "n": items.to_numpy()})
        wide = counts.pivot_table(index="item", columns="period", values="n", aggfunc="sum", fill_value=0)
        wide = wide.reindex(columns=["w", "b"], fill_value=0)
        totals = [int(noisy.get(_TOTAL + p, 0)) for p in ("w", "b")]
        df = log_odds(wide["w"].rename_axis(r.field), wide["b"], *totals)
        df = df.rename(columns={"window_posts": "window_authors", "baseline_posts": "baseline_authors"})
        df = df[df["z"] > 0].head(r.n).reset_index()
    df = df.reset_index(drop=True)
    df.attrs.update(epsilon=float(epsilon), delta=float(delta), threshold=int(threshold))
    return df


def release(con: duckdb.DuckDBPyConnection, username: str, r: Release,
            epsilon: float) -> tuple[pd.DataFrame, datetime, bool]:
    """(table, made at, new) of `username`'s release of `r` at `epsilon`: their earlier one when there is one, else
    a fresh one, stored and charged to their budget (dp.BudgetExceeded past it)."""
    spec = r.spec(epsilon)
    key = dp.spec_key(spec)
    with store.WRITE_LOCK:  # the budget check and the charge happen together
        earlier = dp.find(con, username, key)
        if earlier is not None:
            return earlier[0], earlier[1], False
        dp.check(con, username, epsilon)  # before the work, not only when recording it
        table = private_table(con, r, epsilon)
        now = datetime.now()
        dp.record(con, username, spec, epsilon, table, now=now)
    return table, now, True
