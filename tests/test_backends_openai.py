"""The OpenAI-compatible client against a test server on 127.0.0.1 that fails on purpose.

The server only exists to exercise failure handling (500, 429, dropped connections, timeouts, a
server that dies, fewer choices than asked) and to replay reply bodies in the shapes providers
document (tests/data/openai_replies.json: reasoning fields, reasoning token counts, refusals of a
parameter) that the CPU model cannot produce: its answers are fixed, never a model.
"""

import json
import threading
import time
from pathlib import Path
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from planbench_scale.backends import Request, Sampling, open_backend
from planbench_scale.backends.openai_http import OpenAIBackend
from planbench_scale.errors import PlanbenchError
from planbench_scale.records import Prompt
from planbench_scale.config import EngineConfig

REPLIES = json.loads((Path(__file__).parent / "data" / "openai_replies.json").read_text())
PROMPT = Prompt(instance_id="i0", text="Plan:", messages=(("system", "s"), ("user", "Plan:")))


class FailingServer:
    """An HTTP server whose POST replies follow a script, then answer normally."""

    def __init__(self, script=(), choices=None, delay=0.0, key=None):
        self.script, self.choices, self.delay, self.key = list(script), choices, delay, key
        self.bodies, self.open, self.most_open = [], 0, 0
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _refused_key(self):
                if server.key is None or self.headers.get("Authorization") == f"Bearer {server.key}":
                    return False
                self._send(401, REPLIES["error_invalid_key"])
                return True

            def do_GET(self):
                if not self._refused_key():
                    self._send(200, {"data": [{"id": "fake-model"}]})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self._refused_key():
                    return
                with server.lock:
                    server.bodies.append(body)
                    step = server.script.pop(0) if server.script else "ok"
                    server.open += 1
                    server.most_open = max(server.most_open, server.open)
                try:
                    server.reply(self, step, body)
                finally:
                    with server.lock:
                        server.open -= 1

            def _send(self, status, payload, kind="application/json", headers=()):
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler

    def reply(self, handler, step, body):
        """Act out one script step: a word, or (status, payload, content type, headers)."""
        if isinstance(step, tuple):
            handler._send(*step)
            return
        if step == "close":
            handler.close_connection = True
            handler.connection.close()
            return
        if step == "hang":
            time.sleep(1.5)
            return
        if step in ("500", "429", "400"):
            handler._send(int(step), {"error": f"on purpose {step}"})
            return
        time.sleep(self.delay)
        n = min(body.get("n", 1), self.choices or body.get("n", 1))
        choices = [{"index": i, "text": f"answer {i} " * (i + 1), "finish_reason": "stop"}
                   for i in range(n)]
        handler._send(200, {"choices": choices,
                            "usage": {"prompt_tokens": 7, "completion_tokens": 5 * n}})

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    """Start a failing server; the test sets its script."""
    started = []

    def start(*args, **kwargs):
        started.append(FailingServer(*args, **kwargs))
        return started[-1]
    yield start
    for each in started:
        each.stop()


def client(url, **kwargs) -> OpenAIBackend:
    return OpenAIBackend(url, "fake-model", backoff=0.01, **kwargs)


def answers(backend, requests):
    return list(backend.generate(requests, Sampling(max_tokens=8)))


def test_server_down_at_start_is_a_clear_error():
    with pytest.raises(PlanbenchError, match="no OpenAI-compatible server answers at"):
        open_backend(EngineConfig("openai", None, base_url="http://127.0.0.1:9/v1"))


def test_unknown_model_names_what_is_served(server):
    url = server().url
    with pytest.raises(PlanbenchError, match="serves: fake-model"):
        OpenAIBackend(url, "other")
    assert OpenAIBackend(url).model == "fake-model"


def test_retries_500_429_and_dropped_connections(server):
    fake = server(["500", "429", "close", "ok"])
    [result] = answers(client(fake.url), [Request(PROMPT, 2, seed=5, first=10)])
    assert len(fake.bodies) == 4
    assert [c.text for c in result.completions] == ["answer 0 ", "answer 1 answer 1 "]
    assert fake.bodies[0] | {"seed": 5, "n": 2, "prompt": "Plan:", "max_tokens": 8} == fake.bodies[0]
    assert sum(c.completion_tokens for c in result.completions) == 10
    assert result.completions[1].completion_tokens > result.completions[0].completion_tokens


