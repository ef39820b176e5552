"""HttpClient: status codes mapped to the error hierarchy, secrets kept out of messages, safe defaults."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
import requests

from daemon.publish.errors import (
    AuthError,
    NotFoundError,
    PermanentPublishError,
    TransientPublishError,
)
from daemon.publish.http import HttpClient
from tests.fakeservers.base import FakeServer, Reply

SECRET = "tok-SECRET+987/x"
ENCODED = quote(SECRET, safe="")


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    server = FakeServer()
    server.route("GET", "/ok", lambda r, m: Reply(body={"fine": True}))
    server.route("GET", "/html", lambda r, m: Reply(body="<html>proxy error page</html>"))
    server.route("GET", "/echo", lambda r, m: Reply(400, f"bad token {SECRET} given"))
    server.route("GET", "/moved", lambda r, m: Reply(302, "", {"Location": "https://elsewhere/"}))
    server.route("GET", "/moved-to-a-key", lambda r, m: Reply(302, "", {"Location": f"https://login/?t={ENCODED}"}))
    server.route("GET", "/echo-encoded", lambda r, m: Reply(401, f"bad token {ENCODED}"))
    server.route("GET", "/echo-at-the-cut", lambda r, m: Reply(400, "x" * 190 + SECRET))
    server.route("GET", "/busy", lambda r, m: Reply(429, "slow down", {"Retry-After": "30"}))
    server.route("POST", "/crash", lambda r, m: Reply(hang_up=True))
    server.start()
    yield server
    server.stop()


def client(url: str, **kwargs: Any) -> HttpClient:
    return HttpClient(url, label="test target 't'", headers={"X-Token": SECRET}, secrets=[SECRET], **kwargs)


def test_json_is_returned(fake: FakeServer) -> None:
    assert client(fake.url).get("/ok") == {"fine": True}


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, AuthError),
        (403, AuthError),
        (404, NotFoundError),
        (400, PermanentPublishError),
        (500, TransientPublishError),
        (502, TransientPublishError),
        (503, TransientPublishError),
    ],
)
def test_status_codes_map_to_what_to_do(fake: FakeServer, status: int, error: type[Exception]) -> None:
    fake.fail_next(status)
    with pytest.raises(error, match=f"test target 't': GET /ok -> HTTP {status}"):
        client(fake.url).get("/ok")


def test_429_carries_retry_after(fake: FakeServer) -> None:
    with pytest.raises(TransientPublishError) as raised:
        client(fake.url).get("/busy")
    assert raised.value.retry_after_s == 30.0


def test_redirects_are_not_followed(fake: FakeServer) -> None:
    with pytest.raises(PermanentPublishError, match="redirected to https://elsewhere/"):
        client(fake.url).get("/moved")
    assert len(fake.requests) == 1  # the auth header never travelled to the other address


def test_a_secret_echoed_by_the_server_is_redacted(fake: FakeServer) -> None:
    with pytest.raises(PermanentPublishError) as raised:
        client(fake.url).get("/echo")
    assert SECRET not in str(raised.value) and "bad token *** given" in str(raised.value)


@pytest.mark.parametrize("path", ["/moved-to-a-key", "/echo-encoded", "/echo-at-the-cut"])
def test_a_secret_in_a_redirect_url_encoded_or_where_the_body_is_cut_is_redacted(fake: FakeServer, path: str) -> None:
    with pytest.raises(PermanentPublishError) as raised:
        client(fake.url).get(path)
    message = str(raised.value)
    assert SECRET[:8] not in message and ENCODED[:8] not in message and "***" in message


def test_not_json_is_permanent(fake: FakeServer) -> None:
    with pytest.raises(PermanentPublishError, match="expected JSON"):
        client(fake.url).get("/html")


def test_refused_connection_is_transient() -> None:
    server = FakeServer().start()
    url = server.url
    server.stop()
    with pytest.raises(TransientPublishError, match="cannot connect") as raised:
        client(url).get("/ok")
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_a_connection_closed_without_an_answer_is_transient_and_said_so(fake: FakeServer) -> None:
    with pytest.raises(TransientPublishError, match="closed the connection without answering"):
        client(fake.url).request("POST", "/crash")


class Recording(requests.Session):
    def __init__(self) -> None:
        super().__init__()
        self.kwargs: dict[str, Any] = {}

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.kwargs = kwargs
        return super().request(method, url, *args, **kwargs)


def test_tls_is_verified_and_timeouts_are_set_by_default(fake: FakeServer) -> None:
    session = Recording()
    client(fake.url, session=session).get("/ok")
    assert session.kwargs["verify"] is True
    assert session.kwargs["timeout"] == (10.0, 10.0)
    assert session.kwargs["allow_redirects"] is False


def test_an_answer_trickled_past_the_timeout_is_given_up(fake: FakeServer) -> None:
    fake.fault = Reply(200, {"fine": True, "padding": "x" * 40}, trickle_s=0.1)  # about 6 s in all
    started = time.monotonic()
    with pytest.raises(TransientPublishError, match="the answer took longer than 1 s; given up"):
        client(fake.url, timeout_s=1.0).get("/ok")
    assert time.monotonic() - started < 2.5  # the deadline, plus at most one read's timeout


def test_a_hung_server_is_given_up_after_the_timeout(fake: FakeServer) -> None:
    fake.fault = Reply(0, hang_s=5.0)
    started = time.monotonic()
    with pytest.raises(TransientPublishError, match=r"no answer within 0\.5 s"):
        client(fake.url, timeout_s=0.5).get("/ok")
    assert time.monotonic() - started < 1.5
