"""The archiver end to end: a real Kafka broker (KRaft), messages produced as Relay produces them, Spark's
Kafka source, the archive read back by the processing job.

Shown: the archive of a day, processed, equals the job's output for the same messages written directly as
files (the `sampled` header carried into the map, every other byte as produced, each bad message alone
and quarantined with its raw bytes); an archiver killed with SIGKILL mid-batch and started again archives
every message exactly once; a day's marker appears only once every partition has passed the day, and a
late message reopens the day, which the processing job then processes again.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from datetime import date, time, timedelta
from pathlib import Path
from time import monotonic, sleep

import pytest
from job_cli import PROJECT_ROOT, job_environment, run_from_project_root
from relay_topic import ARCHIVER, PAST_DAY, TODAY, UNREADABLE, ms, read_archived, relay_messages, unreadable_messages
from servers.kafka import KafkaBroker, Message, kafka_broker_fixture  # noqa: F401

from profile_pipeline.adapters.archive_layout import never_behind, parse_object_name, read_marker
from profile_pipeline.adapters.kafka_message import archived_value
from profile_pipeline.adapters.kafka_settings import consumer_settings
from profile_pipeline.adapters.reference import load_reference
from profile_pipeline.config import JobConfig, KafkaConfig, SentryOptions, SymbolicationConfig, VroomConfig
from profile_pipeline.crash_points import ENVIRONMENT
from profile_pipeline.run import archive_cli, cli
from profile_pipeline.run.runner import run_days
from profile_pipeline.spark.archive_settings import ArchiveSettings
from profile_pipeline.spark.archive_stream import run_archiver
from profile_pipeline.spark.day_completion import is_complete, partition_times
from synthetic.messages import pack

# Columns that differ between the archive and the direct files: where a message was read, who wrote it, when.
VOLATILE = {"source_path", "source_offset", "run_id", "timestamp"}


def settings(root: Path, broker: KafkaBroker, topic: str, **overrides) -> ArchiveSettings:
    values = {
        "archive": str(root / "archive"),
        "checkpoint": str(root / "archive" / "_checkpoint"),
        "topic": topic,
        "consumer": {"bootstrap.servers": broker.bootstrap_servers},
        "starting": {"startingOffsets": "earliest"},
        "available_now": True,
        "trigger_seconds": 1.0,
        "max_offsets_per_trigger": 0,
        "object_bytes": 16_384,
        "lateness_seconds": 0.0,
        "late_horizon_days": 7,
        **overrides,
    }
    return ArchiveSettings(**values)


def archived(archive: Path, day: date) -> dict[str, list[bytes]]:
    """Each object of the day by name, as the processing job reads it: its messages' raw bytes."""
    paths = (path for path in (archive / f"dt={day}").iterdir() if not path.name.startswith((".", "_")))
    return read_archived({path.name: path.read_bytes() for path in paths})


def job_config(input_uri: Path, warehouse: Path) -> JobConfig:
    return JobConfig(
        input=str(input_uri),
        warehouse=str(warehouse),
        symbolication=SymbolicationConfig(mode="off"),
        vroom=VroomConfig(mode="off"),
        options=SentryOptions(unsampled_profiles_enabled=True),
    )


def process(spark, config: JobConfig, day: date, run_id: str, archive_offsets: dict | None = None) -> list:
    reference = load_reference(str(PROJECT_ROOT / "conf" / "reference.json"))
    return run_days(
        spark, config, reference, [day], run_id=run_id, force=False, arguments={}, report=lambda _: None,
        archive_offsets=archive_offsets,
    )  # fmt: skip


def table(spark, warehouse: Path, name: str) -> list[tuple]:
    frame = spark.read.format("delta").load(str(warehouse / name))
    columns = sorted(set(frame.columns) - VOLATILE)
    return sorted(tuple(repr(row[column]) for column in columns) for row in frame.select(*columns).collect())


def test_the_sampled_header_is_spliced_into_the_map_and_nothing_else_changes():
    small = {"type": "profile", "payload": b"{}"}
    fifteen = {f"k{number}": number for number in range(15)}  # a fixmap that must grow into a map16
    assert archived_value(pack(small), True).data == pack({**small, "sampled": True})
    assert archived_value(pack(fifteen), False).data == pack({**fifteen, "sampled": False})
    assert archived_value(pack(small), None).data == pack(small)  # no header: the bytes as produced
    own = {**small, "sampled": False}  # a map's own key is kept, not written twice
    assert archived_value(pack(own), True).data == pack(own)
    for value in (*UNREADABLE, pack(small) + pack(small)):
        assert not archived_value(value, True).is_map


