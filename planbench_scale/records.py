"""The records passed between stages: frozen dataclasses, one docstring line per field.

Facts and actions inside an `Instance` are in its domain's canonical terms (for the Blocksworld
family: predicates on, ontable, clear, handempty, holding; actions pick-up, put-down, stack,
unstack; objects a, b, c, ...); its `vocabulary` names how they are spelled in PDDL and prompts
(the domain's `vocabulary(name)`, see `domains/`).
Plans that leave the canonical world (extracted from text, validated) are PDDL action strings in
the instance's own vocabulary, such as "(overcome b c)".
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import asdict, dataclass, field, fields
from functools import cached_property

Fact = tuple[str, ...]
"""A ground fact or action as a tuple: ("on", "a", "b"), ("handempty",), ("stack", "a", "b")."""

SCHEMA_VERSION = 2
"""Version of the `Sample` row layout; bumped whenever a column changes meaning.

2: `n_blocks` became `n_objects`; `parent`, `depth` and `score` were added for tree searches.
Rows of version 1 still read (see `store.read_samples`)."""


@dataclass(frozen=True)
class Instance:
    """One planning problem, generated or imported, with its certified optimal plan."""

    id: str
    """Unique within its set, e.g. "mystery-b05-s08-0003" or "blocksworld/instance-12"."""
    domain: str
    """A name in the domain registry (`domains.DOMAINS`): "blocksworld", "mystery", "randomized"."""
    vocabulary: str
    """A vocabulary name its domain accepts, e.g. "mystery", "planbench-randomized", "randomized:SEED"."""
    objects: tuple[str, ...]
    """Canonical object names, in order: ("a", "b", "c", ...); their number is the instance size."""
    init: tuple[Fact, ...]
    """Initial state as canonical facts, sorted."""
    goal: tuple[Fact, ...]
    """Goal facts (canonical `on` facts, possibly a partial goal), sorted."""
    optimal_plan: tuple[Fact, ...]
    """A certified optimal plan as canonical actions; its length is the step count (empty when
    the instance is unsolvable)."""
    seed: int | None = None
    """Seed the instance was generated from; None for imported instances."""
    source: str = "generated"
    """"generated", or the path of the imported PDDL file."""
    solvable: bool = True
    """False when no plan reaches the goal; then the right answer is a no-plan claim."""

    @property
    def optimal_length(self) -> int:
        """The step count: the number of actions in an optimal plan."""
        return len(self.optimal_plan)


def instance_from_dict(record: dict) -> Instance:
    """An Instance from its `dataclasses.asdict` form (lists for tuples); extra keys are ignored.

    Records written before objects were generic name them "blocks"; those still read.
    """
    objects = record["objects"] if "objects" in record else record["blocks"]
    return Instance(
        id=record["id"], domain=record["domain"], vocabulary=record["vocabulary"],
        objects=tuple(objects), init=tuple(map(tuple, record["init"])),
        goal=tuple(map(tuple, record["goal"])), optimal_plan=tuple(map(tuple, record["optimal_plan"])),
        seed=record.get("seed"), source=record.get("source", "generated"),
        solvable=record.get("solvable", True))


@dataclass(frozen=True)
class Prompt:
    """What the model sees for one instance, in both completion and chat form."""

    instance_id: str
    """The `Instance.id` it was rendered for."""
    text: str
    """Plain-completion form: the whole prompt as one string."""
    messages: tuple[tuple[str, str], ...]
    """Chat form: (role, content) pairs, a system message first."""
    style: str = "nl"
    """"nl" (natural language) or "pddl"."""
    shots: int = 0
    """Number of solved examples in the prompt (0 or 1)."""
    template: str = "default"
    """Template source: "default" (ours) or "planbench:<config>"."""

    @cached_property
    def hash(self) -> str:
        """Short stable hash of the prompt text and messages, stored with every sample."""
        payload = self.text + "\x00" + "\x00".join(f"{r}\x01{c}" for r, c in self.messages)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Completion:
    """One answer from a model backend."""

    text: str
    """The generated text, without the prompt."""
    prompt_tokens: int
    """Tokens in the prompt as the backend counted them."""
    completion_tokens: int
    """Tokens generated."""
    finish_reason: str
    """"stop", "length" (cut at max_tokens), "scored" (a continuation only scored, see
    `Backend.score`), "legal" (written by a strategy without a model) or the backend's own word."""
    logprob: float | None = None
    """Sum of the log-probabilities of the text's tokens, where the backend scored them."""


