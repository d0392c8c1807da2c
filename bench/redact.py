"""Redaction speed on worst-case inputs: milliseconds per pattern for texts of 10,000 and 100,000 characters.

Usage: .venv/bin/python bench/redact.py
Every pattern should take well under 50 ms on 10,000 characters and grow linearly (about 10x for 10x the text).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from analytics.access import privacy  # noqa: E402

CASES = {
    "email local part": "a.",
    "email domain": "b-.",
    "email at signs": "a@",
    "link path": "/a",
    "host names": "a.",
    "phone digits": "1 ",
    "phone long run": "1",
    "handles": "@",
    "words": "word ",
    "mixed": "x@y.z 415–555 t.co/ ",
}


def ms(text: str, runs: int = 5) -> float:
    best = float("inf")
    for _ in range(runs):
        t = time.perf_counter()
        privacy.redact(text)
        best = min(best, time.perf_counter() - t)
    return best * 1000


if __name__ == "__main__":
    print(f"{'input':<18} {'10k chars (ms)':>15} {'100k chars (ms)':>16}")
    for name, unit in CASES.items():
        small = (unit * (10_000 // len(unit) + 1))[:10_000]
        large = (unit * (100_000 // len(unit) + 1))[:100_000]
        if name == "link path":
            small, large = "http://" + small, "http://" + large
        print(f"{name:<18} {ms(small):>15.2f} {ms(large):>16.2f}")
