"""Any OpenAI-compatible server (`vllm serve`, hosted APIs): /v1/completions or /v1/chat/completions.

An async httpx client with at most `concurrency` requests open, `n` samples per request (when the
server returns fewer choices, or is told to send no `n`, the rest is asked for again with derived
seeds), retries with exponential backoff on connection errors, timeouts, 429 (after the server's
`Retry-After` when it sends one) and 5xx, and a clear error when the server is not there, wants
another key, refuses a parameter (naming the option to change) or sends a reply that is not an
OpenAI reply. The API key is sent as a bearer token and never written anywhere: server messages
that echo it are shown with the key replaced by "***".

Per-sample token counts: the API reports one total for all `n` choices; an answer cut at
max_tokens has exactly that many, and the rest is shared out in proportion to the length of the
other answers (exact when n = 1 or when every answer was cut). Reasoning: a message's
`reasoning_content` or `reasoning` field (vLLM's reasoning parsers), else a leading `<think>`
block; its tokens come from `usage.completion_tokens_details.reasoning_tokens`, shared out the
same way, or, when the server reports none, are estimated from the share of characters.
Prompt tokens served from the server's prefix cache: `usage.prompt_tokens_details.cached_tokens`,
charged to the first answer of the request (absent: unknown, never taken as zero).
A choice whose text is null (a refusal or a content filter) is stored as an empty answer with
the server's finish_reason; a reply that is not JSON or whose choices are not objects is an error.
"""

from __future__ import annotations

import asyncio
import email.utils
import os
import random
import re
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable, Iterable, Iterator

import httpx

from planbench_scale.errors import PlanbenchError
from planbench_scale.records import Completion
from planbench_scale.config import EngineConfig
from planbench_scale.backends import Request, Result, Sampling, derive_seed, prompt_ledger
from planbench_scale.text.reasoning import split

RETRIED = (httpx.TransportError,)
"""Connection errors, dropped connections and timeouts: worth another try."""

OMITTABLE = ("temperature", "top_p", "n", "seed", "stop")
"""Request fields `--omit` may leave out, for servers that refuse them."""

FIXES = {"temperature": "--omit temperature (reasoning models fix it)",
         "top_p": "--omit top_p", "seed": "--omit seed", "stop": "--omit stop, or no --stop",
         "n": "--omit n (each sample is then asked for alone, with a derived seed)",
         "logprobs": "a step score other than logprob (this server gives no logprobs)",
         "reasoning_effort": "leave out --reasoning-effort (this model takes none)",
         "max_tokens": "--form chat (sent as max_completion_tokens there)"}
"""Request field a server refused -> the option to change."""

WAITING_REPORT = 5.0
"""Seconds between reports of the requests in flight while none finishes."""


