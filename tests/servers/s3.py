"""An S3-compatible server on 127.0.0.1 for tests: moto's server mode in a thread.

It speaks the S3 REST API over HTTP, path-style, with any credentials, including conditional writes
(`If-None-Match: *`), so Spark's s3a connector, pyarrow's S3 filesystem and boto3 all talk to it as to S3.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
import requests
from moto.server import ThreadedMotoServer

REGION = "us-east-1"
# Placeholder credentials: the server accepts any; they reach every client through the environment.
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test-access-key", "AWS_SECRET_ACCESS_KEY": "test-secret-key"}


@dataclass(frozen=True)
class S3Server:
    endpoint: str

    @property
    def environment(self) -> dict[str, str]:
        """Variables a client process needs: credentials and region (the endpoint comes from configuration)."""
        return {**CREDENTIALS, "AWS_REGION": REGION}

    def client(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    def create_bucket(self, name: str) -> None:
        self.client().create_bucket(Bucket=name)

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


def refusing_endpoint() -> str:
    """An endpoint on 127.0.0.1 that refuses connections: a port that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


@contextmanager
def running_s3_server() -> Iterator[S3Server]:
    """Serve S3 on a free port of 127.0.0.1 until the block ends, empty when it starts.

    moto keeps its buckets in the process, shared by every server it runs: the state of an earlier test
    module's server is reset, so that no module sees another's buckets.
    """
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    requests.post(f"{endpoint}/moto-api/reset", timeout=30).raise_for_status()
    try:
        yield S3Server(endpoint=endpoint)
    finally:
        server.stop()


@pytest.fixture(scope="module", name="s3_server")
def s3_server_fixture() -> Iterator[S3Server]:
    """The server for a test module (import this fixture), its credentials and region in the environment."""
    with running_s3_server() as s3, pytest.MonkeyPatch.context() as patch:
        for name, value in s3.environment.items():
            patch.setenv(name, value)
        yield s3
