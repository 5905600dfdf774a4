"""The job's configuration: typed sections loaded from TOML, validated at start, overridden by flags.

Every section is a frozen dataclass; its fields are the keys a TOML table may hold. An unknown key or
a value of the wrong type is a `ConfigError` naming the key, raised before any Spark work starts.
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MiB = 1024 * 1024


class ConfigError(ValueError):
    """A configuration file or flag that cannot be used, with the key at fault in the message."""


@dataclass(frozen=True)
class Limits:
    """Bad-input limits (SPEC §I.8). Anything over a limit is quarantined as `too_large`."""

    max_object_bytes: int = 512 * MiB
    max_decompressed_object_bytes: int = 2048 * MiB
    max_message_bytes: int = 50 * MiB
    max_payload_bytes: int = 50 * MiB
    max_frames: int = 200_000
    max_samples: int = 1_000_000
    max_stacks: int = 200_000
    max_methods: int = 200_000
    # Raw bytes over this size are kept in quarantine as a reference (object, offset, length).
    max_quarantine_raw_bytes: int = 8 * MiB


@dataclass(frozen=True)
class SymbolicationConfig:
    mode: str = "embedded"  # embedded | symbolicator | off
    symbols: str = "symbols"  # symbol store URI (Symbolicator `unified` layout)
    symbolicator_url: str = ""
    # Symbolicator `sources` list, as JSON objects (filesystem, http, s3, sentry source types).
    sources: tuple[dict[str, Any], ...] = ()
    poll_timeout_seconds: float = 5.0
    request_deadline_seconds: float = 900.0
    network_retries: int = 3
    max_frames_per_request: int = 50_000
    cache_entries: int = 64
    cache_bytes: int = 1024 * MiB
    # 502/503: exponential backoff from the initial wait, doubling up to the max (SPEC Part II §6.1).
    backoff_initial_seconds: float = 0.1
    backoff_max_seconds: float = 5.0
    # Network errors: waits of this, then twice, then four times as long between retries.
    network_retry_wait_seconds: float = 0.5


@dataclass(frozen=True)
class VroomConfig:
    mode: str = "embedded"  # embedded | http | off
    url: str = ""
    profiles_bucket: str = "profiles-bucket"
    max_in_flight: int = 16
    timeout_seconds: float = 15.0
    retry_budget: int = 5
    backoff_initial_seconds: float = 0.1
    backoff_max_seconds: float = 5.0


@dataclass(frozen=True)
class MetricsDsnOptions:
    """[A]'s metrics DSN block (SPEC Part II §4.11), off by default (SPEC §I.10)."""

    enabled: bool = False
    allowed_org_ids: tuple[int, ...] = ()
    rollout_rate: float = 0.0
    denied_project_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class SentryOptions:
    """Options of Sentry's processing task (SPEC Part II), by their Sentry meaning."""

    unsampled_profiles_enabled: bool = False  # profiling.profile_metrics.unsampled_profiles.enabled
    stack_trace_rules_enabled: bool = True  # profiling.stack_trace_rules.enabled
    emit_duration_outcomes: bool = True  # should_emit_profile_duration_outcome
    default_retention_days: int = 90
    metrics_dsn: MetricsDsnOptions = field(default_factory=MetricsDsnOptions)


@dataclass(frozen=True)
class StorageConfig:
    """Object storage (`s3a://`) for Spark's s3a connector and the Python workers alike.

    Empty values leave the choice to the environment (`AWS_ENDPOINT_URL`, `AWS_REGION`) or to Spark's own
    `spark.hadoop.fs.s3a.*` settings. Credentials are never configured here: both sides take them from the
    environment or the AWS provider chain (instance profile, web identity).
    """

    endpoint: str = ""  # e.g. http://minio.internal:9000; empty: AWS S3
    region: str = ""
    path_style_access: bool = False  # bucket in the path, not the host name (MinIO, Ceph, most non-AWS stores)
    # Retries of a failed request (reset, timeout, throttling, 5xx), with each client's exponential backoff:
    # pyarrow's S3 filesystem (the workers), boto3 (the day locks) and s3a (Spark and Delta); docs/operations.md.
    retry_attempts: int = 10  # attempts of one request, the first included
    retry_interval_seconds: float = 0.5  # s3a's first wait between attempts, doubled at each retry
    connect_timeout_seconds: float = 5.0
    request_timeout_seconds: float = 60.0  # a request without an answer for this long is failed, then retried


