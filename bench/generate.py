"""Draft generator speed: load time and tokens/s of SmolLM2-135M (GGUF Q4_1) on this machine.

Usage: .venv/bin/python bench/generate.py [--tokens 48] [--runs 3]
Measures the transformers GGUF backend that analytics.models.drafts uses, and llama-cpp-python when it is installed.
Tokens/s is the median over `runs` greedy generations of `tokens` new tokens (EOS suppressed so each run is full).
"""
from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from analytics.models import drafts  # noqa: E402

MESSAGES = drafts.spike_summary_prompt(
    "Tue 14:00-16:00", ["outage", "wifi", "router"], ["network problems"],
    ["wifi down again in the whole building", "is the outage over yet?", "router lights blinking red"])


def bench_transformers(tokens: int, runs: int) -> tuple[float, list[float]]:
    """(load seconds, tokens/s per run) for the transformers GGUF backend."""
    import torch

    drafter = drafts.Drafter().load()
    tokenizer, model = drafter.tokenizer, drafter.model
    inputs = tokenizer(drafter.render(MESSAGES), return_tensors="pt", add_special_tokens=False)
    rates = []
    for _ in range(runs):
        t0 = time.perf_counter()
        with torch.inference_mode():
            out = model.generate(**inputs, max_new_tokens=tokens, min_new_tokens=tokens, do_sample=False,
                                 repetition_penalty=drafts.REPETITION_PENALTY, pad_token_id=tokenizer.eos_token_id)
        rates.append((out.shape[1] - inputs["input_ids"].shape[1]) / (time.perf_counter() - t0))
    return drafter.load_seconds, rates


def bench_llama_cpp(tokens: int, runs: int) -> tuple[float, list[float]]:
    """(load seconds, tokens/s per run) for llama-cpp-python on the same file."""
    from llama_cpp import Llama

    t0 = time.perf_counter()
    llm = Llama(model_path=str(drafts.gguf_path()), verbose=False, seed=0)
    load = time.perf_counter() - t0
    rates = []
    for _ in range(runs):
        t0 = time.perf_counter()
        out = llm.create_chat_completion(messages=MESSAGES, max_tokens=tokens, temperature=0.0,
                                         repeat_penalty=drafts.REPETITION_PENALTY)
        rates.append(out["usage"]["completion_tokens"] / (time.perf_counter() - t0))
    return load, rates


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tokens", type=int, default=48)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    backends = [("transformers GGUF", bench_transformers)]
    if importlib.util.find_spec("llama_cpp") is None:
        print("llama-cpp-python: not installed (pip install llama-cpp-python compiles for ~3 min); skipped")
    else:
        backends.append(("llama-cpp-python", bench_llama_cpp))
    for name, fn in backends:
        load, rates = fn(args.tokens, args.runs)
        print(f"{name}: load {load:.1f} s, {statistics.median(rates):.1f} tokens/s "
              f"(median of {args.runs} x {args.tokens} new tokens; runs: {', '.join(f'{r:.1f}' for r in rates)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
