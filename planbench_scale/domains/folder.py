"""Domains that are data: a folder with `domain.pddl` (and optionally `<name>.yaml`, its prompt
template), no Python of their own.

The top-level `domains/` folder of the repository (shipped in the wheel as the package
`planbench_scale.domain_data`) holds every domain definition as data; a subfolder that no code
family claims is such a domain, named after the folder. A set made by `planbench-scale import`
is one too: its folder holds the domain it was imported with, so loading the set registers it.

The domain's PDDL may be typed; it is read through unified-planning and served untyped
(`pddl_import.untyped_domain`). Its vocabularies are its own names (the domain's name) and
"randomized:SEED". It has no generator (sets come from problem files: `import`) and no
unsolvable instances of its own; its `distance` oracle is Fast Downward's optimal plan length
from the state, bounded in time and memory and cached per state.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property, lru_cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from planbench_scale.domains import obfuscation, pddl_import
from planbench_scale.domains.obfuscation import Renaming
from planbench_scale.errors import PlanbenchError
from planbench_scale.records import Fact, Instance
from planbench_scale.symbolic import fast_downward
from planbench_scale.symbolic.astar import SearchLimit
from planbench_scale.symbolic.pddl import problem_pddl
from planbench_scale.symbolic.schema import read_domain

DOMAIN_FILE = "domain.pddl"
"""The domain's PDDL inside its folder."""
DISTANCE_TIME_LIMIT = 10.0
"""Seconds Fast Downward may take for one `distance` (one search node)."""
DISTANCE_MEMORY_MB = 1024
"""MiB Fast Downward may take for one `distance`."""
UNREACHABLE = 1_000_000
"""The `distance` of a state from which Fast Downward proved the goal unreachable."""


def data_root() -> Traversable:
    """The folder of domain definitions: the installed package's copy, or the checkout's
    top-level domains/ beside the package."""
    try:
        return resources.files("planbench_scale.domain_data")
    except ModuleNotFoundError:
        return Path(__file__).resolve().parents[2] / "domains"


@dataclass(frozen=True)
class FolderDomain:
    """A domain read from a folder holding its domain.pddl."""

    name: str
    """The registry key: the folder's name, or the name a set was imported under."""
    folder: Traversable
    """The folder: domain.pddl, and `<name>.yaml` when it has a prompt template of its own."""

    @cached_property
    def canonical_pddl(self) -> str:
        """The domain as untyped STRIPS PDDL in its own (lower-case) names."""
        file = self.folder / DOMAIN_FILE
        if not file.is_file():
            raise PlanbenchError(f"domain {self.name}: no {DOMAIN_FILE} in its folder", str(file))
        return pddl_import.untyped_domain(pddl_import.read(Path(str(file))), str(file))

    @cached_property
    def _schema(self):
        return read_domain(self.canonical_pddl, f"<{self.name}>")

    @property
    def predicates(self) -> dict[str, int]:
        """Predicate -> arity."""
        return {name: len(args) for name, args in self._schema.predicates.items()}

    @property
    def actions(self) -> dict[str, int]:
        """Action -> arity."""
        return {action.name: len(action.params) for action in self._schema.actions}

    @property
    def templates(self) -> Traversable:
        """The folder (`<name>.yaml`; without one, prompts use the default wording)."""
        return self.folder

    def vocabulary(self, name: str | None = None, seed: int = 0) -> Renaming:
        """Its own names (None or the domain's name) or "randomized:SEED"."""
        canonical = tuple(self.predicates) + tuple(self.actions)
        if name is None or name == self.name:
            return obfuscation.identity(self.name, self.name, self._schema.name, canonical)
        seed = obfuscation.seeded(name)
        if seed is None:
            raise obfuscation.unknown(name, [self.name])
        return obfuscation.randomized(self.name, canonical, seed)

    def domain_pddl(self, vocab: Renaming) -> str:
        """The untyped domain spelled in a vocabulary."""
        return vocab.domain_pddl(self.canonical_pddl, self._schema.name)

    def generate(self, sizes, steps, per_step, seed, partial_goals=False, progress=None,
                 time_limit=20.0) -> list[Instance]:
        """Refused: a data-only domain has no generator."""
        raise PlanbenchError(f"domain {self.name} has no generator: make a set of its problem "
                             f"files with `planbench-scale import --domain {self.name} --out SET`")

    def solve(self, instance: Instance) -> tuple[Fact, ...]:
        """Fast Downward's optimal plan from the instance's initial state, canonical; a
        SearchLimit past its bounds."""
        from planbench_scale.domains import canonical

        vocab = self.vocabulary(instance.vocabulary)
        plan = fast_downward.optimal_plan(self.domain_pddl(vocab), problem_pddl(
            instance.id, vocab, instance), DISTANCE_TIME_LIMIT, DISTANCE_MEMORY_MB)
        return tuple(canonical(instance, action, "actions") for action in plan)

    def unsolvable(self, sizes, count, seed) -> list[Instance]:
        """None asked, none made; asking for some is refused (no generator)."""
        if count:
            raise PlanbenchError(f"domain {self.name} has no generator: no --unsolvable")
        return []

    def distance(self, instance: Instance, state: tuple[Fact, ...]) -> int:
        """Fast Downward's optimal plan length from `state` (cached per state); UNREACHABLE
        where it proves there is none, a SearchLimit past its bounds."""
        return _distance(self, instance, tuple(sorted(state)))


@lru_cache(maxsize=65536)
def _distance(domain: FolderDomain, instance: Instance, state: tuple[Fact, ...]) -> int:
    vocab = domain.vocabulary(instance.vocabulary)
    problem = problem_pddl(f"{instance.id}-node", vocab, replace(instance, init=state))
    try:
        plan = fast_downward.optimal_plan(domain.domain_pddl(vocab), problem,
                                          DISTANCE_TIME_LIMIT, DISTANCE_MEMORY_MB)
    except fast_downward.Unsolvable:
        return UNREACHABLE
    except SearchLimit as error:
        raise SearchLimit(f"the distance from a state of {instance.id}: {error}") from None
    return len(plan)


def folder_domains(claimed: set[str]) -> list[FolderDomain]:
    """The data-only domains of `data_root()`: its subfolders holding a domain.pddl, except
    those a code family (`claimed`) reads itself."""
    root = data_root()
    return [FolderDomain(entry.name, entry) for entry in sorted(root.iterdir(), key=lambda e: e.name)
            if entry.is_dir() and entry.name not in claimed and (entry / DOMAIN_FILE).is_file()]
