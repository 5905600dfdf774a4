"""With symbolication and vroom embedded (the job's default modes), the time per profile spent inside the
Rust libraries (vroomrs, symbolic) and in everything else:

    python benchmarks/library_share.py                   # 400 profiles of ~100 KB of every kind
    python benchmarks/library_share.py --profiles 1000 --rate 200
    python benchmarks/library_share.py --perf            # the CPU split by Linux perf instead

It generates a day (the synthetic mix of every format, as `benchmarks/throughput.py`) and the symbol store
of the fixtures, then runs the single-process baseline (the partition function and the staged Parquet
files) over the day in two child processes, each after a warm-up over the first object (debug files
loaded, as a worker has after its first task): one timed by its CPU time, one under py-spy with native
stacks. Each sample is put down to vroomrs or symbolic when a frame of its stack is in that library's
module, else to the innermost part of the work it is in; each part's share of the samples times the
timed run's CPU time per profile gives its milliseconds per profile. The samples are wall-clock ones:
writing files counts with the disk's load. With `--perf`, the timed child runs under Linux perf instead,
sampled over the day alone (after its warm-up), and its CPU is split between the libraries and the rest
as `native_split.py` splits it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import native_split  # noqa: E402  (benchmarks/, on the path as this script's directory)

DAY = date(2026, 11, 24)
PY_SPY = Path(sys.executable).with_name("py-spy")
LIBRARIES = ("vroomrs", "symbolic")
# A sample that is in neither library is put down to the innermost of these functions in its stack.
PARTS = {
    "process_profile": "vroom stage beyond vroomrs: the profile serialized for it, its results read into rows",
    "run_vroom_stage": "vroom stage beyond vroomrs: the rest (blobs written)",
    "symbolicate_batch": "symbolication beyond symbolic: requests, frames and answers",
    "deobfuscate_batch": "other stages",
    "process_js_profiles": "other stages",
    "normalize_batch": "other stages",
    "set_frames_platform_batch": "other stages",
    "apply_stacktrace_rules_batch": "other stages",
    "attach_metrics_dsn_batch": "other stages",
    "open_message": "reading and opening messages",
    "read_object": "reading and opening messages",
    "profile_row": "profile rows (payload serialized and zstd-compressed)",
    "_work_rows": "outcome and function rows",
    "to_staged_batches": "Arrow encoding of the rows",
    "stage_batch": "staged Parquet files and counts",
    "collect_between_batches": "cycle collection between batches",
}


def generate(workdir: Path, args: argparse.Namespace) -> None:
    from baseline import write_input_day

    from synthetic import write_symbol_store

    write_symbol_store(str(workdir / "symbols"))
    write_input_day(workdir / "input", DAY, args.profiles, args.target_bytes, per_object=100)


def run_child(workdir: Path, sampled: bool) -> None:
    """Child: a warm-up over the first object, then the day, timed by its CPU time (or sampled by py-spy)."""
    from baseline import default_config, stage_objects_in_one_process

    paths = sorted((workdir / "input" / f"dt={DAY.isoformat()}").iterdir())
    stage_objects_in_one_process(default_config(workdir), DAY, paths[:1], workdir / "warm-up")
    run = sampled_day if sampled else stage_objects_in_one_process
    with native_split.measured():
        started = time.process_time()
        profiles, _ = run(default_config(workdir), DAY, paths, workdir / ("sampled" if sampled else "timed"))
        cpu_seconds = time.process_time() - started
    print(json.dumps({"profiles": profiles, "cpu_seconds": cpu_seconds}))


def sampled_day(*args: Any) -> tuple[int, float]:
    """The day under py-spy: only the samples whose stack holds this function are counted."""
    from baseline import stage_objects_in_one_process

    return stage_objects_in_one_process(*args)


def part_of(stack: str) -> str:
    """What a sample of py-spy's raw format (frames from the outermost, `;`-separated) was doing."""
    frames = stack.split(";")
    for library in LIBRARIES:
        if any(f"{library}/" in frame for frame in frames):
            return library
    for frame in reversed(frames):
        part = PARTS.get(frame.split(" (", 1)[0])
        if part is not None:
            return part
    return "the rest (the partition function's loop, the interpreter)"


def shares(samples: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    for line in samples.splitlines():
        stack, _, count = line.rpartition(" ")
        if "sampled_day" in stack:
            counts[part_of(stack)] += int(count)
    return counts


def print_perf_split(output: str, recording: Path) -> None:
    """The timed child's CPU per profile, split by perf's samples between the libraries and the rest."""
    result = json.loads(output.strip().splitlines()[-1])
    owners = native_split.split(recording)
    total = sum(owners.values())
    per_profile = 1000 * result["cpu_seconds"] / result["profiles"]
    parts = ", ".join(f"{owner} {per_profile * owners[owner] / total:.1f} ms" for owner in (*LIBRARIES, "the rest"))
    print(f"{result['profiles']} profiles, {per_profile:.1f} ms of CPU per profile: {parts} ({total} samples)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profiles", type=int, default=400)
    parser.add_argument("--target-bytes", type=int, default=100_000)
    parser.add_argument("--rate", type=int, default=250, help="py-spy's samples per second")
    parser.add_argument("--samples", help="keep py-spy's raw samples in this file")
    parser.add_argument("--perf", action="store_true", help="split the CPU with Linux perf rather than py-spy")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(Path(args.child[0]), args.child[1] == "sampled")
        return

    with tempfile.TemporaryDirectory(prefix="library-share-") as scratch:
        workdir = Path(scratch)
        generate(workdir, args)
        child = [sys.executable, __file__, "--child", str(workdir)]
        if args.perf:
            print_perf_split(
                native_split.record([*child, "timed"], workdir / "perf.data", only_measured=True), workdir / "perf.data"
            )
            return
        timed = subprocess.run([*child, "timed"], check=True, capture_output=True, text=True).stdout
        result = json.loads(timed.strip().splitlines()[-1])
        samples = Path(args.samples or workdir / "samples.txt")
        sampler = [str(PY_SPY), "record", "--native", "--rate", str(args.rate), "--format", "raw"]
        subprocess.run(
            [*sampler, "--output", str(samples), "--", *child, "sampled"], check=True, capture_output=True, text=True
        )
        counts = shares(samples.read_text())
    per_profile = 1000 * result["cpu_seconds"] / result["profiles"]
    total = sum(counts.values())
    profiles, seconds = result["profiles"], result["cpu_seconds"]
    print(f"{profiles} profiles in {seconds:.1f}s of CPU: {per_profile:.1f} ms per profile ({total} samples)")
    for part, count in counts.most_common():
        print(f"  {part}: {per_profile * count / total:.1f} ms ({100 * count / total:.0f}%)")
    inside = sum(counts[library] for library in LIBRARIES)
    beyond = per_profile * (total - inside) / total
    print(f"beyond the library calls: {beyond:.1f} ms per profile ({100 * (total - inside) / total:.0f}%)")


if __name__ == "__main__":
    main()