@dataclass(frozen=True)
class LockConfig:
    """The per-day lock that refuses a second run of a day (see `profile_pipeline/run/day_lock.py`)."""

    # A lock whose holder has not renewed it for this long is stale and may be taken over.
    expiry_seconds: float = 600.0
    heartbeat_seconds: float = 30.0


@dataclass(frozen=True)
class KafkaConfig:
    """How the archiver reaches the topic. Secrets never go here: the SASL password is read from the
    environment variable named by `sasl_password_env` (docs/operations.md, the archiver)."""

    bootstrap_servers: str = ""
    topic: str = "profiles"
    security_protocol: str = "PLAINTEXT"  # PLAINTEXT | SSL | SASL_PLAINTEXT | SASL_SSL
    sasl_mechanism: str = ""  # PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512
    sasl_username: str = ""
    sasl_password_env: str = "PROFILE_PIPELINE_KAFKA_PASSWORD"
    # Further consumer settings (`ssl.truststore.location`, `client.id`, ...), passed as `kafka.<key>`.
    consumer: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ArchiveConfig:
    """The archiver (`jobs/archive_ingest.py`): from the Kafka topic into `<archive>/dt=D/` objects."""

    archive: str = ""  # default: the job's `input`, so that the processing job reads what is archived
    checkpoint: str = ""  # default: <archive>/_checkpoint
    starting_offsets: str = "earliest"  # earliest | latest | an ISO-8601 time (the first start only)
    trigger_seconds: float = 60.0  # continuous mode: a micro-batch every this many seconds
    max_offsets_per_trigger: int = 0  # 0: no bound
    object_bytes: int = 64 * MiB  # an archive object is cut once it holds this many uncompressed bytes
    # A day is complete once every partition is this far past its end (docs/operations.md, the archiver).
    lateness_seconds: float = 3600.0
    # Days up to this far back are looked at again for late messages (and their markers rewritten).
    late_horizon_days: int = 7
    kafka: KafkaConfig = field(default_factory=KafkaConfig)


@dataclass(frozen=True)
class RegressionConfig:
    """Function regressions (`jobs/detect_regressions.py`), after Sentry's statistical detector for functions.

    Sentry's detector runs hourly: exponential moving averages of 20 and 40 hourly points, a relative
    threshold of 0.2, 6 points before it trusts the averages, a 100 ms smallest change of p95, the 50 most
    called application functions of each project. Daily points need shorter spans: with Sentry's, even a
    doubled p95 never lifts the short average 20% over the long one.
    """

    window_days: int = 30  # days of daily p95s that a day's detection looks back over
    short_days: int = 3  # spans of the short and long moving averages: weight 2 / (span + 1)
    long_days: int = 14
    threshold: float = 0.2  # the short average's relative rise over the long one that flags a function
    min_data_points: int = 6  # days with data before the averages are trusted
    min_change_ns: int = 100_000_000  # smallest rise of the p95 worth a regression
    functions_per_project: int = 50  # the project's most called functions of the day are looked at
    application_only: bool = True  # in-app functions only, as Sentry
    examples: int = 3  # example profile ids kept on each side of the breakpoint


@dataclass(frozen=True)
class MaintenanceConfig:
    """The maintenance job's lifecycle of the tables (docs/operations.md, "Maintaining the tables")."""

    # Kept longer than the profiles they count: they feed billing-style reports.
    outcomes_retention_days: int = 395
    job_runs_retention_days: int = 395
    maintenance_runs_retention_days: int = 395
    # Delta's time-travel window: files a DELETE unlinked are purged and vacuumed once they are this old.
    vacuum_hours: float = 168.0
    # Days at least this old are no longer written by the nightly run: they are compacted.
    compact_after_days: int = 3
    target_file_bytes: int = 128 * MiB
    # A table's vacuum lists its whole directory (FULL) at least this often, and in every run that deletes rows
    # of it, to find files no commit references (left by killed writers); otherwise it reads the log alone (LITE).
    full_vacuum_days: int = 7


