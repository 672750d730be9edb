"""Best-of-n: n whole answers per instance, each given the step score of its plan; the report
takes the best-scored of the first n answers as the instance's answer.

An answer with a step that does not apply gets no score (it ranks last). With the "logprob"
score every answer with a score is read once more by the model (`Backend.score`): that scoring
row has sample index n + the answer's index and the answer as its parent, and carries the score.

With the "self-verify" score the model verifies each answer's plan itself, in PlanBench's
zero-shot verification prompt (`strategies.self_verification`), as `Settings.self_verify` says:
"verdict": one verification call per answer (row n + i, parent i) carries 1 when the model
calls the plan valid, else 0 (the selected answer is the first one it calls valid);
"probability": the prompt is read twice by the model, once continued by "Plan is valid." (row
n + 2i) and once by "Plan is invalid." (row n + 2i + 1, the answer's parent), and the second row
carries the model's probability of "valid" between the two. Answers whose plan cannot be shown
(`tasks.verification.readable_plan`) get no score.
"""

from __future__ import annotations

from dataclasses import dataclass

from planbench_scale.backends import ScoreRequest
from planbench_scale.config import Sampling, Settings
from planbench_scale.errors import PlanbenchError
from planbench_scale.score import SELF_VERIFY, check_score, needs_logprobs, state_after, step_score
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
        """Refuse an unknown score or self-verification mode."""
        if settings.score != SELF_VERIFY:
            check_score(settings.score, instances)
        elif settings.self_verify not in self_verification.MODES:
            raise PlanbenchError(f"unknown --self-verify {settings.self_verify!r}; known: "
                                 f"{', '.join(self_verification.MODES)}")

    def start(self, state, settings: Settings) -> None:
        """Answers waiting for their scoring row, by sample index."""
        state.open = {}

    def waves(self, states, settings: Settings):
        """The answers (as `sample` asks for them), then their scoring or verification calls."""
        yield from SAMPLE.waves(states, settings)
        waiting = [(state, index, plan) for state in states
                   for index, plan in sorted(state.open.items())]
        if _verdicts(settings):
            yield [self_verification.call(state, plan, settings, settings.k + index, 0, index)
                   for state, index, plan in waiting if state.within_budget(settings)]
        elif settings.score == SELF_VERIFY:
            yield [ScoreRequest(self_verification.prompt(state.instance, plan, settings), SAYS,
                                settings.k + 2 * index, index) for state, index, plan in waiting]
        elif needs_logprobs(settings.score):
            yield [ScoreRequest(state.prompt, (text,), settings.k + index, index)
                   for state, index, text in waiting]

    def answered(self, state, index, round_, answer, scored, settings: Settings):
        """The score of an answer's plan; with logprob or self-verify, of its scoring row or
        verification call."""
        if index >= settings.k:
            return self._call_score(state, index - settings.k, answer, scored, settings)
        extraction, verdict = scored_answer(state, answer.text, scored, settings)
        if settings.score == SELF_VERIFY:
            return self_verification.candidate(state, index, extraction)
        if verdict.reason not in ALIVE:
            return None
        if needs_logprobs(settings.score):
            state.open[index] = answer.text
            return None
        return step_score(settings.score)(state.instance,
                                          state_after(state.instance, extraction.actions), None)

    def _call_score(self, state, offset: int, answer, scored, settings: Settings):
        """The score a scoring row or verification call `offset` rows after the answers gives."""
        if _verdicts(settings):
            plan = state.open.pop(offset, None)
            if plan is None:
                return None
            claimed = self_verification.verdict(state, plan, answer, scored, settings)
            return float(self_verification.says_valid(claimed))
        if settings.score == SELF_VERIFY:
            return self_verification.answered(state, offset, answer)
        state.open.pop(offset, None)
        return answer.logprob / max(answer.logprob_tokens, 1)

    def finished(self, state, settings: Settings) -> bool:
        answered = set(range(settings.k)) <= state.done or not state.within_budget(settings)
        return answered and not (state.open and state.within_budget(settings))

    def most_samples(self, settings: Settings) -> int:
        return settings.k * (2 if _verdicts(settings) else 3 if settings.score == SELF_VERIFY
                             else 2 if needs_logprobs(settings.score) else 1)

    def sampling(self, settings: Settings) -> Sampling:
        return settings.sampling

    def asks_logprobs(self, settings: Settings) -> bool:
        return needs_logprobs(settings.score) and not _verdicts(settings)


def _verdicts(settings: Settings) -> bool:
    """Whether the model verifies by writing its verdict (self-verify, verdict mode)."""
    return settings.score == SELF_VERIFY and settings.self_verify == "verdict"


BEST_OF_N = BestOfN()
