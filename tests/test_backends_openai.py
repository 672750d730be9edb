"""The OpenAI-compatible client against a test server on 127.0.0.1 that fails on purpose.

The server only exists to exercise failure handling (500, 429, dropped connections, timeouts, a
server that dies, fewer choices than asked): its answers are fixed strings, never a model.
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from planbench_scale.backends import Request, Sampling, open_backend
from planbench_scale.backends.openai_http import OpenAIBackend
from planbench_scale.errors import PlanbenchError
from planbench_scale.records import EngineConfig, Prompt

PROMPT = Prompt(instance_id="i0", text="Plan:", messages=(("system", "s"), ("user", "Plan:")))


class FailingServer:
    """An HTTP server whose POST replies follow a script, then answer normally."""

    def __init__(self, script=(), choices=None, delay=0.0):
        self.script, self.choices, self.delay = list(script), choices, delay
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

            def do_GET(self):
                self._send(200, {"data": [{"id": "fake-model"}]})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
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

            def _send(self, status, payload):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler

    def reply(self, handler, step, body):
        """Act out one script step."""
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
        n = min(body["n"], self.choices or body["n"])
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
    results = answers(client(fake.url), [Request(PROMPT, 3, seed=1, first=4)])
    assert [(r.request.first, len(r.completions)) for r in results] == [(4, 1), (5, 1), (6, 1)]
    assert len({body["seed"] for body in fake.bodies}) == 3


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
