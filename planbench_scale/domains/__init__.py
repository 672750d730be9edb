"""Planning domains: what a domain supplies, and the registry the generic stages look domains up in.

A domain supplies its PDDL schema in any of its vocabularies (renamings of its predicates, actions
and objects), an instance generator with certified optimal plans, its prompt templates (a folder
of YAML files) and how its objects read in text. Instances name their domain; the generic stages
(validator, prompts, extraction, strategies, store, report, CLI) find it here and never test a
domain's name themselves.

Adding a domain, as data: a folder in the top-level domains/ with its domain.pddl (and
`<name>.yaml`, its prompt template, if it has one): `folder.FolderDomain`, registered here by
the folder's name; or `planbench-scale import`, whose set folder holds its domain and registers it
when the set is loaded (`register`). With code: a package beside blocksworld/ and logistics/ that
defines `DOMAINS` (its Domain objects) and `load_planbench(folder)`, plus its module in `FAMILIES`
below (one line), with its data in domains/<package>/. `obfuscation` gives any domain its Mystery
and Randomized vocabularies.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Callable, Mapping, Protocol, Sequence

from planbench_scale.domains import blocksworld, logistics
from planbench_scale.domains.folder import FolderDomain, folder_domains
from planbench_scale.errors import PlanbenchError
from planbench_scale.records import Fact, Instance
from planbench_scale.symbolic.pddl import problem_pddl, task_from_facts
from planbench_scale.symbolic.task import Task

Progress = Callable[[str], None]
"""Where a long operation reports what it is doing, one message at a time."""


class Vocabulary(Protocol):
    """How a domain's canonical names are spelled in PDDL and prompts."""

    name: str
    """The name the domain's `vocabulary` accepts and an Instance records."""
    domain: str
    """The domain it belongs to."""
    pddl_domain: str
    """The PDDL domain name."""
    names: tuple[tuple[str, str], ...]
    """(canonical, own) pairs for the predicates and actions."""

    def own(self, canonical: str) -> str:
        """The spelling of a canonical predicate or action name."""

    def canonical(self, own: str) -> str | None:
        """The canonical predicate or action of a spelling (any case), or None."""

    def obj(self, canonical: str) -> str:
        """The PDDL spelling of a canonical object name."""

    def index(self, canonical: str) -> int:
        """The 0-based number of a canonical object (for "object_{index}" and colours)."""

    def fact(self, fact: Fact) -> str:
        """A canonical fact or action as a PDDL string in this vocabulary: "(craves a b)"."""


class Domain(Protocol):
    """A planning domain: schema, vocabularies, generator, templates."""

    name: str
    """The registry key, stored in every Instance of the domain."""
    predicates: Mapping[str, int]
    """Canonical predicate name -> arity."""
    actions: Mapping[str, int]
    """Canonical action name -> arity."""
    templates: Traversable
    """Folder of prompt templates: `<name>.yaml` is the default; planbench/ holds PlanBench configs."""

    def vocabulary(self, name: str | None = None, seed: int = 0) -> Vocabulary:
        """The vocabulary called `name`; None gives the domain's default (drawn from `seed`)."""

    def domain_pddl(self, vocab: Vocabulary) -> str:
        """The domain's PDDL in a vocabulary."""

    def generate(self, sizes: tuple[int, int], steps: tuple[int, int], per_step: int, seed: int,
                 partial_goals: bool = False, progress: Progress | None = None,
                 time_limit: float = 20.0) -> list[Instance]:
        """`per_step` instances with certified optimal plans per reachable step count in `steps`,
        of `sizes` objects; the same seed gives the same instances. A drawn instance whose
        optimal plan takes over `time_limit` seconds to find is skipped (and said so)."""

    def unsolvable(self, sizes: tuple[int, int], count: int, seed: int) -> list[Instance]:
        """`count` instances of `sizes` objects whose goal no state satisfies (certified by
        construction, `solvable` False); the same seed gives the same instances."""

    def distance(self, instance: Instance, state: tuple[Fact, ...]) -> int:
        """The optimal number of steps from a reachable `state` (canonical facts) to the goal
        of `instance`: the oracle step score."""

    def solve(self, instance: Instance) -> tuple[Fact, ...]:
        """A certified optimal plan (canonical actions) from the instance's own initial state,
        one a task changed too (replanning)."""


