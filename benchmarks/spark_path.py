"""The Spark path against one process, with the light stages (symbolication and vroom off) or the default ones
(both embedded):

    python benchmarks/spark_path.py                         # days of 20,000 and 100,000 profiles of ~85 KB
    python benchmarks/spark_path.py --profiles 2000 --large 5000 --target-bytes 20000      # a quick look
    python benchmarks/spark_path.py --stages default --profiles 2000 --large 6000 --target-bytes 100000

In one run it generates the input, then times, over the same files and configuration:
  (a) one Python process running the partition function and writing the staged Parquet files of each table
      (`staged_batches` + `stage_batch`, what each Spark task runs), on both days;
  (b) the job on local[2] from a ready SparkSession, the two days one after the other in one child process
      (after a small day that warms it up);
      the marginal rate is (large - small profiles) / (large - small seconds), the fixed cost of a day the
      small day's time beyond its profiles at that rate; each step of a day (stage, publish, record) is timed
      from the job's progress lines;
  (c) a small day (--small-messages profiles) and a range of --small-days such days, each in a child process
      of its own, with and without the session's start-up;
  (d) with --stages default, where Linux `perf` is installed: the single process over the smaller day again,
      under perf, for its CPU time per profile inside vroomrs and symbolic and beyond them (native_split.py).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DAY_SMALL, DAY_LARGE = date(2026, 11, 23), date(2026, 11, 24)
FIRST_TINY = date(2026, 10, 1)


def tiny_days(args: argparse.Namespace) -> list[date]:
    return [FIRST_TINY + timedelta(days=offset) for offset in range(args.small_days + 1)]


def stage_config(workdir: Path, stages: str) -> Any:
    from baseline import default_config, light_config

    return default_config(workdir) if stages == "default" else light_config(workdir)


def generate(workdir: Path, args: argparse.Namespace) -> None:
    from synthetic import write_day, write_symbol_store

    if (workdir / "input").exists():
        print(f"input kept from an earlier run in {workdir}", flush=True)
        return
    if args.stages == "default":
        write_symbol_store(str(workdir / "symbols"))
    sizes = [(DAY_SMALL, args.profiles, args.target_bytes), (DAY_LARGE, args.large, args.target_bytes)]
    sizes += [(day, args.small_messages, args.target_bytes) for day in tiny_days(args)]
    for day, count, target_bytes in sizes:
        started = time.perf_counter()
        manifest = write_day(
            workdir / "input",
            day.isoformat(),
            profiles=count,
            objects=max(2, count // 250),
            seed=day.toordinal(),
            target_bytes=target_bytes,
        )
        if count >= 1000:
            print(
                f"generated {day}: {manifest.profiles} profiles, {manifest.payload_bytes / 1e6:.0f} MB of JSON in "
                f"{len(manifest.objects)} objects ({time.perf_counter() - started:.0f}s)",
                flush=True,
            )


def single_process(workdir: Path, stages: str, day: date) -> tuple[int, float]:
    """(a): the partition function and the staged files of every table, in this process."""
    from baseline import stage_day_in_one_process

    day_dir = workdir / "input" / f"dt={day.isoformat()}"
    return stage_day_in_one_process(stage_config(workdir, stages), day, day_dir, workdir / "baseline" / f"dt={day}")


def child(workdir: Path, stages: str, runs: list[list[date]]) -> list[dict[str, Any]]:
    command = [sys.executable, __file__, f"--stages={stages}", "--child", str(workdir), _days_json(runs)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def _days_json(runs: list[list[date]]) -> str:
    return json.dumps([[str(day) for day in run] for run in runs])


def run_child(workdir: Path, stages: str, runs: list[list[date]]) -> None:
    from profile_pipeline.adapters.reference import load_reference
    from profile_pipeline.run.runner import run_days
    from profile_pipeline.spark.session import build_session

    config = stage_config(workdir, stages)
    started = time.perf_counter()
    spark = build_session("spark-path-benchmark", [config.input])
    session = time.perf_counter() - started
    reference = load_reference(config.reference)
    figures = []
    for index, days in enumerate(runs):
        lines: list[tuple[float, str]] = []
        progress = partial(_timed, lines)
        started = time.perf_counter()
        results = run_days(
            spark,
            config,
            reference,
            days,
            run_id=f"bench-{index}",
            force=True,
            arguments={},
            report=lambda _: None,
            progress=progress,
        )
        ended = time.perf_counter()
        assert all(result.status == "finished" for result in results), results
        figures.append(
            {
                "profiles": sum(result.counts["profiles"] for result in results),
                "seconds": ended - started,
                "session_seconds": session,
                "steps": _steps(started, lines, ended),
            }
        )
    print(json.dumps(figures))


def _timed(lines: list[tuple[float, str]], line: str) -> None:
    lines.append((time.perf_counter(), line))


def _steps(started: float, lines: list[tuple[float, str]], ended: float) -> dict[str, float]:
    """Seconds of each step, from the first progress line of each to the next step's."""
    marks = {"stage": "reading", "publish": "publishing", "record": "recording"}
    begins = {step: next(t for t, line in lines if f": {word}" in line) for step, word in marks.items()}
    ordered = sorted(begins.items(), key=lambda item: item[1])
    steps = {"before": ordered[0][1] - started}
    for (step, begin), (_, end) in zip(ordered, [*ordered[1:], ("end", ended)], strict=True):
        steps[step] = end - begin
    return steps


