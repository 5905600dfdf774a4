"""Throughput of the job against a single Python process doing the same work, and the driver's memory.

    python benchmarks/throughput.py                    # 20,000 profiles of ~100 KB, plus 10,000 for memory
    python benchmarks/throughput.py --profiles 2000 --small 1000 --target-bytes 20000   # a quick look

In one run it generates the input, then times, over the same files and configuration:
  (a) one Python process applying the per-partition functions to every object and writing the staged
      Parquet files of every table, as each Spark task does;
  (b) the Spark job on local[2], from a ready SparkSession to committed Delta tables (session start-up
      is reported apart);
and prints profiles per second of both and the ratio b/a. With `--rounds N`, (a) and (b) alternate N times,
each over a new warehouse and bucket, and the median ratio is printed: on a shared machine the speed of the
same process drifts by a fifth within minutes, which one pair of runs cannot tell from a change of the code.
Each Spark run happens in a child process so that its driver's peak memory (Python RSS and JVM heap) is its
own; comparing two input sizes shows whether it grows with the input. `benchmarks/spark_path.py` separates
the marginal rate from the fixed cost of a day, `benchmarks/scaling.py` measures what two plain processes get
from the machine's two cores.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DAY_SMALL, DAY_LARGE = date(2026, 11, 23), date(2026, 11, 24)


def _config(workdir: Path, args: argparse.Namespace) -> Any:
    from profile_pipeline.config import JobConfig, SentryOptions, SymbolicationConfig, VroomConfig

    return JobConfig(
        input=str(workdir / "input"),
        warehouse=str(workdir / "warehouse"),
        reference=str(ROOT / "conf" / "reference.json"),
        batch_profiles=args.batch_profiles,
        symbolication=SymbolicationConfig(mode=args.symbolication, symbols=str(workdir / "symbols")),
        vroom=VroomConfig(mode=args.vroom, profiles_bucket=str(workdir / "bucket")),
        options=SentryOptions(unsampled_profiles_enabled=True),
    )


def generate(workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    from synthetic import write_day, write_symbol_store

    write_symbol_store(str(workdir / "symbols"))
    manifests = {}
    for day, count in ((DAY_SMALL, args.small), (DAY_LARGE, args.profiles)):
        started = time.perf_counter()
        manifest = write_day(
            workdir / "input",
            day.isoformat(),
            profiles=count,
            objects=max(2, count // args.profiles_per_object),
            seed=day.toordinal(),
            target_bytes=args.target_bytes,
        )
        manifests[day.isoformat()] = manifest.to_dict()
        print(
            f"generated {day}: {manifest.profiles} profiles, {manifest.payload_bytes / 1e6:.0f} MB of JSON in "
            f"{len(manifest.objects)} objects ({time.perf_counter() - started:.0f}s)",
            flush=True,
        )
    return manifests


def single_process(workdir: Path, args: argparse.Namespace, day: date) -> tuple[int, float]:
    """(a): the same per-partition functions in this process, staged files written as the tasks write them."""
    from baseline import stage_day_in_one_process

    day_dir = workdir / "input" / f"dt={day.isoformat()}"
    return stage_day_in_one_process(_config(workdir, args), day, day_dir, workdir / "baseline" / f"dt={day}")


def spark_child(workdir: Path, args: argparse.Namespace, day: date) -> dict[str, Any]:
    """(b) in a child process; returns its timings and peak memory."""
    command = [sys.executable, __file__, "--child", str(workdir), day.isoformat(), *_forwarded(args)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def _forwarded(args: argparse.Namespace) -> list[str]:
    return [
        f"--batch-profiles={args.batch_profiles}",
        f"--symbolication={args.symbolication}",
        f"--vroom={args.vroom}",
    ]


def run_child(workdir: Path, args: argparse.Namespace, day: date) -> None:
    from pyspark.sql import functions as F

    from profile_pipeline.adapters.reference import load_reference
    from profile_pipeline.run.runner import run_days
    from profile_pipeline.spark.session import build_session

    config = _config(workdir, args)
    started = time.perf_counter()
    spark = build_session("throughput-benchmark", [config.input])
    session_seconds = time.perf_counter() - started
    started = time.perf_counter()
    (result,) = run_days(
        spark, config, load_reference(config.reference), [day], run_id="bench", force=True, arguments={},
        report=lambda _: None,
    )  # fmt: skip
    counts = result.counts
    seconds = time.perf_counter() - started
    committed = spark.read.format("delta").load(f"{config.warehouse}/profiles").where(F.col("dt") == day).count()
    heap_peak = sum(
        pool.getPeakUsage().getUsed()
        for pool in spark._jvm.java.lang.management.ManagementFactory.getMemoryPoolMXBeans()
        if str(pool.getType()) == "Heap memory"
    )
    result = {
        "profiles": counts["profiles"],
        "committed": committed,
        "seconds": seconds,
        "session_seconds": session_seconds,
        "master": spark.sparkContext.master,
        "cores": spark.sparkContext.defaultParallelism,
        "python_peak_mb": _peak_rss_mb(),
        "jvm_heap_peak_mb": heap_peak / 1e6,
    }
    print(json.dumps(result))


def run_round(workdir: Path, args: argparse.Namespace, round_: int) -> tuple[float, dict[str, Any]]:
    """(a) then (b) over the large day, each over a new warehouse and bucket; prints both, returns the ratio b/a
    and (b)'s timings and memory."""
    label = f"round {round_}: " if args.rounds > 1 else ""
    _clear_outputs(workdir)
    profiles_a, seconds_a = single_process(workdir, args, DAY_LARGE)
    rate_a = profiles_a / seconds_a
    print(f"{label}(a) single process: {profiles_a} profiles in {seconds_a:.1f}s = {rate_a:.0f} profiles/s", flush=True)
    _clear_outputs(workdir)
    large = spark_child(workdir, args, DAY_LARGE)
    rate_b = large["profiles"] / large["seconds"]
    print(
        f"{label}(b) Spark {large['master']} ({large['cores']} cores): {large['profiles']} profiles in "
        f"{large['seconds']:.1f}s = {rate_b:.0f} profiles/s"
        f" (session start-up {large['session_seconds']:.1f}s apart; {large['committed']} rows committed)",
        flush=True,
    )
    print(f"{label}ratio b/a = {rate_b / rate_a:.2f}", flush=True)
    return rate_b / rate_a, large