@dataclass(frozen=True)
class JobConfig:
    input: str = ""
    warehouse: str = "warehouse"
    # Per-organization/project reference data (retention, DSN keys, stack-trace rules): a JSON file.
    reference: str = ""
    # Profiles processed together inside a partition: the unit of batching and of worker memory.
    batch_profiles: int = 500
    # Share of a day's messages that may fail unexpectedly (a fault of the job, not of the input) before the
    # day is recorded as failed and left unpublished: a bug that fails every profile must not pass quietly.
    max_unexpected_failure_share: float = 0.05
    limits: Limits = field(default_factory=Limits)
    symbolication: SymbolicationConfig = field(default_factory=SymbolicationConfig)
    vroom: VroomConfig = field(default_factory=VroomConfig)
    options: SentryOptions = field(default_factory=SentryOptions)
    storage: StorageConfig = field(default_factory=StorageConfig)
    locks: LockConfig = field(default_factory=LockConfig)
    # Process a day only once the archiver has declared it complete (`--require-complete`).
    require_complete: bool = False
    archive: ArchiveConfig = field(default_factory=ArchiveConfig)
    regressions: RegressionConfig = field(default_factory=RegressionConfig)
    maintenance: MaintenanceConfig = field(default_factory=MaintenanceConfig)


def load_config(path: str | Path | None, overrides: dict[str, Any] | None = None) -> JobConfig:
    """Read a TOML file (or start from the defaults) and apply dotted-key overrides from flags."""
    data: dict[str, Any] = {}
    if path is not None:
        try:
            with open(path, "rb") as handle:
                data = tomllib.load(handle)
        except OSError as error:
            raise ConfigError(f"cannot read config {path}: {error.strerror or error}") from None
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"config {path} is not valid TOML: {error}") from None
    for dotted, value in (overrides or {}).items():
        if value is None:
            continue
        target = data
        *parents, leaf = dotted.split(".")
        for part in parents:
            target = target.setdefault(part, {})
        target[leaf] = value
    config = _build(JobConfig, data, "")
    _check(config)
    return config


def _build(cls: type, data: Any, prefix: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"config key {prefix.rstrip('.') or 'config'} must be a table")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"unknown config key {prefix}{unknown[0]}")
    values = {name: _convert(hints[name], value, f"{prefix}{name}") for name, value in data.items()}
    return cls(**values)


def _convert(hint: Any, value: Any, key: str) -> Any:
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, f"{key}.")
    origin = typing.get_origin(hint)
    if origin is tuple:
        if not isinstance(value, list):
            raise ConfigError(f"config key {key} must be a list")
        (item_hint, _) = typing.get_args(hint)
        return tuple(_convert(item_hint, item, key) for item in value)
    if origin in (typing.Union, types.UnionType):
        for option in typing.get_args(hint):
            try:
                return _convert(option, value, key)
            except ConfigError:
                continue
        raise ConfigError(f"config key {key} has the wrong type ({type(value).__name__})")
    if hint is Any:
        return value
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint is dict or origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"config key {key} must be a table")
        return value
    if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
        expected = getattr(hint, "__name__", str(hint))
        raise ConfigError(f"config key {key} must be {expected}, not {type(value).__name__}")
    return value


