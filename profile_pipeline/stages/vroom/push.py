"""The HTTP vroom mode: `POST /profile` and `POST /chunk` to a vroom service (SPEC Part II §7, §4.12).

Bodies are the processed profile as JSON, brotli-compressed as Sentry sends them. A batch is pushed
with at most `vroom.max_in_flight` requests at a time over one pooled session per worker process.
429, 5xx and network errors are retried with exponential backoff within `vroom.retry_budget`; 412
("already stored") is a success, so that re-runs and retried tasks are idempotent (SPEC §I.7).

vroom extracts function metrics itself in this mode, so the `functions` table stays empty for the
profiles pushed here; it also stores their blobs, occurrences and chunk metadata.
"""

from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import brotli
import orjson
import requests
from requests.adapters import HTTPAdapter

from profile_pipeline.adapters.worker_cache import worker_singleton
from profile_pipeline.config import VroomConfig
from profile_pipeline.formats import is_chunk
from profile_pipeline.stages.metrics_dsn import redact_dsn
from profile_pipeline.work import FAILED_VROOM_INSERTION, ProfileWork

BROTLI_QUALITY = 6
HEADERS = {"Content-Type": "application/json", "Content-Encoding": "br", "Accept-Encoding": "br, gzip"}
STORED = 204
ALREADY_STORED = 412
RETRIED_STATUSES = frozenset({429})  # and every 5xx


def push_batch(works: list[ProfileWork], config: VroomConfig) -> None:
    """Push every profile of the batch; a profile vroom did not take gets its insertion failure."""
    if not works:
        return
    session = vroom_session(config.url, config.max_in_flight)
    with ThreadPoolExecutor(max_workers=min(config.max_in_flight, len(works))) as pool:
        failures = list(pool.map(lambda work: push_profile(session, config, work.profile), works))
    for work, failure in zip(works, failures, strict=True):
        if failure is not None:
            work.fail(FAILED_VROOM_INSERTION, redact_dsn(failure, work.profile))


def vroom_session(url: str, max_in_flight: int) -> requests.Session:
    """One session per worker process and vroom URL, its pool as large as the requests in flight."""

    def create() -> requests.Session:
        session = requests.Session()
        # Retries are ours (below), so that backoff and budget are the same for every kind of fault.
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=max_in_flight, max_retries=0)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        return session

    return worker_singleton(("vroom-session", url, max_in_flight), create)


def endpoint(profile: dict[str, Any]) -> str:
    return "/chunk" if is_chunk(profile) else "/profile"


def encode_body(profile: dict[str, Any]) -> bytes:
    return brotli.compress(orjson.dumps(profile), mode=brotli.MODE_TEXT, quality=BROTLI_QUALITY)


def push_profile(session: requests.Session, config: VroomConfig, profile: dict[str, Any]) -> str | None:
    """POST one profile; None when vroom stored it (now or before), else why it did not."""
    path = endpoint(profile)
    try:
        body = encode_body(profile)
    except (TypeError, orjson.JSONEncodeError) as error:
        return f"profile cannot be encoded for vroom: {error}"
    url = config.url.rstrip("/") + path
    attempts = config.retry_budget + 1
    problem = ""
    for attempt in range(attempts):
        if attempt:
            time.sleep(backoff_seconds(config, attempt))
        try:
            response = session.post(url, data=body, headers=HEADERS, timeout=config.timeout_seconds)
        except requests.RequestException as error:
            problem = f"{type(error).__name__} on POST {path}"
            continue
        status = response.status_code
        response.close()
        if status in (STORED, ALREADY_STORED):
            return None
        problem = f"vroom answered {status} to POST {path}"
        if status not in RETRIED_STATUSES and status < 500:
            return problem
    return f"{problem} (after {attempts} attempts)"


def backoff_seconds(config: VroomConfig, attempt: int) -> float:
    """Exponential backoff before retry `attempt` (1-based), capped, with jitter so workers spread out."""
    ceiling = min(config.backoff_initial_seconds * 2 ** (attempt - 1), config.backoff_max_seconds)
    return ceiling / 2 + random.uniform(0, ceiling / 2)