def _clear_outputs(workdir: Path) -> None:
    """Remove what an earlier (a) or (b) wrote: the staged files, the warehouse, the blobs."""
    for name in ("baseline", "warehouse", "bucket"):
        shutil.rmtree(workdir / name, ignore_errors=True)


def _peak_rss_mb() -> float:
    """This process's peak resident memory since its exec (`ru_maxrss` would include the forking parent)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profiles", type=int, default=20_000)
    parser.add_argument("--small", type=int, default=10_000, help="the smaller day, for the memory comparison")
    parser.add_argument("--target-bytes", type=int, default=100_000)
    parser.add_argument("--profiles-per-object", type=int, default=250)
    parser.add_argument("--batch-profiles", type=int, default=500)
    parser.add_argument("--symbolication", default="embedded")
    parser.add_argument("--vroom", default="embedded")
    parser.add_argument("--workdir", help="keep the generated data here (default: a temporary directory)")
    parser.add_argument("--rounds", type=int, default=1, help="alternate (a) and (b) this many times")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        workdir, day = args.child
        run_child(Path(workdir), args, date.fromisoformat(day))
        return

    with tempfile.TemporaryDirectory(prefix="throughput-") as scratch:
        workdir = Path(args.workdir or scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        generate(workdir, args)
        ratios = []
        for round_ in range(1, args.rounds + 1):
            ratio, large = run_round(workdir, args, round_)
            ratios.append(ratio)
        if args.rounds > 1:
            print(f"median ratio b/a of {args.rounds} rounds = {statistics.median(ratios):.2f}", flush=True)
        _clear_outputs(workdir)
        small = spark_child(workdir, args, DAY_SMALL)
        for label, run in ((f"{args.small:>6}", small), (f"{args.profiles:>6}", large)):
            print(
                f"driver peak memory at {label} profiles: python {run['python_peak_mb']:.0f} MB, "
                f"JVM heap {run['jvm_heap_peak_mb']:.0f} MB"
            )


if __name__ == "__main__":
    main()
