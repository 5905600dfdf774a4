"""The archiver on object storage: the archive and its checkpoint on the loopback S3 server, written through
Spark's s3a connector and pyarrow's S3 filesystem, then the same under storage faults (`servers/faulty_proxy.py`).

Shown: a catch-up run archives every produced message once on S3 (every byte, the `sampled` header spliced, each
unreadable message alone) and writes the day's marker there, and the processing job with `--require-complete`
processes that day from S3. Through resets, 503 SlowDown and lost answers, a run whose every store of an object
loses its answer fails in one line with exit status 1; the next run, under faults too, resumes from the
checkpoint and leaves the objects of a run without faults, byte for byte, and the same marker.
"""

from __future__ import annotations

import sys
from pathlib import Path
from subprocess import CompletedProcess

import pytest
from job_cli import assert_one_line_error, job_environment, run_from_project_root, run_job
from relay_topic import ARCHIVER, PAST_DAY, UNREADABLE, read_archived, relay_messages, unreadable_messages
from s3_day import s3_job_config
from servers.faulty_proxy import FaultRates, FaultyProxy, faulty_proxy_fixture  # noqa: F401
from servers.kafka import KafkaBroker, Message, kafka_broker_fixture  # noqa: F401
from servers.s3 import REGION, S3Server, s3_server_fixture  # noqa: F401
from warehouse_state import s3_table

from profile_pipeline.adapters.archive_layout import UNREADABLE_SUFFIX, DayMarker
from synthetic.messages import pack

TOPIC = "profiles"
DAY = PAST_DAY
MESSAGES = 18
MODERATE = FaultRates(reset=0.05, throttle=0.05, lost=0.03)
DAY_PREFIX, MARKERS_PREFIX = f"dt={DAY}/", "_complete/"


@pytest.fixture(scope="module", name="produced")
def produced_fixture(kafka_broker: KafkaBroker, s3_server: S3Server) -> list[tuple[Message, dict]]:
    """The topic: a day of Relay's messages on three partitions, unreadable ones among them; and the buckets."""
    kafka_broker.create_topic(TOPIC)
    produced = relay_messages(DAY, MESSAGES)
    kafka_broker.produce(TOPIC, [message for message, _ in produced] + unreadable_messages(DAY))
    for bucket in ("archive", "lake", "blobs"):
        s3_server.create_bucket(bucket)
    return produced


def archive_on_s3(s3: S3Server, broker: KafkaBroker, root: Path, endpoint: str, name: str) -> CompletedProcess:
    """`jobs/archive_ingest.py --available-now` into `s3a://archive/<name>` (its checkpoint inside), every client
    of it sent to `endpoint`."""
    config = root / f"archive-{name}.toml"
    config.write_text(
        f'input = "s3a://archive/{name}"\n'
        "[archive]\n"
        "lateness_seconds = 0.0\n"
        "object_bytes = 16384\n"
        "[archive.kafka]\n"
        f'bootstrap_servers = "{broker.bootstrap_servers}"\n'
        f'topic = "{TOPIC}"\n'
        "[storage]\n"
        f'endpoint = "{endpoint}"\n'
        "path_style_access = true\n"
        f'region = "{REGION}"\n'
        # Few attempts soon after each other, so that faults beyond them come soon.
        "retry_attempts = 6\n"
        "retry_interval_seconds = 0.05\n"
    )
    command = [sys.executable, str(ARCHIVER), "--config", str(config), "--available-now"]
    return run_from_project_root(command, job_environment(s3.environment))


def stored(s3: S3Server, name: str) -> dict[str, bytes]:
    """Every object of the archive `s3a://archive/<name>` but its checkpoint, by its key inside the archive."""
    client, prefix = s3.client(), f"{name}/"
    keys = [key for key in s3.keys("archive", prefix) if not key.startswith(f"{prefix}_checkpoint/")]
    return {key.removeprefix(prefix): client.get_object(Bucket="archive", Key=key)["Body"].read() for key in keys}


def day_objects(archive: dict[str, bytes]) -> dict[str, bytes]:
    return {key.removeprefix(DAY_PREFIX): data for key, data in archive.items() if key.startswith(DAY_PREFIX)}


def markers(archive: dict[str, bytes]) -> dict[str, DayMarker]:
    return {key: DayMarker.from_json(data) for key, data in archive.items() if key.startswith(MARKERS_PREFIX)}


