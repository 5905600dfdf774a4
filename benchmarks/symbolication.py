"""Symbolication at partition scale: what it costs inside the real per-partition path, and its requests.

Generates cocoa (Mach-O) and rust (ELF) sample v1 profiles with the synthetic generator, 200-2,000
frames each, with images loaded at a different address in every profile and frame addresses inside
the fixture debug files, packs them as ingest messages, and runs `profile_pipeline.spark.partition.process_objects`
over them (decode msgpack, open the message, every stage, the table rows with the zstd-compressed
payload) in four configurations: symbolication `off` or `embedded`, each with vroom `embedded` (the
job's default) or `off`. Reported:

* throughput (profiles/s) of each configuration and the ratio with/without symbolication for both
  vroom modes (target >= 0.5);
* Symbolicator mode against a local Symbolicator speaking the real protocol (answers from the
  embedded backend): requests per 1,000 profiles (target <= 20; one request per profile and pass,
  as Sentry sends, is >= 1,000).

`--job` also runs the whole Spark job (local[2], from a ready session to committed Delta tables) over
the same messages written as one input day, in the same four configurations, and prints its ratios.

    .venv/bin/python benchmarks/symbolication.py [--profiles 2000] [--batch 500] [--repeat 1] [--profile-stage] [--job]

`--profile-stage` prints the cProfile hot spots of the embedded-symbolication run.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from servers.symbol_profiles import build_store  # noqa: E402
from servers.symbolicator import SymbolicatorServer  # noqa: E402

from profile_pipeline.adapters.reference import ReferenceData  # noqa: E402
from profile_pipeline.config import JobConfig, SymbolicationConfig, VroomConfig  # noqa: E402
from profile_pipeline.spark.partition import InputObject, process_objects  # noqa: E402
from profile_pipeline.stages import pipeline  # noqa: E402
from profile_pipeline.stages.context import StageContext  # noqa: E402
from profile_pipeline.work import ProfileWork  # noqa: E402
from synthetic.messages import ingest_message, pack_stream  # noqa: E402
from synthetic.profiles import ProfileSpec, generate  # noqa: E402

DAY = date(2026, 11, 30)  # the generator's default profile start
MESSAGES_PER_OBJECT = 250


def make_objects(count: int, seed: int = 7) -> tuple[list[InputObject], float]:
    """Input objects of `count` ingest messages (cocoa and rust alternately), and their mean frame count."""
    rng = random.Random(seed)
    messages, frames = [], 0
    for number in range(count):
        frame_count = rng.randint(200, 2000)
        spec = ProfileSpec(frames=frame_count, target_bytes=frame_count * 400)
        profile = generate("cocoa_v1" if number % 2 else "rust_v1", rng, spec)
        frames += len(profile["profile"]["frames"])
        received = int(spec.start) + 60
        messages.append(ingest_message(profile, organization_id=1, project_id=2, received=received, key_id=3))
    objects = []
    for start in range(0, count, MESSAGES_PER_OBJECT):
        content = pack_stream(messages[start : start + MESSAGES_PER_OBJECT])
        objects.append((f"input/object-{start // MESSAGES_PER_OBJECT}.msgpack", len(content), content))
    return objects, frames / max(count, 1)


@dataclass
class Run:
    seconds: float
    profiles: int
    frames: int
    symbolicated: int
    stages: dict[str, float]  # seconds per stage

    def breakdown(self) -> str:
        """Milliseconds per profile: the symbolication and vroom stages, the other stages, and the rest."""
        per_profile = 1000 / max(self.profiles, 1)
        symbolication = self.stages.get("symbolicate_batch", 0.0)
        vroom = self.stages.get("run_vroom_stage", 0.0)
        others = sum(self.stages.values()) - symbolication - vroom
        rest = self.seconds - sum(self.stages.values())
        return (
            f"ms/profile: symbolication {symbolication * per_profile:.2f}, vroom {vroom * per_profile:.2f}, "
            f"other stages {others * per_profile:.2f}, decode and rows {rest * per_profile:.2f}"
        )


def run(objects: list[InputObject], ctx: StageContext, profiler: cProfile.Profile | None = None) -> Run:
    """Every row of every object, as the partition function yields them; profiles must all succeed."""
    profiles = frames = symbolicated = 0
    STAGE_SECONDS.clear()
    started = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    for table, row in process_objects(objects, ctx):
        assert table != "quarantine", row["error_kind"]
        if table == "profiles":
            profiles += 1
            frames += row["frames_total"]
            symbolicated += row["frames_symbolicated"]
    if profiler is not None:
        profiler.disable()
    return Run(time.perf_counter() - started, profiles, frames, symbolicated, dict(STAGE_SECONDS))


def context(batch: int, symbolication: SymbolicationConfig, vroom_mode: str, bucket: Path) -> StageContext:
    config = JobConfig(
        batch_profiles=batch,
        symbolication=symbolication,
        vroom=VroomConfig(mode=vroom_mode, profiles_bucket=str(bucket)),
    )
    return StageContext(config, ReferenceData(), "benchmark", DAY)


STAGE_SECONDS: dict[str, float] = {}


def instrument_stages(ctx: StageContext) -> None:
    """Time each stage of the pipeline into STAGE_SECONDS; leave out stages that are not built yet.

    A stage that is not built yet raises NotImplementedError on any batch, even an empty one.
    """
    kept = []
    for stage in pipeline.STAGES:
        try:
            stage([], ctx)
        except NotImplementedError:
            print(f"note: stage {stage.__name__} is not built yet and is left out")
            continue
        kept.append(timed(stage))
    pipeline.STAGES = tuple(kept)


def timed(stage: pipeline.Stage) -> pipeline.Stage:
    def run_stage(works: list[ProfileWork], ctx: StageContext) -> None:
        started = time.perf_counter()
        try:
            stage(works, ctx)
        finally:
            STAGE_SECONDS[stage.__name__] = STAGE_SECONDS.get(stage.__name__, 0.0) + time.perf_counter() - started

    return run_stage


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)
    parser = argparse.ArgumentParser()
    parser.add_argument("--profiles", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=500, help="batch_profiles of the job")
    parser.add_argument("--repeat", type=int, default=1, help="runs per configuration; the fastest counts")
    parser.add_argument("--profile-stage", action="store_true", help="cProfile the embedded-symbolication run")
    parser.add_argument("--job", action="store_true", help="also time the Spark job in the four configurations")
    args = parser.parse_args()
    objects, frames = make_objects(args.profiles)
    print(f"{args.profiles} profiles (cocoa and rust sample v1), ~{frames:.0f} frames each, batches of {args.batch}")
    with tempfile.TemporaryDirectory() as directory:
        store = build_store(Path(directory))
        bucket = Path(directory) / "bucket"
        modes = {"off": SymbolicationConfig(mode="off"), "embedded": SymbolicationConfig(symbols=store)}
        instrument_stages(context(args.batch, modes["embedded"], "embedded", bucket))
        # Load debug files and vroomrs once, as a worker has done after its first task.
        for symbolication in modes.values():
            run(objects[:1], context(args.batch, symbolication, "embedded", bucket))
        results: dict[tuple[str, str], Run] = {}
        profiler = cProfile.Profile() if args.profile_stage else None
        for vroom_mode in ("embedded", "off"):
            for name, symbolication in modes.items():
                ctx = context(args.batch, symbolication, vroom_mode, bucket)
                measured = profiler if (name, vroom_mode) == ("embedded", "off") else None
                runs = [run(objects, ctx, measured) for _ in range(max(args.repeat, 1))]
                results[(name, vroom_mode)] = outcome = min(runs, key=lambda candidate: candidate.seconds)
                print(
                    f"symbolication {name:8} vroom {vroom_mode:8}: {outcome.profiles / outcome.seconds:7,.0f} "
                    f"profiles/s ({outcome.seconds:.2f}s; {outcome.symbolicated:,} of {outcome.frames:,} "
                    "frames symbolicated)"
                )
                print(f"    {outcome.breakdown()}")
        for vroom_mode in ("embedded", "off"):
            ratio = results[("off", vroom_mode)].seconds / results[("embedded", vroom_mode)].seconds
            print(f"ratio with/without symbolication, vroom {vroom_mode}: {ratio:.2f} (target >= 0.5)")
        if profiler is not None:
            print("\nhot spots of symbolication embedded, vroom off (cumulative):")
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)

        with SymbolicatorServer(store) as server:
            symbolicator = SymbolicationConfig(mode="symbolicator", symbolicator_url=server.url, sources=server.sources)
            remote = run(objects, context(args.batch, symbolicator, "off", bucket))
            creates = len(server.creates())
        per_thousand = creates * 1000 / args.profiles
        print(f"symbolicator mode: {creates} requests, {args.profiles} profiles: {per_thousand:.1f} per 1,000 profiles")
        print("  (target <= 20; one request per profile and pass, as Sentry sends: >= 1,000)")
        print(f"throughput in symbolicator mode, vroom off: {remote.profiles / remote.seconds:,.0f} profiles/s")
        if args.job:
            run_jobs(objects, Path(directory), store, args.batch)


def run_jobs(objects: list[InputObject], directory: Path, store: str, batch: int) -> None:
    """The Spark job over the objects as one input day, with and without symbolication, both vroom modes."""
    from profile_pipeline.run.runner import run_days
    from profile_pipeline.spark.session import build_session

    day_dir = directory / "input" / f"dt={DAY.isoformat()}"
    day_dir.mkdir(parents=True)
    for path, _, content in objects:
        (day_dir / Path(path).name).write_bytes(content or b"")
    spark = build_session("symbolication-benchmark", [str(directory)])
    seconds: dict[tuple[str, str], float] = {}
    # The first configuration runs twice: the first time warms up the JVM and the Python workers.
    plan = [("off", "off"), *((name, vroom) for vroom in ("embedded", "off") for name in ("off", "embedded"))]
    for number, (name, vroom_mode) in enumerate(plan):
        symbolication = SymbolicationConfig(mode="off") if name == "off" else SymbolicationConfig(symbols=store)
        config = JobConfig(
            input=str(directory / "input"),
            warehouse=str(directory / f"warehouse-{number}"),
            batch_profiles=batch,
            symbolication=symbolication,
            vroom=VroomConfig(mode=vroom_mode, profiles_bucket=str(directory / "bucket")),
        )
        started = time.perf_counter()
        (result,) = run_days(
            spark, config, ReferenceData(), [DAY], run_id=f"benchmark-{number}", force=True, arguments={},
            report=lambda _: None,
        )  # fmt: skip
        counts = result.counts
        elapsed = time.perf_counter() - started
        if number == 0:
            continue
        seconds[(name, vroom_mode)] = elapsed
        print(
            f"job, symbolication {name:8} vroom {vroom_mode:8}: {counts['profiles'] / elapsed:7,.1f} profiles/s "
            f"({elapsed:.1f}s, {counts['profiles']} profiles, {counts['quarantine']} quarantined)"
        )
    spark.stop()
    for vroom_mode in ("embedded", "off"):
        ratio = seconds[("off", vroom_mode)] / seconds[("embedded", vroom_mode)]
        print(f"job ratio with/without symbolication, vroom {vroom_mode}: {ratio:.2f} (target >= 0.5)")


if __name__ == "__main__":
    main()