def test_timeout_is_retried(server):
    fake = server(["hang"])
    [result] = answers(client(fake.url, timeout=0.5), [Request(PROMPT, 1, seed=0)])
    assert len(fake.bodies) == 2 and result.completions[0].finish_reason == "stop"


def test_gives_up_after_retries_with_a_clear_message(server):
    fake = server(["500"] * 10)
    with pytest.raises(PlanbenchError, match=r"failed 3 times in a row \(last: HTTP 500"):
        answers(client(fake.url, retries=2), [Request(PROMPT, 1, seed=0)])
    assert len(fake.bodies) == 3


def test_bad_request_is_not_retried(server):
    fake = server(["400"])
    with pytest.raises(PlanbenchError, match="refused a request: HTTP 400"):
        answers(client(fake.url), [Request(PROMPT, 1, seed=0)])
    assert len(fake.bodies) == 1


def test_fewer_choices_than_asked_are_asked_for_again(server):
    fake = server(choices=1)
    step = Request(PROMPT, 3, seed=1, first=4, parent=2, depth=3, prefix="(pick-up a)\n")
    results = answers(client(fake.url), [step])
    assert [(r.request.first, len(r.completions)) for r in results] == [(4, 1), (5, 1), (6, 1)]
    assert len({body["seed"] for body in fake.bodies}) == 3
    assert {(r.request.parent, r.request.depth, r.request.prefix) for r in results} == {
        (2, 3, "(pick-up a)\n")}  # the rest of a search step continues the same node


def test_concurrency_is_bounded_and_results_stream(server):
    fake = server(delay=0.2)
    requests = [Request(PROMPT, 1, seed=i, first=i) for i in range(6)]
    results = answers(client(fake.url, concurrency=2), requests)
    assert sorted(r.request.first for r in results) == list(range(6))
    assert fake.most_open == 2


def test_server_dying_mid_run_keeps_earlier_results(server):
    fake = server()
    backend = client(fake.url, retries=1, concurrency=1)
    stream = backend.generate((Request(PROMPT, 1, seed=i, first=i) for i in range(5)), Sampling())
    first = next(stream)
    fake.stop()
    with pytest.raises(PlanbenchError, match="--resume"):
        list(stream)
    assert first.completions[0].text == "answer 0 "


def test_chat_form_sends_messages(server):
    fake = server()
    backend = OpenAIBackend(fake.url, "fake-model", form="chat")
    with pytest.raises(PlanbenchError, match="sent a reply without"):
        answers(backend, [Request(PROMPT, 1, seed=0)])
    assert fake.bodies[0]["messages"] == [{"role": "system", "content": "s"},
                                          {"role": "user", "content": "Plan:"}]


def test_token_totals_are_shared_exactly_where_answers_were_cut():
    from planbench_scale.backends.openai_http import _share
    assert _share(30, ["a" * 50, "b", "c" * 9], [True, False, False], 12) == [12, 3, 15]
    assert _share(24, ["x", "yy"], [True, True], 12) == [12, 12]
    assert sum(_share(17, ["a", "bb", "ccc"], [False] * 3, 64)) == 17


def replay(name, status=200, headers=()):
    """A script step that sends a recorded body from tests/data/openai_replies.json."""
    return (status, REPLIES[name], "application/json", headers)


def test_reasoning_fields_of_vllm_reasoning_parsers_are_kept_apart_from_the_answer(server):
    fake = server([replay("vllm_reasoning_content"), replay("vllm_reasoning")])
    backend = client(fake.url, form="chat")
    [first] = answers(backend, [Request(PROMPT, 1, seed=0)])
    [one] = first.completions
    assert one.text == "(unstack a b)\n(put-down a)"
    assert one.reasoning == "The goal needs b on a, so unstack a from b first."
    assert one.completion_tokens == 60 and 0 < one.reasoning_tokens < 60  # estimated by characters
    [second] = answers(backend, [Request(PROMPT, 2, seed=0)])
    solved, refused = second.completions
    assert (solved.text, solved.reasoning) == ("(pick-up a)", "Only one step is needed.")
    assert (refused.text, refused.reasoning, refused.reasoning_tokens) == ("", "", 0)
    assert refused.finish_reason == "stop"  # a null answer is an empty one, stored


