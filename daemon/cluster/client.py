"""The daemon's side of the cluster: a `DetectFn` whose detections run on Dask workers (daemon/cluster/remote.py).

Each call submits one claimed episode with its siblings' stored fingerprints and waits for the answer, a second
at a time, so a stop gives the episode back at once. Dask itself re-runs a task whose worker died on another one;
the answer comes back once, and the daemon stores it once. When the scheduler cannot be reached (or goes away
mid-task), the episode goes back to pending, to be tried again in a minute (`DetectorUnavailable`), or, with
`fallback = "local"`, is detected here; one warning says so per outage, and one line when the cluster is back.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import CancelledError
from pathlib import Path
from typing import Any

from daemon.cluster import remote
from daemon.config import ClusterConfig
from daemon.detect import DetectFn, DetectorUnavailable, LoadedDetector
from detector.fingerprint import Fingerprints
from detector.result import Detection
from detector.season import FingerprintStore

log = logging.getLogger(__name__)

RETRY_S = 60.0  # an episode given back while the cluster is away is queued again this much later
RECONNECT_S = 15.0  # after a failed connection, calls give up at once for this long instead of each waiting
_POLL_S = 0.1  # how often a wait for an answer looks at the stop flag and the connection


class ClusterDetect:
    def __init__(
        self, config: ClusterConfig, store: FingerprintStore, model_version: str, local: DetectFn | None = None
    ) -> None:
        """`local`: what detects here when the cluster cannot be reached (config fallback "local")."""
        self.config = config
        self._store = store
        self._model_version = model_version
        self._local = local
        self._lock = threading.Lock()
        self._client: Any = None
        self._down = False  # said once per outage
        self._reconnect_at = 0.0  # time.monotonic() before which no new connection is tried
        self.stopping = threading.Event()
        self.done: Counter[str] = Counter()  # detections per worker, this run

    def __call__(self, path: Path, siblings: Sequence[Path] = ()) -> Detection:
        if self.stopping.is_set():
            raise DetectorUnavailable("stopping", retry_in_s=None)
        try:
            client = self._connected()
            reply = self._run(client, self._request(path, siblings))
        except DetectorUnavailable as e:
            if e.retry_in_s is None:  # stopping: nothing to fall back on
                raise
            self._say_down(str(e))
            if self._local is not None:
                return self._local(path, siblings)
            raise
        self._say_up()
        where = {self._to_worker(p): p for p in (path, *siblings)}
        for worker_path, data in reply.fingerprints.items():
            if worker_path in where:
                self._store.put(where[worker_path], Fingerprints.from_bytes(data))
        self.done[reply.worker] += 1
        return dataclasses.replace(reply.detection, path=path, computed_by=reply.worker)

    def stop(self) -> None:
        """Give back what is in flight (each waiting call raises DetectorUnavailable) and close the connection."""
        self.stopping.set()
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close(timeout=2)

    def _request(self, path: Path, siblings: Sequence[Path]) -> remote.Request:
        fingerprints = {}
        for sibling in siblings:
            stored = self._store.get(sibling)
            if stored is not None:
                fingerprints[self._to_worker(sibling)] = stored.to_bytes()
        return remote.Request(
            path=self._to_worker(path),
            siblings=tuple(self._to_worker(s) for s in siblings),
            fingerprints=fingerprints,
            model_version=self._model_version,
        )

    def _to_worker(self, path: Path) -> str:
        return self.config.path_maps.to_server(path)

    def _connected(self) -> Any:
        Client = _client_class()

        with self._lock:
            if self._client is not None and self._client.status == "running":
                return self._client
            if self._client is not None:
                self._client.close(timeout=1)
                self._client = None
            if time.monotonic() < self._reconnect_at:
                raise DetectorUnavailable(f"the scheduler at {self.config.address} did not answer a moment ago")
            try:
                self._client = Client(
                    self.config.address,
                    timeout=self.config.connect_timeout_s,
                    security=_security(self.config),
                    set_as_default=False,
                )
            except (OSError, TimeoutError) as e:
                self._reconnect_at = time.monotonic() + RECONNECT_S
                raise DetectorUnavailable(f"cannot reach the scheduler at {self.config.address} ({e})") from None
            return self._client

    def _run(self, client: Any, request: remote.Request) -> remote.Reply:
        from distributed.comm.core import CommClosedError

        future = client.submit(remote.detect, request, key=f"detect-{uuid.uuid4().hex}", pure=False)
        try:
            # Polled rather than `future.result(timeout=...)`, whose timeout path fails inside distributed.
            while not future.done():
                if self.stopping.is_set():
                    future.cancel()
                    raise DetectorUnavailable("stopping: given back", retry_in_s=None)
                if client.status not in ("running", "connecting"):
                    raise DetectorUnavailable(f"lost the scheduler at {self.config.address}")
                time.sleep(_POLL_S)
            reply: remote.Reply = future.result()
            return reply
        except (CancelledError, CommClosedError, OSError) as e:
            if self.stopping.is_set():
                raise DetectorUnavailable("stopping: given back", retry_in_s=None) from None
            raise DetectorUnavailable(f"lost the scheduler at {self.config.address} ({type(e).__name__})") from None

    def _say_down(self, why: str) -> None:
        if not self._down:
            self._down = True
            then = "detecting here meanwhile" if self._local is not None else f"episodes wait {RETRY_S:.0f} s"
            log.warning("cluster: %s; %s", why, then)

    def _say_up(self) -> None:
        if self._down:
            self._down = False
            log.info("cluster: %s answers again", self.config.address)


def on_cluster(config: ClusterConfig, local: LoadedDetector, store: FingerprintStore) -> LoadedDetector:
    """The daemon's detector when `[cluster]` is set: the cluster's, with this one's model version (the workers
    must run the same), falling back on this one when the config says so."""
    fallback = local.detect if config.fallback == "local" else None
    cluster = ClusterDetect(config, store, local.model_version, fallback)
    # Revisits run here: episodes detected here are revisited; those detected on workers keep their analyses there
    # (not sent back), so they settle as first decided.
    return LoadedDetector(detect=cluster, model_version=local.model_version, stop=cluster.stop, revisit=local.revisit)


def cluster_state(config: ClusterConfig, timeout_s: float) -> str:
    """One line for `status`: the workers and what they are doing now, or why the scheduler does not answer."""
    Client = _client_class()

    try:
        with Client(config.address, timeout=timeout_s, set_as_default=False, security=_security(config)) as client:
            workers = client.scheduler_info()["workers"]
            running = sum(len(keys) for keys in client.processing().values())
    except (OSError, TimeoutError) as e:
        return f"not answering ({e})"
    names = ", ".join(sorted(str(w.get("name") or address) for address, w in workers.items()))
    return f"{len(workers)} worker(s) ({names or 'none'}), {running} detection(s) running"


def _security(config: ClusterConfig) -> Any:
    if config.tls_ca_file is None:
        return None
    from distributed.security import Security

    return Security(
        tls_ca_file=str(config.tls_ca_file),
        tls_client_cert=str(config.tls_cert) if config.tls_cert else None,
        tls_client_key=str(config.tls_key) if config.tls_key else None,
        require_encryption=True,
    )


def _client_class() -> Any:
    """distributed's Client. Importing distributed sets its loggers from its own config, and its client logs each
    failed reconnection with a traceback: quieted, since this module says once that the cluster is away."""
    from distributed import Client

    for name in ["distributed", *logging.root.manager.loggerDict]:
        if name.split(".")[0] == "distributed":  # its config sets some children's levels itself
            logging.getLogger(name).setLevel(logging.CRITICAL)
    return Client
