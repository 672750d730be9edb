"""Generated Logistics sets: random problems of PlanBench's shape, stratified by optimal length.

A problem has `cities` cities of `locations` locations each (location 0 is the city's airport),
one truck per city at a random location, `airplanes` airplanes at random airports and
`packages` packages at random locations, each with a random goal location. The size
parameters are drawn per instance, among those whose object count (airplanes + 2 x cities +
locations + packages) lies in the range asked; every optimal length is certified (`search.py`).
The draws depend only on the seed, so every vocabulary of one seed gets the same problems.
"""

from __future__ import annotations

import itertools
import random

from planbench_scale.domains.blocksworld.generate import GENERALIZATION
from planbench_scale.domains.logistics.search import optimal_plan
from planbench_scale.domains.logistics.vocab import LOGISTICS, schema_text
from planbench_scale.errors import PlanbenchError
from planbench_scale.records import Instance
from planbench_scale.symbolic.astar import SearchLimit
from planbench_scale.symbolic.pddl import problem_pddl, task_from_facts

MAX_CITIES, MAX_LOCATIONS, MAX_PACKAGES, MAX_AIRPLANES = 6, 4, 10, 3
"""The largest size parameters drawn."""
PATIENCE = 3_000
"""Draws in a row that fill nothing before the set is left short."""


def objects(cities: int, locations: int, packages: int, airplanes: int) -> tuple[str, ...]:
    """Canonical object names in PlanBench's order: airplanes, cities, trucks, locations, packages."""
    return (*(f"a{i}" for i in range(airplanes)), *(f"c{i}" for i in range(cities)),
            *(f"t{i}" for i in range(cities)),
            *(f"l{c}-{j}" for c in range(cities) for j in range(locations)),
            *(f"p{i}" for i in range(packages)))


def random_problem(sizes: tuple[int, int, int, int], seed: int):
    """(objects, init facts, goal facts), canonical and sorted, of cities, locations per city,
    packages and airplanes, drawn from `seed`."""
    cities, locations, packages, airplanes = sizes
    rng = random.Random(seed)
    places = [f"l{c}-{j}" for c in range(cities) for j in range(locations)]
    init = [("airplane", f"a{i}") for i in range(airplanes)] + \
        [("obj", f"p{i}") for i in range(packages)]
    for c in range(cities):
        init += [("city", f"c{c}"), ("truck", f"t{c}"), ("airport", f"l{c}-0"),
                 ("at", f"t{c}", f"l{c}-{rng.randrange(locations)}")]
        init += [f for j in range(locations) for f in (("location", f"l{c}-{j}"),
                                                       ("in-city", f"l{c}-{j}", f"c{c}"))]
    init += [("at", f"a{i}", f"l{rng.randrange(cities)}-0") for i in range(airplanes)]
    init += [("at", f"p{i}", rng.choice(places)) for i in range(packages)]
    goal = [("at", f"p{i}", rng.choice(places)) for i in range(packages)]
    return objects(*sizes), tuple(sorted(init)), tuple(sorted(goal))


def size_choices(sizes: tuple[int, int]) -> list[tuple[int, int, int, int]]:
    """Every (cities, locations, packages, airplanes) whose object count lies in `sizes`."""
    ranges = (range(1, MAX_CITIES + 1), range(1, MAX_LOCATIONS + 1),
              range(1, MAX_PACKAGES + 1), range(1, MAX_AIRPLANES + 1))
    return [s for s in itertools.product(*ranges)
            if sizes[0] <= s[3] + s[0] * (2 + s[1]) + s[2] <= sizes[1]]


def generate_set(vocab, sizes: tuple[int, int], steps: tuple[int, int],
                 per_step: int, seed: int, progress=None, time_limit: float = 20.0) -> list[Instance]:
    """`per_step` instances with certified optimal plans for every step count in `steps`,
    of `sizes` objects (see the module); a step count still short after PATIENCE draws in a
    row that filled nothing is reported and left short."""
    say = progress or (lambda message: None)
    choices = size_choices(sizes)
    if not choices or not 1 <= steps[0] <= steps[1] or per_step < 1:
        raise PlanbenchError(f"bad ranges for Logistics: objects {sizes[0]}-{sizes[1]} (at least "
                             f"5), steps {steps[0]}-{steps[1]} (from 1), per step {per_step}")
    buckets = {length: [] for length in range(steps[0], steps[1] + 1)}
    hits = {choice: [0, 0] for choice in choices}  # tries, lengths that were wanted
    rng, seen, idle, draws = random.Random(seed), set(), 0, 0
    while idle < PATIENCE and any(len(b) < per_step for b in buckets.values()):
        choice = rng.choices(choices, [(h + 0.5) / (t + 1) for t, h in hits.values()])[0]
        instance_seed = rng.getrandbits(31)
        names, init, goal = random_problem(choice, instance_seed)
        draws, idle = draws + 1, idle + 1
        if set(goal) <= set(init) or (init, goal) in seen:
            continue
        seen.add((init, goal))
        longest = max(s for s, b in buckets.items() if len(b) < per_step)
        plan = _certified(names, init, goal, time_limit, say, longest)
        hits[choice][0] += 1
        bucket = buckets.get(len(plan)) if plan is not None else None
        if bucket is None or len(bucket) >= per_step:
            continue
        hits[choice][1] += 1
        idle = 0
        bucket.append(Instance(f"{vocab.domain}-o{len(names):02d}-s{len(plan):02d}-{len(bucket):04d}",
                               vocab.domain, vocab.name, names, init, goal, plan, instance_seed))
        if len(bucket) == per_step:
            say(f"step count {len(plan)}: {per_step} instances after {draws} draws")
    short = {s: len(b) for s, b in buckets.items() if len(b) < per_step}
    say(f"{len(buckets) - len(short)} of {len(buckets)} step counts filled after {draws} draws"
        + (f"; short: {', '.join(f'{s} ({k}/{per_step})' for s, k in short.items())}" if short else ""))
    return [instance for length in sorted(buckets) for instance in buckets[length]]