class OpenAIFormat:
    """Request bodies and replies in the OpenAI API's shapes, for a server or for batch files."""

    def __init__(self, source: str, model: str | None, form: str = "text",
                 api_key: str | None = None, extra: dict | None = None, omit: Iterable[str] = ()):
        """`source`: how errors name where replies come from ("the server at URL");
        `form`: "text" (/completions) or "chat" (/chat/completions); `extra`: fields added to
        every request body; `omit`: fields never sent; `api_key`: never shown in errors."""
        if form not in ("text", "chat"):
            raise PlanbenchError(f"unknown prompt form {form!r}: use 'text' or 'chat'")
        self.source, self.model, self.form = source, model, form
        self.key, self.extra, self.omit = api_key, dict(extra or {}), set(omit)

    def _error(self, message: str) -> PlanbenchError:
        """A PlanbenchError about the source of replies (source + " " + message), the API key
        never in it."""
        text = f"{self.source} {message}"
        return PlanbenchError(text.replace(self.key, "***") if self.key else text)

    def _body(self, request: Request, sampling: Sampling) -> dict:
        """The JSON body of one request: chat requests bound the length with
        max_completion_tokens (what reasoning models need), text requests with max_tokens."""
        limit = "max_tokens" if self.form == "text" else "max_completion_tokens"
        body = {"model": self.model, "n": request.n, "temperature": sampling.temperature,
                "top_p": sampling.top_p, limit: sampling.max_tokens, "seed": request.seed}
        if sampling.stop:
            body["stop"] = list(sampling.stop)
        if self.form == "text":
            body["prompt"] = request.prompt.text
        else:
            body["messages"] = [{"role": r, "content": c} for r, c in request.prompt.messages]
        body = {key: value for key, value in body.items() if key not in self.omit}
        return body | self.extra

    def _result(self, request: Request, reply: dict, sampling: Sampling) -> Result:
        """A server reply as our Result (at most `request.n` answers)."""
        if not isinstance(reply, dict) or not isinstance(reply.get("choices"), list) or not all(
                isinstance(choice, dict) for choice in reply["choices"]):
            raise self._error(f"sent a reply whose choices are not a list of objects: "
                              f"{str(reply)[:300]}")
        try:
            choices = sorted(reply["choices"], key=lambda c: c.get("index", 0))[:request.n]
            answers = [self._answer_of(choice) for choice in choices]
            usage = reply.get("usage") or {}
            details = usage.get("completion_tokens_details") or {}
            cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens")  # None: unknown
        except (KeyError, TypeError, AttributeError) as error:
            raise self._error(f"sent a reply without {error}: {str(reply)[:300]}") from None
        cached = cached if type(cached) is int else None  # a server's junk is unknown too
        texts = [text for _, text in answers]
        cut = [choice.get("finish_reason") == "length" for choice in choices]
        tokens = _share(usage.get("completion_tokens") or 0, texts, cut, sampling.max_tokens)
        thinking = _reasoning_tokens(details.get("reasoning_tokens"), answers, tokens,
                                     sampling.max_tokens)
        completions = tuple(Completion(text, usage.get("prompt_tokens") or 0, count,
                                       choice.get("finish_reason") or "length",
                                       reasoning=reasoning, reasoning_tokens=spent,
                                       **prompt_ledger(i, cached))
                            for i, ((reasoning, text), count, spent, choice)
                            in enumerate(zip(answers, tokens, thinking, choices)))
        return Result(request, completions)

    def _answer_of(self, choice: dict) -> tuple[str, str]:
        """(reasoning, answer) of one choice; a null text is an empty answer."""
        if self.form == "text":
            return split(choice["text"] or "")
        message = choice["message"]
        reasoning = message.get("reasoning_content") or message.get("reasoning")
        if reasoning:
            return reasoning, message.get("content") or ""
        return split(message.get("content") or "")


