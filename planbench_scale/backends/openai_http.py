"""Any OpenAI-compatible server (`vllm serve`, ...): /v1/completions or /v1/chat/completions.

An async httpx client with at most `concurrency` requests open, `n` samples per request (when the
server returns fewer choices, the rest is asked for again), retries with exponential backoff on
connection errors, timeouts, 429 and 5xx, and a clear error when the server is not there.
Per-sample token counts: the API reports one total for all `n` choices; an answer cut at
max_tokens has exactly that many, and the rest is shared out in proportion to the length of the
other answers (exact when n = 1 or when every answer was cut).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
import random
from typing import Iterable, Iterator

import httpx

from planbench_scale.errors import PlanbenchError
from planbench_scale.records import Completion, EngineConfig
from planbench_scale.backends import Request, Result, Sampling, derive_seed

RETRIED = (httpx.TransportError,)
"""Connection errors, dropped connections and timeouts: worth another try."""


class OpenAIBackend:
    """Answers requests through an OpenAI-compatible HTTP server."""

    def __init__(self, base_url: str, model: str | None = None, form: str = "text",
                 concurrency: int = 16, timeout: float = 600.0, retries: int = 6,
                 backoff: float = 1.0, api_key: str | None = None):
        """`base_url` ends in /v1; `model`: a name the server serves (None: its first);
        `form`: "text" (/completions) or "chat" (/chat/completions)."""
        if form not in ("text", "chat"):
            raise PlanbenchError(f"unknown prompt form {form!r}: use 'text' or 'chat'")
        self.base_url, self.form = base_url.rstrip("/"), form
        self.concurrency, self.retries, self.backoff = concurrency, retries, backoff
        self.timeout = timeout
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.model = self._check_server(model)


    def _check_server(self, model: str | None) -> str:
        """The model to use, after checking that the server answers and serves it."""
        try:
            reply = httpx.get(f"{self.base_url}/models", headers=self.headers, timeout=10.0)
            reply.raise_for_status()
            served = [entry["id"] for entry in reply.json()["data"]]
        except (httpx.HTTPError, KeyError, ValueError) as error:
            raise PlanbenchError(f"no OpenAI-compatible server answers at {self.base_url} "
                                 f"({type(error).__name__}: {error}); start it, or check "
                                 "--base-url (it ends in /v1)") from None
        if model is None and served:
            return served[0]
        if model not in served:
            raise PlanbenchError(f"the server at {self.base_url} does not serve {model!r}; "
                                 f"it serves: {', '.join(served) or 'nothing'}")
        return model

    def generate(self, requests: Iterable[Request], sampling: Sampling) -> Iterator[Result]:
        """Answer every request, yielding each result as it arrives."""
        loop = asyncio.new_event_loop()
        client = httpx.AsyncClient(base_url=self.base_url, headers=self.headers,
                                   timeout=self.timeout,
                                   limits=httpx.Limits(max_connections=self.concurrency))
        try:
            yield from self._drive(loop, client, iter(requests), sampling)
        finally:
            loop.run_until_complete(client.aclose())
            loop.close()

    def _drive(self, loop, client, queue, sampling) -> Iterator[Result]:
        """Keep `concurrency` requests open; yield results as they complete."""
        open_tasks: set[asyncio.Future] = set()
        while True:
            while len(open_tasks) < self.concurrency:
                request = next(queue, None)
                if request is None:
                    break
                open_tasks.add(loop.create_task(self._answer(client, request, sampling)))
            if not open_tasks:
                return
            done, open_tasks = loop.run_until_complete(
                asyncio.wait(open_tasks, return_when=asyncio.FIRST_COMPLETED))
            for task in done:
                try:
                    result = task.result()
                except BaseException:
                    for other in open_tasks:
                        other.cancel()
                    raise
                if not result.completions:
                    raise PlanbenchError(f"the server at {self.base_url} answered with no "
                                         "choices")
                yield result
                rest = result.request.n - len(result.completions)
                if rest > 0:
                    open_tasks.add(loop.create_task(self._answer(
                        client, _remainder(result), sampling)))

    async def _answer(self, client: httpx.AsyncClient, request: Request,
                      sampling: Sampling) -> Result:
        """One request, retried on transient failures."""
        body = self._body(request, sampling)
        path = "/completions" if self.form == "text" else "/chat/completions"
        for attempt in range(self.retries + 1):
            try:
                reply = await client.post(path, json=body)
            except RETRIED as error:
                problem = f"{type(error).__name__}: {error}"
            else:
                if reply.status_code == 429 or reply.status_code >= 500:
                    problem = f"HTTP {reply.status_code}: {reply.text[:200]}"
                elif reply.status_code >= 400:
                    raise PlanbenchError(f"the server at {self.base_url} refused a request: "
                                         f"HTTP {reply.status_code}: {reply.text[:500]}")
                else:
                    return self._result(request, reply.json(), sampling)
            if attempt < self.retries:
                await asyncio.sleep(self.backoff * 2 ** attempt * (0.5 + random.random()))
        raise PlanbenchError(f"the server at {self.base_url} failed {self.retries + 1} times "
                             f"in a row (last: {problem}); samples stored so far are safe, "
                             "--resume once it is back")

    def _body(self, request: Request, sampling: Sampling) -> dict:
        """The JSON body of one request."""
        body = {"model": self.model, "n": request.n, "temperature": sampling.temperature,
                "top_p": sampling.top_p, "max_tokens": sampling.max_tokens,
                "seed": request.seed}
        if sampling.stop:
            body["stop"] = list(sampling.stop)
        if self.form == "text":
            body["prompt"] = request.prompt.text
        else:
            body["messages"] = [{"role": r, "content": c} for r, c in request.prompt.messages]
        return body

    def _result(self, request: Request, reply: dict, sampling: Sampling) -> Result:
        """A server reply as our Result (at most `request.n` answers)."""
        try:
            choices = sorted(reply["choices"], key=lambda c: c.get("index", 0))[:request.n]
            texts = [c["text"] if self.form == "text" else c["message"]["content"] or ""
                     for c in choices]
            usage = reply.get("usage") or {}
        except (KeyError, TypeError) as error:
            raise PlanbenchError(f"the server at {self.base_url} sent a reply without "
                                 f"{error}: {str(reply)[:300]}") from None
        cut = [choice.get("finish_reason") == "length" for choice in choices]
        tokens = _share(usage.get("completion_tokens", 0), texts, cut, sampling.max_tokens)
        completions = tuple(Completion(text, usage.get("prompt_tokens", 0), count,
                                       choice.get("finish_reason") or "length")
                            for text, count, choice in zip(texts, tokens, choices))
        return Result(request, completions)

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
    return Request(request.prompt, request.n - got, derive_seed(request.seed, "rest", got),
                   request.first + got, request.round)


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


def resolve(config: EngineConfig) -> EngineConfig:
    """The config naming the model the server serves (checks that the server answers)."""
    return replace(config, model=from_config(config).model)


def from_config(config: EngineConfig, **options) -> OpenAIBackend:
    """A client for the server a config names; `options` go to `OpenAIBackend`."""
    return OpenAIBackend(config.base_url or "http://127.0.0.1:8000/v1", config.model, config.form,
                         **options)


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
                                     float(sum(own))))
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