class Outcome(str, enum.Enum):
    """What the extractor found in an answer."""

    PLAN = "plan"
    """A plan was found (it may still be invalid)."""
    NO_PLAN = "no_plan"
    """The answer states no plan (refusal, question, only reasoning)."""
    EMPTY = "empty"
    """The answer is empty or whitespace."""
    UNREADABLE = "unreadable"
    """Binary junk or text the extractor cannot read as language."""


@dataclass(frozen=True)
class Skipped:
    """A line of the answer that looked like it might be an action but was not taken."""

    line: int
    """1-based line number in the answer."""
    text: str
    """The line as written (cut to 200 characters)."""
    why: str
    """Why it was skipped, in a few words."""


@dataclass(frozen=True)
class Extraction:
    """The plan an answer states, and what was left out of it."""

    actions: tuple[str, ...]
    """PDDL action strings in the instance's vocabulary, e.g. "(overcome b c)"."""
    outcome: Outcome
    """Whether a plan was found at all."""
    skipped: tuple[Skipped, ...] = ()
    """Action-like lines that were not taken, with the reason."""


class Reason(str, enum.Enum):
    """Why a plan is valid or not."""

    VALID = "valid"
    """Every action applies and the goal holds at the end."""
    EMPTY_PLAN = "empty_plan"
    """No actions and the goal does not hold initially."""
    UNKNOWN_ACTION = "unknown_action"
    """An action name the domain does not have."""
    UNKNOWN_OBJECT = "unknown_object"
    """An object the problem does not have."""
    WRONG_ARITY = "wrong_arity"
    """An action with the wrong number of arguments."""
    INAPPLICABLE = "inapplicable"
    """An action whose preconditions do not hold."""
    GOAL_NOT_REACHED = "goal_not_reached"
    """All actions apply but some goal facts are false at the end."""


@dataclass(frozen=True)
class Verdict:
    """The validator's answer for one plan; never an exception."""

    valid: bool
    """True when the plan is executable and reaches the goal."""
    reason: Reason
    """Why, see `Reason`."""
    failed_step: int | None = None
    """0-based index of the first failing action; None when valid or the goal is missed."""
    unmet: tuple[str, ...] = ()
    """Exactly the unmet preconditions, or the missing goal facts, as PDDL facts "(clear b)"."""
    trace: tuple[frozenset[str], ...] | None = field(default=None, compare=False)
    """States before each step and after the last, as sets of PDDL facts, when asked for."""


@dataclass(frozen=True)
class Sample:
    """One stored row of a run: one completion, its extraction and its verdict."""

    instance_id: str
    """The `Instance.id`."""
    domain: str
    """The instance's domain."""
    vocabulary: str
    """The instance's vocabulary name."""
    n_objects: int
    """Number of objects (the instance size)."""
    optimal_length: int
    """The instance's optimal plan length (step count)."""
    sample_index: int
    """0-based index of the independent sample (repeated sampling), chain (revision) or node
    (tree search) within its instance."""
    round: int
    """0 for a first answer; r for the r-th revision in a chain."""
    strategy: str
    """The strategy's registry name: "sample", "revise", "self-revise", ..."""
    prompt_hash: str
    """`Prompt.hash` of the prompt that produced it."""
    text: str
    """The completion text."""
    prompt_tokens: int
    """Prompt tokens."""
    completion_tokens: int
    """Generated tokens."""
    finish_reason: str
    """`Completion.finish_reason`."""
    outcome: str
    """`Extraction.outcome` value."""
    plan: str
    """Extracted actions joined by newlines."""
    n_actions: int
    """Number of extracted actions."""
    valid: bool
    """`Verdict.valid`."""
    reason: str
    """`Verdict.reason` value."""
    failed_step: int
    """`Verdict.failed_step`, or -1."""
    unmet: str
    """`Verdict.unmet` joined by spaces."""
    seed: int
    """Sampling seed of this request."""
    parent: int = -1
    """`sample_index` of the sample this one continues (tree searches), or -1."""
    depth: int = 0
    """Depth of the node in a tree search (0 for a root or a whole answer)."""
    score: float | None = None
    """The search's score of this node, when the strategy scores."""
    schema_version: int = SCHEMA_VERSION
    """Layout version of this row."""


@dataclass(frozen=True)
class Sampling:
    """Sampling settings shared by every request of a run."""

    temperature: float = 0.7
    """Softmax temperature (0 = greedy)."""
    top_p: float = 1.0
    """Nucleus sampling mass."""
    max_tokens: int = 512
    """Most tokens generated per sample; answers cut here get finish_reason "length"."""
    stop: tuple[str, ...] = ()
    """Strings that end an answer."""