class Patterned(Domain, Protocol):
    """A domain with what PlanBench's generalization and replanning tasks draw on; domains
    without these (the data-only ones) are refused by generalization by name, and replanning
    gives them PlanBench's generic unexpected event."""

    def generalization(self, sizes: tuple[int, int], steps: tuple[int, int], per_step: int,
                       seed: int, progress: Progress | None = None,
                       time_limit: float = 20.0) -> list[Instance]:
        """A generalization set: instances whose plans share one pattern (ids holding
        "generalization"), `per_step` per step count in `steps`, certified optimal plans."""

    def unexpected(self, instance: Instance, state: tuple[Fact, ...], rng) -> tuple | None:
        """PlanBench's domain-specific unexpected event at a `state` a plan of `instance`
        passes, drawn with `rng` (a random.Random): (facts that became true, facts that became
        false), or None where this state admits none."""


FAMILIES = (blocksworld, logistics)
"""Domain packages: each defines DOMAINS and load_planbench(folder)."""

DOMAINS: dict[str, Domain] = {d.name: d for family in FAMILIES for d in family.DOMAINS}
"""Every domain by name: the code families', then the data-only folders of domains/, then those
of imported sets as they are loaded (`register`)."""
DOMAINS.update((d.name, d) for d in folder_domains({f.__name__.rsplit(".", 1)[1] for f in FAMILIES}))


def get(name: str) -> Domain:
    """The domain called `name`."""
    if name not in DOMAINS:
        raise PlanbenchError(f"unknown domain {name!r}; known: {', '.join(DOMAINS)} (an imported "
                             "domain is known once its set is loaded)")
    return DOMAINS[name]


def register(name: str, folder: Path) -> Domain:
    """The data-only domain `name` whose domain.pddl is in `folder` (an imported set), registered;
    a name already taken by another domain is refused."""
    known, new = DOMAINS.get(name), FolderDomain(name, Path(folder).resolve())
    if known is None:
        DOMAINS[name] = new
    elif not isinstance(known, FolderDomain) or known.canonical_pddl != new.canonical_pddl:
        raise PlanbenchError(f"domain {name!r} is already a different domain here; import the "
                             "set under another --name", str(folder))
    return DOMAINS[name]


def register_sets(instances: Sequence[Instance], folders: Sequence[Path]) -> None:
    """Register the domains of `instances` that are not known yet from the first of `folders`
    (set folders) holding a domain.pddl: what loading an imported set needs."""
    for name in sorted({i.domain for i in instances} - set(DOMAINS)):
        found = [f for f in folders if (Path(f) / "domain.pddl").is_file()]
        if found:
            register(name, found[0])


def vocabulary_of(instance: Instance) -> Vocabulary:
    """The vocabulary an instance is spelled in."""
    return get(instance.domain).vocabulary(instance.vocabulary)


@lru_cache(maxsize=None)
def task_for(instance: Instance) -> Task:
    """The grounded task of an instance in its own vocabulary, built once from its facts."""
    vocab = vocabulary_of(instance)
    return task_from_facts(get(instance.domain).domain_pddl(vocab), instance.id,
                           [vocab.obj(o) for o in instance.objects],
                           [vocab.fact(f) for f in instance.init],
                           [vocab.fact(f) for f in instance.goal])


def canonical(instance: Instance, text: str, kinds: str = "predicates") -> Fact:
    """A PDDL fact or action ("actions" or "predicates" of the domain) as a canonical tuple."""
    vocab = vocabulary_of(instance)
    parts = text.strip().strip("()").split()
    name = vocab.canonical(parts[0]) if parts else None
    blocks = {vocab.obj(b).lower(): b for b in instance.objects}
    objects = [blocks.get(p.lower()) for p in parts[1:]]
    arity = getattr(get(instance.domain), kinds)
    if name not in arity or None in objects or len(objects) != arity[name]:
        raise PlanbenchError(f"{text!r} is not one of the {kinds} of instance "
                             f"{instance.id} in vocabulary {instance.vocabulary}")
    return (name, *objects)


def instance_pddl(instance: Instance) -> tuple[str, str]:
    """(domain, problem) PDDL of an instance in its own vocabulary."""
    vocab = vocabulary_of(instance)
    return get(instance.domain).domain_pddl(vocab), problem_pddl(instance.id, vocab, instance)


def load_planbench(folder: Path) -> list[Instance]:
    """The instances of a PlanBench config folder, read by the family whose domain it is."""
    errors = []
    for family in FAMILIES:
        try:
            return family.load_planbench(folder)
        except PlanbenchError as error:
            errors.append(error)
    if len({str(error) for error in errors}) == 1:  # the same fault whichever family reads it
        raise errors[0]
    raise PlanbenchError("; ".join(map(str, errors)))


def template_files(name: str) -> Sequence[Traversable]:
    """Candidate template files called `name` across the domains (for planbench:NAME)."""
    return [d.templates / "planbench" / f"{name}.yaml" for d in DOMAINS.values()]
