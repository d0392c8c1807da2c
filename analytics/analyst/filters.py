"""The selection every analyst view shares: PostFilter (a SQL condition over posts) and its URL form."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from analytics.models.registry import SENTIMENT_LABELS, model_key

_WORD = re.compile(r"^\w{1,60}$")


@dataclass(frozen=True)
class PostFilter:
    """A selection of posts; every field is optional and they combine with AND."""

    start: date | None = None
    end: date | None = None          # inclusive
    topics: tuple[str, ...] = ()
    keyword: str = ""                # case-insensitive substring of the text
    author: str = ""                 # exact handle, without '@'
    lang: str | None = None
    hashtags: tuple[str, ...] = ()   # any of these, without '#'
    sentiment: str | None = None     # label from the current sentiment model; only scored posts match
    window: tuple[datetime, datetime] | None = None  # [from, to) timestamps, e.g. one chart bucket

    def where(self, alias: str = "p") -> tuple[str, list]:
        """SQL condition over posts `alias` and its parameters."""
        conds, params = ["TRUE"], []
        if self.start:
            conds.append(f"{alias}.created_at >= ?")
            params.append(self.start)
        if self.end:
            conds.append(f"{alias}.created_at < ?")
            params.append(self.end + timedelta(days=1))
        if self.topics:
            conds.append(f"{alias}.topic IN ({', '.join('?' * len(self.topics))})")
            params.extend(self.topics)
        if self.keyword:
            conds.append(f"contains(lower({alias}.text), ?)")
            params.append(self.keyword.lower())
        if self.author:
            conds.append(f"{alias}.author_id IN (SELECT user_id FROM users WHERE handle = ?)")
            params.append(self.author.lstrip("@"))
        if self.lang:
            conds.append(f"{alias}.lang = ?")
            params.append(self.lang)
        if self.window:
            conds.append(f"{alias}.created_at >= ? AND {alias}.created_at < ?")
            params.extend(self.window)
        if self.hashtags:
            conds.append(f"list_has_any({alias}.hashtags, ?::VARCHAR[])")
            params.append([t.lstrip("#").lower() for t in self.hashtags])
        if self.sentiment:
            conds.append(f"""EXISTS (SELECT 1 FROM model_scores fs WHERE fs.post_id = {alias}.post_id
                             AND fs.model_id = ? AND fs.model_version = ? AND fs.label = ?)""")
            params.extend([*model_key("sentiment"), self.sentiment])
        return " AND ".join(conds), params


def filter_to_params(f: PostFilter, opts: dict) -> dict[str, str | list[str]]:
    """The fields of `f` that differ from the defaults, as URL query parameters (read back by filter_from_params)."""
    out: dict[str, str | list[str]] = {}
    if f.start and f.start != opts["min_date"]:
        out["from"] = f.start.isoformat()
    if f.end and f.end != opts["max_date"]:
        out["to"] = f.end.isoformat()
    for name, values in (("topic", f.topics), ("tag", f.hashtags)):
        if values:
            out[name] = list(values)
    for name, value in (("q", f.keyword), ("author", f.author), ("lang", f.lang), ("sentiment", f.sentiment)):
        if value:
            out[name] = value
    return out


def filter_from_params(params: dict[str, list[str]], opts: dict) -> tuple[PostFilter, list[str]]:
    """PostFilter from URL query parameters (name -> list of values) checked against `opts` (filter_options).

    Invalid values fall back to the default and are described in the returned list of notices; unknown
    parameter names are left alone (other widgets may own them).
    """
    notices: list[str] = []
    lo, hi = opts["min_date"], opts["max_date"]

    def one(name: str) -> str:
        values = params.get(name) or [""]
        if len(values) > 1:
            notices.append(f"{name}: several values given, using the first")
        return values[0].strip()

    def day(name: str, default: date) -> date:
        raw = one(name)
        if not raw:
            return default
        try:
            d = date.fromisoformat(raw)
        except ValueError:
            notices.append(f"{name}={raw!r} is not a date (YYYY-MM-DD); using {default}")
            return default
        if not lo <= d <= hi:
            notices.append(f"{name}={raw} is outside the data ({lo} to {hi}); using {default}")
            return default
        return d

    start, end = day("from", lo), day("to", hi)
    if start > end:
        notices.append(f"from={start} is after to={end}; using the whole range")
        start, end = lo, hi
    topics = tuple(t for t in params.get("topic", []) if t in opts["topics"])
    notices += [f"topic {t!r} does not exist" for t in params.get("topic", []) if t not in opts["topics"]]
    tags = tuple(dict.fromkeys(t.lstrip("#").lower() for t in params.get("tag", []) if _WORD.match(t.lstrip("#"))))
    notices += [f"tag {t!r} is not a hashtag" for t in params.get("tag", []) if not _WORD.match(t.lstrip("#"))]
    keyword = one("q")
    if len(keyword) > 200:
        notices.append("q is longer than 200 characters; ignored")
        keyword = ""
    author = one("author").lstrip("@")
    if author and not _WORD.match(author):
        notices.append(f"author {author!r} is not a handle; ignored")
        author = ""
    lang = one("lang") or None
    if lang and lang not in opts["langs"]:
        notices.append(f"lang {lang!r} does not occur in the data; ignored")
        lang = None
    sentiment = one("sentiment") or None
    if sentiment and sentiment not in SENTIMENT_LABELS:
        notices.append(f"sentiment {sentiment!r} is not one of {', '.join(SENTIMENT_LABELS)}; ignored")
        sentiment = None
    return PostFilter(start=start, end=end, topics=topics, hashtags=tags, keyword=keyword, author=author, lang=lang,
                      sentiment=sentiment), notices
