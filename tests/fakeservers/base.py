"""A threaded HTTP server on 127.0.0.1 that records requests and can misbehave on cue (status codes, delays, being
down, hanging without an answer, trickling one), the routes being supplied by a subclass: its handler methods marked
with `@handles(method, pattern)`. Each request is recorded with when it came and what it was answered."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any  # parsed JSON, or None
    received_s: float = field(default_factory=time.monotonic)
    answered: Reply | None = None  # set once the whole answer was sent; None: not (yet) answered

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # JSON-encoded unless bytes/str
    headers: dict[str, str] = field(default_factory=dict)
    hang_up: bool = False  # close the connection without answering (a server that died mid-request)
    # Misbehaviour of the connection itself; the request is not handled (nothing changes on the server):
    hang_s: float = 0.0  # say nothing for this long, then close the connection without an answer
    trickle_s: float = 0.0  # send the body one byte at a time, this long apart (a stalled proxy)


HANG = Reply(0, hang_s=60.0)

Handler = Callable[[Request, re.Match[str]], Reply]
NO_ROUTE = Reply(404, "no such route")
_ROUTES = "_fake_routes"  # the attribute `handles` sets on a handler method


def handles(method: str, pattern: str) -> Callable[[Callable[..., Reply]], Callable[..., Reply]]:
    """Marks a method of a `FakeServer` subclass as the handler of `method` requests to paths matching `pattern`
    (anchored at the end, case-insensitive)."""

    def mark(handler: Callable[..., Reply]) -> Callable[..., Reply]:
        setattr(handler, _ROUTES, [*getattr(handler, _ROUTES, []), (method, pattern)])
        return handler

    return mark


class FakeServer:
    def __init__(self) -> None:
        self.requests: list[Request] = []
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._faults: list[tuple[re.Pattern[str] | None, Reply]] = []  # replies forced on the next requests, in order
        self.delay_s = 0.0  # every request waits this long (a hung server)
        self.fault: Reply | None = None  # while set, every request gets this reply instead (a server in trouble)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0
        for klass in reversed(type(self).__mro__):
            for name, member in vars(klass).items():
                for method, pattern in getattr(member, _ROUTES, []):
                    self.route(method, pattern, getattr(self, name))

    # -- routes -----------------------------------------------------------------------------------------------
    def route(self, method: str, pattern: str, handler: Handler) -> None:
        self._routes.append((method, re.compile(pattern + r"$", re.IGNORECASE), handler))

    def authorised(self, request: Request) -> bool:
        return True

    # -- misbehaviour ------------------------------------------------------------------------------------------
    def fail_next(
        self,
        status: int,
        count: int = 1,
        body: Any = "error",
        *,
        path: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next `count` requests (only those to paths matching `path`, when given) with this reply."""
        pattern = re.compile(path + r"$", re.IGNORECASE) if path is not None else None
        with self._lock:
            self._faults.extend((pattern, Reply(status, body, dict(headers or {}))) for _ in range(count))

    # -- life --------------------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeServer:
        """Start (again, on the same port after `stop`: a server that went down and came back)."""
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler_class())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.daemon = True
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def calls(self, method: str, path_pattern: str) -> list[Request]:
        pattern = re.compile(path_pattern + r"$", re.IGNORECASE)
        return [r for r in self.requests if r.method == method and pattern.match(r.path)]

    # -- plumbing ----------------------------------------------------------------------------------------------
    def _dispatch(self, request: Request) -> Reply:
        with self._lock:
            self.requests.append(request)
            fault = self.fault or self._take_fault(request.path)
        if self.delay_s:
            time.sleep(self.delay_s)
        if fault is not None:
            return fault
        if not self.authorised(request):
            return Reply(401, "Unauthorized")
        for method, pattern, handler in self._routes:
            match = pattern.match(request.path)
            if match and method == request.method:
                return handler(request, match)
        return NO_ROUTE

    def _take_fault(self, path: str) -> Reply | None:
        for i, (pattern, reply) in enumerate(self._faults):
            if pattern is None or pattern.match(path):
                del self._faults[i]
                return reply
        return None

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class _Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet tests

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw and "json" in (self.headers.get("Content-Type") or "") else None
                request = Request(self.command, parts.path, parse_qs(parts.query), dict(self.headers.items()), body)
                reply = fake._dispatch(request)
                if reply.hang_up:
                    self.close_connection = True
                    return
                if reply.hang_s:
                    time.sleep(reply.hang_s)
                    return  # the connection closes unanswered
                payload = reply.body
                if payload is None:
                    data = b""
                elif isinstance(payload, bytes):
                    data = payload
                elif isinstance(payload, str):
                    data = payload.encode()
                else:
                    data = json.dumps(payload).encode()
                try:
                    self.send_response(reply.status)
                    content_type = "application/json" if not isinstance(payload, str | bytes) else "text/html"
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(data)))
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self._write(data, reply.trickle_s)
                    request.answered = reply
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            def _write(self, data: bytes, trickle_s: float) -> None:
                if not trickle_s:
                    self.wfile.write(data)
                    return
                for i in range(len(data)):
                    self.wfile.write(data[i : i + 1])
                    self.wfile.flush()
                    time.sleep(trickle_s)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        return _Handler
