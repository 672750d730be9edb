"""Generated Blocksworld sets: uniformly random problems, stratified by optimal plan length.

A generated set draws uniformly random initial and goal states (bwstates) and keeps, for every
step count (optimal plan length) in the range, `per_step` instances. The draws depend only on the
seed, not on the vocabulary, so the Blocksworld, Mystery and Randomized sets of one seed hold the
same problems in three vocabularies. A plan of a hand-empty Blocksworld problem with an `on` goal
moves whole blocks, two actions per move, so only even step counts exist.
"""

from __future__ import annotations

import math
import random
import time
from typing import Callable

from planbench_scale.domains.blocksworld import states as bw
from planbench_scale.domains.blocksworld.search import SearchTimeout
from planbench_scale.domains.blocksworld.vocab import Vocabulary, block_names
from planbench_scale.errors import PlanbenchError
from planbench_scale.records import Instance

MAX_BLOCKS = 200
"""Largest block count `generate_set` accepts."""
Progress = Callable[[str], None]


def random_problem(n_blocks: int, seed: int, partial_goals: bool = False):
    """(blocks, init facts, goal facts) of the random problem fixed by n_blocks and seed.

    Initial and goal state are uniform over all states of n blocks; the goal is the goal state's
    `on` facts, or with `partial_goals` each of them kept with probability 1/2.
    """
    rng = random.Random(seed)
    names = block_names(n_blocks)
    init = bw.state_facts(names, bw.random_state(n_blocks, rng))
    goal = bw.on_facts(names, bw.random_state(n_blocks, rng))
    if partial_goals:
        goal = tuple(fact for fact in goal if rng.random() < 0.5)
    return names, init, goal


TIME_LIMIT = 20.0
"""Seconds the optimal search may take for one drawn instance before it is skipped."""
TOO_LONG = 10**9
"""The length recorded for an instance whose optimal search ran out of time."""
HEARTBEAT = 10.0
"""Seconds between progress messages while nothing else is said."""


def generate_set(vocab: Vocabulary, blocks: tuple[int, int] = (3, 20), steps: tuple[int, int] = (2, 40),
                 per_step: int = 20, seed: int = 0, partial_goals: bool = False,
                 progress: Progress | None = None, patience: int = 20_000,
                 time_limit: float = TIME_LIMIT) -> list[Instance]:
    """`per_step` instances for every reachable step count in `steps`, with blocks in range `blocks`.

    Step counts that cannot exist (odd, or above 4 * (max blocks - 1)) are skipped; a step count
    still short after `patience` draws in a row that filled nothing, or once every block count
    gives plans longer than any step count still wanted, is reported and left short. A drawn
    instance whose optimal plan takes longer than `time_limit` seconds to find is skipped.
    """
    say = progress or (lambda message: None)
    wanted = _reachable_steps(blocks, steps, per_step, progress)
    buckets: dict[int, list[Instance]] = {length: [] for length in wanted}
    sizes = _SizeChooser(blocks)
    rng, seen, idle, draws, spoke = random.Random(seed), set(), 0, 0, time.monotonic()
    while idle < patience and (open_steps := [s for s, b in buckets.items() if len(b) < per_step]):
        if sizes.hopeless(open_steps):
            say(f"every block count in {blocks[0]}-{blocks[1]} that could give {max(open_steps)} "
                f"steps or fewer ran out of time: stopping")
            break
        if time.monotonic() - spoke > HEARTBEAT:
            spoke = time.monotonic()
            say(f"{draws} draws, {sum(map(len, buckets.values()))} instances so far")
        n = sizes.choose(open_steps, rng)
        instance_seed = rng.getrandbits(31)
        names, init, goal = random_problem(n, instance_seed, partial_goals)
        draws, idle = draws + 1, idle + 1
        if set(goal) <= set(init) or (init, goal) in seen:
            continue
        seen.add((init, goal))
        try:
            plan = bw.optimal_plan(names, init, goal, time.monotonic() + time_limit)
        except SearchTimeout:
            say(f"a {n}-block instance took over {time_limit:g} s to plan optimally: skipped")
            sizes.record(n, TOO_LONG)
            continue
        sizes.record(n, len(plan))
        bucket = buckets.get(len(plan))
        if bucket is not None and len(bucket) < per_step:
            idle = 0
            bucket.append(Instance(f"{vocab.domain}-b{n:02d}-s{len(plan):02d}-{len(bucket):04d}",
                                   vocab.domain, vocab.name, names, init, goal, plan, instance_seed))
            if progress and len(bucket) == per_step:
                progress(f"step count {len(plan)}: {per_step} instances after {draws} draws")
    _report_short(buckets, per_step, draws, progress)
    return [instance for length in sorted(buckets) for instance in buckets[length]]


