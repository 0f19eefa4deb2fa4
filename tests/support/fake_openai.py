"""A local HTTP server speaking OpenAI's chat completions wire protocol, for tests and bench.

OpenAI cannot be reached from CI, so the backend is tested against this: a real HTTP server
on a loopback port that answers ``POST /v1/chat/completions`` exactly as the API does (the
``chat.completion`` object with ``choices`` and ``usage``; errors as
``{"error": {"message", "type", "code"}}`` with their status codes and ``retry-after-ms``).
The ``openai`` client talks to it over real HTTP, so its request building, retries, timeouts
and parsing all run. Each request takes the next ``Reply`` of ``script`` (then ``default``);
the answer's text comes from ``responder`` (by default the offline writer with another
seed, standing in for a model). Every request is recorded.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Responder = Callable[[dict[str, Any]], str]


@dataclass(frozen=True)
class Reply:
    """One scripted answer: ``ok`` (the responder's JSON), ``text`` (``content`` as is, e.g.
    malformed JSON), ``truncated`` (finish_reason "length"), ``status`` (an HTTP error), or
    ``hang`` (answer after ``delay_s``, past the client's timeout)."""

    kind: str = "ok"
    status: int = 200
    content: str = ""
    delay_s: float = 0.0
    retry_after_ms: int | None = None


@dataclass(frozen=True)
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


def offline_responder(seed: int = 7) -> Responder:
    """A stand-in model: writes the requested variants with the offline writer (another
    seed than the backend's own fallback), reading the inputs from the request itself."""
    from globalpic_copywriting.offline import OfflineCopywriter
    from globalpic_copywriting.prompt import parse_request, used_fields

    writer = OfflineCopywriter(seed=seed)

    def respond(body: dict[str, Any]) -> str:
        facts, platform, n = parse_request(body)
        report = writer.write(facts, platform, n)
        limit = body.get("max_tokens") or body.get("max_completion_tokens") or 800
        variants = [v.model_dump(include=set(used_fields(platform))) for v in report.variants]
        # Tighter and tighter, as a model asked for word budgets stays within max_tokens.
        for words in (8, 6, 4):
            answer = {
                "facts_en": [f for f in report.facts_en if not f.startswith("Product:")][:4],
                "variants": [_compact(v, words) for v in variants],
            }
            text = json.dumps(answer, ensure_ascii=False)
            if _tokens(text) <= limit:
                break
        return text

    return respond


def _words(text: str, n: int) -> str:
    words = text.split()
    return " ".join(words[:n]).rstrip(",;:") + ("." if len(words) > n else "")


def _compact(variant: dict[str, Any], words: int = 8) -> dict[str, Any]:
    """Cut to the prompt's word budgets, as a model keeping within max_tokens writes."""
    out = dict(variant)
    if "bullets" in out:
        out["bullets"] = [_words(b, words) for b in variant["bullets"]]
    if words < 8 and out.get("title"):
        out["title"] = _words(variant["title"], 2 * words).rstrip(".")
    description = variant.get("description", "")
    if description.startswith("<p>"):
        out["description"] = description[: description.index("</p>") + 4]
    elif description:
        out["description"] = description.split("\n\n")[0]
    if variant.get("search_terms") and "," not in variant["search_terms"]:
        out["search_terms"] = " ".join(variant["search_terms"].split()[:10])
    out["explanation_zh"] = variant["explanation_zh"].split("。")[0] + "。"
    return out


class FakeOpenAIServer:
    """``with FakeOpenAIServer() as server: ... base_url=server.base_url``."""

    def __init__(
        self,
        responder: Responder | None = None,
        *,
        latency_s: float = 0.0,
        script: Iterable[Reply] = (),
        default: Reply | None = None,
        api_key: str = "test-key",
    ) -> None:
        self.responder = responder or offline_responder()
        self.latency_s = latency_s  # every answer waits this long (the model's own time)
        self.script: deque[Reply] = deque(script)
        self.default = default or Reply()
        self.api_key = api_key
        self.requests: list[Recorded] = []
        self.server_seconds: list[float] = []
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def start(self) -> FakeOpenAIServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes hanging handlers
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def completions(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def _next(self) -> Reply:
        with self._lock:
            return self.script.popleft() if self.script else self.default

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the real API
            # Headers and body go out as two writes: with Nagle's algorithm on, the body
            # would wait for the client's delayed ACK (~40 ms) and inflate every answer.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                del format, args  # quiet: the tests read ``requests`` instead

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {}
                headers = {k.lower(): v for k, v in self.headers.items()}
                with server._lock:
                    server.requests.append(Recorded(self.path, headers, body))
                started = time.perf_counter()
                server._answer(self, body, headers)
                with server._lock:  # the server's own time: latency + writing the answer
                    server.server_seconds.append(time.perf_counter() - started)

        return Handler

    def _answer(
        self, handler: BaseHTTPRequestHandler, body: dict[str, Any], headers: dict[str, str]
    ) -> None:
        if handler.path.rstrip("/") != "/v1/chat/completions":
            return _send(handler, 404, _error("Unknown URL", "invalid_request_error"))
        if headers.get("authorization") != f"Bearer {self.api_key}":
            return _send(handler, 401, _error("Incorrect API key provided", "invalid_api_key"))
        problem = _invalid(body)
        if problem:
            return _send(handler, 400, _error(problem, "invalid_request_error"))
        reply = self._next()
        wait = self.latency_s + reply.delay_s
        if wait and self._stopping.wait(wait):
            return None
        if reply.kind == "status":
            extra = {}
            if reply.retry_after_ms is not None:
                extra["retry-after-ms"] = str(reply.retry_after_ms)
            kind = "rate_limit_exceeded" if reply.status == 429 else "server_error"
            return _send(handler, reply.status, _error(f"HTTP {reply.status}", kind), extra)
        content = reply.content if reply.kind in ("text", "truncated") else self.responder(body)
        finish = "length" if reply.kind == "truncated" else "stop"
        limit = body.get("max_tokens") or body.get("max_completion_tokens")
        if isinstance(limit, int) and _tokens(content) > limit:
            content, finish = content[: limit * 4], "length"  # cut off, as a model is
        return _send(handler, 200, _completion(body, content, finish))


def _invalid(body: dict[str, Any]) -> str:
    """What the real API would refuse with a 400."""
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "you must provide a model parameter"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "'messages' must be a non-empty array"
    for message in messages:
        if message.get("role") not in ("system", "user", "assistant", "developer"):
            return "invalid message role"
    fmt = body.get("response_format") or {}
    if fmt.get("type") not in (None, "text", "json_object", "json_schema"):
        return "invalid response_format type"
    if fmt.get("type") == "json_schema" and "schema" not in fmt.get("json_schema", {}):
        return "response_format json_schema needs a schema"
    return ""


def _tokens(text: str) -> int:
    return max(1, len(text) // 4)  # the usual ~4 characters per token


def _completion(body: dict[str, Any], content: str, finish: str) -> dict[str, Any]:
    prompt_tokens = sum(_tokens(str(m.get("content", ""))) for m in body["messages"])
    completion_tokens = _tokens(content)
    return {
        "id": f"chatcmpl-local{time.monotonic_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body["model"],
        "system_fingerprint": "fp_local",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": None},
                "logprobs": None,
                "finish_reason": finish,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def _error(message: str, kind: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": kind}}


def _send(
    handler: BaseHTTPRequestHandler,
    status: int,
    payload: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> None:
    data = json.dumps(payload).encode()
    try:
        handler.send_response(status)
        handler.send_header("content-type", "application/json")
        handler.send_header("content-length", str(len(data)))
        handler.send_header("x-request-id", f"req_local{time.monotonic_ns()}")
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(data)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the client gave up (its timeout): nothing to answer