def test_sasl_credentials_come_from_the_environment_into_the_consumers_jaas_configuration():
    kafka = KafkaConfig(
        bootstrap_servers="b:9093", security_protocol="SASL_SSL", sasl_mechanism="SCRAM-SHA-512", sasl_username="u",
        sasl_password_env="ARCHIVER_PASSWORD", consumer={"ssl.truststore.location": "/ca.pem"},
    )  # fmt: skip
    settings = consumer_settings(kafka, {"ARCHIVER_PASSWORD": 'p"w'})
    assert settings["sasl.jaas.config"] == (
        'org.apache.kafka.common.security.scram.ScramLoginModule required username="u" password="p\\"w";'
    )
    assert settings["security.protocol"] == "SASL_SSL" and settings["ssl.truststore.location"] == "/ca.pem"


def test_a_day_is_complete_only_when_every_partition_is_past_its_end_plus_the_lateness():
    day_end = ms(PAST_DAY + timedelta(days=1), time(0))
    caught_up = partition_times({0: 5, 1: 3}, {0: 5, 1: 3}, {}, now_ms=day_end + 10_000)
    assert caught_up == {0: day_end + 10_000, 1: day_end + 10_000}  # quiet partitions move with the clock
    assert is_complete(PAST_DAY, caught_up, lateness_seconds=10) and not is_complete(PAST_DAY, caught_up, 11)
    behind = partition_times({0: 5, 1: 2}, {0: 5, 1: 3}, {1: day_end - 1}, now_ms=day_end + 10_000)
    assert behind[1] == day_end - 1 and not is_complete(PAST_DAY, behind, lateness_seconds=0)
    assert partition_times({0: 1}, {0: 2}, {}, now_ms=day_end)[0] is None  # behind, and nothing archived yet


def test_a_declaration_never_takes_a_marker_backwards():
    assert never_behind({0: 6, 1: None}, {0: 7, 1: 2}) == {0: 7, 1: 2}  # a late message moves the day on
    assert never_behind({0: 6, 1: 4, 2: None}, {0: 5, 1: None, 2: None}) == {0: 6, 1: 4, 2: None}


def test_an_archived_day_processed_equals_the_same_messages_written_as_files(spark, kafka_broker, tmp_path):
    kafka_broker.create_topic("profiles")
    produced = relay_messages(PAST_DAY, 18)
    kafka_broker.produce("profiles", [message for message, _ in produced] + unreadable_messages(PAST_DAY))

    totals = run_archiver(spark, settings(tmp_path, kafka_broker, "profiles"), report=lambda _: None)

    objects = archived(tmp_path / "archive", PAST_DAY)
    unreadable = {name: raws for name, raws in objects.items() if name.endswith(".unreadable.zst")}
    assert sorted(raw for raws in unreadable.values() for raw in raws) == sorted(value or b"" for value in UNREADABLE)
    assert all(len(raws) == 1 for raws in unreadable.values())
    maps = sorted(raw for name, raws in objects.items() if name not in unreadable for raw in raws)
    assert maps == sorted(pack(expected) for _, expected in produced)
    assert totals.messages == len(produced) + len(UNREADABLE) and totals.objects == len(objects)
    marker = read_marker(str(tmp_path / "archive"), PAST_DAY)
    assert marker is not None and marker.last_offsets == {0: 6, 1: 6, 2: 6}  # 6 good and 1 unreadable each

    direct = tmp_path / "direct" / f"dt={PAST_DAY}"
    direct.mkdir(parents=True)
    (direct / "part-00000.msgpack").write_bytes(b"".join(pack(expected) for _, expected in produced))
    for number, value in enumerate(UNREADABLE):  # alone, as the archive keeps them
        (direct / f"bad-{number}.msgpack").write_bytes(value or b"")
    (archived_run,) = process(spark, job_config(tmp_path / "archive", tmp_path / "from-archive"), PAST_DAY, "a")
    (direct_run,) = process(spark, job_config(tmp_path / "direct", tmp_path / "from-files"), PAST_DAY, "d")

    assert archived_run.status == direct_run.status == "finished", (archived_run.error, direct_run.error)
    assert archived_run.counts == direct_run.counts
    assert archived_run.counts["quarantine"] == len(UNREADABLE)
    for name in ("profiles", "outcomes", "quarantine"):
        assert table(spark, tmp_path / "from-archive", name) == table(spark, tmp_path / "from-files", name), name
    quarantined = spark.read.format("delta").load(str(tmp_path / "from-archive" / "quarantine")).collect()
    assert sorted(row["raw"] for row in quarantined) == sorted(value or b"" for value in UNREADABLE)


