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
from dataclasses import dataclass, field
from functools import cached_property

Fact = tuple[str, ...]
"""A ground fact or action as a tuple: ("on", "a", "b"), ("handempty",), ("stack", "a", "b")."""

SCHEMA_VERSION = 5
"""Version of the `Sample` row layout; bumped whenever a column changes meaning.

2: `n_blocks` became `n_objects`; `parent`, `depth` and `score` were added for tree searches.
3: `reasoning` and `reasoning_tokens` were added (a reasoning model's thinking, kept apart from
the answer in `text`).
4: the compute ledger: `cached_tokens` and `computed_tokens` (prompt tokens served from the
prefix cache, and computed). Older rows still read (see `store.read_samples`); their
`computed_tokens` is the old count (a scoring call's whole prompt, no other prompt) and their
`cached_tokens` unknown.
5: `logprob` and `logprob_tokens` were added (a scored row's log-probability, so that a resumed
search need not score its stored nodes again); older rows have none (null and 0)."""

LEDGERS = {4: "computed tokens (prompt tokens computed + generated)",
           3: "old count (generated tokens + scoring prompts)"}
"""The compute ledger a row's schema version was measured with: versions 1-3 the old one,
4 and later the computed tokens."""


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
    """Number of solved examples in the prompt (0 or 1; plan verification's prompt has 3)."""
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
    logprob_tokens: int = 0
    """How many tokens `logprob` sums over (0 when unscored)."""
    reasoning: str = ""
    """A reasoning model's thinking, kept apart from `text` (empty when there is none)."""
    reasoning_tokens: int = 0
    """Of `completion_tokens`, those spent on reasoning (0 when there is none)."""
    cached_tokens: int | None = None
    """Of `prompt_tokens`, those served from the prefix cache (vLLM's `num_cached_tokens`, a
    server's `usage.prompt_tokens_details.cached_tokens`); None when the backend does not say."""
    computed_tokens: int | None = None
    """Prompt tokens the model computed for this answer; None: `prompt_tokens` less
    `cached_tokens` (all of them when that is unknown). Set where that is not the count: the
    2nd..nth answers of one request compute none (the prompt is charged to the first), and a
    scoring call is also charged the read of its context that filled the cache."""

    @property
    def prompt_computed(self) -> int:
        """Prompt tokens computed for this answer (see `computed_tokens`)."""
        if self.computed_tokens is not None:
            return self.computed_tokens
        return self.prompt_tokens - (self.cached_tokens or 0)


def compute_tokens(completion_tokens, computed_tokens):
    """The tokens rows spent, as budgets, searches and the report count them: the prompt tokens
    the model computed (not those served from the prefix cache) plus the tokens it generated.
    Takes numbers or equally long arrays."""
    return completion_tokens + computed_tokens


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
    NOT_OPTIMAL = "not_optimal"
    """Optimal planning (task t2): a valid plan, longer than an optimal one."""
    WRONG_ANSWER = "wrong_answer"
    """Tasks whose answer is no plan (verification, execution): the answer is not the right one."""


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
    """One stored row of a run: one completion, its extraction and its verdict. Runs of a task
    whose answer is no plan (`Settings.task`) store in `plan`, `valid`, `reason`, `failed_step`
    and `unmet` what that task's module in `planbench_scale/tasks/` says."""

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
    reasoning: str = ""
    """`Completion.reasoning`: the thinking, which the extractor never reads."""
    reasoning_tokens: int = 0
    """`Completion.reasoning_tokens` (counted in `completion_tokens` too)."""
    cached_tokens: int = -1
    """`Completion.cached_tokens`: prompt tokens served from the prefix cache, -1 when unknown."""
    computed_tokens: int = 0
    """`Completion.prompt_computed`: prompt tokens the model computed for this row."""
    logprob: float | None = None
    """`Completion.logprob`: the summed log-probability of the text's tokens, where the backend
    scored them (a search's scoring rows); a resumed search ranks its stored nodes with it."""
    logprob_tokens: int = 0
    """`Completion.logprob_tokens`: how many tokens `logprob` sums over."""
    schema_version: int = SCHEMA_VERSION
    """Layout version of this row."""
