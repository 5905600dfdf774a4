"""The maintenance job on object storage: the warehouse and the profiles bucket on the loopback S3 server, every
request of the job through the faulty proxy (`servers/faulty_proxy.py`), in this process's Spark session.

The two days of `maintenance_lake` are processed once, on a local disk, and uploaded; each test copies them on the
server (a Delta table holds relative paths: a copy is a table). Shown: expiry and an erasure delete on S3 exactly
what they delete on a local disk, from every table and the bucket; an answer lost to any write of maintenance (a
DELETE's commit, the `deletions` and `maintenance_runs` appends, a DeleteObjects) is sent again harmlessly; answers
that never come fail the run in one line with exit status 1, or, where the write took effect, count as written, and
the next run leaves what an undisturbed run leaves, every deletion recorded once.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import maintenance_lake
import pandas as pd
import pytest
from job_cli import assert_one_line_error
from maintenance_lake import DAYS, ERASURE, EXPIRY_DAY, LONG, SHORT, SHORT_EVENTS, Rows
from s3_day import s3_job_config
from servers.faulty_proxy import FaultRates, FaultyProxy, faulty_proxy_fixture  # noqa: F401
from servers.s3 import CREDENTIALS, S3Server, s3_server_fixture  # noqa: F401
from warehouse_state import comparable, s3_commits, s3_table

from profile_pipeline.run import maintain_cli
from profile_pipeline.run.maintenance import maintain
from profile_pipeline.spark.tables import TABLES

PREPARED = "prepared"
# Few attempts soon after each other, so that answers that never come fail a write soon.
RETRIES = "retry_attempts = 3\nretry_interval_seconds = 0.05\n"
NEVER = 10**6  # answers lost to every request of a rule


@pytest.fixture(scope="module", name="session_on_s3")
def session_on_s3_fixture(spark, s3_server: S3Server) -> Iterator[object]:
    """The tests' session given the server's placeholder credentials (its JVM may have started before the server
    was there): s3a's on the Hadoop configuration, the Python workers' in their environment."""
    hadoop = spark.sparkContext._jsc.hadoopConfiguration()
    hadoop.set("fs.s3a.access.key", CREDENTIALS["AWS_ACCESS_KEY_ID"])
    hadoop.set("fs.s3a.secret.key", CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
    workers = spark.sparkContext.environment
    before = dict(workers)
    workers.update(s3_server.environment)
    yield spark
    workers.clear()
    workers.update(before)
    for key in ("fs.s3a.access.key", "fs.s3a.secret.key"):
        hadoop.unset(key)
    jvm = spark.sparkContext._jvm
    jvm.org.apache.spark.sql.delta.DeltaLog.clearCache()  # its logs are on a server that goes with the module
    jvm.org.apache.hadoop.fs.FileSystem.closeAll()  # and so do the s3a clients of its buckets


def upload(s3: S3Server, directory: Path, bucket: str, prefix: str) -> None:
    client = s3.client()
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            client.put_object(Bucket=bucket, Key=f"{prefix}/{path.relative_to(directory)}", Body=path.read_bytes())


@pytest.fixture(scope="module", name="processed")
def processed_fixture(session_on_s3, s3_server: S3Server, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The days processed on a local disk, and uploaded as the prepared warehouse and bucket."""
    root = tmp_path_factory.mktemp("processed")
    maintenance_lake.process_lake(session_on_s3, root)
    for bucket in ("lake", "blobs"):
        s3_server.create_bucket(bucket)
    upload(s3_server, root / "warehouse", "lake", PREPARED)
    upload(s3_server, root / "bucket", "blobs", PREPARED)
    return root


