"""Days of Python profiles in which one function gets slower with a new release, another stays as it was.

Every profile is one request to `TRANSACTION` on the active thread: the endpoint loads the orders (`STEADY`,
the same time in every release), serializes them (`REGRESSED`, several times slower from `release_day` on)
and dumps them as JSON (a library function). The rest of the profile (ids, SDK, threads' names, release,
transaction) is a generated `python_v1` profile's.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from synthetic.messages import ingest_message, pack
from synthetic.profiles import ProfileSpec, generate

ORGANIZATION_ID, PROJECT_ID = 1, 2
TRANSACTION = "/api/0/orders/"
RELEASES = ("orders@1.4.0", "orders@1.5.0")
REGRESSED = ("OrderSerializer.serialize_orders", "app.services.orders")
STEADY = ("OrderQuery.load_orders", "app.models.orders")
_ENDPOINT = ("OrdersEndpoint.get", "app.api.endpoints.orders")
_LIBRARY = ("dumps", "json")
_INTERVAL_NS = 10_000_000
# Samples (of 10 ms) per request: the serializer's before and after the release, the query's always.
SERIALIZE_TICKS = {RELEASES[0]: (3, 6), RELEASES[1]: (25, 35)}
LOAD_TICKS = (8, 12)


@dataclass(frozen=True)
class RegressionDays:
    days: tuple[date, ...]
    release_day: date  # the first day of the slower release
    profiles_per_day: int


def _frame(function: str, module: str, in_app: bool) -> dict[str, Any]:
    path = (
        f"/srv/app/src/{module.replace('.', '/')}.py" if in_app else f"/usr/local/lib/python3.11/{module}/__init__.py"
    )
    frame = {"abs_path": path, "filename": path.rsplit("/", 1)[-1], "function": function, "module": module}
    return {**frame, "lineno": 10, "in_app": in_app}


def request_profile(rng: random.Random, release: str, start: float) -> dict[str, Any]:
    """A generated Python profile whose active thread handles one request in known steps."""
    profile = generate("python_v1", rng, ProfileSpec(target_bytes=3_000, release=release, start=start))
    thread = profile["transaction"]["active_thread_id"]
    frames = [_frame(*_ENDPOINT, True), _frame(*REGRESSED, True), _frame(*STEADY, True), _frame(*_LIBRARY, False)]
    stacks = [[0], [1, 0], [2, 0], [3, 1, 0]]  # leaf first: endpoint; serialize; load; dumps under serialize
    steps = [(0, 1), (2, rng.randint(*LOAD_TICKS)), (1, rng.randint(*SERIALIZE_TICKS[release])), (3, 2), (0, 2)]
    stack_ids = [stack for stack, ticks in steps for _ in range(ticks)]
    samples = [
        {"stack_id": stack, "thread_id": thread, "elapsed_since_start_ns": tick * _INTERVAL_NS}
        for tick, stack in enumerate(stack_ids)
    ]
    name = profile["profile"]["thread_metadata"][str(thread)]["name"]
    profile["profile"] = {
        "samples": samples,
        "stacks": stacks,
        "frames": frames,
        "thread_metadata": {str(thread): {"name": name}},
    }
    duration = (len(samples) - 1) * _INTERVAL_NS
    profile["transaction"].update(name=TRANSACTION, relative_end_ns=duration)
    profile["transaction_metadata"].update(
        {"transaction": TRANSACTION, "transaction.end": datetime.fromtimestamp(start + duration / 1e9, UTC).isoformat()}
    )
    return profile


def write_regression_days(
    root: str | Path, first: date, days: int = 8, release_day: int = 6, profiles_per_day: int = 8, seed: int = 0
) -> RegressionDays:
    """`<root>/dt=<day>/part-00000.msgpack` for `days` days from `first`; the new release from day `release_day`."""
    rng = random.Random(seed)
    written = tuple(first + timedelta(days=offset) for offset in range(days))
    for index, day in enumerate(written):
        release = RELEASES[index >= release_day]
        day_start = int(datetime.combine(day, datetime.min.time(), UTC).timestamp())
        directory = Path(root) / f"dt={day.isoformat()}"
        directory.mkdir(parents=True, exist_ok=True)
        with open(directory / "part-00000.msgpack", "wb") as stream:
            for _ in range(profiles_per_day):
                received = day_start + rng.randrange(60, 86_340)
                profile = request_profile(rng, release, received - rng.uniform(1.0, 30.0))
                message = ingest_message(
                    profile, organization_id=ORGANIZATION_ID, project_id=PROJECT_ID, received=received, sampled=True
                )
                stream.write(pack(message))
    return RegressionDays(written, written[release_day], profiles_per_day)
