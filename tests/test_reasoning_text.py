"""Splitting a leading <think> block off an answer, and counting it with a real tokenizer."""

from planbench_scale.backends import cpu_model
from planbench_scale.records import Completion
from planbench_scale.text.reasoning import split, with_reasoning


def test_a_leading_block_is_the_reasoning_and_the_rest_the_answer():
    assert split("<think>stack a first</think>\n(pick-up a)") == ("stack a first", "(pick-up a)")
    assert split("  <THINK>\nx\n</THINK>answer") == ("x", "answer")
    assert split("R1 starts inside </think> (stack a b)") == ("R1 starts inside", "(stack a b)")
    assert split("<think>cut while thinking") == ("cut while thinking", "")
    assert split("(pick-up a)\n<think>late</think>") == ("", "(pick-up a)\n<think>late</think>")
    assert split("plain answer") == ("", "plain answer")


def test_reasoning_tokens_are_counted_with_the_model_tokenizer():
    from transformers import AutoTokenizer
    tokenizer = AutoTokenizer.from_pretrained(cpu_model.default_model())
    thought = "I should unstack b from a, then stack a on c."
    completion = Completion(f"<think>{thought}</think>(unstack b a)", 9, 40, "stop")
    counted = with_reasoning(completion, tokenizer)
    expected = len(tokenizer.encode(thought, add_special_tokens=False))
    assert (counted.text, counted.reasoning, counted.reasoning_tokens) == (
        "(unstack b a)", thought, expected)
    assert 5 < expected < 40
    assert with_reasoning(Completion("(unstack b a)", 9, 4, "stop"), tokenizer).reasoning == ""
