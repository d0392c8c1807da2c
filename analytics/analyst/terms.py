"""Terms of a selection of posts: tokenising, document frequencies, bursting terms and spike explanations.

Texts are tokenised in Python (jieba segments Chinese), so large selections read a deterministic sample of at most
`sample` posts; every other count is done in SQL. Frames that come from a sample say so in `df.attrs`.
"""
from __future__ import annotations

import functools
import logging
import re
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta
from itertools import chain

import duckdb
import numpy as np
import pandas as pd
from wordcloud import STOPWORDS

from analytics.access import privacy
from analytics.analyst.filters import PostFilter
from analytics.analyst.queries import engagement_cte
from analytics.models.registry import model_key

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_WORD = rf"[^\W_{_HAN}]"  # a letter or digit, not a Han character
# URLs and @handles match the first alternatives and yield '' (discarded). Words start with a letter at a word
# boundary (so numbers and '5th' go), have 2+ characters and lose a possessive 's; '#tag' yields 'tag'.
_TOKEN = re.compile(rf"(?:https?://|www\.)\S+|@\w+|([{_HAN}]+|\b[^\W\d_{_HAN}]{_WORD}+(?:'(?!s\b){_WORD}+)*)")
_HAN_RUN = re.compile(rf"[{_HAN}]")

SOCIAL_STOPWORDS = {
    "rt", "amp", "gt", "lt", "http", "https", "via", "co", "im", "ive", "dont", "cant", "wont", "didnt", "doesnt",
    "isnt", "thats", "ur", "will", "now", "us", "one", "got", "get", "go", "going", "gonna", "wanna", "still",
    "ll", "re", "ve",  # tails of i'll, you're, i've: the regex needs 2+ letters before an apostrophe
}
CHINESE_STOPWORDS = {
    "的", "了", "是", "在", "我", "有", "和", "就", "不", "人", "都", "也", "很", "到", "说", "要", "去", "你", "会",
    "着", "看", "好", "这", "那", "他", "她", "它", "吗", "吧", "呢", "啊", "一个", "没有", "我们", "你们", "他们",
    "她们", "自己", "什么", "这个", "那个", "这样", "因为", "所以", "如果", "但是", "还是", "就是", "可以", "已经",
    "现在", "然后", "而且", "或者", "以及", "一些", "还有", "真的", "知道", "觉得",
}
MIN_COUNT = 5  # a trending term is in at least this many window posts
TREND_SAMPLE = 5000  # posts tokenised per period for trending terms
STOPWORDS_ALL = frozenset(STOPWORDS) | SOCIAL_STOPWORDS | CHINESE_STOPWORDS
_DISCARD = STOPWORDS_ALL | {""}


@functools.cache
def _jieba():
    import jieba  # first use loads its dictionary (~1 s) and would log to stderr

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def _raw_tokens(text: str) -> list[str]:
    """Tokens of lower-cased `text` before stopwords: Han runs segmented by jieba, 1-char words dropped."""
    toks = _TOKEN.findall(text.replace("\u2019", "'"))
    if not _HAN_RUN.search(text):
        return toks
    cut = _jieba().lcut
    return [w for t in toks for w in (cut(t) if _HAN_RUN.match(t) else (t,)) if len(w) > 1]


def tokenize(text: str) -> list[str]:
    """Content words of a post, in order: lower-cased; no URLs, @handles, numbers, punctuation, 1-char tokens or
    stopwords (English, social noise such as rt/amp, a small Chinese set); '#tag' gives 'tag'; Chinese via jieba."""
    return [t for t in _raw_tokens(text.lower()) if t not in _DISCARD]


def post_terms(text: str) -> set[str]:
    """The distinct content words of one post (as `tokenize`)."""
    return set(_raw_tokens(text.lower())) - _DISCARD


def _doc_freq(texts: list[str]) -> Counter:
    """How many of `texts` contain each term."""
    return Counter(chain.from_iterable(map(post_terms, texts)))