def library_split(workdir: Path, stages: str, day: date) -> None:
    """(d): the single process over `day` under perf; prints its CPU per profile inside the libraries and beyond."""
    import native_split

    if not native_split.available():
        print("(d) perf is not installed: the libraries' share is not measured", flush=True)
        return
    command = [sys.executable, __file__, f"--stages={stages}", "--baseline-child", str(workdir), str(day)]
    output = native_split.record(command, workdir / "perf.data")
    profiles, cpu_seconds = json.loads(output.strip().splitlines()[-1])
    owners = native_split.split(workdir / "perf.data")
    total = sum(owners.values())
    per_profile = 1000 * cpu_seconds / profiles
    parts = ", ".join(f"{owner} {per_profile * count / total:.1f} ms" for owner, count in owners.most_common())
    print(f"(d) {profiles} profiles, {per_profile:.1f} ms of CPU per profile: {parts} ({total} samples)", flush=True)


def run_baseline_child(workdir: Path, stages: str, day: date) -> None:
    """(d)'s child: the single process over the day; prints its profiles and CPU seconds."""
    started = time.process_time()
    profiles, _ = single_process(workdir, stages, day)
    print(json.dumps([profiles, time.process_time() - started]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profiles", type=int, default=20_000, help="profiles of the smaller large day")
    parser.add_argument("--large", type=int, default=100_000, help="profiles of the larger day")
    parser.add_argument("--target-bytes", type=int, default=85_000)
    parser.add_argument("--small-days", type=int, default=10)
    parser.add_argument("--small-messages", type=int, default=240)
    parser.add_argument("--stages", choices=("light", "default"), default="light")
    parser.add_argument("--workdir", help="keep the generated data here (default: a temporary directory)")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--baseline-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        workdir, runs = args.child
        run_child(Path(workdir), args.stages, [[date.fromisoformat(d) for d in r] for r in json.loads(runs)])
        return
    if args.baseline_child:
        run_baseline_child(Path(args.baseline_child[0]), args.stages, date.fromisoformat(args.baseline_child[1]))
        return

    with tempfile.TemporaryDirectory(prefix="spark-path-") as scratch:
        workdir = Path(args.workdir or scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        generate(workdir, args)
        single = {day: single_process(workdir, args.stages, day) for day in (DAY_SMALL, DAY_LARGE)}
        for profiles, seconds in single.values():
            print(f"(a) one process: {profiles} profiles in {seconds:.1f}s = {profiles / seconds:.0f}/s", flush=True)
        rate_a = sum(p for p, _ in single.values()) / sum(s for _, s in single.values())

        # The first day of a session pays for the JVM's and the workers' warm-up and the tables' creation.
        _, small, large = child(workdir, args.stages, [tiny_days(args)[:1], [DAY_SMALL], [DAY_LARGE]])
        marginal = (large["profiles"] - small["profiles"]) / (large["seconds"] - small["seconds"])
        fixed = small["seconds"] - small["profiles"] / marginal
        print(f"(b) Spark session start-up {small['session_seconds']:.1f}s", flush=True)
        for run in (small, large):
            steps = ", ".join(f"{step} {seconds:.1f}s" for step, seconds in run["steps"].items())
            print(f"(b) {run['profiles']} profiles in {run['seconds']:.1f}s ({steps})", flush=True)
        target = 1.8 if args.stages == "default" else 1.9
        print(f"marginal rate {marginal:.0f} profiles/s = {marginal / rate_a:.2f} x one process (target >= {target})")
        for day, run in ((DAY_SMALL, small), (DAY_LARGE, large)):
            profiles, seconds = single[day]
            print(f"end to end at {profiles} profiles: {seconds / run['seconds']:.2f} x one process")
        print(f"fixed cost of a day beyond start-up: {fixed:.1f}s", flush=True)

        days = tiny_days(args)
        (one,) = child(workdir, args.stages, [days[:1]])
        (ten,) = child(workdir, args.stages, [days[1:]])
        print(
            f"(c) one day of {args.small_messages} profiles: {one['seconds']:.1f}s "
            f"(+{one['session_seconds']:.1f}s start-up); {args.small_days} such days: {ten['seconds']:.1f}s "
            f"(+{ten['session_seconds']:.1f}s start-up)"
        )
        with_startup = (ten["seconds"] + ten["session_seconds"]) / (one["seconds"] + one["session_seconds"])
        print(
            f"{args.small_days} days / one day = {with_startup:.2f} with start-up, "
            f"{ten['seconds'] / one['seconds']:.2f} without (target <= 3)"
        )
        if args.stages == "default":
            library_split(workdir, args.stages, DAY_SMALL)


if __name__ == "__main__":
    main()
