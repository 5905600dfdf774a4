"""Byte access to object storage from Python workers: plain paths, `file://` and `s3a://`.

Spark reads input and writes tables through Hadoop's filesystems; the stages that run inside Python
workers (symbol store, profiles bucket, reference data) use pyarrow's filesystems instead. Their S3
settings come from the job's `[storage]` section (`configure`, called on the driver and in every
worker), else from the AWS environment variables (`AWS_ENDPOINT_URL`, `AWS_REGION`); credentials always
come from the default AWS provider chain. Retries and timeouts are `[storage]`'s too, for pyarrow and boto3 alike.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from pyarrow import fs as pafs

from profile_pipeline.adapters.infrastructure import is_fault_the_sdk_did_not_retry
from profile_pipeline.config import StorageConfig

_S3_SCHEMES = ("s3a", "s3", "s3n")

_configured = StorageConfig()


@dataclass(frozen=True)
class S3Settings:
    """The S3 settings in force: the `[storage]` section where set, else the environment."""

    endpoint: str
    region: str
    path_style_access: bool
    retry_attempts: int = StorageConfig.retry_attempts
    connect_timeout_seconds: float = StorageConfig.connect_timeout_seconds
    request_timeout_seconds: float = StorageConfig.request_timeout_seconds


def configure(settings: StorageConfig) -> None:
    """Use the job's `[storage]` section in this process (the driver, or a Python worker)."""
    global _configured
    _configured = settings


def s3_settings() -> S3Settings:
    endpoint = _configured.endpoint or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL", "")
    region = _configured.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION", "")
    # An endpoint from the environment alone is addressed path-style, as S3-compatible stores expect.
    path_style = _configured.path_style_access if _configured.endpoint else True
    return S3Settings(
        endpoint,
        region or "us-east-1",
        path_style,
        _configured.retry_attempts,
        _configured.connect_timeout_seconds,
        _configured.request_timeout_seconds,
    )


def boto3_s3_client() -> Any:
    """A boto3 S3 client of the settings in force, with botocore's standard retries (backoff with jitter)."""
    import boto3
    from botocore.config import Config

    settings = s3_settings()
    return boto3.client(
        "s3",
        endpoint_url=settings.endpoint or None,
        region_name=settings.region,
        config=Config(
            s3={"addressing_style": "path" if settings.path_style_access else "auto"},
            retries={"mode": "standard", "total_max_attempts": settings.retry_attempts},
            connect_timeout=settings.connect_timeout_seconds,
            read_timeout=settings.request_timeout_seconds,
        ),
    )


@lru_cache(maxsize=8)
def _s3_filesystem(settings: S3Settings) -> pafs.S3FileSystem:
    endpoint = settings.endpoint
    scheme, _, host = endpoint.partition("://") if endpoint else ("", "", "")
    options: dict[str, Any] = {
        "region": settings.region,
        # The AWS SDK's default strategy: resets, timeouts, throttling and 5xx retried after 25 ms, doubled at each
        # retry. Not the standard strategy: its retry quota, shared by the process, runs out in a night of
        # throttling and then fails every request at its first fault.
        "retry_strategy": pafs.AwsDefaultS3RetryStrategy(max_attempts=settings.retry_attempts),
        "connect_timeout": settings.connect_timeout_seconds,
        "request_timeout": settings.request_timeout_seconds,
        # An object under the part size goes in one PUT, sent again whole after a lost answer, rather than a
        # multipart upload of three requests whose completion a lost answer leaves in doubt.
        "allow_delayed_open": True,
    }
    if endpoint:
        options.update(endpoint_override=host or scheme, scheme=scheme if host else "https")
        options["force_virtual_addressing"] = not settings.path_style_access
    return pafs.S3FileSystem(**options)