@pytest.fixture(scope="module", name="clean_archive")
def clean_archive_fixture(
    s3_server: S3Server, kafka_broker: KafkaBroker, produced: list, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, bytes]:
    """The topic archived on S3 without a fault."""
    run = archive_on_s3(s3_server, kafka_broker, tmp_path_factory.mktemp("archive"), s3_server.endpoint, "clean")
    assert run.returncode == 0, run.stderr[-3000:]
    return stored(s3_server, "clean")


def test_an_archive_on_s3a_holds_every_message_once_and_its_complete_day_is_processed_from_there(
    s3_server: S3Server, produced: list[tuple[Message, dict]], clean_archive: dict[str, bytes], tmp_path: Path
):
    assert {key.split("/")[0] for key in clean_archive} == {DAY_PREFIX.rstrip("/"), MARKERS_PREFIX.rstrip("/")}
    objects = read_archived(day_objects(clean_archive))
    unreadable = {name: raws for name, raws in objects.items() if name.endswith(UNREADABLE_SUFFIX)}
    assert sorted(raws for raws in unreadable.values()) == sorted([value or b""] for value in UNREADABLE)
    maps = sorted(raw for name, raws in objects.items() if name not in unreadable for raw in raws)
    assert maps == sorted(pack(expected) for _, expected in produced)
    marker = markers(clean_archive)[f"{MARKERS_PREFIX}dt={DAY}.json"]
    assert marker.last_offsets == {0: 6, 1: 6, 2: 6}  # 6 maps and 1 unreadable message on each partition

    config = tmp_path / "process.toml"
    config.write_text(s3_job_config(s3_server.endpoint, "from-archive", input_uri="s3a://archive/clean"))
    job = run_job(
        "--config", str(config), "--date", str(DAY), "--require-complete", "--run-id", "from-s3",
        extra_env=s3_server.environment,
    )  # fmt: skip

    assert job.returncode == 0, job.stderr[-3000:]
    (run,) = s3_table(s3_server, "s3://lake/from-archive/job_runs").to_dict("records")
    assert (run["status"], run["messages_in"]) == ("finished", MESSAGES + len(UNREADABLE))
    assert run["archive_offsets"] == marker.offsets_json()
    quarantine = s3_table(s3_server, "s3://lake/from-archive/quarantine")
    assert sorted(quarantine["raw"]) == sorted(value or b"" for value in UNREADABLE)


def test_under_storage_faults_a_run_fails_in_one_line_and_the_next_resumes_to_the_archive_without_faults(
    s3_server: S3Server, kafka_broker: KafkaBroker, faulty_proxy: FaultyProxy, clean_archive: dict, tmp_path: Path
):
    # Every answer to a store of the day's objects lost: each attempt of each task fails, and so does the run.
    faulty_proxy.lose_answers("PUT", f"/archive/faulty/{DAY_PREFIX}", times=10**6)
    failed = archive_on_s3(s3_server, kafka_broker, tmp_path, faulty_proxy.endpoint, "faulty")
    faulty_proxy.clear_rules()
    assert failed.returncode == 1, failed.stderr[-3000:]
    assert "Spark failed" in assert_one_line_error(failed.stderr, ARCHIVER.name)
    assert not markers(stored(s3_server, "faulty"))

    # The next run, under a bad night's faults and with its marker's answer lost: it runs the failed batch again.
    faulty_proxy.lose_answers("PUT", f"/archive/faulty/{MARKERS_PREFIX}dt={DAY}.json")
    counts = faulty_proxy.set_rates(MODERATE)
    again = archive_on_s3(s3_server, kafka_broker, tmp_path, faulty_proxy.endpoint, "faulty")
    faulty_proxy.set_rates(FaultRates())
    faulty_proxy.clear_rules()

    assert again.returncode == 0, again.stderr[-3000:]
    assert counts.resets and counts.throttled and counts.lost
    assert f"batch 0: {MESSAGES + len(UNREADABLE)} messages" in again.stdout
    faulty = stored(s3_server, "faulty")
    assert day_objects(faulty) == day_objects(clean_archive)
    offsets = {key: marker.last_offsets for key, marker in markers(faulty).items()}
    assert offsets == {key: marker.last_offsets for key, marker in markers(clean_archive).items()}
    assert faulty.keys() == clean_archive.keys()
