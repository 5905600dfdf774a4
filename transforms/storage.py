"""Byte access to object storage from Python workers: plain paths, `file://` and `s3a://`.

Spark reads input and writes tables through Hadoop's filesystems; the stages that run inside Python
workers (symbol store, profiles bucket, reference data) use pyarrow's filesystems instead, configured
from the same environment variables as Hadoop's `s3a` connector (`AWS_ENDPOINT_URL`, `AWS_REGION`,
credentials from the default AWS provider chain).
"""

from __future__ import annotations

import os
from functools import lru_cache
from urllib.parse import urlparse

from pyarrow import fs as pafs

_S3_SCHEMES = ("s3a", "s3", "s3n")


@lru_cache(maxsize=8)
def _s3_filesystem(endpoint: str, region: str) -> pafs.S3FileSystem:
    scheme, _, host = endpoint.partition("://") if endpoint else ("", "", "")
    options = {"region": region or "us-east-1"}
    if endpoint:
        options.update(endpoint_override=host or scheme, scheme=scheme if host else "https")
        options["force_virtual_addressing"] = False
    return pafs.S3FileSystem(**options)


def resolve(uri: str) -> tuple[pafs.FileSystem, str]:
    """The filesystem that holds `uri` and the path of `uri` inside it."""
    parsed = urlparse(uri)
    if parsed.scheme in _S3_SCHEMES:
        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL", "")
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION", "")
        return _s3_filesystem(endpoint, region), f"{parsed.netloc}{parsed.path}"
    if parsed.scheme in ("", "file"):
        path = parsed.path if parsed.scheme == "file" else uri
        return pafs.LocalFileSystem(), os.path.abspath(path)
    raise ValueError(f"unsupported storage scheme {parsed.scheme!r} in {uri}")


def join(uri: str, *parts: str) -> str:
    return "/".join([uri.rstrip("/"), *(part.strip("/") for part in parts)])


def read_bytes(uri: str) -> bytes:
    filesystem, path = resolve(uri)
    with filesystem.open_input_stream(path) as stream:
        return stream.read()


def exists(uri: str) -> bool:
    filesystem, path = resolve(uri)
    return filesystem.get_file_info(path).type != pafs.FileType.NotFound


def write_bytes(uri: str, data: bytes) -> None:
    """Write an object whole: to a temporary name then renamed on local disk, one PUT on S3."""
    filesystem, path = resolve(uri)
    parent = path.rsplit("/", 1)[0]
    filesystem.create_dir(parent, recursive=True)
    if isinstance(filesystem, pafs.LocalFileSystem):
        temporary = f"{path}.tmp-{os.getpid()}"
        with filesystem.open_output_stream(temporary) as stream:
            stream.write(data)
        filesystem.move(temporary, path)
        return
    with filesystem.open_output_stream(path) as stream:
        stream.write(data)