def resolve(uri: str) -> tuple[pafs.FileSystem, str]:
    """The filesystem that holds `uri` and the path of `uri` inside it.

    URIs are Hadoop's, as Spark lists them: not percent-encoded, so `#` and `?` are part of the path.
    """
    parsed = urlsplit(uri, allow_fragments=False)
    path = f"{parsed.path}?{parsed.query}" if parsed.query else parsed.path
    if parsed.scheme in _S3_SCHEMES:
        return _s3_filesystem(s3_settings()), f"{parsed.netloc}{path}"
    if parsed.scheme in ("", "file"):
        return pafs.LocalFileSystem(), os.path.abspath(path if parsed.scheme == "file" else uri)
    raise ValueError(f"unsupported storage scheme {parsed.scheme!r} in {uri}")


def join(uri: str, *parts: str) -> str:
    return "/".join([uri.rstrip("/"), *(part.strip("/") for part in parts)])


_FIRST_READ_BACKOFF_SECONDS = 0.05
_LONGEST_READ_BACKOFF_SECONDS = 5.0


def read_bytes(uri: str) -> bytes:
    """The object's bytes as stored (pyarrow would otherwise decompress by file extension).

    A fault the AWS SDK did not retry itself is read again with backoff, `retry_attempts` times in all; every
    other fault the SDK has already retried that often, so a read's time stays bounded. A read changes nothing,
    so doing it again is harmless.
    """
    filesystem, path = resolve(uri)
    attempt = 1
    while True:
        try:
            with filesystem.open_input_stream(path, compression=None) as stream:
                return stream.read()
        except OSError as error:
            if attempt >= _configured.retry_attempts or not is_fault_the_sdk_did_not_retry(error):
                raise
            time.sleep(min(_FIRST_READ_BACKOFF_SECONDS * 2 ** (attempt - 1), _LONGEST_READ_BACKOFF_SECONDS))
            attempt += 1


def exists(uri: str) -> bool:
    filesystem, path = resolve(uri)
    return filesystem.get_file_info(path).type != pafs.FileType.NotFound


# On local disk an object is written under a hidden name beside it, then renamed: listings skip hidden names,
# so a reader never sees a partial object. A writer killed mid-write leaves that name behind.
_PARTIAL_MARK = ".tmp-"


def _partial_name(name: str) -> str:
    """The hidden name of a write of `name` in progress, unique to the writing process and thread."""
    return f".{name}{_PARTIAL_MARK}{os.getpid()}-{threading.get_ident()}"


def partial_writes(directory_uri: str) -> dict[str, list[str]]:
    """The partial writes killed writers left in a local directory, by the name of the object each was writing
    (their bytes are that object's data); none on object storage, where an object is one PUT."""
    filesystem, directory = resolve(directory_uri)
    if not isinstance(filesystem, pafs.LocalFileSystem) or not os.path.isdir(directory):
        return {}
    found: dict[str, list[str]] = {}
    for entry in os.scandir(directory):
        if entry.name.startswith(".") and _PARTIAL_MARK in entry.name:
            owner = entry.name[1 : entry.name.rindex(_PARTIAL_MARK)]
            found.setdefault(owner, []).append(join(directory_uri, entry.name))
    return found


def write_bytes(uri: str, data: bytes) -> None:
    """Write an object whole and as given (pyarrow would otherwise compress by file extension): to a temporary
    name then renamed on local disk, one PUT on S3."""
    filesystem, path = resolve(uri)
    if isinstance(filesystem, pafs.LocalFileSystem):
        try:
            _write_through_temporary(filesystem, path, data)
        except FileNotFoundError:  # a maintenance run removed the directory it had emptied, just after it was made
            _write_through_temporary(filesystem, path, data)
        return
    with filesystem.open_output_stream(path, compression=None) as stream:
        stream.write(data)


def _write_through_temporary(filesystem: pafs.FileSystem, path: str, data: bytes) -> None:
    # Only a disk needs the directories; on S3 they would be empty marker objects.
    directory, name = path.rsplit("/", 1)
    filesystem.create_dir(directory, recursive=True)
    temporary = f"{directory}/{_partial_name(name)}"
    with filesystem.open_output_stream(temporary, compression=None) as stream:
        stream.write(data)
    filesystem.move(temporary, path)