def unsolvable_set(vocab: Vocabulary, blocks: tuple[int, int], count: int,
                   seed: int = 0) -> list[Instance]:
    """`count` instances whose goal no state satisfies, made as PlanBench made its unsolvable
    sets: a random goal state's `on` facts with a few changed so that two blocks stand on one
    block, or blocks stand on each other in a cycle. Each is certified by `states.goal_targets`
    refusing its goal; its optimal plan is empty and `solvable` False. The draws depend only on
    the seed (not on the solvable instances), so every vocabulary gets the same problems."""
    rng, low = random.Random(f"unsolvable-{seed}"), max(blocks[0], 2)
    if count and low > blocks[1]:
        raise PlanbenchError("unsolvable instances need at least 2 blocks")
    instances = []
    for number in range(count):
        n, instance_seed = rng.randint(low, blocks[1]), rng.getrandbits(31)
        names, init, goal = random_problem(n, instance_seed)
        goal = _impossible(names, goal, random.Random(instance_seed))
        if not unsatisfiable(names, goal):
            raise AssertionError(f"not unsolvable: {goal}")  # a bug in _impossible
        instances.append(Instance(f"{vocab.domain}-b{n:02d}-unsolvable-{number:04d}", vocab.domain,
                                  vocab.name, names, init, goal, (), instance_seed, solvable=False))
    return instances


GENERALIZATION = "generalization"
"""The word in the ids of every family's generalization sets (PlanBench names its own generated
problems BW-generalization-N and LG-generalization)."""


def generalization_set(vocab: Vocabulary, blocks: tuple[int, int], steps: tuple[int, int],
                       per_step: int, seed: int = 0) -> list[Instance]:
    """PlanBench's Blocksworld generalization set: every block clear on the table, the goal one
    tower of all of them in a random order, so that every plan follows one pattern (pick up and
    stack each block, bottom up: 2(n-1) steps for n blocks). `per_step` towers (fewer where n
    blocks have fewer orders) per block count in `blocks` whose step count lies in `steps`, each
    plan certified by the optimal search; the draws depend only on the seed."""
    rng = random.Random(f"{GENERALIZATION}-{seed}")
    sizes = [n for n in range(max(blocks[0], 2), blocks[1] + 1) if steps[0] <= 2 * (n - 1) <= steps[1]]
    if not sizes or blocks[1] > MAX_BLOCKS or per_step < 1:
        raise PlanbenchError(f"no generalization set of {blocks[0]}-{blocks[1]} blocks (at most "
                             f"{MAX_BLOCKS}) has {steps[0]}-{steps[1]} steps: n blocks take 2(n-1)")
    instances = []
    for n in sizes:
        names = block_names(n)
        init = bw.state_facts(names, (bw.TABLE,) * n)
        towers: list[tuple[str, ...]] = []
        while len(towers) < min(per_step, math.factorial(n)):
            tower = tuple(rng.sample(names, n))  # top first
            if tower not in towers:
                towers.append(tower)
        for number, tower in enumerate(towers):
            goal = tuple(sorted(("on", upper, lower) for upper, lower in zip(tower, tower[1:])))
            plan = bw.optimal_plan(names, init, goal)
            instances.append(Instance(f"{vocab.domain}-{GENERALIZATION}-b{n:02d}-s{len(plan):02d}-"
                                      f"{number:04d}", vocab.domain, vocab.name, names, init, goal,
                                      plan, seed))
    return instances


def unsatisfiable(names: tuple[str, ...], goal: tuple) -> bool:
    """Whether no state satisfies an `on` goal (a block in two places, on itself, two blocks on
    one, a cycle); every state is reachable, so any other `on` goal has a plan."""
    try:
        bw.goal_targets(names, goal)
    except PlanbenchError as error:
        return "unsatisfiable" in error.message
    return False


