"""HTTP, handled once for every server publisher: timeouts, TLS, status codes mapped to the error hierarchy,
secrets kept out of every message. The `requests.Session` is injectable so tests can watch or replace it.

No retry loop here on purpose: a push that fails transiently goes back to the queue with a backoff, so the
worker is never blocked sleeping on one server while others wait.

`timeout_s` bounds each wait (to connect, for the answer to start, between two reads) and also the whole body: a
server or proxy that trickles a byte now and then never lets a per-read timeout fire, and would hold the push
thread for as long as it likes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

import requests
import urllib3

from daemon.publish.errors import (
    AuthError,
    NotFoundError,
    PermanentPublishError,
    TransientPublishError,
)
from daemon.redact import redact

if TYPE_CHECKING:
    from daemon.publish.options import ServerOptions

log = logging.getLogger(__name__)

_BODY_SNIPPET_CHARS = 200
_READ_BYTES = 64 * 1024


class HttpClient:
    def __init__(
        self,
        base_url: str,
        *,
        label: str,
        headers: Mapping[str, str],
        secrets: Iterable[str] = (),
        timeout_s: float = 10.0,
        verify: bool | str = True,
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.label = label  # e.g. "jellyfin target 'home'": starts every message
        self._headers = dict(headers)
        self._secrets = tuple(s for s in secrets if s)
        self._timeout = (timeout_s, timeout_s)  # connect, read
        self._verify = verify
        self._session = session if session is not None else requests.Session()

    @classmethod
    def for_server(
        cls, server: ServerOptions, *, label: str, headers: Mapping[str, str], session: requests.Session | None
    ) -> HttpClient:
        """A client for a media server target: its URL, TLS and timeout, its secret kept out of every message."""
        secret = server.secret.reveal()
        return cls(
            server.url,
            label=label,
            headers=headers,
            secrets=[secret],
            timeout_s=server.timeout_s,
            verify=server.verify_tls,
            session=session,
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """Send one request; return the response if 2xx, else raise the error its status calls for."""
        where = f"{self.label}: {method} {path}"
        try:
            response = self._session.request(
                method,
                self.base_url + path,
                params=params,
                json=json,
                headers={**self._headers, **(headers or {})},
                timeout=self._timeout,
                verify=self._verify,
                allow_redirects=False,  # a redirect would carry the auth header to wherever it points
                stream=True,  # the body is read by `_read_body`, against a deadline
            )
            self._read_body(where, response)
        # `from None`: requests' own messages carry the full URL; ours say what to do.
        except requests.exceptions.SSLError:
            raise PermanentPublishError(
                f'{where}: TLS verification failed; give the server\'s CA with `verify_tls = "/path/ca.pem"`'
            ) from None
        except requests.Timeout:
            raise TransientPublishError(f"{where}: no answer within {self._timeout[1]:g} s") from None
        except requests.ConnectionError as e:
            if e.args and isinstance(e.args[0], urllib3.exceptions.ProtocolError):
                # It may have done what was asked: fine, every push is idempotent and is simply made again.
                raise TransientPublishError(
                    f"{where}: {self.base_url} closed the connection without answering"
                ) from None
            raise TransientPublishError(f"{where}: cannot connect to {self.base_url}") from None
        self._raise_for_status(where, response)
        return response

    def _read_body(self, where: str, response: requests.Response) -> None:
        """Read the whole body within `timeout_s` of the answer's start (plus at most one read's timeout), into
        `response.content`; the connection is closed when that fails."""
        timeout_s = self._timeout[1]
        deadline = time.monotonic() + timeout_s
        chunks = []
        whole = False
        try:
            # read1: whatever has arrived, so the deadline is looked at after every trickle, not after 64 KiB.
            while chunk := response.raw.read1(_READ_BYTES, decode_content=True):
                chunks.append(chunk)
                if time.monotonic() > deadline:
                    raise TransientPublishError(f"{where}: the answer took longer than {timeout_s:g} s; given up")
            whole = True
        except (urllib3.exceptions.HTTPError, OSError):
            raise TransientPublishError(f"{where}: the answer broke off or stopped coming") from None
        finally:
            if whole:
                response.raw.release_conn()  # read to its end: the connection serves the next request
            else:
                response.close()
        response._content = b"".join(chunks)  # what requests itself does once it has read a body

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.request(method, path, headers={"Accept": "application/json"}, **kwargs)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise PermanentPublishError(
                f"{self.label}: {method} {path}: expected JSON, got {self._snippet(response)!r}"
            ) from None

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.json("GET", path, **kwargs)

    def redact(self, text: str) -> str:
        return redact(text, self._secrets)

    def _snippet(self, response: requests.Response) -> str:
        # Blanked before it is cut: cut first, a key across the cut would be left in part.
        return self.redact(response.text.strip())[:_BODY_SNIPPET_CHARS]

    def _raise_for_status(self, where: str, response: requests.Response) -> None:
        status = response.status_code
        if 200 <= status < 300:
            return
        said = f"{where} -> HTTP {status}"
        snippet = self._snippet(response)
        if snippet:
            said += f": {snippet}"
        if status in (401, 403):
            raise AuthError(f"{said} (check the target's API key/token and that it has admin rights)")
        if status == 404:
            raise NotFoundError(said)
        if 300 <= status < 400:
            raise PermanentPublishError(
                f"{said} (redirected to {self.redact(response.headers.get('Location', '?'))}: "
                "set the target's url to it)"
            )
        if status == 429 or status >= 500:
            raise TransientPublishError(said, retry_after_s=_retry_after_s(response))
        raise PermanentPublishError(said)


def _retry_after_s(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