@dataclass(frozen=True)
class LakeOnS3:
    """A copy of the prepared warehouse `s3a://lake/<name>` and bucket `s3a://blobs/<name>`."""

    s3: S3Server
    name: str
    config: Path  # the job's configuration, every client sent through the proxy

    def rows(self, table: str) -> pd.DataFrame:
        return s3_table(self.s3, f"s3://lake/{self.name}/{table}")

    def blobs(self) -> set[str]:
        prefix = f"{self.name}/"
        return {key.removeprefix(prefix) for key in self.s3.keys("blobs", prefix)}

    def keys(self, prefix: str) -> list[str]:
        return self.s3.keys("lake", f"{self.name}/{prefix}")

    def blob_lists(self) -> list[str]:
        """The objects of the lists of blobs to delete (a list left means an unfinished deletion)."""
        return [key for key in self.keys("_maintenance/blobs/") if not key.endswith("/")]

    def version(self, table: str) -> int:
        """The table's latest commit, as the server holds it."""
        return int(s3_commits(self.s3, "lake", f"{self.name}/{table}")[-1].removesuffix(".json"))

    def maintain(self, *args: str) -> int:
        argv = ["--config", str(self.config), "--today", str(EXPIRY_DAY), *args]
        return maintain_cli.main(argv)


def copy_prepared(s3: S3Server, name: str, endpoint: str, directory: Path) -> LakeOnS3:
    """A copy of the prepared warehouse and bucket made on the server, and its configuration in `directory`."""
    client = s3.client()
    for bucket in ("lake", "blobs"):
        for key in s3.keys(bucket, f"{PREPARED}/"):
            target = f"{name}/{key.removeprefix(f'{PREPARED}/')}"
            client.copy_object(Bucket=bucket, Key=target, CopySource={"Bucket": bucket, "Key": key})
    config = directory / f"{name}.toml"
    config.write_text(s3_job_config(endpoint, name, RETRIES))
    return LakeOnS3(s3, name, config)


@pytest.fixture(name="through_faults")
def through_faults_fixture(faulty_proxy: FaultyProxy) -> Iterator[FaultyProxy]:
    yield faulty_proxy
    faulty_proxy.clear_rules()
    faulty_proxy.set_rates(FaultRates())


def tables_and_blobs(table_rows: Rows, blob_names: set[str]) -> dict[str, object]:
    """What two runs that deleted the same things both leave: every table's rows, the deletions recorded per
    reason, and the blobs."""
    state: dict[str, object] = {table: comparable(table_rows(table)) for table in TABLES}
    state["deletions"] = maintenance_lake.deletion_totals(table_rows)
    state["blobs"] = blob_names
    return state


def assert_same(state: dict[str, object], expected: dict[str, object]) -> None:
    assert state.keys() == expected.keys()
    for name, value in expected.items():
        if isinstance(value, pd.DataFrame):
            pd.testing.assert_frame_equal(state[name], value, obj=name)
        else:
            assert state[name] == value, name


def erase_and_expire(lake: LakeOnS3, run_id: str) -> int:
    """The run every test makes: today `EXPIRY_DAY`, project 2 erased."""
    return lake.maintain("--delete-project", str(LONG), "--run-id", run_id)


@pytest.fixture(scope="module", name="undisturbed")
def undisturbed_fixture(
    processed: Path, s3_server: S3Server, faulty_proxy: FaultyProxy, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, object]:
    """The expiry and the erasure on S3 without a fault: what every disturbed run must leave."""
    lake = copy_prepared(s3_server, "undisturbed", faulty_proxy.endpoint, tmp_path_factory.mktemp("undisturbed"))
    assert erase_and_expire(lake, "undisturbed") == maintain_cli.EXIT_OK
    # What is left is what should be: project 7's second day, its blob alone, no list of blobs to delete.
    assert set(maintenance_lake.kept_rows(lake.rows)["profiles"]) == {(DAYS[1], SHORT, 30)}
    assert lake.blobs() == {f"1/{SHORT}/{SHORT_EVENTS[DAYS[1]]}"}
    assert not lake.blob_lists()
    return tables_and_blobs(lake.rows, lake.blobs())


def test_expiry_and_an_erasure_on_s3_delete_exactly_what_they_delete_on_a_local_disk(
    session_on_s3, processed: Path, undisturbed: dict[str, object], tmp_path: Path
):
    on_disk = tmp_path / "disk"
    for name in ("warehouse", "bucket"):
        shutil.copytree(processed / name, on_disk / name)

    maintain(session_on_s3, maintenance_lake.lake_config(on_disk), maintenance_lake.request(EXPIRY_DAY, ERASURE))

    assert_same(undisturbed, tables_and_blobs(maintenance_lake.local_rows(on_disk), maintenance_lake.blobs(on_disk)))
    assert set(undisturbed["deletions"]) == {"erasure", "retention"}


