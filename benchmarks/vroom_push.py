"""Throughput of the HTTP vroom mode: bounded concurrent pushes versus one request at a time.

Pushes profiles through the vroom stage (`vroom.mode = "http"`) to the test vroom server answering
each request after a fixed latency, in batches as a partition would hand them over. The baseline, one
request in flight, runs in the same process on a subset and is compared as a rate.

    .venv/bin/python benchmarks/vroom_push.py [--profiles 10000] [--latency-ms 20] [--max-in-flight 16]

Exits non-zero if the speed-up is under the target or the server ever saw more requests in flight
than the configured bound.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from servers.vroom import Behaviour, VroomServer  # noqa: E402
from vroom_profiles import cocoa_v1, make_work  # noqa: E402

from profile_pipeline.adapters.reference import ReferenceData  # noqa: E402
from profile_pipeline.config import JobConfig, VroomConfig  # noqa: E402
from profile_pipeline.stages.context import StageContext  # noqa: E402
from profile_pipeline.stages.vroom import run_vroom_stage  # noqa: E402

TARGET_SPEEDUP = 8.0


def push(count: int, latency: float, max_in_flight: int, batch: int) -> tuple[float, int]:
    """Push `count` profiles; return profiles per second and the peak number of requests in flight."""
    works = [make_work(cocoa_v1(f"{index:032x}")) for index in range(count)]
    with VroomServer(Behaviour(latency=latency)) as server:
        config = JobConfig(vroom=VroomConfig(mode="http", url=server.url, max_in_flight=max_in_flight))
        ctx = StageContext(config=config, reference=ReferenceData(), run_id="bench", day=date.today())
        started = time.perf_counter()
        for start in range(0, count, batch):
            run_vroom_stage(works[start : start + batch], ctx)
        elapsed = time.perf_counter() - started
        failed = [work for work in works if not work.ok]
        if failed or len(server.requests) != count:
            raise SystemExit(f"{len(failed)} pushes failed, {len(server.requests)} requests for {count} profiles")
        return count / elapsed, server.peak_in_flight


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profiles", type=int, default=10_000)
    parser.add_argument("--baseline-profiles", type=int, default=250)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--max-in-flight", type=int, default=VroomConfig().max_in_flight)
    parser.add_argument("--batch", type=int, default=JobConfig().batch_profiles)
    args = parser.parse_args()
    latency = args.latency_ms / 1000

    baseline_rate, baseline_peak = push(args.baseline_profiles, latency, 1, args.batch)
    print(f"one at a time: {args.baseline_profiles} profiles, {baseline_rate:8.1f} profiles/s, peak {baseline_peak}")
    rate, peak = push(args.profiles, latency, args.max_in_flight, args.batch)
    print(f"bounded ({args.max_in_flight}):  {args.profiles} profiles, {rate:8.1f} profiles/s, peak {peak}")
    speedup = rate / baseline_rate
    print(f"speed-up {speedup:.1f}x (target {TARGET_SPEEDUP:.0f}x), latency {args.latency_ms:g} ms per request")
    ok = speedup >= TARGET_SPEEDUP and peak <= args.max_in_flight and baseline_peak == 1
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