def test_reported_reasoning_tokens_and_reasoning_model_request_fields(server):
    fake = server([replay("openai_o1")])
    backend = client(fake.url, form="chat", extra={"reasoning_effort": "high", "top_k": 5},
                     omit=("temperature", "top_p"))
    [result] = answers(backend, [Request(PROMPT, 1, seed=3)])
    [one] = result.completions
    assert (one.completion_tokens, one.reasoning_tokens, one.prompt_tokens) == (3181, 3136, 210)
    assert one.text.startswith("(unstack a b)") and one.reasoning == ""
    body = fake.bodies[0]
    assert body["max_completion_tokens"] == 8 and "max_tokens" not in body
    assert body["reasoning_effort"] == "high" and body["top_k"] == 5
    assert "temperature" not in body and "top_p" not in body and body["seed"] == 3


def test_cached_prompt_tokens_are_read_and_charged_once_per_request(server):
    fake = server([replay("openai_cached"), replay("vllm_cached_text"), replay("openai_o1"),
                   replay("vllm_reasoning")])
    [cached] = answers(client(fake.url, form="chat"), [Request(PROMPT, 2, seed=0)])
    first, second = cached.completions
    assert (first.cached_tokens, first.prompt_computed) == (1920, 2006 - 1920)
    assert (second.cached_tokens, second.prompt_computed) == (0, 0)  # the prompt was read once
    [text] = answers(client(fake.url), [Request(PROMPT, 1, seed=0)])
    assert (text.completions[0].cached_tokens, text.completions[0].prompt_computed) == (384, 28)
    [o1] = answers(client(fake.url, form="chat"), [Request(PROMPT, 1, seed=0)])
    assert (o1.completions[0].cached_tokens, o1.completions[0].prompt_computed) == (0, 210)
    [unknown] = answers(client(fake.url, form="chat"), [Request(PROMPT, 2, seed=0)])
    # no prompt_tokens_details: the cache is unknown, never taken as zero; all of it is charged
    assert unknown.completions[0].cached_tokens is None
    assert unknown.completions[0].prompt_computed == 40


