"""The aggregate flame graph of 1,000 profiles of ~100 KB read from the `profiles` Delta table, in one process:

    python benchmarks/flame_graph.py                  # target: under 5 s
    python benchmarks/flame_graph.py --profiles 1000 --repeat 3

The warehouse is made once under benchmarks/out/ (a generated day of every live format, all sampled,
processed by the job with the light stages: symbolication and vroom off, so that building it is quick; the
payloads are the same size). Then `explore.flame_graph` is timed over the whole day, and the same work again
phase by phase with the library's own pieces: reading the rows with delta-rs, decompressing the payloads,
parsing the JSON, and summing the stacks into the call tree.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DAY = date(2026, 11, 24)
TARGET_SECONDS = 5.0


def build_warehouse(workdir: Path, profiles: int) -> str:
    """The day processed by the job (once: a warehouse already there is used as it is)."""
    warehouse = workdir / "warehouse"
    if (warehouse / "profiles" / "_delta_log").exists():
        return str(warehouse)
    from profile_pipeline.adapters.reference import load_reference
    from profile_pipeline.config import JobConfig, SymbolicationConfig, VroomConfig
    from profile_pipeline.run.runner import run_days
    from profile_pipeline.spark.session import build_session
    from synthetic import write_day

    write_day(
        workdir / "input",
        DAY.isoformat(),
        profiles=profiles,
        objects=8,
        seed=7,
        include_bad=False,
        include_unsampled=False,
        legacy_profiles=0,
    )
    config = JobConfig(
        input=str(workdir / "input"),
        warehouse=str(warehouse),
        symbolication=SymbolicationConfig(mode="off"),
        vroom=VroomConfig(mode="off"),
    )
    spark = build_session("flame-graph-benchmark", [config.input, config.warehouse])
    reference = load_reference(str(ROOT / "conf" / "reference.json"))
    (result,) = run_days(
        spark, config, reference, [DAY], run_id="bench", force=True, arguments={}, report=lambda _: None
    )
    spark.stop()
    if result.status != "finished":
        raise SystemExit(f"building the warehouse failed: {result.error}")
    return str(warehouse)


def phases(warehouse: str) -> dict[str, float]:
    """The flame graph's work, each phase timed on its own (seconds)."""
    import orjson
    import zstandard

    from profile_pipeline.explore.selection import Selection, read_payloads
    from profile_pipeline.explore.stacks import summed_thread_stacks
    from profile_pipeline.explore.tree import CallTree

    spent = dict.fromkeys(("reading", "decompressing", "parsing", "aggregating"), 0.0)
    decompressor = zstandard.ZstdDecompressor()
    tree = CallTree()
    clock = time.perf_counter()
    for fmt, payload in read_payloads(warehouse, Selection(start=DAY, end=DAY)):
        now = time.perf_counter()
        spent["reading"] += now - clock
        text = decompressor.decompress(payload)
        clock, now = now, time.perf_counter()
        spent["decompressing"] += now - clock
        profile = orjson.loads(text)
        clock, now = now, time.perf_counter()
        spent["parsing"] += now - clock
        tree.add_all(summed_thread_stacks(profile, fmt).items())
        tree.profiles += 1
        clock, now = now, time.perf_counter()
        spent["aggregating"] += now - clock
        clock = now
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", default=str(ROOT / "benchmarks" / "out" / "flame-graph"))
    args = parser.parse_args()
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    warehouse = build_warehouse(workdir, args.profiles)

    from deltalake import DeltaTable

    from profile_pipeline.explore import Selection, flame_graph
    from profile_pipeline.spark import cycle_collection

    table = DeltaTable(f"{warehouse}/profiles").to_pyarrow_table(columns=["payload", "sampled"])
    sizes = [len(p) for p in table.column("payload").to_pylist()]
    print(
        f"profiles table: {table.num_rows} rows, payloads {sum(sizes) / len(sizes) / 1e3:.1f} KB compressed on average"
    )
    for attempt in range(args.repeat):
        clock = time.perf_counter()
        tree = flame_graph(warehouse, Selection(start=DAY, end=DAY))
        seconds = time.perf_counter() - clock
        verdict = "under" if seconds < TARGET_SECONDS else "OVER"
        print(
            f"run {attempt + 1}: flame_graph of {tree.profiles} profiles in {seconds:.2f} s ({verdict} the"
            f" {TARGET_SECONDS:.0f} s target); {len(list(tree.stacks()))} distinct stacks"
        )
    with cycle_collection.paused():  # as `flame_graph` runs
        spent = phases(warehouse)
    total = sum(spent.values())
    shares = ", ".join(f"{name} {seconds:.2f} s ({seconds / total:.0%})" for name, seconds in spent.items())
    print(f"by phase, {total:.2f} s: {shares}")


if __name__ == "__main__":
    main()
