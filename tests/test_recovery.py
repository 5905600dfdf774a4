"""Recovery from any failed run, for real: a run whose Python workers cannot start, then runs killed at the
moments that matter (before the first commit, with a table's files moved in and not committed), each leaving
what a crash leaves (an uncommitted table directory, a stale day lock, a staging directory); the next run
of the day proceeds, and the tables and blobs equal those of an undisturbed run. A run killed between the
tables' commits is `test_backfill.py`'s, whose resumed range is checked to hold every day's rows once.

Runs are killed deterministically: `PROFILE_PIPELINE_CRASH_AT` makes the driver SIGKILL itself at a named
point (`profile_pipeline/crash_points.py`).
"""

from __future__ import annotations

import json
import signal
import subprocess
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from deltalake import DeltaTable
from job_cli import assert_one_line_error, run_job
from ops_input import MESSAGES_PER_DAY, write_day
from warehouse_state import blob_content, comparable

from profile_pipeline.crash_points import ENVIRONMENT
from profile_pipeline.spark.tables import TABLES

DAY = date(2026, 11, 3)


def job_args(root: Path, name: str) -> list[str]:
    return [
        "--input", str(root / "input"),
        "--warehouse", str(root / name / "warehouse"),
        "--profiles-bucket", str(root / name / "bucket"),
        "--symbolication", "off",
        "--date", DAY.isoformat(),
    ]  # fmt: skip


def table(warehouse: Path, name: str) -> pd.DataFrame:
    return comparable(DeltaTable(str(warehouse / name)).to_pandas())


def blobs(bucket: Path) -> dict[str, tuple]:
    files = (path for path in bucket.rglob("*") if path.is_file())
    named = ((str(path.relative_to(bucket)), path) for path in files)
    return {name: blob_content(name, path.read_bytes()) for name, path in named}


def job_runs(warehouse: Path) -> list[tuple[str, str]]:
    runs = DeltaTable(str(warehouse / "job_runs")).to_pandas().sort_values("finished_at")
    return list(zip(runs["run_id"], runs["status"], strict=True))


def committed(warehouse: Path, name: str) -> bool:
    return any((warehouse / name / "_delta_log").glob("*.json"))


@pytest.fixture(scope="module")
def undisturbed_run(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    root = tmp_path_factory.mktemp("recovery")
    write_day(root / "input", DAY)
    job = run_job(*job_args(root, "undisturbed"), "--run-id", "undisturbed")
    assert job.returncode == 0, job.stderr[-3000:]
    return root, job


@pytest.fixture(scope="module")
def undisturbed(undisturbed_run: tuple[Path, subprocess.CompletedProcess[str]]) -> Path:
    return undisturbed_run[0]


def test_a_run_prints_its_own_lines_and_no_notice_a_user_can_do_nothing_about(
    undisturbed_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    _, job = undisturbed_run
    assert job.stdout.splitlines()[0].startswith(f"run undisturbed: 1 day(s) from {DAY}")
    # Nothing reaches stderr on a good day: no JVM notice, no Ivy report (the jars were resolved once,
    # beforehand), no warning, and no progress bar when stderr is not a terminal (a scheduler's log).
    assert not job.stderr.strip(), job.stderr[:2000]


def test_every_failed_run_is_recovered_by_the_next_run_of_the_day(undisturbed: Path) -> None:
    root = undisturbed
    args = job_args(root, "disturbed")
    warehouse, bucket = root / "disturbed" / "warehouse", root / "disturbed" / "bucket"
    # Directories of tables left without a commit, as a first run that died while writing leaves them.
    for name in ("job_runs", "profiles"):
        (warehouse / name / "_delta_log").mkdir(parents=True)

    # 1. Python workers that cannot start: the day fails, in one line saying what to do, and is recorded.
    workers = run_job(*args, "--run-id", "no-workers", extra_env={"PYSPARK_PYTHON": str(root / "no-python")})
    assert workers.returncode == 1
    line = assert_one_line_error(workers.stderr)
    assert "Cannot run program" in line and "set PYSPARK_PYTHON" in line, line
    assert job_runs(warehouse) == [("no-workers", "failed")]

    # 2. Killed once the rows are staged, before any table's commit: staging and the day's lock stay behind.
    staged = run_job(*args, "--run-id", "killed-staged", extra_env={ENVIRONMENT: "staged"})
    assert staged.returncode == -signal.SIGKILL
    assert list((warehouse / "_staging" / "run_id=killed-staged").glob(f"dt={DAY}/*.parquet"))
    assert not committed(warehouse, "profiles")
    (lock,) = [json.loads(path.read_text()) for path in (warehouse / "_locks" / f"dt={DAY}").glob("*.json")][-1:]
    assert lock["run_id"] == "killed-staged" and not lock["released"]

    # 3. Killed with `profiles`' files moved into the table and not committed: they are there, no reader sees them.
    moved = run_job(*args, "--run-id", "killed-moved", extra_env={ENVIRONMENT: "moved:profiles"})
    assert moved.returncode == -signal.SIGKILL
    assert "left by a run that died" in moved.stdout  # the dead run's staging directory
    assert not (warehouse / "_staging" / "run_id=killed-staged" / f"dt={DAY}").exists()
    assert list((warehouse / "profiles" / f"dt={DAY}").glob("*.parquet"))
    assert not committed(warehouse, "profiles")  # the commit that would have created the table never came

    # The next run proceeds and publishes the same tables and blobs as the undisturbed run.
    final = run_job(*args, "--run-id", "final")
    assert final.returncode == 0, final.stderr[-3000:]
    assert job_runs(warehouse) == [("no-workers", "failed"), ("final", "finished")]
    reference = root / "undisturbed" / "warehouse"
    for name in TABLES:
        assert table(warehouse, name).equals(table(reference, name)), name
    assert len(table(warehouse, "profiles")) + len(table(warehouse, "quarantine")) == MESSAGES_PER_DAY
    assert blobs(bucket) == blobs(root / "undisturbed" / "bucket") and blobs(bucket)
    assert not list((warehouse / "_staging").iterdir())  # no run's staging is left behind
    locks = sorted((warehouse / "_locks" / f"dt={DAY}").glob("*.json"))
    assert json.loads(locks[-1].read_text())["released"]


@pytest.mark.parametrize(
    ("warehouse", "message"),
    [
        ("a-file", "is a file, not a directory: give --warehouse a directory"),
        ("a-file/tables", "cannot be created"),
    ],
)
def test_a_warehouse_that_cannot_be_a_directory_is_one_line_and_exit_2(tmp_path: Path, warehouse: str, message: str):
    (tmp_path / "a-file").write_text("not a directory")
    job = run_job("--input", str(tmp_path), "--warehouse", str(tmp_path / warehouse), "--date", DAY.isoformat())
    assert job.returncode == 2 and job.stdout == ""
    assert message in assert_one_line_error(job.stderr)
