"""The no-model control: k random walks of applicable actions per instance.

Each walk takes a uniformly random applicable action at every step until the goal holds or
the depth limit (`search.depth_limit`) is reached, and is stored as one answer (its plan in the
template's words, no tokens, finish_reason "legal"). k walks of `depth` steps are k x depth
expansions: set k so that the expansions match the model's searches. Walks are drawn from seeds derived from the run seed,
the instance and the walk, so a resumed run draws the same walks.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from planbench_scale.backends import Request, Result, derive_seed
from planbench_scale.domains import task_for
from planbench_scale.records import Completion
from planbench_scale.config import Sampling, Settings
from planbench_scale.score import applicable, state_after
from planbench_scale.strategies.search import check_depth, depth_limit
from planbench_scale.text.prompts import describe_action


def walk(instance, depth: int, seed: int) -> tuple[str, ...]:
    """A random walk of applicable actions, stopping at the goal or after `depth` steps."""
    rng, goal, actions = random.Random(seed), task_for(instance).goal, []
    state = state_after(instance, ())
    while len(actions) < depth and state & goal != goal:
        actions.append(rng.choice(applicable(instance, state)))
        state = state_after(instance, actions)
    return tuple(actions)


@dataclass(frozen=True)
class RandomLegal:
    """k random legal walks per instance, written without a model."""

    name: str = "random-legal"
    replays_text: bool = False
    unit: str = "samples"
    reads_plans: bool = True

    def check(self, settings: Settings, instances) -> None:
        """Refuse a depth limit below an instance's optimal length."""
        check_depth(settings, instances)

    def start(self, state, settings: Settings) -> None:
        """Nothing to set up: the stored sample indices say which walks are left."""

    def waves(self, states, settings: Settings):
        """Every walk of every instance in one wave."""
        yield [_walk_result(state, index, settings) for state in states
               for index in range(settings.k) if index not in state.done]

    def answered(self, state, index, round_, answer, scored, settings) -> None:
        """A walk leaves nothing to follow up."""

    def finished(self, state, settings: Settings) -> bool:
        return len(state.done) >= settings.k

    def most_samples(self, settings: Settings) -> int:
        return settings.k

    def sampling(self, settings: Settings) -> Sampling:
        return settings.sampling

    def asks_logprobs(self, settings: Settings) -> bool:
        return False


def _walk_result(state, index: int, settings: Settings) -> Result:
    """One walk as an answer to a one-sample request."""
    seed = derive_seed(settings.seed, state.instance.id, index)
    text = "".join(describe_action(state.instance, action, settings.templates) + "\n"
                   for action in walk(state.instance, depth_limit(state.instance, settings), seed))
    return Result(Request(state.prompt, 1, seed, index), (Completion(text, 0, 0, "legal"),))


RANDOM_LEGAL = RandomLegal()
