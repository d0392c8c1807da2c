"""Untrusted text kept inert wherever it is shown or exported: invisible controls removed, chart labels shown
literally, CSV cells that a spreadsheet would run as formulas neutralised. Pure functions, no streamlit."""
from __future__ import annotations

import re

import pandas as pd

# Zero-width characters and bidi controls: invisible, they hide text or reorder it ("\u202Egnp.exe" shows as
# "exe.png"). Besides these, ZWNJ (U+200C) and ZWJ (U+200D) join emoji sequences and shape Persian and Indic
# scripts, so they stay between two visible non-ASCII characters and go everywhere else (e.g. inside an ASCII word,
# where they only serve to dodge a keyword search).
_INVISIBLE = "\u200b\u200e\u200f\u2060\ufeff\u061c\u202a-\u202e\u2066-\u2069"
_JOINERS = "\u200c\u200d"
_VISIBLE_NON_ASCII = rf"[^\x00-\x7f\s{_INVISIBLE}{_JOINERS}]"
# One character class and single-character lookarounds: linear in the length of the text.
CONTROLS = re.compile(rf"[{_INVISIBLE}]|(?<!{_VISIBLE_NON_ASCII})[{_JOINERS}]|[{_JOINERS}](?!{_VISIBLE_NON_ASCII})")

# OWASP CSV injection: a cell starting with one of these is a formula (or becomes one) in Excel, LibreOffice and
# Google Sheets, quoted or not. A leading apostrophe makes it text.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def strip_controls(text: str) -> str:
    """`text` without zero-width characters (U+200B..U+200F, U+2060, U+FEFF) and bidi controls (U+061C,
    U+202A..U+202E, U+2066..U+2069); a joiner between two visible non-ASCII characters (emoji, Persian) stays."""
    return CONTROLS.sub("", text)


def plain_label(text: object) -> str:
    """`text` as a Plotly label that shows literally: controls stripped, then `&`, `<` and `>` written as entities.
    Plotly reads a subset of HTML in labels (<a href>, <b>, <br>, ...) and decodes entities only in the text between
    tags, so "<a href=x>" arrives as the visible characters, never as a link or markup."""
    return strip_controls(str(text)).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def csv_cell(value: object) -> object:
    """A string starting with = + - @ tab or CR, prefixed with an apostrophe; anything else unchanged."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_START) else value


def _textual(s: pd.Series) -> bool:
    return s.dtype == object or isinstance(s.dtype, pd.StringDtype)


def _map_text(df: pd.DataFrame, fn) -> pd.DataFrame:
    """A copy of `df` with `fn` applied to every string cell of its text columns and to its string column names."""
    out = df.copy()
    for i in range(out.shape[1]):
        s = out.iloc[:, i]
        if _textual(s):
            out.isetitem(i, s.map(fn, na_action="ignore").astype(s.dtype))
    out.columns = [fn(c) if isinstance(c, str) else c for c in out.columns]
    return out


def csv_safe(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of `df` to write as CSV: every string cell (and column name) that a spreadsheet would read as a formula
    starts with an apostrophe. Numbers stay numbers, negative ones included."""
    return _map_text(df, csv_cell)


def display_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of `df` to show: controls stripped from its string cells (also inside lists of strings, e.g. hashtags)
    and its column names."""
    def clean(value: object) -> object:
        if isinstance(value, str):
            return strip_controls(value)
        if isinstance(value, (list, tuple)) or getattr(value, "ndim", 0) == 1:  # a list column (hashtags)
            items = [strip_controls(v) if isinstance(v, str) else v for v in value]
            return items if items != list(value) else value
        return value
    return _map_text(df, clean)