def test_answers_lost_to_each_write_of_maintenance_are_sent_again_harmlessly(
    processed: Path, undisturbed: dict[str, object], s3_server: S3Server, through_faults: FaultyProxy, tmp_path: Path
):
    lake = copy_prepared(s3_server, "lost-once", through_faults.endpoint, tmp_path)
    # The first answer of each: a DELETE's commit, the blobs' DeleteObjects, the two appends of the run's records.
    commit = f"/lake/lost-once/profiles/_delta_log/{lake.version('profiles') + 1:020d}.json"
    through_faults.lose_answers("PUT", commit)
    through_faults.lose_answers("POST", "/blobs?delete")
    for table in ("deletions", "maintenance_runs"):
        through_faults.lose_answers("PUT", f"/lake/lost-once/{table}/_delta_log/{0:020d}.json")
    counts = through_faults.set_rates(FaultRates())

    assert erase_and_expire(lake, "lost-once") == maintain_cli.EXIT_OK

    assert counts.lost == 4
    assert_same(tables_and_blobs(lake.rows, lake.blobs()), undisturbed)
    assert len(lake.rows("maintenance_runs")) == 1
    # Each write sent again replaced itself: no table has a commit more than the undisturbed run's (a commit seen
    # as another writer's would have been made again under the next version).
    without_faults = LakeOnS3(s3_server, "undisturbed", lake.config)
    for table in (*TABLES, "deletions", "maintenance_runs"):
        assert lake.version(table) == without_faults.version(table), table


def test_answers_that_never_come_fail_the_run_in_one_line_and_the_next_run_finishes_it(
    processed: Path,
    undisturbed: dict[str, object],
    s3_server: S3Server,
    through_faults: FaultyProxy,
    tmp_path: Path,
    capsys,
):
    lake = copy_prepared(s3_server, "lost", through_faults.endpoint, tmp_path)
    capsys.readouterr()

    # Every answer to the commit of `functions`' DELETE lost: the commit is there, the run never hears of it.
    version = lake.version("functions") + 1
    through_faults.lose_answers("PUT", f"/lake/lost/functions/_delta_log/{version:020d}.json", times=NEVER)
    assert erase_and_expire(lake, "lost-commit") == maintain_cli.EXIT_DAY_FAILED
    through_faults.clear_rules()
    assert "maintain_tables.py: error:" in assert_one_line_error(capsys.readouterr().err, "maintain_tables.py")
    assert lake.version("functions") == version and lake.blob_lists()

    # Then every answer to DeleteObjects lost: the blobs of the first run's list cannot be confirmed gone.
    through_faults.lose_answers("POST", "/blobs?delete", times=NEVER)
    assert erase_and_expire(lake, "lost-blobs") == maintain_cli.EXIT_DAY_FAILED
    through_faults.clear_rules()
    assert_one_line_error(capsys.readouterr().err, "maintain_tables.py")

    # Then every answer to the records' appends lost: they took effect, and count as written.
    for table in ("deletions", "maintenance_runs"):
        through_faults.lose_answers("PUT", f"/lake/lost/{table}/_delta_log/", times=NEVER)
    counts = through_faults.set_rates(FaultRates())
    assert erase_and_expire(lake, "lost-records") == maintain_cli.EXIT_OK
    through_faults.clear_rules()

    assert counts.lost
    assert_same(tables_and_blobs(lake.rows, lake.blobs()), undisturbed)
    records = lake.rows("deletions")
    # The first run's deletes are recorded under its id, the rest under the last run's; each reason once a run.
    assert set(records["run_id"]) == {"lost-commit", "lost-records"}
    assert not records.duplicated(["run_id", "reason"]).any()
    assert list(lake.rows("maintenance_runs")["run_id"]) == ["lost-records"]
