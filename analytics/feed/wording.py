"""How the feed words its reasons: counts, handles and quoted text."""
from __future__ import annotations

import re
from typing import Sequence


def count(n: int, one: str, many: str) -> str:
    return f"1 {one}" if n == 1 else f"{n:,} {many}"


def handles(handles: Sequence[str], shown: int = 3) -> str:
    more = f" and {len(handles) - shown} more" if len(handles) > shown else ""
    return ", ".join(f"@{h}" for h in handles[:shown]) + more


def short(text: str, n: int = 60) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= n else text[:n].rstrip() + "…"