class OpenAIBackend(OpenAIFormat):
    """Answers requests through an OpenAI-compatible HTTP server."""

    def __init__(self, base_url: str, model: str | None = None, form: str = "text",
                 concurrency: int = 16, timeout: float = 1800.0, retries: int = 6,
                 backoff: float = 1.0, api_key: str | None = None, extra: dict | None = None,
                 omit: Iterable[str] = ()):
        """`base_url` ends in /v1; `model`: a name the server serves (None: its first);
        `timeout`: seconds per request; the rest as for `OpenAIFormat`."""
        self.base_url = base_url.rstrip("/")
        super().__init__(f"the server at {self.base_url}", model, form, api_key, extra, omit)
        self.concurrency, self.retries, self.backoff = concurrency, retries, backoff
        self.timeout = timeout
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.on_wait: Callable[[int, float], None] | None = None
        """Told (requests in flight, seconds the oldest has waited) while none finishes."""
        self.model = self._check_server(model)

    def _check_server(self, model: str | None) -> str:
        """The model to use, after checking that the server answers, takes the key, serves it."""
        try:
            reply = httpx.get(f"{self.base_url}/models", headers=self.headers, timeout=10.0)
            if reply.status_code in (401, 403):
                raise self._error(f"refused the API key (HTTP {reply.status_code}): "
                                  + ("check the variable --api-key-env names" if self.key else
                                     "put the key in an environment variable and give its "
                                     "name with --api-key-env"))
            reply.raise_for_status()
            served = [entry["id"] for entry in reply.json()["data"]]
        except (httpx.HTTPError, KeyError, TypeError, ValueError) as error:
            raise PlanbenchError(f"no OpenAI-compatible server answers at {self.base_url} "
                                 f"({type(error).__name__}: {error}); start it, or check "
                                 "--base-url (it ends in /v1)") from None
        if model is None and served:
            return served[0]
        if model not in served:
            raise self._error(f"does not serve {model!r}; it serves: "
                              f"{', '.join(served) or 'nothing'}")
        return model

    def generate(self, requests: Iterable[Request], sampling: Sampling) -> Iterator[Result]:
        """Answer every request, yielding each result as it arrives."""
        loop = asyncio.new_event_loop()
        client = httpx.AsyncClient(base_url=self.base_url, headers=self.headers,
                                   timeout=httpx.Timeout(self.timeout, connect=10.0),
                                   limits=httpx.Limits(max_connections=self.concurrency))
        try:
            yield from self._drive(loop, client, iter(requests), sampling)
        finally:
            loop.run_until_complete(client.aclose())
            loop.close()

    def _drive(self, loop, client, queue, sampling) -> Iterator[Result]:
        """Keep `concurrency` requests open; yield results as they complete."""
        started: dict[asyncio.Future, float] = {}
        while True:
            while len(started) < self.concurrency:
                request = next(queue, None)
                if request is None:
                    break
                started[loop.create_task(self._answer(client, request, sampling))] = time.time()
            if not started:
                return
            done, _ = loop.run_until_complete(asyncio.wait(
                set(started), timeout=WAITING_REPORT, return_when=asyncio.FIRST_COMPLETED))
            if not done and self.on_wait is not None:
                self.on_wait(len(started), time.time() - min(started.values()))
            for task in done:
                del started[task]
                result = self._finished(task, started)
                yield result
                rest = result.request.n - len(result.completions)
                if rest > 0:
                    started[loop.create_task(self._answer(
                        client, _remainder(result), sampling))] = time.time()

    def _finished(self, task: asyncio.Future, others: dict) -> Result:
        """A finished request's result; on its error the other requests are cancelled."""
        try:
            result = task.result()
        except BaseException:
            for other in others:
                other.cancel()
            raise
        if not result.completions:
            raise self._error("answered with no choices")
        return result

    async def _answer(self, client: httpx.AsyncClient, request: Request,
                      sampling: Sampling) -> Result:
        """One request, retried on transient failures."""
        body = self._body(request, sampling)
        path = "/completions" if self.form == "text" else "/chat/completions"
        for attempt in range(self.retries + 1):
            wait = self.backoff * 2 ** attempt * (0.5 + random.random())
            try:
                reply = await client.post(path, json=body)
            except RETRIED as error:
                problem = f"{type(error).__name__}: {error}"
            else:
                if reply.status_code == 429 or reply.status_code >= 500:
                    problem = f"HTTP {reply.status_code}: {reply.text[:200]}"
                    wait = max(wait, _retry_after(reply, self.timeout))
                elif reply.status_code >= 400:
                    raise self._refused(reply)
                else:
                    return self._result(request, self._json(reply), sampling)
            if attempt < self.retries:
                await asyncio.sleep(wait)
        raise self._error(f"failed {self.retries + 1} times in a row (last: {problem}); "
                          "samples stored so far are safe, --resume once it is back")

    def _refused(self, reply: httpx.Response) -> PlanbenchError:
        """The error for a refused request, naming the option to change when it can."""
        fix = next((FIXES[name] for name in _named_fields(reply) if name in FIXES), None)
        hint = f"; change {fix}" if fix else ""
        return self._error(f"refused a request: HTTP {reply.status_code}: "
                           f"{reply.text[:500]}{hint}")

    def _json(self, reply: httpx.Response) -> dict:
        """The JSON object of a 200 reply; anything else (HTML, text) is a clear error."""
        try:
            data = reply.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            kind = reply.headers.get("content-type", "no content type")
            raise self._error(f"sent a reply that is not an OpenAI JSON object ({kind}): "
                              f"{reply.text[:200]!r}")
        return data

    def close(self) -> None:
        """Nothing to release: clients live only as long as one `generate` call."""

    def require_logprobs(self) -> None:
        """Refuse chat prompts, and servers whose /completions does not echo the prompt's
        log-probabilities (one one-token probe)."""
        if self.form != "text":
            raise PlanbenchError("scoring steps needs prompt log-probabilities, which only "
                                 "plain completions give: use --form text")
        list(self.score([_probe()]))

    def score(self, requests: Iterable) -> Iterator[Result]:
        """`backends.ScoreRequest`s answered through /completions with echo and logprobs."""
        with httpx.Client(base_url=self.base_url, headers=self.headers,
                          timeout=self.timeout) as client:
            for request in requests:
                body = {"model": self.model, "prompt": [request.prompt.text + text for text in
                                                        request.continuations],
                        "echo": True, "logprobs": 0, "max_tokens": 1, "temperature": 0.0}
                reply = client.post("/completions", json=body)
                yield Result(request, _echo_scores(self.base_url, request, reply))


def _remainder(result: Result) -> Request:
    """A request for the samples a server left out of its reply."""
    request, got = result.request, len(result.completions)
    return replace(request, n=request.n - got, seed=derive_seed(request.seed, "rest", got),
                   first=request.first + got)