def test_a_cached_count_that_is_not_a_number_is_unknown(server):
    junk = {"choices": [{"index": 0, "text": "(pick-up a)", "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 9, "completion_tokens": 3,
                      "prompt_tokens_details": {"cached_tokens": "many"}}}
    fake = server([(200, junk)])
    [result] = answers(client(fake.url), [Request(PROMPT, 1, seed=0)])
    assert result.completions[0].cached_tokens is None and result.completions[0].prompt_computed == 9


def test_a_leading_think_block_in_a_text_answer_is_the_reasoning(server):
    think = {"choices": [{"index": 0, "text": "<think>a then b</think>\n(pick-up a)",
                          "finish_reason": "stop"}], "usage": {"completion_tokens": 12}}
    fake = server([(200, think)])
    [result] = answers(client(fake.url), [Request(PROMPT, 1, seed=0)])
    assert (result.completions[0].reasoning, result.completions[0].text) == ("a then b", "(pick-up a)")
    assert fake.bodies[0]["max_tokens"] == 8


@pytest.mark.parametrize("name, form, fix", [("error_temperature", "chat", "--omit temperature"),
                                             ("error_max_tokens", "text", "--form chat")])
def test_a_refused_parameter_names_the_option_to_change(server, name, form, fix):
    fake = server([replay(name, 400)])
    with pytest.raises(PlanbenchError, match=f"refused a request: HTTP 400.*change {fix}"):
        answers(client(fake.url, form=form), [Request(PROMPT, 1, seed=0)])
    assert len(fake.bodies) == 1


def test_429_waits_as_long_as_retry_after_says(server):
    fake = server([replay("error_rate_limit", 429, [("Retry-After", "1")])])
    started = time.monotonic()
    [result] = answers(client(fake.url), [Request(PROMPT, 1, seed=0)])
    assert time.monotonic() - started >= 1.0 and len(fake.bodies) == 2
    assert result.completions[0].text == "answer 0 "


@pytest.mark.parametrize("reply, message", [
    ((200, b"<html><body>502 Bad Gateway</body></html>", "text/html"),
     r"not an OpenAI JSON object \(text/html\): '<html>"),
    ((200, b"upstream error", "text/plain"), "not an OpenAI JSON object"),
    ((200, ["not", "an", "object"]), "not an OpenAI JSON object"),
    ((200, {"choices": ["just text"]}), "choices are not a list of objects"),
    ((200, {"answer": "(pick-up a)"}), "choices are not a list of objects"),
    ((200, {"choices": [{"index": 0, "finish_reason": "stop"}]}), "sent a reply without 'text'"),
])
def test_a_reply_that_is_not_an_openai_reply_is_a_clear_error_naming_the_server(server, reply, message):
    fake = server([reply])
    with pytest.raises(PlanbenchError, match=f"^the server at {fake.url} .*{message}"):
        answers(client(fake.url), [Request(PROMPT, 1, seed=0)])


def test_null_text_in_one_choice_is_an_empty_answer(server):
    nulls = {"choices": [{"index": 0, "text": "(pick-up a)", "finish_reason": "stop"},
                         {"index": 1, "text": None, "finish_reason": "content_filter"}],
             "usage": {"completion_tokens": 4}}
    [result] = answers(client(server([(200, nulls)]).url), [Request(PROMPT, 2, seed=0)])
    assert [(c.text, c.finish_reason) for c in result.completions] == [
        ("(pick-up a)", "stop"), ("", "content_filter")]


def test_the_key_is_sent_and_never_shown(server):
    key = "sk-test-0123456789abcdef"
    fake = server([(400, {"error": {"message": f"bad request from key {key}"}})], key=key)
    with pytest.raises(PlanbenchError, match="refused the API key.*--api-key-env") as no_key:
        OpenAIBackend(fake.url, "fake-model")
    with pytest.raises(PlanbenchError, match="refused the API key.*check the variable"):
        OpenAIBackend(fake.url, "fake-model", api_key="sk-wrong")
    with pytest.raises(PlanbenchError, match=r"from key \*\*\*") as echoed:
        answers(client(fake.url, api_key=key), [Request(PROMPT, 1, seed=0)])
    assert key not in str(no_key.value) + str(echoed.value)
    [result] = answers(client(fake.url, api_key=key), [Request(PROMPT, 1, seed=0)])
    assert result.completions[0].text == "answer 0 "


def test_omitting_n_asks_for_each_sample_alone_with_derived_seeds(server):
    fake = server()  # a server sends one choice when no n is given
    results = answers(client(fake.url, omit=("n",)), [Request(PROMPT, 3, seed=1)])
    assert [r.request.first for r in results] == [0, 1, 2]
    assert all("n" not in body for body in fake.bodies)
    assert len({body["seed"] for body in fake.bodies}) == 3


def test_requests_in_flight_are_reported_while_none_finishes(server, monkeypatch):
    from planbench_scale.backends import openai_http
    monkeypatch.setattr(openai_http, "WAITING_REPORT", 0.2)
    fake = server(delay=1.0)
    backend, told = client(fake.url, timeout=5.0), []
    backend.on_wait = lambda flying, waited: told.append((flying, waited))
    [result] = answers(backend, [Request(PROMPT, 1, seed=0)])
    assert told and all(flying == 1 for flying, _ in told) and told[-1][1] >= 0.8
    assert len(fake.bodies) == 1 and result.completions[0].text == "answer 0 "


def test_a_hanging_server_is_given_up_after_the_request_timeout(server):
    fake = server(["hang"] * 3)
    started = time.monotonic()
    with pytest.raises(PlanbenchError, match="failed 2 times in a row.*Timeout"):
        answers(client(fake.url, timeout=0.3, retries=1), [Request(PROMPT, 1, seed=0)])
    assert time.monotonic() - started < 1.5
