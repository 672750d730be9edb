"""Best-of-n: n whole answers per instance, each given the step score of its plan; the report
takes the best-scored of the first n answers as the instance's answer.

An answer with a step that does not apply gets no score (it ranks last). With the "logprob"
score every answer with a score is read once more by the model (`Backend.score`): that scoring
row has sample index n + the answer's index and the answer as its parent, and carries the score.

With the "self-verify" score the model verifies each answer's plan itself: PlanBench's zero-shot
verification prompt (`tasks.verification.zero_shot_prompt`) is read twice by the model, once
continued by "Plan is valid." (row n + 2i) and once by "Plan is invalid." (row n + 2i + 1, the
answer's parent), and the second row carries the model's probability of "valid" between the
two. Answers whose plan names no action of the instance get no score.
"""

from __future__ import annotations

from dataclasses import dataclass

from planbench_scale.backends import ScoreRequest
from planbench_scale.config import Sampling, Settings
from planbench_scale.score import (SELF_VERIFY, check_score, needs_logprobs, state_after,
                                   step_score)
from planbench_scale.strategies.sample import SAMPLE
from planbench_scale.strategies import scored_answer, self_verification
from planbench_scale.strategies.search import ALIVE
from planbench_scale.tasks.verification import SAYS


@dataclass(frozen=True)
class BestOfN:
    """n sampled answers, each scored."""

    name: str = "best-of-n"
    replays_text: bool = True
    unit: str = "samples"
    reads_plans: bool = True

    def check(self, settings: Settings, instances) -> None:
        """Refuse an unknown score."""
        if settings.score != SELF_VERIFY:
            check_score(settings.score, instances)

    def start(self, state, settings: Settings) -> None:
        """Answers waiting for their scoring row, by sample index."""
        state.open = {}

    def waves(self, states, settings: Settings):
        """The answers (as `sample` asks for them), then their scoring calls."""
        yield from SAMPLE.waves(states, settings)
        if settings.score == SELF_VERIFY:
            yield [ScoreRequest(self_verification.prompt(state.instance, plan, settings), SAYS,
                                settings.k + 2 * index, index)
                   for state in states for index, plan in sorted(state.open.items())]
        elif needs_logprobs(settings.score):
            yield [ScoreRequest(state.prompt, (text,), settings.k + index, index)
                   for state in states for index, text in sorted(state.open.items())]

    def answered(self, state, index, round_, answer, scored, settings: Settings):
        """The score of an answer's plan; with logprob, of its scoring row."""
        if index >= settings.k and settings.score == SELF_VERIFY:
            return self_verification.answered(state, index - settings.k, answer)
        if index >= settings.k:  # a scoring row
            state.open.pop(index - settings.k, None)
            return answer.logprob / max(answer.logprob_tokens, 1)
        extraction, verdict = scored_answer(state, answer.text, scored, settings)
        if settings.score == SELF_VERIFY:
            return self_verification.candidate(state, index, extraction, verdict)
        if verdict.reason not in ALIVE:
            return None
        if needs_logprobs(settings.score):
            state.open[index] = answer.text
            return None
        return step_score(settings.score)(state.instance,
                                          state_after(state.instance, extraction.actions), None)

    def finished(self, state, settings: Settings) -> bool:
        answered = set(range(settings.k)) <= state.done or not state.within_budget(settings)
        return answered and not state.open

    def most_samples(self, settings: Settings) -> int:
        return settings.k * (3 if settings.score == SELF_VERIFY else
                             2 if needs_logprobs(settings.score) else 1)

    def sampling(self, settings: Settings) -> Sampling:
        return settings.sampling

    def asks_logprobs(self, settings: Settings) -> bool:
        return needs_logprobs(settings.score)


BEST_OF_N = BestOfN()
