"""A chart selection narrows the page's filter to the buckets and series clicked."""
from datetime import date, datetime

from analytics.analyst.filters import PostFilter
from components.drilldown import drill_filter

F = PostFilter(start=date(2026, 1, 1), end=date(2026, 1, 31), keyword="x")


def test_points_become_window_and_series():
    pts = [{"x": "2026-01-05", "y": 3, "customdata": "air", "curve_number": 0},
           {"x": "2026-01-07", "y": 1, "customdata": ["ball"], "curve_number": 1}]
    g = drill_filter(F, pts, "day", "topics")
    assert g == PostFilter(start=date(2026, 1, 1), end=date(2026, 1, 31), keyword="x", topics=("air", "ball"),
                           window=(datetime(2026, 1, 5), datetime(2026, 1, 8)))
    g = drill_filter(F, [{"x": "2026-01-05 13:00", "customdata": "negative"}], "hour", "sentiment")
    assert g.window == (datetime(2026, 1, 5, 13), datetime(2026, 1, 5, 14)) and g.sentiment == "negative"
    two_labels = [{"x": "2026-01-05", "customdata": "negative"}, {"x": "2026-01-05", "customdata": "positive"}]
    assert drill_filter(F, two_labels, "week", "sentiment").sentiment is None
    assert drill_filter(F, [], "day") is None and drill_filter(F, [{"y": 2}], "day") is None
