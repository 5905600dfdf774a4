"""Which errors are the infrastructure's (storage, a service's transport) and not a profile's.

The errors are real: each client is sent to a port of 127.0.0.1 that nothing listens on, once, and the error
it raises is classified.
"""

from __future__ import annotations

import gzip

import boto3
import pytest
import requests
from botocore.config import Config
from pyarrow import fs as pafs
from servers.s3 import refusing_endpoint

from profile_pipeline.adapters import storage
from profile_pipeline.adapters.infrastructure import (
    is_fault_the_sdk_did_not_retry,
    is_infrastructure_fault,
    passes_fence,
)
from profile_pipeline.adapters.reference import load_reference
from profile_pipeline.config import ConfigError, StorageConfig


@pytest.fixture(scope="module", name="closed_endpoint")
def closed_endpoint_fixture() -> str:
    return refusing_endpoint()


def raised(call) -> BaseException:
    with pytest.raises(BaseException) as caught:
        call()
    return caught.value


def test_an_unreachable_store_through_pyarrow_is_an_infrastructure_fault(closed_endpoint: str) -> None:
    filesystem = pafs.S3FileSystem(
        endpoint_override=closed_endpoint.removeprefix("http://"),
        scheme="http",
        region="us-east-1",
        access_key="key",
        secret_key="secret",
        retry_strategy=pafs.AwsStandardS3RetryStrategy(max_attempts=1),
    )
    error = raised(lambda: filesystem.open_input_stream("bucket/object").read())
    assert isinstance(error, OSError) and "AWS Error" in str(error)
    assert is_infrastructure_fault(error) and passes_fence(error)


def test_botocore_and_requests_transport_errors_are_infrastructure_faults(closed_endpoint: str) -> None:
    client = boto3.client(
        "s3",
        endpoint_url=closed_endpoint,
        region_name="us-east-1",
        aws_access_key_id="key",
        aws_secret_access_key="secret",
        config=Config(retries={"total_max_attempts": 1}),
    )
    assert is_infrastructure_fault(raised(lambda: client.get_object(Bucket="bucket", Key="object")))
    assert is_infrastructure_fault(raised(lambda: requests.get(closed_endpoint, timeout=5)))


def test_an_error_raised_from_an_infrastructure_fault_is_one(closed_endpoint: str) -> None:
    def wrapped() -> None:
        try:
            requests.get(closed_endpoint, timeout=5)
        except requests.RequestException as error:
            raise ValueError("symbol file unavailable") from error

    assert is_infrastructure_fault(raised(wrapped))


@pytest.mark.parametrize(
    "error",
    [
        ValueError("bad frame"),
        KeyError("frames"),
        gzip.BadGzipFile("Not a gzipped file"),  # an OSError, but of the input's bytes
        FileNotFoundError("no mapping"),
        OSError("Invalid Parquet value"),
        requests.exceptions.InvalidHeader("a header value from the payload"),
    ],
)
def test_errors_of_the_input_or_the_code_are_not(error: BaseException) -> None:
    assert not is_infrastructure_fault(error) and not passes_fence(error)


def test_only_the_getobject_the_sdk_gave_up_on_is_read_again() -> None:
    unretried = OSError("AWS Error INTERNAL_FAILURE during GetObject operation: Failed to flush response stream")
    retried = OSError("AWS Error SLOW_DOWN during GetObject operation: Please reduce your request rate.")
    assert is_fault_the_sdk_did_not_retry(unretried) and is_infrastructure_fault(unretried)
    assert not is_fault_the_sdk_did_not_retry(retried) and is_infrastructure_fault(retried)
    assert not is_fault_the_sdk_did_not_retry(OSError("Failed to flush response stream"))  # not the store's


def test_the_process_ending_passes_the_fence() -> None:
    assert passes_fence(KeyboardInterrupt()) and not is_infrastructure_fault(KeyboardInterrupt())


def test_a_reference_file_the_store_cannot_serve_is_no_configuration_error(closed_endpoint: str) -> None:
    unreachable = StorageConfig(endpoint=closed_endpoint, region="us-east-1", path_style_access=True, retry_attempts=1)
    storage.configure(unreachable)
    try:
        error = raised(lambda: load_reference("s3a://reference/reference.json"))
    finally:
        storage.configure(StorageConfig())
    assert is_infrastructure_fault(error) and not isinstance(error, ConfigError)
