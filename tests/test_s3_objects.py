"""Reading and writing objects on the loopback S3 server behind the faulty proxy, as the workers and the archiver do."""

from __future__ import annotations

from servers.faulty_proxy import FaultRates, FaultyProxy, faulty_proxy_fixture  # noqa: F401
from servers.s3 import REGION, S3Server, s3_server_fixture  # noqa: F401

from profile_pipeline.adapters import storage
from profile_pipeline.config import StorageConfig


def test_an_object_read_through_throttling_is_read_whole(s3_server: S3Server, faulty_proxy: FaultyProxy):
    # A throttled GetObject of a small object fails in the AWS SDK as INTERNAL_FAILURE "Failed to flush response
    # stream" (the 503's body does not fit the range's buffer), which the SDK never retries: the reader must.
    s3_server.create_bucket("reads")
    s3_server.client().put_object(Bucket="reads", Key="checkpoint/0.json", Body=b'{"0": 17}')
    storage.configure(StorageConfig(endpoint=faulty_proxy.endpoint, region=REGION, path_style_access=True))
    try:
        # Not more: the SDK's backoff doubles without a cap, so long runs of throttled requests take seconds.
        counts = faulty_proxy.set_rates(FaultRates(throttle=0.3))
        assert all(storage.read_bytes("s3a://reads/checkpoint/0.json") == b'{"0": 17}' for _ in range(20))
        assert counts.throttled >= 5
    finally:
        faulty_proxy.set_rates(FaultRates())
        storage.configure(StorageConfig())


def test_an_object_is_written_in_one_put_whose_lost_answer_the_retry_makes_harmless(
    s3_server: S3Server, faulty_proxy: FaultyProxy
):
    # A multipart upload (create, part, complete) sent again after its completion's answer was lost finds the
    # upload gone; one PUT sent again stores the same bytes again.
    s3_server.create_bucket("writes")
    storage.configure(StorageConfig(endpoint=faulty_proxy.endpoint, region=REGION, path_style_access=True))
    try:
        counts = faulty_proxy.set_rates(FaultRates())
        storage.write_bytes("s3a://writes/profiles/1/2/blob", b"a profile")
        assert counts.requests == 1

        faulty_proxy.lose_answers("PUT", "/writes/profiles/1/2/other")
        faulty_proxy.lose_answers("POST", "/writes/profiles/1/2/other")
        storage.write_bytes("s3a://writes/profiles/1/2/other", b"another profile")
        assert counts.lost == 1
        assert storage.read_bytes("s3a://writes/profiles/1/2/other") == b"another profile"
        assert s3_server.keys("writes") == ["profiles/1/2/blob", "profiles/1/2/other"]
    finally:
        faulty_proxy.clear_rules()
        storage.configure(StorageConfig())
