"""The unit of work that flows through the stages: one decoded profile and what happened to it.

Stages receive a list of `ProfileWork` (a batch out of one Spark partition), mutate `work.profile`
in place, and mark a failing profile with `work.fail(reason, message)`. A failed profile is skipped
by every later stage, gets its INVALID outcome and goes to quarantine with `reason` as error kind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Failure reasons of SPEC Part II §5.3, used as outcome reason and quarantine error kind.
FAILED_SYMBOLICATION = "profiling_failed_symbolication"
FAILED_DEOBFUSCATION = "profiling_failed_deobfuscation"
FAILED_NORMALIZATION = "profiling_failed_normalization"
FAILED_VROOM_INSERTION = "profiling_failed_vroom_insertion"
FAILED_VROOMRS_PROCESSING = "profiling_failed_vroomrs_processing"
# The reasons above get INVALID outcomes (Sentry's `_track_failed_outcome`).
OUTCOME_REASONS = frozenset(
    (
        FAILED_SYMBOLICATION,
        FAILED_DEOBFUSCATION,
        FAILED_NORMALIZATION,
        FAILED_VROOM_INSERTION,
        FAILED_VROOMRS_PROCESSING,
    )
)
# Steps where Sentry has no failure outcome (an exception there ends its task without one): a profile that
# fails in one is quarantined with this reason as error kind and gets no outcome.
FAILED_STACK_TRACE_RULES = "failed_stack_trace_rules"
FAILED_METRICS_DSN = "failed_metrics_dsn"
FAILED_OUTCOMES = "failed_outcomes"
FAILED_ROWS = "failed_rows"
FAILED_STAGE = "failed_stage"  # a stage the job does not name (one added without a reason)


@dataclass(frozen=True)
class Source:
    """Where a message came from: the object it was read from and its byte range there."""

    path: str
    offset: int
    length: int


@dataclass
class Failure:
    reason: str
    message: str
    # Raised where no stage expected it (caught by the fence around each profile), not a stage's own verdict.
    unexpected: bool = False


# What ends a process, never a profile's doing; anything else raised while processing one profile (a Rust
# panic of a native extension included, which is no `Exception`) fails that profile.
FATAL = (KeyboardInterrupt, SystemExit, GeneratorExit)


def describe_error(error: BaseException) -> str:
    """An exception as one line: its type and message, cut to a size a table cell holds comfortably."""
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text[:2000]}" if text else type(error).__name__


@dataclass
class ProfileWork:
    """A profile on its way through the stages.

    `profile` is the payload JSON after the envelope merge (SPEC Part II §4.2); `raw` the msgpack
    bytes of the ingest message, kept so that a failed profile can be quarantined and re-processed.
    """

    source: Source
    raw: bytes
    message: dict[str, Any]
    profile: dict[str, Any]
    format: str
    sampled: bool
    failure: Failure | None = None
    # Rows for the `functions` table and other side tables, filled by the vroom stage.
    functions: list[dict[str, Any]] = field(default_factory=list)
    occurrences: list[dict[str, Any]] = field(default_factory=list)
    chunk_metadata: dict[str, Any] | None = None
    # The profile as JSON when the vroom stage serialized it and nothing has changed it since: the payload
    # column stores these bytes instead of serializing the profile a second time.
    payload_json: bytes | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None

    def fail(self, reason: str, message: str, *, unexpected: bool = False) -> None:
        """Mark the profile as failed; the first failure wins, later stages skip it."""
        if self.failure is None:
            self.failure = Failure(reason, message, unexpected)

    @property
    def organization_id(self) -> int:
        return int(self.message["organization_id"])

    @property
    def project_id(self) -> int:
        return int(self.message["project_id"])


def live(works: list[ProfileWork]) -> list[ProfileWork]:
    """The works that have not failed yet."""
    return [work for work in works if work.ok]
