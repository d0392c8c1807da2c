"""Occlusion attributions and their safe rendering."""
import numpy as np

from analytics.models import explain
from components.highlight import attribution_markdown


def test_occlusion_exact_on_a_known_function():
    # P(target) = share of words equal to "bad": removing "bad" lowers it, removing other words raises it.
    def predict(texts):
        p = [t.split().count("bad") / max(len(t.split()), 1) for t in texts]
        return np.array([[1 - x, x] for x in p])

    pairs = explain.occlusion("a bad day", predict, target=1)
    assert [w for w, _ in pairs] == ["a", "bad", "day"]
    assert np.allclose([a for _, a in pairs], [1 / 3 - 1 / 2, 1 / 3 - 0, 1 / 3 - 1 / 2])
    assert explain.occlusion("   ", predict, 1) == []


def test_toxicity_explanation_points_at_the_insult():
    pairs = explain.explain_toxicity("honestly you are an idiot today")
    assert max(pairs, key=lambda p: p[1])[0] == "idiot"


def test_sentiment_explanation():
    label, pairs = explain.explain_sentiment("the crew was wonderful and friendly")
    assert label == "positive"
    assert max(pairs, key=lambda p: p[1])[0] in {"wonderful", "friendly"}


def test_highlight_markdown_is_escaped():
    md = attribution_markdown([("**x**", 0.5), ("](javascript:1)", -0.5), ("ok", 0.0)])
    assert md == r":red-background[\*\*x\*\*] :blue-background[\]\(javascript\:1\)] ok"


def test_offending_words_catch_what_saturated_occlusion_misses():
    text = "@AmericanAir YOU FUCKING SUCK"
    assert max(a for _, a in explain.explain_toxicity(text)) < 0.05, "P(toxic) stays ~1 without any one word"
    weights = dict(explain.offending_words(text))
    assert weights["FUCKING"] > 0.5 and weights["SUCK"] > 0.5 and weights["@AmericanAir"] < 0.05
    assert all(a < 0.05 for _, a in explain.offending_words("what a lovely flight, thanks crew"))