def redacted(text: str) -> str:
    """`text` redacted for tokenising: no part of an email, phone number, link or handle becomes a term."""
    return _MASKS.sub(" ", privacy.redact(text))


def _selection(f: PostFilter) -> tuple[str, list]:
    """FROM and WHERE of the filter's posts `p`."""
    where, params = f.where()
    return f"FROM posts p WHERE {where}", params


_MASKS = re.compile(r"\[(?:email|url|phone)\]")  # what redaction writes: no term of its own


def _cutoff(total: int, sample: int) -> int:
    """Posts whose hash(post_id) is below this form a deterministic sample of about `sample` of `total` posts."""
    return 2**64 - 1 if total <= sample else int(2**64 * sample / total)


def _sample_texts(con: duckdb.DuckDBPyConnection, from_where: str, params: list, total: int,
                  sample: int, redact: bool = False) -> list[str]:
    # A hash threshold rather than ORDER BY hash() LIMIT: no sort, and the sample is the same on every call.
    rows = con.execute(f"SELECT p.text {from_where} AND hash(p.post_id) < ?::UBIGINT ORDER BY hash(p.post_id) LIMIT ?",
                       params + [_cutoff(total, sample), sample]).fetchall()
    return [redacted(r[0]) for r in rows] if redact else [r[0] for r in rows]