def _share(total: int, texts: list[str], cut: list[bool], max_tokens: int) -> list[int]:
    """`total` tokens shared out over the answers: an answer cut at max_tokens has exactly that
    many; the rest is shared in proportion to the other answers' lengths."""
    if len(texts) == 1:
        return [total]
    counts = [max_tokens if is_cut else 0 for is_cut in cut]
    rest = [i for i, is_cut in enumerate(cut) if not is_cut]
    if not rest:
        return counts
    left = max(0, total - sum(counts))
    weights = {i: len(texts[i]) + 1 for i in rest}
    for i in rest:
        counts[i] = left * weights[i] // sum(weights.values())
    for step in range(left - sum(counts[i] for i in rest)):
        counts[rest[step % len(rest)]] += 1
    return counts


def _reasoning_tokens(total: int | None, answers: list[tuple[str, str]], tokens: list[int],
                      max_tokens: int) -> list[int]:
    """Reasoning tokens per answer: the reported total shared out by reasoning length, or,
    when the server reports none, each answer's tokens in proportion to its reasoning's share
    of its characters (an estimate)."""
    if total is not None:
        shared = _share(total, [r for r, _ in answers], [False] * len(answers), max_tokens)
        return [min(part, count) for part, count in zip(shared, tokens)]
    return [count * len(r) // (len(r) + len(a)) if r else 0
            for (r, a), count in zip(answers, tokens)]


def _named_fields(reply: httpx.Response) -> list[str]:
    """Request fields a refusal names: its error's `param`, then quoted words in its text."""
    try:
        param = [reply.json()["error"]["param"]]
    except (ValueError, KeyError, TypeError):
        param = []
    return [name for name in param if isinstance(name, str)] + re.findall(
        r"['\"`](\w+)['\"`]", reply.text)


def _retry_after(reply: httpx.Response, most: float) -> float:
    """Seconds a 429 or 503 asks to wait (Retry-After: seconds or an HTTP date), at most `most`."""
    value = reply.headers.get("retry-after", "")
    try:
        seconds = float(value)
    except ValueError:
        when = email.utils.parsedate_to_datetime(value) if value else None
        seconds = when.timestamp() - time.time() if when else 0.0
    return min(max(seconds, 0.0), most)


def api_key(config: EngineConfig) -> str | None:
    """The key in the environment variable the config names (None: no key)."""
    if config.api_key_env is None:
        return None
    key = os.environ.get(config.api_key_env, "").strip()
    if not key:
        raise PlanbenchError(f"--api-key-env names {config.api_key_env}, which is not set "
                             "(or empty) in the environment: export the key there")
    return key


def resolve(config: EngineConfig) -> EngineConfig:
    """The config naming the model the server serves (checks that the server answers)."""
    return replace(config, model=from_config(config).model)


def from_config(config: EngineConfig, run_dir: str | Path | None = None,
                **options) -> OpenAIBackend:
    """A client for the server a config names (it keeps nothing in the run folder `run_dir`);
    `options` go to `OpenAIBackend`."""
    return OpenAIBackend(config.base_url or "http://127.0.0.1:8000/v1", config.model, config.form,
                         timeout=config.request_timeout, api_key=api_key(config),
                         extra=request_extra(config), omit=config.omit, **options)


def request_extra(config: EngineConfig) -> dict:
    """Fields added to every request: reasoning effort, then the config's extra body."""
    effort = {"reasoning_effort": config.reasoning_effort} if config.reasoning_effort else {}
    return effort | config.extra_body


def _echo_scores(base_url: str, request, reply: httpx.Response) -> tuple[Completion, ...]:
    """The log-probability of each continuation from an echoed /completions reply."""
    try:
        reply.raise_for_status()
        choices = sorted(reply.json()["choices"], key=lambda c: c.get("index", 0))
        start = len(request.prompt.text)
        scored = []
        for text, choice in zip(request.continuations, choices):
            probs = choice["logprobs"]
            own = [lp for lp, at in zip(probs["token_logprobs"], probs["text_offset"])
                   if start <= at < start + len(text)]
            scored.append(Completion(text, len(probs["token_logprobs"]) - 1, 0, "scored",
                                     float(sum(own)), len(own)))
    except (httpx.HTTPError, KeyError, TypeError, ValueError) as error:
        raise PlanbenchError(f"the server at {base_url} gives no prompt log-probabilities "
                             f"(/completions with echo and logprobs: {type(error).__name__}: "
                             f"{str(error)[:200]}); step scores need them") from None
    return tuple(scored)


def _probe():
    """A one-token scoring request that tells whether a server echoes log-probabilities."""
    from planbench_scale.backends import ScoreRequest
    from planbench_scale.records import Prompt

    return ScoreRequest(Prompt("probe", "Hello", ()), (" world",))