def _wait_for(condition, what: str, timeout_seconds: float = 240.0) -> None:
    """Wait until `condition()` holds, looking twice a second, failing past the timeout."""
    ends = monotonic() + timeout_seconds
    while not condition():
        assert monotonic() < ends, f"no {what} within {timeout_seconds:.0f}s"
        sleep(0.5)


def test_an_archiver_killed_mid_batch_and_restarted_continuous_archives_every_message_once(kafka_broker, tmp_path):
    kafka_broker.create_topic("killed")
    produced = relay_messages(PAST_DAY, 25)
    kafka_broker.produce("killed", [message for message, _ in produced[:24]])
    command = [
        sys.executable, str(ARCHIVER), "--bootstrap-servers", kafka_broker.bootstrap_servers, "--topic", "killed",
        "--archive", str(tmp_path / "archive"), "--max-offsets-per-trigger", "9",
    ]  # fmt: skip

    killed = run_from_project_root([*command, "--available-now"], job_environment({ENVIRONMENT: "archived"}))
    assert killed.returncode == -9, killed.stderr[-3000:]
    before_restart = archived(tmp_path / "archive", PAST_DAY)
    assert before_restart and not (tmp_path / "archive" / "_checkpoint" / "commits" / "0").exists()
    # Restarted in continuous mode: it resumes from the checkpoint, then archives a message as it comes.
    restarted = subprocess.Popen(
        [*command, "--trigger-seconds", "1"], cwd=PROJECT_ROOT, env=job_environment(), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        _wait_for(lambda: read_marker(str(tmp_path / "archive"), PAST_DAY) is not None, "marker")
        kafka_broker.produce("killed", [produced[24][0]])
        _wait_for(lambda: sum(map(len, archived(tmp_path / "archive", PAST_DAY).values())) == 25, "last message")
        restarted.send_signal(signal.SIGTERM)
        out, err = restarted.communicate(timeout=240)
    finally:
        restarted.kill()

    assert restarted.returncode == 0 and "Traceback" not in err, err[-3000:]
    assert "stopped by a signal; the next start resumes from the checkpoint" in out
    objects = archived(tmp_path / "archive", PAST_DAY)
    assert before_restart.items() <= objects.items()  # the replayed batch rewrote the same objects
    offsets = []
    for name in objects:
        named = parse_object_name(name)
        assert named is not None
        offsets.append((named.partition, named.first_offset, named.last_offset))
    covered = [(partition, offset) for partition, first, last in offsets for offset in range(first, last + 1)]
    assert sorted(covered) == sorted([(partition, offset) for partition in range(3) for offset in range(8)] + [(0, 8)])
    assert sorted(raw for raws in objects.values() for raw in raws) == sorted(
        pack(expected) for _, expected in produced
    )


def test_a_day_is_complete_when_every_partition_passed_it_and_a_late_message_reopens_it(
    spark, kafka_broker, tmp_path, capsys
):
    kafka_broker.create_topic("today")
    lateness = 6 * 3600.0  # today is not over by the clock plus lateness, whatever the time of the test
    archive, warehouse = str(tmp_path / "archive"), tmp_path / "warehouse"
    passed = ms(TODAY + timedelta(days=1), time(7))  # past today's end plus the lateness
    today = [message for message, _ in relay_messages(TODAY, 5, partitions=2)]
    kafka_broker.produce("today", [*today[:4], Message(today[0].value, 0, passed), Message(today[1].value, 1, passed)])
    archive_today = settings(tmp_path, kafka_broker, "today", lateness_seconds=lateness)

    run_archiver(spark, archive_today, report=lambda _: None)
    assert read_marker(archive, TODAY) is None  # partition 2 has not passed the day: it only has the clock
    arguments = ["--input", archive, "--warehouse", str(warehouse), "--symbolication", "off", "--vroom", "off"]
    assert cli.main([*arguments, "--date", str(TODAY), "--require-complete"]) == cli.EXIT_INCOMPLETE
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"process_profiles.py: error: {TODAY}: not known to be complete: no marker")

    kafka_broker.produce("today", [Message(today[2].value, 2, passed)])
    run_archiver(spark, archive_today, report=lambda _: None)
    marker = read_marker(archive, TODAY)
    assert marker is not None and marker.last_offsets == {0: 1, 1: 1, 2: None}
    assert read_marker(archive, TODAY + timedelta(days=1)) is None
    assert cli.main([*arguments, "--date", str(TODAY), "--require-complete", "--run-id", "first"]) == cli.EXIT_OK

    late = Message(today[4].value, 1, ms(TODAY, time(2)))
    kafka_broker.produce("today", [late])
    run_archiver(spark, archive_today, report=lambda _: None)
    reopened = read_marker(archive, TODAY)
    assert reopened is not None and reopened.last_offsets == {0: 1, 1: 3, 2: None}
    assert any(parse_object_name(name).first_offset == 3 for name in archived(tmp_path / "archive", TODAY))
    assert cli.main([*arguments, "--date", str(TODAY), "--require-complete", "--run-id", "again"]) == cli.EXIT_OK
    assert cli.main([*arguments, "--date", str(TODAY), "--require-complete", "--run-id", "skip"]) == cli.EXIT_OK

    runs = spark.read.format("delta").load(str(warehouse / "job_runs")).orderBy("finished_at").collect()
    assert [(run["run_id"], run["messages_in"]) for run in runs] == [("first", 4), ("again", 5)]
    assert [run["archive_offsets"] for run in runs] == [marker.offsets_json(), reopened.offsets_json()]


