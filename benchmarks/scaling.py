"""The machine's own scaling ceiling: two plain processes at once against one, with no Spark at all.

    python benchmarks/scaling.py                                  # a day of 12,000 profiles of ~85 KB
    python benchmarks/scaling.py --day-dir <input>/dt=2026-11-24  # an input day generated earlier
    python benchmarks/scaling.py --stages default --profiles 4000 --target-bytes 100000

Each process runs the single-process baseline of the benchmarks (the partition function and the staged
Parquet files; the light stages, symbolication and vroom off, or with `--stages default` both embedded over
the fixtures' symbol store) in a child process of its own:
  (1) one process over all the day's objects;
  (2) two processes at the same time, each over every other object (half the input each).
The ratio (2)/(1) of profiles per second is what two cores give to this work without any framework; the
Spark path's marginal rate on local[2] is to be compared with it, not with 2.0. Rounds alternate (1) and
(2) so that a change of load on a shared machine falls on both. The CPU time per profile of each run shows
whether two processes at once cost more CPU per profile (the cores' shared caches and memory bandwidth)
or only wait for the CPU (other work on the machine).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DAY = date(2026, 11, 24)


def generated(workdir: Path, args: argparse.Namespace) -> Path:
    from baseline import write_input_day

    return write_input_day(workdir / "input", DAY, args.profiles, args.target_bytes, per_object=250)


def child_config(stages: str, symbols: Path, output_dir: Path) -> Any:
    """The light configuration, or the default one over the symbol store `symbols` with the blobs in `output_dir`."""
    from baseline import default_config, light_config

    if stages == "light":
        return light_config(output_dir)
    config = default_config(output_dir)
    return replace(config, symbolication=replace(config.symbolication, symbols=str(symbols)))


def run_share(day_dir: Path, share: int, shares: int, output_dir: Path, stages: str, symbols: Path) -> None:
    """Child: the baseline over every `shares`-th object from `share`; prints profiles, wall clock and CPU time."""
    from baseline import stage_objects_in_one_process

    paths = sorted(day_dir.iterdir())[share::shares]
    config = child_config(stages, symbols, output_dir / f"share={share}")
    # Over no object: the imports and the reference data are loaded before the clocks start.
    stage_objects_in_one_process(config, DAY, [], output_dir / "imports")
    started, cpu = time.time(), time.process_time()
    profiles, _ = stage_objects_in_one_process(config, DAY, paths, output_dir / f"share={share}" / "staged")
    cpu = time.process_time() - cpu
    print(json.dumps({"profiles": profiles, "started": started, "ended": time.time(), "cpu": cpu}))


def concurrent(day_dir: Path, shares: int, output_dir: Path, stages: str, symbols: Path) -> dict[str, float]:
    """`shares` children at once, each over its share of the objects: profiles, common wall time, CPU time."""
    child = [sys.executable, __file__, f"--stages={stages}", f"--symbols={symbols}", "--child", str(day_dir)]
    children = [
        subprocess.Popen(
            [*child, str(share), str(shares), str(output_dir)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for share in range(shares)
    ]
    results: list[dict[str, Any]] = []
    for process in children:
        output, _ = process.communicate()
        if process.returncode:
            raise RuntimeError(f"a child process exited with {process.returncode}")
        results.append(json.loads(output.strip().splitlines()[-1]))
    span = max(r["ended"] for r in results) - min(r["started"] for r in results)
    return {"profiles": sum(r["profiles"] for r in results), "seconds": span, "cpu": sum(r["cpu"] for r in results)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profiles", type=int, default=12_000)
    parser.add_argument("--target-bytes", type=int, default=85_000)
    parser.add_argument("--day-dir", help="an input day to run over instead of generating one")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--stages", choices=("light", "default"), default="light")
    parser.add_argument("--symbols", help=argparse.SUPPRESS)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        day_dir, share, shares, output_dir = args.child
        run_share(Path(day_dir), int(share), int(shares), Path(output_dir), args.stages, Path(args.symbols))
        return

    with tempfile.TemporaryDirectory(prefix="scaling-") as scratch:
        workdir = Path(scratch)
        day_dir = Path(args.day_dir) if args.day_dir else generated(workdir, args)
        symbols = workdir / "symbols"
        if args.stages == "default":
            from synthetic import write_symbol_store

            write_symbol_store(str(symbols))
        rates: dict[int, list[float]] = {1: [], 2: []}
        for round_ in range(args.rounds):
            for shares in (1, 2):
                output_dir = workdir / f"round={round_}" / f"processes={shares}"
                run = concurrent(day_dir, shares, output_dir, args.stages, symbols)
                rates[shares].append(run["profiles"] / run["seconds"])
                print(
                    f"round {round_ + 1}: {shares} process(es): {run['profiles']} profiles in "
                    f"{run['seconds']:.1f}s = {rates[shares][-1]:.0f}/s, "
                    f"{1000 * run['cpu'] / run['profiles']:.2f} ms of CPU per profile",
                    flush=True,
                )
        one, two = (sum(rates[shares]) / len(rates[shares]) for shares in (1, 2))
        print(f"two processes / one process = {two / one:.2f} (mean of {args.rounds} rounds; 2.0 is perfect)")


if __name__ == "__main__":
    main()
