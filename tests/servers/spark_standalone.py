"""A Spark standalone cluster on 127.0.0.1 for tests: a master and one worker, started with pyspark's launchers.

The master and the worker are the JVM daemons a real standalone cluster runs (`bin/spark-class` inside the
pyspark package, which is a complete Spark distribution), on free loopback ports, each in its own process
group so that teardown also ends the executors the worker started. Readiness is the worker's own log line
saying the master registered it, awaited up to a deadline.
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pyspark
import pytest
from servers.processes import ReadyLineWatch, free_port, stop_process_group

SPARK_HOME = Path(pyspark.__file__).resolve().parent
START_DEADLINE_SECONDS = 120.0
WORKER_CORES = 2
WORKER_MEMORY = "3g"
# The daemons only schedule; the default 1 GB heap each is more than a small machine should give them.
REGISTERED_LINE = b"Successfully registered with master"
DAEMON_ENVIRONMENT = {"SPARK_DAEMON_MEMORY": "256m", "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_NO_DAEMONIZE": "1"}


@dataclass(frozen=True)
class SparkCluster:
    master_url: str
    status_url: str
    work_dir: Path  # the worker's directory: one sub-directory per application, one per executor inside

    def spark_submit(self) -> Path:
        return SPARK_HOME / "bin" / "spark-submit"

    def applications(self) -> list[dict]:
        """The master's record of every application: id, name, state."""
        status = _read_status(self.status_url)
        return [*status.get("activeapps", []), *status.get("completedapps", [])]


def _read_status(status_url: str) -> dict:
    with urllib.request.urlopen(status_url, timeout=5) as response:
        return json.load(response)


def _start(arguments: list[str], log: IO[bytes] | int, environment: Mapping[str, str]) -> subprocess.Popen[bytes]:
    """A daemon whose output goes to `log` (a file, or `subprocess.PIPE` for the caller to read)."""
    command = [str(SPARK_HOME / "bin" / "spark-class"), *arguments]
    env = {**os.environ, **DAEMON_ENVIRONMENT, "SPARK_HOME": str(SPARK_HOME), **environment}
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)


@contextmanager
def running_spark_cluster(root: Path) -> Iterator[SparkCluster]:
    """A master and a worker of WORKER_CORES cores on 127.0.0.1 until the block ends; logs under `root`."""
    master_port, master_ui_port, worker_port, worker_ui_port = (free_port() for _ in range(4))
    master_url = f"spark://127.0.0.1:{master_port}"
    status_url = f"http://127.0.0.1:{master_ui_port}/json/"
    work_dir = root / "work"
    work_dir.mkdir(parents=True, exist_ok=True)
    environment = {"SPARK_LOG_DIR": str(root), "SPARK_WORKER_DIR": str(work_dir)}
    with ExitStack() as stack:
        logs = [root / "master.log", root / "worker.log"]
        master = _start(
            ["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(master_port),
             "--webui-port", str(master_ui_port)],
            stack.enter_context(logs[0].open("wb")),
            environment,
        )  # fmt: skip
        stack.callback(stop_process_group, master)
        worker = _start(
            ["org.apache.spark.deploy.worker.Worker", master_url, "--host", "127.0.0.1", "--port", str(worker_port),
             "--webui-port", str(worker_ui_port), "--cores", str(WORKER_CORES), "--memory", WORKER_MEMORY,
             "--work-dir", str(work_dir)],
            subprocess.PIPE,
            environment,
        )  # fmt: skip
        watch = ReadyLineWatch(worker, stack.enter_context(logs[1].open("wb")), REGISTERED_LINE, "the Spark worker")
        stack.callback(watch.join)
        stack.callback(stop_process_group, worker)
        watch.wait(logs[1], START_DEADLINE_SECONDS)
        yield SparkCluster(master_url=master_url, status_url=status_url, work_dir=work_dir)


@pytest.fixture(scope="session", name="spark_cluster")
def spark_cluster_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkCluster]:
    """One standalone cluster for the whole test run (import this fixture where it is needed)."""
    with running_spark_cluster(tmp_path_factory.mktemp("spark-cluster")) as cluster:
        yield cluster