def test_a_day_without_a_message_is_declared_complete_and_processed_as_an_empty_finished_day(
    spark, kafka_broker, tmp_path
):
    kafka_broker.create_topic("quiet", partitions=2)
    before, quiet, after = PAST_DAY - timedelta(days=2), PAST_DAY - timedelta(days=1), PAST_DAY
    kafka_broker.produce("quiet", [message for day in (before, after) for message, _ in relay_messages(day, 2, 2)])
    run_archiver(spark, settings(tmp_path, kafka_broker, "quiet"), report=lambda _: None)

    archive, warehouse = str(tmp_path / "archive"), tmp_path / "warehouse"
    for day in (quiet, TODAY - timedelta(days=1)):  # caught up on every partition, and over by the clock
        marker = read_marker(archive, day)
        assert marker is not None and marker.last_offsets == {0: None, 1: None}, day
    # One message of each day on each partition: offset 0 the day before, offset 1 the day after.
    assert read_marker(archive, before).last_offsets == {0: 0, 1: 0}
    assert read_marker(archive, after).last_offsets == {0: 1, 1: 1}
    assert read_marker(archive, TODAY) is None  # not over yet
    arguments = ["--input", archive, "--warehouse", str(warehouse), "--symbolication", "off", "--vroom", "off"]
    assert cli.main([*arguments, "--date", str(quiet), "--require-complete", "--run-id", "quiet"]) == cli.EXIT_OK

    (run,) = spark.read.format("delta").load(str(warehouse / "job_runs")).collect()
    assert (run["run_id"], run["status"], run["messages_in"]) == ("quiet", "finished", 0)
    assert run["archive_offsets"] == read_marker(archive, quiet).offsets_json()


SASL = '[archive.kafka]\nsecurity_protocol = "SASL_SSL"\nsasl_mechanism = "PLAIN"\nsasl_username = "u"\n'


@pytest.mark.parametrize(
    ("flags", "config", "expected"),
    [
        (["--archive", "x"], "", "no Kafka brokers"),
        (["--bootstrap-servers", "h:1", "--starting-offsets", "yesterday"], "", "starting_offsets"),
        (["--bootstrap-servers", "h:1"], '[archive.kafka.consumer]\n"sasl.jaas.config" = "p"\n', "holds a secret"),
        (["--bootstrap-servers", "h:1"], SASL, "export PROFILE_PIPELINE_KAFKA_PASSWORD"),
    ],
)
def test_a_wrong_command_line_or_configuration_is_one_line_and_status_2(flags, config, expected, tmp_path, capsys):
    (tmp_path / "archive.toml").write_text(f'input = "{tmp_path}"\n{config}')
    assert archive_cli.main(["--config", str(tmp_path / "archive.toml"), *flags]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("archive_ingest.py: error:") and expected in line, line
