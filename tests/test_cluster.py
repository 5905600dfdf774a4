"""The job on a Spark standalone cluster, its executors running the packed environment of `make package`.

A day is run locally (the job's command line in the tests' local session) and through `spark-submit --master
spark://...` on a master and worker on 127.0.0.1; the executors' Python is `./environment/bin/python` from
`spark.archives`, never the driver's virtualenv. The cluster run kills one Python worker with SIGKILL in the
middle of its task, after it stored a blob: Spark retries the task (`spark.task.maxFailures`). The tables and
the profile blobs of both runs must be equal, which shows at once that the packed environment computes what
the local run computes and that the retried task doubled nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pytest
from job_cli import JOB, JOB_TIMEOUT_SECONDS, PROJECT_ROOT, job_environment, run_from_project_root
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual
from servers.spark_standalone import SparkCluster, spark_cluster_fixture  # noqa: F401

from profile_pipeline.adapters import storage
from profile_pipeline.run import cli
from synthetic import write_day, write_symbol_store

DAY = date(2026, 11, 24)
TABLES = ("profiles", "outcomes", "quarantine", "functions", "occurrences", "chunks")
# Columns that differ between two runs of the same input by design.
RUN_COLUMNS = ("run_id", "timestamp")
ENVIRONMENT_ARCHIVE = "profile-pipeline-env.tar.gz"
KILLED_WORKER_MARKER = "killed-worker.pid"

# Loaded into the executors' Python workers through PYTHONPATH (test only): the first profile blob stored
# by any worker is followed by a SIGKILL of that worker; the marker file makes it happen once per run.
KILL_HOOK = """
import os, signal
from profile_pipeline.adapters import storage

_write_bytes = storage.write_bytes


