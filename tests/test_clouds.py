"""Word-cloud rendering: deterministic images, CJK fonts, clear errors."""
import numpy as np
import pytest

from analytics.analyst import clouds


def test_render_is_a_deterministic_image():
    img = clouds.render({"storm": 30, "flight": 12, "delayed": 5}, width=300, height=150)
    assert img.shape == (150, 300, 3) and img.dtype == np.uint8
    assert (img < 250).any(), "words are drawn on the white background"
    assert np.array_equal(img, clouds.render({"storm": 30, "flight": 12, "delayed": 5}, width=300, height=150))


def test_render_rejects_nothing_and_says_which_font_is_missing():
    with pytest.raises(ValueError):
        clouds.render({})
    with pytest.raises(clouds.MissingFontError, match="fonts-noto-cjk"):
        clouds.render({"天气": 3, "storm": 2}, fonts=("/nonexistent/font.ttc",))
    assert clouds.render({"storm": 2}, width=100, height=50, fonts=()).shape == (50, 100, 3), "no CJK, no font needed"


@pytest.mark.skipif(clouds.cjk_font() is None, reason="fonts-noto-cjk is not installed (make setup installs it as root)")
def test_render_chinese_with_the_cjk_font():
    img = clouds.render({"天气": 3, "北京": 2}, width=300, height=150)
    assert (img < 250).any()
