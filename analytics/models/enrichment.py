"""Enrichment on arrival: one background worker brings every post to current scores from every model.

The cheap model goes first (toxicity covers the sample in seconds, so the review queue fills at once), then
sentiment (trends), then the multilingual embeddings (feed, similar posts, claim matching); known claims without a
current embedding are embedded at the end of a pass. Then the stored detections (coordinated campaigns, posts
matching known claims) are refreshed when anything changed; a store that never had them gets them right after
toxicity, since campaign detection needs no model. Work goes through the scoring engine in chunks, each written in
its own transaction, so a stop or a crash loses at most the chunk in flight and the next pass resumes where it
stopped; posts scored by an older model version count as unscored. Newest posts go first, since pages show them
first.

Every few seconds, including between chunks, the worker calls its `intake` (the dashboard drains its import inbox
there); posts that arrive mid-pass interrupt it, and the next pass screens them with toxicity before the encoder
resumes. When every post is current the worker waits for new ones (`wake()` starts a pass at once, e.g. after an
import from a page).
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace
from typing import Callable

import duckdb

from analytics.models import runtime, scoring
from analytics.models.coverage import coverage
from analytics.models.registry import ABUSE_MODEL
from analytics.moderation import detections, known_claims

# Cheap first: flagged posts reach the queue before the encoders start. The embedding pass also writes the abuse
# model's scores (one encoder pass); the abuse pass then only has posts embedded before that model existed.
ORDER = ("toxicity", "sentiment", "embedding", "abuse")
DETECTIONS = "detections"  # after the models: campaigns and known-claim matches, stored (analytics.moderation)


@dataclass(frozen=True)
class ModelStatus:
    """One model's progress: posts with a current score of `total`, and the speed of the running pass."""

    done: int = 0
    total: int = 0
    rate: float | None = None  # posts/s scored by the pass in flight (None before its first chunk)

    @property
    def remaining(self) -> int:
        """Posts still without a current score."""
        return self.total - self.done

    @property
    def eta_s(self) -> float | None:
        """Seconds left at the current rate (None without a rate)."""
        return self.remaining / self.rate if self.rate else None


@dataclass(frozen=True)
class Status:
    """What the worker is doing: state ('starting', 'enriching', 'idle', 'stopped' or 'error'), the model in
    flight, per-model progress and the last error's text."""

    state: str = "starting"
    current: str | None = None
    models: dict[str, ModelStatus] | None = None
    error: str | None = None

    def line(self) -> str:
        """One line for a status bar, e.g. 'Enriching (sentiment): 12,480 of 38,158 posts · 130 posts/s · ~4 min
        left'."""
        if self.state == "error":
            return f"Enrichment stopped by an error: {self.error}"
        if not self.models:
            return "Enrichment is starting…"
        if self.state == "enriching" and self.current == DETECTIONS:
            return "Detecting campaigns and matching known claims…"
        if self.state == "enriching" and self.current:
            m = self.models[self.current]
            parts = [f"Enriching ({self.current}): {m.done:,} of {m.total:,} posts"]
            if m.rate:
                parts.append(f"{m.rate:,.0f} posts/s")
            if m.eta_s is not None:
                parts.append(f"~{max(1, round(m.eta_s / 60))} min left")
            return " · ".join(parts)
        total = max(m.total for m in self.models.values())
        missing = {name: m.remaining for name, m in self.models.items() if m.remaining}
        if missing:
            return "Waiting to enrich: " + ", ".join(f"{n:,} posts without {name}" for name, n in missing.items())
        return f"All {total:,} posts enriched by every model"


