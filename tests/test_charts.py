"""Chart builders are pure: check the figure they describe."""
from datetime import datetime

import pandas as pd

from components import charts


def test_volume_chart_stacks_topics_and_shades_events():
    df = pd.DataFrame({"day": [datetime(2026, 1, 1), datetime(2026, 1, 1), datetime(2026, 1, 2)],
                       "topic": ["a", "b", "a"], "posts": [3, 1, 4]})
    ev = pd.DataFrame({"name": ["spike", "later"], "starts_at": [datetime(2026, 1, 2), datetime(2026, 1, 3)],
                       "ends_at": [datetime(2026, 1, 3), datetime(2026, 1, 4)]})
    d = charts.volume_chart(df, ev).to_dict()
    assert [t["name"] for t in d["data"]] == ["a", "b"]
    assert list(d["data"][0]["y"]) == [3, 4] and list(d["data"][1]["y"]) == [1]
    assert d["layout"]["barmode"] == "stack"
    assert len(d["layout"]["shapes"]) == 1 and d["layout"]["annotations"][0]["text"] == "spike", "'later' is outside"


def test_topic_bar_largest_on_top():
    d = charts.topic_bar(pd.DataFrame({"topic": ["x", "y"], "posts": [5, 9]})).to_dict()
    assert list(d["data"][0]["y"]) == ["x", "y"] and list(d["data"][0]["x"]) == [5, 9]
    assert d["data"][0]["orientation"] == "h"


def test_confusion_and_calibration_charts():
    d = charts.confusion_heatmap([[5, 1], [2, 7]], ["neg", "pos"]).to_dict()
    assert d["data"][0]["z"] == [[5, 1], [2, 7]] and d["layout"]["yaxis"]["autorange"] == "reversed"
    bins = [{"mean_confidence": 0.55, "accuracy": 0.5, "count": 10},
            {"mean_confidence": None, "accuracy": None, "count": 0},
            {"mean_confidence": 0.95, "accuracy": 0.9, "count": 30}]
    d = charts.calibration_chart(bins).to_dict()
    assert d["data"][1]["x"] == [0.55, 0.95] and d["data"][1]["y"] == [0.5, 0.9]
    assert d["data"][0]["x"] == [0, 1]


def test_probability_bars_threshold_line():
    d = charts.probability_bars({"toxic": 0.9, "insult": 0.2}, threshold=0.5).to_dict()
    assert d["data"][0]["y"] == ["toxic", "insult"] and d["layout"]["shapes"][0]["x0"] == 0.5


def test_volume_chart_marks_spikes_with_topic_customdata():
    df = pd.DataFrame({"day": [datetime(2026, 1, 1), datetime(2026, 1, 1), datetime(2026, 1, 2)],
                       "topic": ["a", "b", "a"], "posts": [3, 1, 4]})
    sp = pd.DataFrame({"day": [datetime(2026, 1, 1)], "topic": ["b"], "posts": [1], "baseline": [0.5], "z": [5.0]})
    d = charts.volume_chart(df, spikes=sp).to_dict()
    assert d["data"][0]["customdata"] == ["a", "a"]
    assert d["data"][2]["name"] == "volume spike" and d["data"][2]["y"] == [4] and d["data"][2]["customdata"] == ["b"]


def test_topic_share_sentiment_and_comparison_charts():
    vol = pd.DataFrame({"day": [datetime(2026, 1, 1)] * 2 + [datetime(2026, 1, 2)], "topic": ["a", "b", "a"],
                        "posts": [3, 1, 4]})
    d = charts.topic_share_chart(vol).to_dict()
    assert [t["name"] for t in d["data"]] == ["a", "b"]
    assert d["data"][0]["y"] == [0.75, 1.0] and d["data"][1]["y"] == [0.25, 0.0]
    sent = pd.DataFrame({"bucket": [datetime(2026, 1, 1), datetime(2026, 1, 8), datetime(2026, 1, 1)],
                         "topic": ["a", "a", "b"], "net": [0.5, -0.5, 0.2], "scored": [4, 2, 5]})
    d = charts.topic_sentiment_chart(sent, ["a", "b"], rolling=2).to_dict()
    assert [a["text"] for a in d["layout"]["annotations"]] == ["a", "b"]
    assert d["data"][0]["y"] == [0.5, 0.0] and d["data"][1]["xaxis"] == "x2"
    cmp = pd.DataFrame({"topic": ["a", "b"], "net": [0.1, 0.3], "prev_net": [0.2, 0.1]})
    d = charts.comparison_bars(cmp, "net", "net sentiment").to_dict()
    assert d["data"][1]["y"] == ["a", "b"] and d["data"][1]["x"] == [0.1, 0.3] and d["data"][0]["x"] == [0.2, 0.1]


def test_threshold_chart():
    df = pd.DataFrame({"threshold": [0.5, 0.9], "queue_items": [40, 3], "precision": [0.6, None]})
    d = charts.threshold_chart(df, "insult", 0.5).to_dict()
    assert d["layout"]["shapes"][0]["x0"] == 0.5
    assert [t["type"] for t in d["data"]] == ["bar", "scatter"]
    assert d["data"][0]["y"] == [40, 3] and d["data"][1]["yaxis"] == "y2"
    assert d["layout"]["yaxis2"]["range"] == [0, 1] and d["layout"]["xaxis"]["title"]["text"] == "insult threshold"


def test_score_components_and_evaluation_charts():
    items = pd.DataFrame({"rank": [1, 2], "handle": ["a", "b"], "semantic": [0.3, 0.1], "recency": [0.2, 0.25]})
    d = charts.score_components_chart(items, ("semantic", "recency")).to_dict()
    assert [t["name"] for t in d["data"]] == ["semantic", "recency"] and d["data"][0]["y"] == ["#1 @a", "#2 @b"]
    assert d["data"][1]["x"] == [0.2, 0.25] and d["layout"]["barmode"] == "stack"
    ev = pd.DataFrame({"strategy": ["pipeline", "pipeline", "random"], "metric": ["ndcg@10", "recall@10", "ndcg@10"],
                       "value": [0.12, 0.2, 0.0]})
    d = charts.evaluation_chart(ev).to_dict()
    assert [t["name"] for t in d["data"]] == ["pipeline", "random"] and d["data"][0]["x"] == ["ndcg@10", "recall@10"]
