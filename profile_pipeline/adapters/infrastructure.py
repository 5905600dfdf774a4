"""Which errors are faults of the infrastructure (object storage, a service's transport), not of a profile.

Object storage and services fail now and then: connections reset, requests throttled, responses lost. The
clients retry those themselves (`[storage]` in the configuration); what still comes through is not a fault of
the profile being processed, and must never fail it. The fences around a profile let these errors through, so
that the task fails and Spark runs it again, while they still catch everything else as the profile's failure.

The classification is in this one place. Exceptions of libraries that this process never imported cannot have
been raised, so those libraries are looked up in `sys.modules` rather than imported here.
"""

from __future__ import annotations

import http.client
import sys

from profile_pipeline.work import FATAL

# pyarrow's S3 filesystem raises OSError with the AWS SDK's error in the message: "... AWS Error
# NETWORK_CONNECTION during HeadObject operation: ...", "AWS Error SLOW_DOWN ...", "AWS Error UNKNOWN (HTTP
# status 503) ...". Every one is an answer (or no answer) of the store, never something the profile caused.
_AWS_ERROR = "AWS Error "
# A throttled or failed GetObject whose error body does not fit the buffer pyarrow gave for the range: the SDK
# calls it INTERNAL_FAILURE and does not retry it (a known misclassification of its curl client).
_UNRETRIED_BY_THE_SDK = "Failed to flush response stream"
_TRANSPORT = (ConnectionError, TimeoutError, http.client.IncompleteRead)


def _library_faults() -> tuple[type[BaseException], ...]:
    """The transport and storage exceptions of the client libraries loaded in this process."""
    faults: list[type[BaseException]] = []
    if botocore := sys.modules.get("botocore.exceptions"):
        # Every botocore error is one of a storage request: its transport, or the store's answer.
        faults += [botocore.BotoCoreError, botocore.ClientError]
    if requests := sys.modules.get("requests.exceptions"):
        # Not every RequestException: an invalid header or body can come from a profile's own values.
        faults += [requests.ConnectionError, requests.Timeout]
    if urllib3 := sys.modules.get("urllib3.exceptions"):
        faults += [urllib3.ProtocolError, urllib3.TimeoutError, urllib3.MaxRetryError]
    return tuple(faults)


def is_infrastructure_fault(error: BaseException) -> bool:
    """Whether `error`, or an error it was raised from, is a fault of storage or of a service's transport."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, _TRANSPORT + _library_faults()):
            return True
        if isinstance(seen, OSError) and _AWS_ERROR in str(seen):
            return True
        seen = seen.__cause__
    return False


def is_fault_the_sdk_did_not_retry(error: BaseException) -> bool:
    """Whether `error` is a fault of the store that pyarrow's S3 client raised without retrying it."""
    return isinstance(error, OSError) and _AWS_ERROR in str(error) and _UNRETRIED_BY_THE_SDK in str(error)


def passes_fence(error: BaseException) -> bool:
    """What a fence around a profile must not catch: the process ending, or a fault of the infrastructure."""
    return isinstance(error, FATAL) or is_infrastructure_fault(error)