class Enricher:
    """The background worker. `connect()` gives it a cursor of the store (its own, used only by its thread);
    `on_write(model, finished)` is called after each written chunk (finished: that model's pass is complete);
    `intake(con)` at most every `tick_s` seconds, returning how many posts it added to the store."""

    def __init__(self, connect: Callable[[], duckdb.DuckDBPyConnection], chunk: int = 512, idle_s: float = 30.0,
                 on_write: Callable[[str, bool], None] = lambda model, finished: None,
                 log: Callable[[str], None] = lambda msg: None,
                 intake: Callable[[duckdb.DuckDBPyConnection], int] = lambda con: 0, tick_s: float = 5.0) -> None:
        self._connect, self._chunk, self._idle_s, self._tick_s = connect, chunk, idle_s, tick_s
        self._on_write, self._log, self._intake = on_write, log, intake
        self._status = Status()
        self._lock = threading.Lock()
        self._wake, self._stop = threading.Event(), threading.Event()
        self._thread: threading.Thread | None = None
        self._last_intake = float("-inf")
        self._arrived = False  # posts arrived during the pass in flight
        self._detect = False  # the stored detections are out of date

    @property
    def running(self) -> bool:
        """Whether the worker's thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def status(self) -> Status:
        """A snapshot of the worker's progress."""
        with self._lock:
            return self._status

    def _set(self, **changes) -> None:
        with self._lock:
            self._status = replace(self._status, **changes)

    def _set_model(self, name: str, **changes) -> None:
        with self._lock:
            models = dict(self._status.models or {})
            models[name] = replace(models.get(name, ModelStatus()), **changes)
            self._status = replace(self._status, models=models)

    def take(self, con: duckdb.DuckDBPyConnection, force: bool = False) -> int:
        """Run the intake (unless it ran less than `tick_s` ago); returns the posts it added."""
        if not force and time.monotonic() - self._last_intake < self._tick_s:
            return 0
        self._last_intake = time.monotonic()
        try:
            added = self._intake(con)
        except Exception as e:  # noqa: BLE001 - logged; the next tick retries
            self._log(f"enrichment: intake failed: {e!r}")
            return 0
        self._arrived = self._arrived or added > 0
        return added

    def run_pass(self, con: duckdb.DuckDBPyConnection) -> dict[str, int]:
        """Score every post that lacks a current score, model by model in ORDER; returns posts scored per model.
        Starts over (toxicity first) when the intake adds posts mid-pass; returns early when stop() is called."""
        scored = dict.fromkeys(ORDER, 0)
        while True:
            self._arrived = False
            self._one_pass(con, scored)
            if self._stop.is_set() or not self._arrived:
                break
        if not self._stop.is_set() and (self._detect or any(scored.values())
                                        or detections.refreshed_at(con) is None):
            self._refresh(con)
        self._set(state="stopped" if self._stop.is_set() else "idle", current=None)
        return scored

    def _refresh(self, con: duckdb.DuckDBPyConnection) -> None:
        self._set(state="enriching", current=DETECTIONS)
        t0 = time.perf_counter()
        self._detect = False
        written = detections.refresh(con)
        self._on_write(DETECTIONS, True)
        self._log(f"enrichment: detections refreshed in {time.perf_counter() - t0:.1f} s ({written})")

    def _one_pass(self, con: duckdb.DuckDBPyConnection, scored: dict[str, int]) -> None:
        cov = coverage(con)
        self._set(models={name: ModelStatus(*cov[name]) for name in ORDER})
        for name in ORDER:
            if name == ABUSE_MODEL:  # the embedding pass scored it too
                cov[name] = coverage(con)[name]
                self._set_model(name, done=cov[name][0])
            before, total = cov[name]
            if before == total:
                continue
            self._set(state="enriching", current=name)
            t0 = time.perf_counter()

            def progress(done: int, todo: int, msg: str, name=name, before=before, t0=t0) -> None:
                self._set_model(name, done=before + done, rate=done / max(time.perf_counter() - t0, 1e-9))
                self._on_write(name, done == todo)
                self.take(con)

            n = scoring.score_posts(con, names=(name,), chunk=self._chunk, progress=progress,
                                    should_stop=lambda: self._stop.is_set() or self._arrived)[name]
            scored[name] += n
            self._log(f"enrichment: {n:,} posts scored by {name} in {time.perf_counter() - t0:.1f} s")
            if self._stop.is_set() or self._arrived:
                return
            if name == ORDER[0] and detections.refreshed_at(con) is None:
                self._refresh(con)  # a new store: campaigns need no model, so the queue gets them at once
        claims = known_claims.embed_missing(con, runtime.embed)  # known false claims, matched against the posts
        if claims:
            self._detect = True
            self._on_write("claims", True)
            self._log(f"enrichment: {claims} known claims embedded")

    def _loop(self) -> None:
        con = self._connect()
        next_pass = 0.0
        try:
            while not self._stop.is_set():
                if self.take(con, force=True) or self._wake.is_set() or time.monotonic() >= next_pass:
                    self._wake.clear()
                    try:
                        self.run_pass(con)
                    except Exception as e:  # noqa: BLE001 - shown on every page; the next pass retries
                        self._set(state="error", current=None, error=f"{type(e).__name__}: {e}")
                        self._log(f"enrichment error: {e!r}")
                    next_pass = time.monotonic() + self._idle_s
                self._wake.wait(self._tick_s)
        finally:
            con.close()

    def start(self) -> "Enricher":
        """Run in a daemon thread until stop(): the intake every `tick_s`; a pass now, then after every `idle_s`,
        wake() or intake that added posts."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="enrichment", daemon=True)
            self._thread.start()
        return self

    def wake(self) -> None:
        """Start the next pass now (new posts arrived)."""
        self._wake.set()

    def redetect(self) -> None:
        """Refresh the stored detections in a pass now (known claims changed)."""
        self._detect = True
        self._wake.set()

    def stop(self, timeout: float | None = None) -> None:
        """Stop after the chunk in flight and wait for the thread."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