def generalization_problem(cities: int, locations: int, seed: int):
    """(objects, init facts, goal facts) of the generalization pattern, in the spirit of
    PlanBench's LG-generalization problems: one truck per city at a random location of it, one
    airplane per city at its airport, one package at every other location, and the goal every
    package at the airport of the next city along a random round of the cities (its own with
    one city). Every plan then follows one pattern: each truck gathers its city's packages at
    the airport, each airplane flies them on."""
    rng = random.Random(seed)
    names, init, _ = random_problem((cities, locations, 0, cities), seed)
    round_ = rng.sample(range(cities), cities)
    after = {c: round_[(round_.index(c) + 1) % cities] for c in range(cities)}
    init = [f for f in init if f[0] != "at"]
    init += [("at", f"t{c}", f"l{c}-{rng.randrange(locations)}") for c in range(cities)]
    init += [("at", f"a{c}", f"l{c}-0") for c in range(cities)]
    packages = [(c, j) for c in range(cities) for j in range(1, locations)]
    init += [f for i, (c, j) in enumerate(packages) for f in (("obj", f"p{i}"), ("at", f"p{i}", f"l{c}-{j}"))]
    goal = [("at", f"p{i}", f"l{after[c]}-0") for i, (c, _) in enumerate(packages)]
    return (*names, *(f"p{i}" for i in range(len(packages)))), tuple(sorted(init)), tuple(sorted(goal))


def generalization_set(vocab, sizes: tuple[int, int], steps: tuple[int, int], per_step: int,
                       seed: int, progress=None, time_limit: float = 20.0) -> list[Instance]:
    """`per_step` instances of the generalization pattern (`generalization_problem`) for every
    step count in `steps`, of `sizes` objects, with certified optimal plans; a step count still
    short after PATIENCE draws in a row that filled nothing is reported and left short."""
    say = progress or (lambda message: None)
    shapes = [(c, m) for c in range(1, MAX_CITIES + 1) for m in range(2, MAX_LOCATIONS + 1)
              if c * (m - 1) <= MAX_PACKAGES and sizes[0] <= c * (2 * m + 2) <= sizes[1]]
    if not shapes or not 1 <= steps[0] <= steps[1] or per_step < 1:
        raise PlanbenchError(f"no Logistics generalization problem has {sizes[0]}-{sizes[1]} "
                             f"objects (c cities of m locations have c(2m+2), from 6)")
    buckets = {length: [] for length in range(steps[0], steps[1] + 1)}
    rng, seen, idle = random.Random(f"{GENERALIZATION}-{seed}"), set(), 0
    while idle < PATIENCE and any(len(b) < per_step for b in buckets.values()):
        shape, instance_seed = rng.choice(shapes), rng.getrandbits(31)
        names, init, goal = generalization_problem(*shape, instance_seed)
        idle += 1
        if (init, goal) in seen:
            continue
        seen.add((init, goal))
        longest = max(s for s, b in buckets.items() if len(b) < per_step)
        plan = _certified(names, init, goal, time_limit, say, longest)
        bucket = buckets.get(len(plan)) if plan is not None else None
        if bucket is not None and len(bucket) < per_step:
            idle = 0
            bucket.append(Instance(f"{vocab.domain}-{GENERALIZATION}-o{len(names):02d}-s{len(plan):02d}-"
                                   f"{len(bucket):04d}", vocab.domain, vocab.name, names, init,
                                   goal, plan, instance_seed))
    short = {s: len(b) for s, b in buckets.items() if len(b) < per_step}
    if short:
        say(f"generalization set short of step counts: {', '.join(f'{s} ({k}/{per_step})' for s, k in short.items())}")
    return [instance for length in sorted(buckets) for instance in buckets[length]]


def _certified(names, init, goal, time_limit, say, longest):
    """The canonical optimal plan of a drawn problem; None past the time limit (said so) or
    when it surely takes more than `longest` steps."""
    try:
        return canonical_plan(names, init, goal, time_limit, longest)
    except SearchLimit as error:
        say(f"a {len(names)}-object instance was skipped: {error}")
        return None


def canonical_plan(names, init, goal, time_limit: float = 20.0,
                   longest: int | None = None) -> tuple | None:
    """A certified optimal plan, as canonical actions, of a problem in canonical names; None
    when the admissible bound alone says it is longer than `longest`."""
    domain_text = schema_text()
    draft = Instance("draw", "logistics", LOGISTICS.name, tuple(names), init, goal, ())
    task = task_from_facts(domain_text, "draw", names, map(LOGISTICS.fact, init),
                           map(LOGISTICS.fact, goal))
    plan = optimal_plan(task, init, goal, domain_text, problem_pddl("draw", LOGISTICS, draft),
                        time_limit, longest=longest)
    return None if plan is None else tuple(tuple(action[1:-1].split()) for action in plan)