def term_counts(con: duckdb.DuckDBPyConnection, f: PostFilter, limit: int = 200, sample: int = 10000,
                redact: bool = False) -> pd.DataFrame:
    """Most frequent terms of the selection: columns term, posts (how many posts contain it), most first; with
    `redact`, of the redacted texts (analytics.access.privacy.redact).

    Counts come from a deterministic sample of about `sample` posts when the selection is larger;
    `df.attrs` holds `sampled` (posts tokenised) and `total` (posts in the selection) for "from N of M posts".
    """
    from_where, params = _selection(f)
    total = con.execute(f"SELECT count(*) {from_where}", params).fetchone()[0]
    texts = _sample_texts(con, from_where, params, total, sample, redact)
    counts = sorted(_doc_freq(texts).items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    df = pd.DataFrame(counts, columns=["term", "posts"]).astype({"term": str, "posts": "int64"})
    df.attrs.update(sampled=len(texts), total=total)
    return df


def log_odds(window: pd.Series, baseline: pd.Series, window_posts: int, baseline_posts: int) -> pd.DataFrame:
    """Compare per-item post counts of a window with a baseline (both Series indexed by item).

    z is the log-odds ratio with an informative Dirichlet prior (Monroe, Colaresi & Quinn 2008, eqs. 16, 18-20)
    divided by its standard error. The prior is the pooled counts: a_w = y_w(window) + y_w(baseline), a_0 = their
    total over all items. Rates are shares of the posts; lift = window_rate / baseline_rate (inf if never before).
    Returns window_posts, baseline_posts, window_rate, baseline_rate, lift, z indexed by item, highest z first.
    """
    df = pd.concat({"window_posts": window, "baseline_posts": baseline}, axis=1).fillna(0).astype("int64")
    yi, yj = df["window_posts"], df["baseline_posts"]
    ni, nj = yi.sum(), yj.sum()
    a, a0 = yi + yj, ni + nj
    with np.errstate(divide="ignore", invalid="ignore"):
        delta = np.log((yi + a) / (ni + a0 - yi - a)) - np.log((yj + a) / (nj + a0 - yj - a))
        df["window_rate"] = yi / window_posts if window_posts else np.nan
        df["baseline_rate"] = yj / baseline_posts if baseline_posts else np.nan
        df["lift"] = df["window_rate"] / df["baseline_rate"]
        df["z"] = delta / np.sqrt(1 / (yi + a) + 1 / (yj + a))
    return df.rename_axis(window.index.name).sort_values("z", ascending=False, kind="stable")


def _periods(f: PostFilter, start: datetime, end: datetime, baseline_days: int):
    """The filter without its own dates, and the baseline start: [b0, start) is the baseline of [start, end)."""
    return replace(f, start=None, end=None), pd.Timestamp(start) - timedelta(days=baseline_days)


def trending_terms(con: duckdb.DuckDBPyConnection, f: PostFilter, start: datetime, end: datetime,
                   baseline_days: int = 14, n: int = 20, min_count: int = MIN_COUNT,
                   sample: int = TREND_SAMPLE, redact: bool = False) -> pd.DataFrame:
    """Terms bursting in [start, end) against the `baseline_days` before `start`, among posts matching `f`.

    `f`'s own date range is ignored: the window and its baseline set the time. Columns term, window_posts,
    baseline_posts (posts containing the term), window_rate, baseline_rate (shares of the posts), lift and z
    (see `log_odds`); only terms in at least `min_count` window posts and with z > 0, highest z first.
    Each period tokenises a deterministic sample of at most `sample` posts; `df.attrs` holds window_sampled,
    window_total, baseline_sampled and baseline_total. With `redact`, of the redacted texts.
    """
    return _trending(con, f, start, end, baseline_days, n, min_count, sample, redact=redact)


def _trending(con: duckdb.DuckDBPyConnection, f: PostFilter, start: datetime, end: datetime, baseline_days: int,
              n: int, min_count: int, sample: int, totals: tuple[int, int] | None = None,
              redact: bool = False) -> pd.DataFrame:
    """trending_terms, given the (window, baseline) post counts when the caller has them already."""
    f, b0 = _periods(f, start, end, baseline_days)
    from_where, params = _selection(f)
    periods = {"window": (pd.Timestamp(start), pd.Timestamp(end)), "baseline": (b0, pd.Timestamp(start))}
    freqs, attrs = {}, {}
    for i, (name, (lo, hi)) in enumerate(periods.items()):
        fw, pw = f"{from_where} AND p.created_at >= ? AND p.created_at < ?", params + [lo, hi]
        total = totals[i] if totals else con.execute(f"SELECT count(*) {fw}", pw).fetchall()[0][0]
        texts = _sample_texts(con, fw, pw, total, sample, redact)
        freqs[name] = pd.Series(_doc_freq(texts), dtype="int64")
        attrs.update({f"{name}_sampled": len(texts), f"{name}_total": total})
    df = log_odds(freqs["window"].rename_axis("term"), freqs["baseline"],
                  attrs["window_sampled"], attrs["baseline_sampled"])
    df = df[(df["window_posts"] >= min_count) & (df["z"] > 0)].head(n).reset_index()
    df.attrs.update(attrs)
    return df


def _contrasts(con: duckdb.DuckDBPyConnection, from_where: str, params: list, start: datetime, b0: datetime,
               end: datetime) -> tuple[tuple[int, int], pd.DataFrame, pd.DataFrame]:
    """Posts in the window [start, end) and the baseline [b0, start): (totals, per topic, per hashtag), the last
    two with columns w and b indexed by topic / hashtag. One scan of the selection serves all three."""
    df = con.execute(f"""
        WITH sel AS MATERIALIZED (
            SELECT p.post_id, p.created_at >= ? AS in_window, coalesce(p.topic, '(none)') AS topic, p.hashtags
            {from_where} AND p.created_at >= ? AND p.created_at < ?)
        SELECT 'total' AS kind, NULL AS item, count(*) FILTER (in_window) AS w, count(*) FILTER (NOT in_window) AS b
        FROM sel
        UNION ALL
        SELECT 'topic', topic, count(*) FILTER (in_window), count(*) FILTER (NOT in_window) FROM sel GROUP BY topic
        UNION ALL
        SELECT 'hashtag', '#' || tag, count(*) FILTER (in_window), count(*) FILTER (NOT in_window)
        FROM (SELECT DISTINCT post_id, in_window, unnest(hashtags) AS tag FROM sel) GROUP BY tag
    """, [start] + params + [b0, end]).df()
    (w, b), = df.loc[df["kind"] == "total", ["w", "b"]].astype(int).values.tolist()
    part = lambda kind: df[df["kind"] == kind].set_index("item").rename_axis(kind)[["w", "b"]]  # noqa: E731
    return (w, b), part("topic"), part("hashtag")


def explain_window(con: duckdb.DuckDBPyConnection, f: PostFilter, start: datetime, end: datetime,
                   baseline_days: int = 14, n_terms: int = 10, n_posts: int = 5, redact: bool = False) -> dict:
    """Why [start, end) stands out against the `baseline_days` before it, among posts matching `f` (its dates ignored).

    Returns a dict: start, end, baseline_start; window_posts, baseline_posts, baseline_mean (baseline posts per
    window of the same length) and ratio (window_posts / baseline_mean); terms (`trending_terms`); topics and
    hashtags (same columns as terms, keyed topic / hashtag; topics all of them, hashtags the top `n_terms` with
    z > 0); posts: the `n_posts` most engaged window posts (likes + replies + shares) with handle, topic, text,
    counts, stored sentiment label and score, and P(toxic), NULL where not scored. With `redact`, terms come from
    the redacted texts (the posts are returned as stored: the caller shows them under its privacy policy).
    """
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    f, b0 = _periods(f, start, end, baseline_days)
    from_where, params = _selection(f)
    (wp, bp), by_topic, by_tag = _contrasts(con, from_where, params, start, b0, end)
    baseline_mean = bp * (end - start) / (start - b0)
    topics = log_odds(by_topic["w"], by_topic["b"], wp, bp)
    tags = log_odds(by_tag["w"], by_tag["b"], wp, bp)
    sent, tox = model_key("sentiment"), model_key("toxicity")
    posts = con.execute(f"""
        WITH sel AS (SELECT p.post_id {from_where} AND p.created_at >= ? AND p.created_at < ?),
        {engagement_cte('SELECT post_id FROM sel', since=True)},
        top AS (  -- the few posts shown first, then their details and scores
            SELECT sel.post_id, coalesce(e.likes, 0) AS likes, coalesce(e.replies, 0) AS replies,
                   coalesce(e.shares, 0) AS shares, coalesce(e.views, 0) AS views
            FROM sel LEFT JOIN eng e USING (post_id)
            ORDER BY likes + replies + shares DESC, views DESC, sel.post_id LIMIT ?)
        SELECT p.post_id, p.created_at, u.handle, p.topic, p.text, top.likes, top.replies, top.shares, top.views,
               s.label AS sentiment, s.score AS sentiment_score, CAST(t.scores->>'toxic' AS DOUBLE) AS toxicity
        FROM top JOIN posts p USING (post_id) JOIN users u ON u.user_id = p.author_id
        LEFT JOIN model_scores s ON s.post_id = p.post_id AND s.model_id = ? AND s.model_version = ?
        LEFT JOIN model_scores t ON t.post_id = p.post_id AND t.model_id = ? AND t.model_version = ?
        ORDER BY top.likes + top.replies + top.shares DESC, top.views DESC, p.post_id
    """, params + [start, end, start, n_posts, *sent, *tox]).df()
    return {
        "start": start, "end": end, "baseline_start": b0,
        "window_posts": wp, "baseline_posts": bp, "baseline_mean": baseline_mean,
        "ratio": wp / baseline_mean if baseline_mean else float("inf"),
        "terms": _trending(con, f, start, end, baseline_days, n_terms, MIN_COUNT, TREND_SAMPLE, totals=(wp, bp),
                           redact=redact),
        "topics": topics.reset_index(),
        "hashtags": tags[tags["z"] > 0].head(n_terms).reset_index(),
        "posts": posts,
    }
