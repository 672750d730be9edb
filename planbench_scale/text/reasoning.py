"""A reasoning model's thinking, kept apart from its answer and counted.

Models such as DeepSeek-R1 or Qwen3 open their answer with a `<think>...</think>` block when no
server-side reasoning parser takes it out (R1's chat template puts the opening tag in the prompt,
so the answer may start inside the block and show only `</think>`). The block is stored as the
sample's reasoning and the rest as its text, which is all the extractor reads.
"""

from __future__ import annotations

import re
from dataclasses import replace

from planbench_scale.records import Completion

_LEADING = re.compile(r"\A\s*(?:<think>)?(.*?)</think>\s*", re.DOTALL | re.IGNORECASE)
_OPEN = re.compile(r"\A\s*<think>", re.IGNORECASE)


def split(text: str) -> tuple[str, str]:
    """(reasoning, answer): a leading `<think>` block and what follows it, or ("", text).

    A block opened and never closed (cut at max_tokens while thinking) is all reasoning; a
    `</think>` with no opening tag ends reasoning that started with the answer."""
    match = _LEADING.match(text)
    if match and "<think>" not in match.group(1).lower():
        return match.group(1).strip(), text[match.end():]
    if _OPEN.match(text):
        return text[_OPEN.match(text).end():].strip(), ""
    return "", text


def with_reasoning(completion: Completion, tokenizer) -> Completion:
    """The completion with a leading `<think>` block moved into `reasoning`, its tokens counted
    with the model's `tokenizer` (anything with `encode(text, add_special_tokens=False)`)."""
    reasoning, answer = split(completion.text)
    if not reasoning:
        return completion
    tokens = len(tokenizer.encode(reasoning, add_special_tokens=False))
    return replace(completion, text=answer, reasoning=reasoning,
                   reasoning_tokens=min(tokens, completion.completion_tokens))