@dataclass(frozen=True)
class Settings:
    """What a run does: compared exactly when the run is resumed."""

    strategy: str = "sample"
    """A name in the strategy registry (`strategies.STRATEGIES`)."""
    k: int = 64
    """Compute per instance in the strategy's own unit: samples ("sample") or chains (revision)."""
    rounds: int = 10
    """Most revisions after the first answer (revision strategies)."""
    seed: int = 0
    """Run seed; every request's seed is derived from it, the instance and the sample index."""
    sampling: Sampling = field(default_factory=Sampling)
    """Temperature, top_p, max_tokens, stop strings."""
    style: str = "nl"
    """Prompt style, "nl" or "pddl"."""
    shots: int = 0
    """Solved examples in the prompt (0 or 1)."""
    templates: str = "default"
    """Prompt templates, "default" or "planbench:PATH"."""
    budget_samples: int | None = None
    """Most samples per instance, counting every revision round (None: no limit)."""
    budget_tokens: int | None = None
    """Most generated tokens per instance; checked before each new request (None: no limit)."""
    branch: int = 4
    """Step searches: candidate steps proposed per expanded node (sampled lines)."""
    depth: int = 20
    """Step searches and random-legal: most steps of a plan."""
    propose: str = "sample"
    """Step searches: "sample" (the model writes each candidate step) or "legal" (every
    applicable action is a candidate)."""
    score: str = "valid-prefix"
    """Step score (searches, best-of-n): a name in `score.STEP_SCORES`."""


@dataclass(frozen=True)
class EngineConfig:
    """Where a run's model runs: compared on resume."""

    engine: str
    """A name in the backend registry: "vllm" or "openai"."""
    model: str
    """Model folder or name, as the backend was given it (the server's name for "openai")."""
    form: str = "text"
    """"text" (plain completion prompts) or "chat" (the model's chat template)."""
    base_url: str | None = None
    """The server (engine "openai")."""
    tensor_parallel_size: int = 1
    """vLLM tensor parallelism (engine "vllm")."""
    data_parallel_size: int = 1
    """vLLM data parallelism (engine "vllm")."""
    parameters: int | None = None
    """The model's parameter count where it can be read (for FLOPs = 2 x parameters x tokens)."""


@dataclass(frozen=True)
class InstanceSource:
    """Which instances a run uses."""

    path: str
    """The instance set folder, resolved."""
    limit: int | None = None
    """Only the first `limit` instances of the set (None: all)."""
    count: int = 0
    """How many instances the run uses."""


CONFIG_VERSION = 2
"""Version of config.json. 1: an untyped dict {"schema_version", "settings", "engine",
"instances", "environment"}; 2: the same keys written from `RunConfig`, plus "config_version"."""


@dataclass(frozen=True)
class RunConfig:
    """Everything a run does and where: written to config.json, read back by resume and report."""

    settings: Settings
    """What the run does (strategy, compute, sampling, prompts, budgets)."""
    engine: EngineConfig
    """The model and the backend that runs it."""
    instances: InstanceSource
    """The instances it uses."""
    environment: dict = field(default_factory=dict, compare=False)
    """Python, platform and package versions: recorded, never compared."""
    schema_version: int = SCHEMA_VERSION
    """Layout of the run's `Sample` rows when the run was created."""
    config_version: int = CONFIG_VERSION
    """Layout of this config."""

    def to_json(self) -> dict:
        """The config as JSON-ready data (config.json)."""
        return asdict(self)

    def compared(self) -> dict:
        """The entries that must match for a run to be resumed (no environment, no versions)."""
        data = self.to_json()
        for key in ("environment", "schema_version", "config_version"):
            data.pop(key)
        return data


def run_config_from_json(data: dict) -> RunConfig:
    """A RunConfig from config.json, of this version or an older one (unknown keys ignored)."""
    settings = dict(data.get("settings") or {})
    sampling = dict(settings.pop("sampling", None) or {})
    sampling["stop"] = tuple(sampling.get("stop") or ())
    return RunConfig(
        settings=Settings(sampling=Sampling(**_known(Sampling, sampling)), **_known(Settings, settings)),
        engine=EngineConfig(**_known(EngineConfig, data.get("engine") or {})),
        instances=InstanceSource(**_known(InstanceSource, data.get("instances") or {})),
        environment=data.get("environment") or {},
        schema_version=data.get("schema_version", 1),
        config_version=data.get("config_version", 1))


def _known(kind, values: dict) -> dict:
    names = {f.name for f in fields(kind)} - {"sampling"}
    return {key: value for key, value in values.items() if key in names}