def _check(config: JobConfig) -> None:
    modes = {
        "symbolication.mode": (config.symbolication.mode, ("embedded", "symbolicator", "off")),
        "vroom.mode": (config.vroom.mode, ("embedded", "http", "off")),
    }
    for key, (value, allowed) in modes.items():
        if value not in allowed:
            raise ConfigError(f"config key {key} must be one of {', '.join(allowed)}, not {value!r}")
    if config.symbolication.mode == "symbolicator" and not config.symbolication.symbolicator_url:
        raise ConfigError("symbolication mode 'symbolicator' needs symbolication.symbolicator_url")
    if config.vroom.mode == "http" and not config.vroom.url:
        raise ConfigError("vroom mode 'http' needs vroom.url")
    if config.storage.retry_attempts < 1:
        raise ConfigError("config key storage.retry_attempts must be at least 1")
    if min(config.storage.connect_timeout_seconds, config.storage.request_timeout_seconds) <= 0:
        raise ConfigError("config keys storage.connect_timeout_seconds and request_timeout_seconds must be above 0")
    if config.batch_profiles < 1:
        raise ConfigError("config key batch_profiles must be at least 1")
    if not 0.0 < config.locks.heartbeat_seconds < config.locks.expiry_seconds:
        raise ConfigError("config key locks.heartbeat_seconds must be above 0 and below locks.expiry_seconds")
    if not 0.0 <= config.max_unexpected_failure_share <= 1.0:
        raise ConfigError("config key max_unexpected_failure_share must be between 0 and 1")
    care = config.maintenance
    for key in ("outcomes_retention_days", "job_runs_retention_days", "maintenance_runs_retention_days"):
        if getattr(care, key) < 1:
            raise ConfigError(f"config key maintenance.{key} must be at least 1")
    if care.vacuum_hours < 0 or care.compact_after_days < 0 or care.target_file_bytes < 1:
        raise ConfigError("config keys maintenance.vacuum_hours and compact_after_days must be 0 or more")
    if care.full_vacuum_days < 1:
        raise ConfigError("config key maintenance.full_vacuum_days must be at least 1")
    if not 0.0 <= config.options.metrics_dsn.rollout_rate <= 1.0:
        raise ConfigError("config key options.metrics_dsn.rollout_rate must be between 0 and 1")
    _check_archive(config.archive)
    _check_regressions(config.regressions)


_SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
_SASL_MECHANISMS = ("", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


def _check_archive(archive: ArchiveConfig) -> None:
    kafka = archive.kafka
    if kafka.security_protocol not in _SECURITY_PROTOCOLS:
        raise ConfigError(f"config key archive.kafka.security_protocol must be one of {', '.join(_SECURITY_PROTOCOLS)}")
    if kafka.sasl_mechanism not in _SASL_MECHANISMS:
        raise ConfigError(f"config key archive.kafka.sasl_mechanism must be one of {', '.join(_SASL_MECHANISMS[1:])}")
    for key in kafka.consumer:
        # A password in a file ends up in backups and job_runs: secrets come from the environment only.
        if any(word in key.lower() for word in ("password", "jaas", "secret")):
            raise ConfigError(f"config key archive.kafka.consumer.{key} holds a secret: give it in the environment")
    if archive.trigger_seconds <= 0 or archive.object_bytes < 1 or archive.max_offsets_per_trigger < 0:
        raise ConfigError("config keys archive.trigger_seconds, object_bytes > 0, max_offsets_per_trigger >= 0")
    if archive.lateness_seconds < 0 or archive.late_horizon_days < 1:
        raise ConfigError("config key archive.lateness_seconds must be >= 0 and archive.late_horizon_days >= 1")


def _check_regressions(settings: RegressionConfig) -> None:
    if not 1 <= settings.short_days < settings.long_days:
        raise ConfigError("config key regressions.short_days must be at least 1 and below regressions.long_days")
    if settings.window_days <= settings.min_data_points:
        raise ConfigError("config key regressions.window_days must be above regressions.min_data_points")
    if settings.min_data_points < 3:
        raise ConfigError("config key regressions.min_data_points must be at least 3")
    if settings.threshold <= 0.0:
        raise ConfigError("config key regressions.threshold must be above 0")
    if settings.functions_per_project < 1 or settings.examples < 1:
        raise ConfigError("config keys regressions.functions_per_project and regressions.examples must be at least 1")
