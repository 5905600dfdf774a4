"""A nightly run as a scheduler starts it: `python jobs/process_profiles.py --date D`, a fresh process, into a
warehouse that already holds some days, with the light stages (symbolication and vroom off):

    python benchmarks/fresh_run.py                        # 3 days of 1,000 profiles, then a day of 10,000
    python benchmarks/fresh_run.py --profiles 2000 --runs 1 --workdir /tmp/fresh-run   # a quick look

It generates the input, builds the warehouse by running the job on each earlier day in turn (each a fresh
process, as the nights before did), keeps a copy of it, then times, from that same copy each time:
  (a) fresh runs of the new day, end to end, and a re-run of it with --force into the warehouse the run left;
      each run's steps are timed from the job's progress lines as they arrive: start-up (interpreter,
      imports, JVM and Spark session) up to the run's first line, the checks before staging (finished days,
      erasures, the day lock, the input's listing), the stage phase, publishing, recording in job_runs, and
      the end (the summary, the session's stop and the process's exit);
  (b) the baseline: the same day in a warm session (a child that ran a day first), with the same steps.
It prints the median of each step, the time beyond the stage phase (the target: at most 12 s), and the fresh
run against the warm one.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NEW_DAY = date(2026, 11, 24)
STEPS = ("start-up", "checks", "stage", "publish", "record", "end")
TARGET_BEYOND_STAGES = 12.0


def history_days(args: argparse.Namespace) -> list[date]:
    return [NEW_DAY - timedelta(days=args.history_days + 1 - offset) for offset in range(args.history_days)]


def generate(workdir: Path, args: argparse.Namespace) -> None:
    from synthetic import write_day

    if (workdir / "input").exists():
        print(f"input kept from an earlier run in {workdir}", flush=True)
        return
    days = [(day, args.history_profiles) for day in history_days(args)] + [(NEW_DAY, args.profiles)]
    for day, count in days:
        write_day(
            workdir / "input",
            day.isoformat(),
            profiles=count,
            objects=max(2, count // 250),
            seed=day.toordinal(),
            target_bytes=args.target_bytes,
        )
    print(f"generated {len(days)} days in {workdir / 'input'}", flush=True)


def write_config(workdir: Path) -> Path:
    config = workdir / "light.toml"
    config.write_text(
        f'input = "{workdir / "input"}"\nwarehouse = "{workdir / "warehouse"}"\n'
        f'reference = "{ROOT / "conf" / "reference.json"}"\n'
        '[symbolication]\nmode = "off"\n[vroom]\nmode = "off"\n[options]\nunsampled_profiles_enabled = true\n'
    )
    return config


def fresh_run(config: Path, day: date, *extra: str) -> dict[str, float]:
    """One run of the job's command line, each step timed from its progress lines as they arrive."""
    command = [sys.executable, str(ROOT / "jobs" / "process_profiles.py"), "--config", str(config)]
    command += ["--date", day.isoformat(), "--run-id", f"fresh-{time.time_ns()}", *extra]
    environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
    started = time.perf_counter()
    marks: dict[str, float] = {}
    with subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=environment
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            now = time.perf_counter() - started
            if line.startswith("run "):
                marks.setdefault("checks", now)
            elif ": reading the input" in line:
                marks.setdefault("stage", now)
            elif ": publishing " in line:
                marks.setdefault("publish", now)
            elif ": recording the day" in line:
                marks.setdefault("record", now)
            elif line.startswith(f"{day}:") and "record" in marks:
                marks.setdefault("end", now)
    ended = time.perf_counter() - started
    if process.returncode != 0 or len(marks) != len(STEPS) - 1:
        raise SystemExit(f"fresh_run.py: error: the job exited {process.returncode} with steps {sorted(marks)}")
    bounds = [0.0, *(marks[step] for step in STEPS[1:]), ended]
    return {step: bounds[index + 1] - bounds[index] for index, step in enumerate(STEPS)}


def warm_run(workdir: Path, args: argparse.Namespace) -> dict[str, float]:
    """(b): the day in a session that ran an earlier day first (`benchmarks/spark_path.py`'s child)."""
    from spark_path import child

    _, warm = child(workdir, "light", [history_days(args)[-1:], [NEW_DAY]])
    steps = warm["steps"]
    return {"checks": steps["before"], "stage": steps["stage"], "publish": steps["publish"], "record": steps["record"]}


def medians(runs: list[dict[str, float]]) -> dict[str, float]:
    return {step: statistics.median(run[step] for run in runs) for step in runs[0]}


def beyond_stages(steps: dict[str, float]) -> float:
    return sum(seconds for step, seconds in steps.items() if step != "stage")


def show(label: str, steps: dict[str, float]) -> None:
    parts = ", ".join(f"{step} {seconds:.1f}s" for step, seconds in steps.items())
    print(f"{label}: {sum(steps.values()):.1f}s ({parts}); beyond the stages {beyond_stages(steps):.1f}s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profiles", type=int, default=10_000, help="profiles of the new day")
    parser.add_argument("--history-days", type=int, default=3, help="days the warehouse holds before the run")
    parser.add_argument("--history-profiles", type=int, default=1_000, help="profiles of each earlier day")
    parser.add_argument("--target-bytes", type=int, default=85_000)
    parser.add_argument("--runs", type=int, default=3, help="fresh runs of the new day (medians are printed)")
    parser.add_argument("--workdir", help="keep the generated data and warehouse here (default: a temporary directory)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="fresh-run-") as scratch:
        workdir = Path(args.workdir or scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        generate(workdir, args)
        config = write_config(workdir)
        warehouse, kept = workdir / "warehouse", workdir / "warehouse-before"
        if not kept.exists():
            shutil.rmtree(warehouse, ignore_errors=True)
            for day in history_days(args):
                fresh_run(config, day)
            shutil.copytree(warehouse, kept)
            print(f"warehouse of {args.history_days} days built, kept in {kept}", flush=True)

        runs, forced = [], []
        for _ in range(args.runs):
            shutil.rmtree(warehouse)
            shutil.copytree(kept, warehouse)
            runs.append(fresh_run(config, NEW_DAY))
            show("(a) fresh run of the new day", runs[-1])
            forced.append(fresh_run(config, NEW_DAY, "--force"))
            show("(a) fresh re-run with --force", forced[-1])
        warm = warm_run(workdir, args)
        show("(b) the same day in a warm session", warm)

        fresh, again = medians(runs), medians(forced)
        show(f"median of {args.runs} fresh runs", fresh)
        show(f"median of {args.runs} re-runs with --force", again)
        beyond = beyond_stages(fresh)
        print(
            f"beyond the stages: {beyond:.1f}s fresh (target <= {TARGET_BEYOND_STAGES:.0f}), "
            f"{beyond_stages(warm):.1f}s warm; a fresh run takes {sum(fresh.values()) / sum(warm.values()):.2f} x "
            f"the warm session's day, its steps beyond the stages {beyond / beyond_stages(warm):.2f} x",
            flush=True,
        )
        print(json.dumps({"fresh": fresh, "forced": again, "warm": warm}))


if __name__ == "__main__":
    main()
