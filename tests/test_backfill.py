"""Backfills: days in order, resumed after a crash at the first unfinished day, one run per day at a time."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from deltalake import DeltaTable
from job_cli import run_job
from ops_input import GOOD_PER_DAY, MESSAGES_PER_DAY, write_day

from profile_pipeline.config import LockConfig
from profile_pipeline.crash_points import ENVIRONMENT
from profile_pipeline.run import cli
from profile_pipeline.run.day_lock import DayLock, DayLockLost, DayRefused, is_stale

DAYS = [date(2026, 11, 1) + timedelta(days=offset) for offset in range(3)]


def _job_runs(warehouse: Path) -> list[dict]:
    runs = DeltaTable(str(warehouse / "job_runs")).to_pandas()
    return sorted(runs.to_dict("records"), key=lambda run: (run["dt"], run["finished_at"]))


def _lock_generations(warehouse: Path, day: date) -> list[dict]:
    directory = warehouse / "_locks" / f"dt={day}"
    return [json.loads(path.read_text()) for path in sorted(directory.glob("*.json"))]


def test_a_killed_backfill_resumes_at_the_first_unfinished_day(tmp_path):
    for day in DAYS:
        write_day(tmp_path / "input", day)
    warehouse = tmp_path / "warehouse"
    args = ["--input", str(tmp_path / "input"), "--warehouse", str(warehouse), "--symbolication", "off"]
    args += ["--vroom", "off", "--start", str(DAYS[0])]
    whole = ["--end", str(DAYS[-1])]

    earlier = run_job(*args, "--end", str(DAYS[0]), "--run-id", "earlier")
    assert earlier.returncode == 0, earlier.stderr[-3000:]
    # The range run skips day 1, stages days 2 and 3 in one job, and is killed between its tables' commits.
    crashed = run_job(*args, *whole, "--run-id", "crashed", extra_env={ENVIRONMENT: "published:profiles"})
    assert crashed.returncode == -signal.SIGKILL
    assert f"{DAYS[0]}: already finished" in crashed.stdout
    assert [(run["dt"], run["status"]) for run in _job_runs(warehouse)] == [(DAYS[0], "finished")]

    resumed = run_job(*args, *whole, "--run-id", "resumed")

    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"{DAYS[0]}: already finished" in resumed.stdout
    runs = _job_runs(warehouse)
    assert [(run["dt"], run["run_id"], run["status"]) for run in runs] == [
        (DAYS[0], "earlier", "finished"),
        (DAYS[1], "resumed", "finished"),
        (DAYS[2], "resumed", "finished"),
    ]
    assert all(run["messages_in"] == MESSAGES_PER_DAY for run in runs)
    profiles = DeltaTable(str(warehouse / "profiles")).to_pandas(columns=["dt", "run_id"])
    assert profiles.groupby("dt").size().to_dict() == dict.fromkeys(DAYS, GOOD_PER_DAY)
    # Day 2's lock was held by the killed process; the resumed run took it over as the next generation.
    assert [(lock["run_id"], lock["released"]) for lock in _lock_generations(warehouse, DAYS[1])] == [
        ("crashed", False),
        ("resumed", True),
    ]


def test_a_held_day_is_refused_with_exit_3_then_runs_with_progress_and_summary(spark, tmp_path, capsys):
    day = DAYS[0]
    write_day(tmp_path / "input", day)
    warehouse = tmp_path / "warehouse"
    argv = ["--input", str(tmp_path / "input"), "--warehouse", str(warehouse), "--date", str(day)]
    argv += ["--symbolication", "off", "--vroom", "off"]

    with DayLock(str(warehouse), day, "first", LockConfig()):
        status = cli.main([*argv, "--run-id", "refused"])

    assert status == cli.EXIT_REFUSED
    error = capsys.readouterr().err.strip()
    assert error.startswith(f"process_profiles.py: error: {day}: refused: {day} is held by run first")
    assert "\n" not in error
    assert not (warehouse / "job_runs").exists() and not (warehouse / "profiles").exists()

    assert cli.main([*argv, "--run-id", "second"]) == cli.EXIT_OK
    printed = capsys.readouterr().out
    (run,) = _job_runs(warehouse)
    summary = json.loads(run["summary"])
    assert (summary["messages_in"], summary["profiles_out"], summary["quarantined"]) == (3, 2, 1)
    assert summary["symbolication_coverage"] == 0.0 and summary["frames_total"] > 0
    assert summary["seconds"] > 0
    reasons = {row["reason"] for row in summary["outcomes_by_reason"] if row["outcome_name"] == "INVALID"}
    assert reasons == {"payload_not_json"}
    for line in ("reading", "publishing profiles", "publishing outcomes", "publishing quarantine", "recording"):
        assert f"{day}: {line}" in printed
    assert f"symbolication: 0 of {summary['frames_total']} frames" in printed

    assert cli.main([*argv, "--run-id", "forced", "--force"]) == cli.EXIT_OK
    assert [(run["run_id"], run["status"]) for run in _job_runs(warehouse)] == [
        ("second", "finished"),
        ("forced", "finished"),
    ]
    profiles = DeltaTable(str(warehouse / "profiles")).to_pandas(columns=["run_id"])
    assert list(profiles["run_id"]) == ["forced"] * GOOD_PER_DAY


def test_racing_runs_get_the_day_exactly_once(tmp_path):
    start, outcomes = threading.Barrier(8), []

    def contend(name: str) -> None:
        lock = DayLock(str(tmp_path), DAYS[0], name, LockConfig())
        start.wait()
        try:
            lock.acquire()
        except DayRefused:
            outcomes.append("refused")
        else:
            outcomes.append("held")

    threads = [threading.Thread(target=contend, args=(f"run-{index}",)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["held"] + ["refused"] * 7
    assert len(_lock_generations(tmp_path, DAYS[0])) == 1


def test_an_expired_lock_is_taken_over_and_its_holder_stops(tmp_path):
    config = LockConfig(expiry_seconds=60.0, heartbeat_seconds=10.0)
    presumed_dead = DayLock(str(tmp_path), DAYS[0], "elsewhere", config)
    presumed_dead.acquire()
    # Its last heartbeat, as another host wrote it two minutes ago.
    path = tmp_path / "_locks" / f"dt={DAYS[0]}" / "00000000.json"
    record = json.loads(path.read_text())
    path.write_text(json.dumps({**record, "host": "other-host", "heartbeat_at": time.time() - 120}))

    with DayLock(str(tmp_path), DAYS[0], "taker", config):
        with pytest.raises(DayLockLost):
            presumed_dead.ensure_held()
        presumed_dead.release()  # does not mark the taker's generation released
        assert [lock["released"] for lock in _lock_generations(tmp_path, DAYS[0])] == [False, False]
    assert _lock_generations(tmp_path, DAYS[0])[-1]["released"] is True


@pytest.mark.parametrize(
    ("record", "stale"),
    [
        ({"heartbeat_at": 1000.0, "host": "other", "pid": 1}, False),
        ({"heartbeat_at": 1000.0, "host": "other", "pid": 1, "released": True}, True),
        ({"heartbeat_at": 339.0, "host": "other", "pid": 1}, True),
        ({"heartbeat_at": 1000.0, "host": "here", "pid": os.getpid()}, False),
    ],
)
def test_staleness(record, stale):
    assert is_stale(record, now=1000.0, expiry_seconds=660.0, host="here") is stale


def test_the_heartbeat_notices_a_takeover(tmp_path):
    lock = DayLock(str(tmp_path), DAYS[0], "holder", LockConfig(expiry_seconds=60.0, heartbeat_seconds=0.01))
    lock.acquire()
    newer = tmp_path / "_locks" / f"dt={DAYS[0]}" / "00000001.json"
    newer.write_text(json.dumps({"run_id": "taker", "host": "other", "pid": 1, "heartbeat_at": time.time()}))
    lock._thread.join(timeout=30)  # the heartbeat thread ends when it sees the newer generation
    assert not lock._thread.is_alive()
    with pytest.raises(DayLockLost):
        lock.ensure_held()
    lock.release()
    assert json.loads(newer.read_text())["run_id"] == "taker"
