"""A Symbolicator service as a backend: the HTTP protocol of SPEC Part II §6, as Symbolicator 25.11.1 reads it.

Create a task, long-poll `GET /requests/{id}` while it is pending, re-submit when the task is gone
(404), move to another instance with backoff on 502/503, retry network errors, and give up at the
request deadline. Giving up answers None: the profiles continue unsymbolicated with
`symbolicator_error` set (SPEC §I.7). Another HTTP error is a failed answer whose message holds the
status and the body Symbolicator gave, so that the cause shows in `symbolicator_error` and the log.

Symbolicator reads `timeout` as whole seconds. `/symbolicate` and `/symbolicate-jvm` get the configured
`sources` (JVM mappings are found only in `sentry` ones); `/symbolicate-js` takes one `source`, which
must be a `sentry` source: the first one configured. Source definitions carry tokens: they are never
logged.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from profile_pipeline.adapters.symbolicator.protocol import Body
from profile_pipeline.adapters.worker_cache import worker_singleton
from profile_pipeline.config import SymbolicationConfig

logger = logging.getLogger(__name__)

# What Sentry's client makes of a request Symbolicator would refuse (SPEC §6.1).
FAILED_ANSWER = {"status": "failed", "message": "internal server error"}
# How much of an error body goes into `symbolicator_error` and the log.
_ERROR_BODY_CHARS = 500


def failed_answer(response: requests.Response) -> Body:
    """A failed answer that says what Symbolicator answered: `HTTP <status>: <body>`."""
    body = response.text.strip()[:_ERROR_BODY_CHARS]
    return {
        "status": "failed",
        "message": f"HTTP {response.status_code}: {body}" if body else f"HTTP {response.status_code}",
    }


def _session(url: str) -> requests.Session:
    """One pooled session per worker process and Symbolicator URL."""

    def create() -> requests.Session:
        session = requests.Session()
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=16)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        return session

    return worker_singleton(("symbolicator-session", url), create)


class SymbolicatorBackend:
    def __init__(self, config: SymbolicationConfig, project_id: int) -> None:
        self.config = config
        self.project_id = project_id
        self.url = config.symbolicator_url.rstrip("/")
        self.session = _session(self.url)

    def native(self, request: Body) -> Body | None:
        return self._run("/symbolicate", {**request, "sources": list(self.config.sources)})

    def js(self, request: Body) -> Body | None:
        body = dict(request)
        source = next((source for source in self.config.sources if source.get("type") == "sentry"), None)
        if source is not None:
            body["source"] = source
        return self._run("/symbolicate-js", body)

    def jvm(self, request: Body) -> Body | None:
        return self._run("/symbolicate-jvm", {**request, "sources": list(self.config.sources)})

    def _run(self, path: str, body: Body) -> Body | None:
        config = self.config
        deadline = time.monotonic() + config.request_deadline_seconds
        worker_id = uuid.uuid4().hex
        backoff = config.backoff_initial_seconds
        request_id: str | None = None
        network_failures = 0
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                logger.warning("symbolicator %s: deadline of %ss passed", path, config.request_deadline_seconds)
                return None
            params: dict[str, Any] = {
                "timeout": _whole_seconds(config.poll_timeout_seconds),
                "scope": str(self.project_id),
            }
            headers = {"x-sentry-project-id": str(self.project_id), "x-sentry-worker-id": worker_id}
            timeout = min(config.poll_timeout_seconds + 1, remaining)
            try:
                if request_id is None:
                    response = self.session.post(
                        self.url + path, json=body, params=params, headers=headers, timeout=timeout
                    )
                else:
                    response = self.session.get(
                        f"{self.url}/requests/{request_id}", params=params, headers=headers, timeout=timeout
                    )
            except requests.RequestException as error:
                network_failures += 1
                if network_failures > config.network_retries:
                    logger.warning(
                        "symbolicator %s: giving up after %s (%d tries)", path, type(error).__name__, network_failures
                    )
                    return None
                self._wait(config.network_retry_wait_seconds * 2 ** (network_failures - 1), deadline)
                continue
            if response.status_code == 404 and request_id is not None:
                request_id = None  # the task was dropped (restart, eviction): submit it again
                continue
            if response.status_code in (502, 503):
                worker_id = uuid.uuid4().hex
                self._wait(backoff, deadline)
                backoff = min(backoff * 2, config.backoff_max_seconds)
                request_id = None
                continue
            if not response.ok:
                failed = failed_answer(response)
                logger.warning("symbolicator %s: %s", path, failed["message"])
                return failed
            try:
                answer = response.json()
            except ValueError:
                answer = None
            if not isinstance(answer, dict):
                failed = failed_answer(response)
                failed["message"] = f"answer is not a JSON object ({failed['message']})"
                logger.warning("symbolicator %s: %s", path, failed["message"])
                return failed
            if answer.get("status") == "pending" and isinstance(answer.get("request_id"), str):
                request_id = answer["request_id"]
                continue
            return answer

    @staticmethod
    def _wait(seconds: float, deadline: float) -> None:
        time.sleep(max(0.0, min(seconds, deadline - time.monotonic())))


def _whole_seconds(seconds: float) -> int:
    """Symbolicator's `timeout` is an integer: the configured wait rounded up, at least one second."""
    return max(1, math.ceil(seconds))