def _write_then_die(uri, data):
    _write_bytes(uri, data)
    try:
        marker = os.open({marker!r}, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return
    os.write(marker, str(os.getpid()).encode())
    os.close(marker)
    os.kill(os.getpid(), signal.SIGKILL)


storage.write_bytes = _write_then_die
"""


@pytest.fixture(scope="module")
def packed_environment(tmp_path_factory) -> Path:
    """`scripts/package.sh` (what `make package` runs) into a temporary directory."""
    dist = tmp_path_factory.mktemp("dist")
    built = subprocess.run(
        [str(PROJECT_ROOT / "scripts" / "package.sh"), str(dist)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=JOB_TIMEOUT_SECONDS,
        check=False,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    assert len(list(dist.glob("profile_pipeline-*.whl"))) == 1
    return dist / ENVIRONMENT_ARCHIVE


@pytest.fixture(scope="module")
def day_input(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cluster-day")
    write_day(root / "input", DAY.isoformat(), profiles=24, objects=3, seed=11, target_bytes=8_000, oversize=False)
    write_symbol_store(str(root / "symbols"))
    return root


def job_arguments(root: Path, name: str) -> list[str]:
    return [
        "--input", str(root / "input"),
        "--warehouse", str(root / name / "warehouse"),
        "--profiles-bucket", str(root / name / "bucket"),
        "--symbols", str(root / "symbols"),
        "--batch-profiles", "4",
        "--date", DAY.isoformat(),
        "--run-id", name,
    ]  # fmt: skip


def submit(
    cluster: SparkCluster, environment_archive: Path, root: Path, name: str, conf: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`spark-submit` of a day in client mode; the executors unpack and run the packed environment."""
    settings = {
        "spark.archives": f"{environment_archive}#environment",
        "spark.pyspark.python": "./environment/bin/python",
        "spark.pyspark.driver.python": sys.executable,
        "spark.executor.memory": "1g",
        "spark.task.maxFailures": "4",
        "spark.eventLog.enabled": "true",
        "spark.eventLog.compress": "false",
        "spark.eventLog.rolling.enabled": "false",  # one file, named after the application id
        "spark.eventLog.dir": (root / name).as_uri(),
        **(conf or {}),
    }
    (root / name).mkdir(parents=True, exist_ok=True)
    command = [str(cluster.spark_submit()), "--master", cluster.master_url]
    command += ["--properties-file", "conf/spark-defaults.conf"]
    for key, value in settings.items():
        command += ["--conf", f"{key}={value}"]
    environment = {k: v for k, v in job_environment().items() if k not in ("PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON")}
    return run_from_project_root([*command, str(JOB), *job_arguments(root, name)], environment)


def read_tables(spark, warehouse: Path) -> dict:
    tables = {}
    for table in TABLES:
        frame = spark.read.format("delta").load(str(warehouse / table))
        tables[table] = frame.drop(*(column for column in RUN_COLUMNS if column in frame.columns))
    # vroomrs merges a function of a continuous chunk across threads in hash-map order, which differs
    # between processes: the thread it names and the order of its self times are not part of the result.
    tables["functions"] = (
        tables["functions"].drop("thread_id").withColumn("self_times_ns", F.sort_array("self_times_ns"))
    )
    return tables


def assert_same_tables(spark, warehouse: Path, expected_warehouse: Path) -> None:
    actual, expected = read_tables(spark, warehouse), read_tables(spark, expected_warehouse)
    assert expected["profiles"].count() > 0 and expected["quarantine"].count() > 0
    for table in TABLES:
        assertDataFrameEqual(actual[table], expected[table])


def blobs(bucket: Path) -> dict[str, Any]:
    """Every blob of the bucket as a reader sees it (hidden names are partial writes), decoded: vroomrs writes
    JSON objects' keys in hash-map order, which differs between processes, so equal blobs are equal documents
    rather than equal bytes."""
    documents = {}
    for path in sorted(bucket.rglob("*")):
        if path.is_file() and not path.name.startswith("."):
            with pa.input_stream(str(path), compression="lz4") as blob:
                documents[str(path.relative_to(bucket))] = orjson.loads(blob.read())
    return documents


def event_log(run_dir: Path) -> Path:
    """The run's Spark event log, named after its application id."""
    (log,) = (path for path in run_dir.iterdir() if path.name.startswith("app-"))
    return log


def task_attempts(run_dir: Path) -> Counter:
    """(stage, task index, failed) of every task end in the run's event log."""
    ends = Counter()
    for line in event_log(run_dir).read_text().splitlines():
        event = json.loads(line)
        if event["Event"] == "SparkListenerTaskEnd":
            info = event["Task Info"]
            ends[(event["Stage ID"], info["Index"], info["Failed"])] += 1
    return ends


@pytest.fixture(scope="module")
def local_run(spark, day_input) -> Path:
    assert cli.main(job_arguments(day_input, "local")) == cli.EXIT_OK
    return day_input / "local"


@pytest.fixture(scope="module")
def cluster_run(spark_cluster, packed_environment, day_input) -> Path:
    """The day on the cluster, the first Python worker that stores a blob killed right after."""
    hook = day_input / "kill-hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(KILL_HOOK.format(marker=str(day_input / KILLED_WORKER_MARKER)))
    conf = {"spark.executorEnv.PYTHONPATH": str(hook)}
    job = submit(spark_cluster, packed_environment, day_input, "cluster", conf)
    assert job.returncode == 0, job.stderr[-3000:]
    assert f"{DAY}: publishing profiles" in job.stdout
    return day_input / "cluster"


def test_a_day_on_a_standalone_cluster_equals_the_local_run(spark, spark_cluster, cluster_run, local_run):
    assert_same_tables(spark, cluster_run / "warehouse", local_run / "warehouse")
    cluster_blobs, local_blobs = blobs(cluster_run / "bucket"), blobs(local_run / "bucket")
    assert sorted(cluster_blobs) == sorted(local_blobs) and local_blobs
    for path, document in local_blobs.items():
        assert cluster_blobs[path] == document, path
    # The killed worker may have left partial writes of the blobs it was writing; the retried task wrote those
    # blobs whole, and maintenance deletes the partial writes with them.
    hidden = {path for path in (cluster_run / "bucket").rglob(".*") if path.is_file()}
    partial = {directory: storage.partial_writes(str(directory)) for directory in {path.parent for path in hidden}}
    assert hidden == {Path(uri) for found in partial.values() for uris in found.values() for uri in uris}
    assert all((directory / name).is_file() for directory, found in partial.items() for name in found)
    (run,) = spark.read.format("delta").load(str(cluster_run / "warehouse" / "job_runs")).collect()
    assert run["status"] == "finished" and run["run_id"] == "cluster"
    # The executors ran the unpacked archive, which holds the project as an installed wheel, without the
    # synthetic-data generators that only tests, benchmarks and the sample day use.
    (executor,) = (spark_cluster.work_dir / event_log(cluster_run).name).iterdir()
    site_packages = next((executor / "environment" / "lib").glob("python3.*/site-packages"))
    assert (site_packages / "profile_pipeline" / "spark" / "job.py").is_file()
    assert not (site_packages / "synthetic").exists()
    assert not list(site_packages.glob("__editable__*"))


def test_a_python_worker_killed_mid_task_is_retried_without_doubling(spark, day_input, cluster_run, local_run):
    # The tables and blobs equal the local run's (the test above); here, that a worker died and its task ran again.
    assert int((day_input / KILLED_WORKER_MARKER).read_text()) > 0  # a worker stored a blob and was killed
    attempts = task_attempts(cluster_run)
    failed = [(stage, index) for (stage, index, has_failed) in attempts if has_failed]
    assert len(failed) == 1 and attempts[(*failed[0], False)] == 1  # one failed attempt, retried once, succeeded
    (run,) = spark.read.format("delta").load(str(cluster_run / "warehouse" / "job_runs")).collect()
    summary = json.loads(run["summary"])
    (undisturbed,) = spark.read.format("delta").load(str(local_run / "warehouse" / "job_runs")).collect()
    assert summary["messages_in"] == json.loads(undisturbed["summary"])["messages_in"]
    assert summary["profiles_out"] == json.loads(undisturbed["summary"])["profiles_out"]
