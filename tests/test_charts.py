"""Chart builders are pure: check the figure they describe."""
from datetime import datetime

import pandas as pd

from components import charts


def test_volume_chart_stacks_topics_and_shades_events():
    df = pd.DataFrame({"day": [datetime(2026, 1, 1), datetime(2026, 1, 1), datetime(2026, 1, 2)],
                       "topic": ["a", "b", "a"], "posts": [3, 1, 4]})
    ev = pd.DataFrame({"name": ["spike"], "starts_at": [datetime(2026, 1, 2)], "ends_at": [datetime(2026, 1, 3)]})
    d = charts.volume_chart(df, ev).to_dict()
    assert [t["name"] for t in d["data"]] == ["a", "b"]
    assert list(d["data"][0]["y"]) == [3, 4] and list(d["data"][1]["y"]) == [1]
    assert d["layout"]["barmode"] == "stack"
    assert len(d["layout"]["shapes"]) == 1 and d["layout"]["annotations"][0]["text"] == "spike"


def test_topic_bar_largest_on_top():
    d = charts.topic_bar(pd.DataFrame({"topic": ["x", "y"], "posts": [5, 9]})).to_dict()
    assert list(d["data"][0]["y"]) == ["x", "y"] and list(d["data"][0]["x"]) == [5, 9]
    assert d["data"][0]["orientation"] == "h"