def _impossible(names: tuple[str, ...], goal: tuple, rng: random.Random) -> tuple:
    """A goal state's `on` facts changed to put two blocks on one block, or (with two blocks,
    or by chance) to stack some blocks on each other in a cycle."""
    if len(names) >= 3 and rng.random() < 0.5:
        lower, *uppers = rng.sample(names, 3)
        added = [("on", upper, lower) for upper in uppers]
    else:
        ring = rng.sample(names, rng.randint(2, min(len(names), 4)))
        added = [("on", upper, lower) for upper, lower in zip(ring, ring[1:] + ring[:1])]
    moved = {fact[1] for fact in added}
    return tuple(sorted([fact for fact in goal if fact[1] not in moved] + added))


def _reachable_steps(blocks, steps, per_step, progress) -> list[int]:
    low, high = blocks
    if not 1 <= low <= high or not 0 <= steps[0] <= steps[1] or per_step < 1:
        raise PlanbenchError(f"bad ranges: blocks {low}-{high}, steps {steps[0]}-{steps[1]}, per step {per_step}")
    if high > MAX_BLOCKS:
        raise PlanbenchError(f"at most {MAX_BLOCKS} blocks (optimal plans take seconds from about 100)")
    longest = 4 * (high - 1)
    wanted = [s for s in range(max(steps[0], 2), steps[1] + 1) if s % 2 == 0 and s <= longest]
    skipped = [s for s in range(steps[0], steps[1] + 1) if s not in wanted]
    if progress and skipped:
        progress(f"skipping step counts that cannot exist with {low}-{high} blocks "
                 f"(odd, zero or above {longest}): {', '.join(map(str, skipped))}")
    if not wanted:
        raise PlanbenchError(f"no step count in {steps[0]}-{steps[1]} is possible with {low}-{high} blocks")
    return wanted


def _report_short(buckets, per_step, draws, progress) -> None:
    short = {s: len(b) for s, b in buckets.items() if len(b) < per_step}
    if progress:
        filled = len(buckets) - len(short)
        progress(f"{filled} of {len(buckets)} step counts filled after {draws} draws"
                 + (f"; short: {', '.join(f'{s} ({k}/{per_step})' for s, k in short.items())}" if short else ""))


class _SizeChooser:
    """Picks the block count most likely to hit a step count still wanted, from the lengths seen so far.

    Plans grow with the block count, so sizes are explored from the smallest that can reach the
    shortest wanted step count up to the first whose plans all came out longer than the longest.
    A size is drawn with odds proportional to its hit rate, which spreads the block counts.
    """

    def __init__(self, blocks: tuple[int, int]):
        self.sizes = list(range(blocks[0], blocks[1] + 1))
        self.tries = dict.fromkeys(self.sizes, 0)
        self.hits: dict[int, dict[int, int]] = {n: {} for n in self.sizes}

    def record(self, n: int, length: int) -> None:
        self.tries[n] += 1
        self.hits[n][length] = self.hits[n].get(length, 0) + 1

    def hopeless(self, wanted: list[int]) -> bool:
        """Whether every useful size ran out of time 3 times or more and never gave a plan as
        short as a wanted step count (sizes that only gave long plans may still hit later)."""
        return all(self.hits[n].get(TOO_LONG, 0) >= 3 and min(self.hits[n]) > max(wanted)
                   for n in self._useful(wanted))

    def _useful(self, wanted: list[int]) -> list[int]:
        """Sizes from the smallest that can reach min(wanted) to the first that overshoots."""
        useful = []
        for n in self.sizes:
            if 4 * (n - 1) >= min(wanted):
                useful.append(n)
                if self.tries[n] >= 3 and min(self.hits[n]) > max(wanted):
                    break
        return useful

    def choose(self, wanted: list[int], rng: random.Random) -> int:
        useful = self._useful(wanted)
        untried = [n for n in useful if self.tries[n] < 3]
        if untried:
            return untried[0]
        rates = [(sum(self.hits[n].get(s, 0) for s in wanted) + 0.1) / (self.tries[n] + 1) for n in useful]
        return rng.choices(useful, weights=rates)[0]
