"""Backfills on Ray: the scoring engine's model pass (`scoring.compute`) on a pool of Ray actors, each holding the
models (and a GPU when the cluster has them), over a Ray Data stream of the posts that lack current scores; every
finished batch is written back by this process, the store's one writer, through `scoring.write`.

`address=None` starts Ray in local mode on this machine (what the tests use); `address="auto"` or "ray://host:10001"
joins a running cluster, where the actors run on its nodes and only the results travel back. Like the engine it is
resumable: each batch is one transaction, and a re-run scores only what is still missing. Posts with the same text
and language (copies, reposts, a campaign's spam) are scored once.
"""
from __future__ import annotations

import logging
import os
from typing import Sequence

import duckdb
import numpy as np
import pandas as pd

from analytics.models import scoring
from analytics.models.coverage import unscored
from analytics.models.registry import MODELS


class Scorer:
    """A Ray actor: loads model `name` once, then scores batches of texts (key, text, lang)."""

    def __init__(self, name: str, threads: int) -> None:
        os.environ["TORCH_THREADS"] = str(threads)  # read by runtime.set_threads on the first model call
        self.name = name

    def __call__(self, batch: pd.DataFrame) -> dict[str, np.ndarray]:
        out = scoring.compute(self.name, batch["text"].tolist(), batch["lang"].tolist())
        return {"key": batch["key"].to_numpy(), **out}


def init(address: str | None = None, num_cpus: int | None = None) -> dict[str, float]:
    """Start (address None: local mode) or join a Ray cluster, once per process; returns its resources."""
    import ray

    if not ray.is_initialized():
        ray.init(address=address, num_cpus=num_cpus if address is None else None, include_dashboard=False,
                 log_to_driver=False, logging_level=logging.WARNING)
        logging.getLogger("ray.data").setLevel(logging.WARNING)  # the caller shows progress; Ray's would interleave
        ray.data.DataContext.get_current().enable_progress_bars = False
    return ray.cluster_resources()


def plan(resources: dict[str, float], actors: int | None = None, threads: int | None = None) -> dict[str, float]:
    """Actor pool for the cluster's resources: one actor per GPU when it has any; otherwise actors of `threads`
    cores each (default 2) filling its CPUs."""
    gpus = int(resources.get("GPU", 0))
    if gpus:
        return {"actors": actors or gpus, "num_gpus": 1, "num_cpus": threads or 1}
    threads = threads or min(2, int(resources.get("CPU", 1)))
    return {"actors": actors or max(1, int(resources.get("CPU", 1)) // threads), "num_gpus": 0, "num_cpus": threads}


def _distinct(con: duckdb.DuckDBPyConnection, ids: list[str]) -> pd.DataFrame:
    """The distinct (text, lang) of posts `ids`, in the order of their first post: text, lang, ids (its posts)."""
    return con.execute("""
        SELECT p.text, coalesce(p.lang, 'und') AS lang, list(p.post_id ORDER BY q.i) AS ids
        FROM (SELECT unnest(?) AS post_id, generate_subscripts(?, 1) AS i) q JOIN posts p USING (post_id)
        GROUP BY 1, 2 ORDER BY min(q.i)""", [ids, ids]).df()


def score_posts(con: duckdb.DuckDBPyConnection, names: Sequence[str] = MODELS, address: str | None = None,
                limit: int | None = None, batch_size: int = 512, actors: int | None = None,
                threads: int | None = None,
                progress: scoring.Progress = lambda done, total, msg: None) -> dict[str, int]:
    """Score every post lacking a current score from each model in `names` on Ray; returns posts scored per model.
    Each distinct (text, lang) is scored once and its output written to all its posts (copies, reposts, a spam
    campaign's posts)."""
    import ray

    pool = plan(init(address), actors, threads)
    done = {}
    for name in names:
        todo = unscored(con, name, limit=limit)
        done[name] = 0
        if not todo:
            continue
        groups = _distinct(con, todo)
        posts = groups.pop("ids").tolist()
        # Blocks of a few batches each: Ray streams them to the actors while finished batches come back.
        blocks = [groups.iloc[i:i + batch_size * 4].rename_axis("key").reset_index()
                  for i in range(0, len(groups), batch_size * 4)]
        ds = ray.data.from_pandas(blocks).map_batches(
            Scorer, fn_constructor_args=(name, int(pool["num_cpus"])), batch_size=batch_size,
            batch_format="pandas", compute=ray.data.ActorPoolStrategy(size=int(pool["actors"])),
            num_cpus=pool["num_cpus"], num_gpus=pool["num_gpus"])
        for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
            keys = batch.pop("key")
            copies = [len(posts[k]) for k in keys]
            ids = [str(p) for k in keys for p in posts[k]]
            scoring.write(con, name, ids, {k: np.repeat(np.asarray(v, np.float32), copies, axis=0)
                                           for k, v in batch.items()})
            done[name] += len(ids)
            progress(done[name], len(todo), f"{name}: {done[name]:,} / {len(todo):,} posts "
                                            f"({len(groups):,} distinct texts)")
    return done
