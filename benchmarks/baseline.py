"""The single-process baseline of the benchmarks: what each Spark task runs, over a whole day, in this process."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def light_config(workdir: Path) -> Any:
    """The job's configuration with the light stages only (symbolication and vroom off)."""
    from profile_pipeline.config import JobConfig, SentryOptions, SymbolicationConfig, VroomConfig

    return JobConfig(
        input=str(workdir / "input"),
        warehouse=str(workdir / "warehouse"),
        reference=str(ROOT / "conf" / "reference.json"),
        symbolication=SymbolicationConfig(mode="off"),
        vroom=VroomConfig(mode="off"),
        options=SentryOptions(unsampled_profiles_enabled=True),
    )


def default_config(workdir: Path) -> Any:
    """The job's configuration in its default modes: symbolication and vroom embedded, with the fixtures'
    symbol store under `workdir/symbols` and the blobs in `workdir/bucket`."""
    from profile_pipeline.config import JobConfig, SentryOptions, SymbolicationConfig, VroomConfig

    return JobConfig(
        input=str(workdir / "input"),
        warehouse=str(workdir / "warehouse"),
        reference=str(ROOT / "conf" / "reference.json"),
        symbolication=SymbolicationConfig(mode="embedded", symbols=str(workdir / "symbols")),
        vroom=VroomConfig(mode="embedded", profiles_bucket=str(workdir / "bucket")),
        options=SentryOptions(unsampled_profiles_enabled=True),
    )


def write_input_day(root: Path, day: date, profiles: int, target_bytes: int, per_object: int) -> Path:
    """A generated input day of `profiles` (the synthetic mix of every format) under `root`; returns its directory."""
    from synthetic import write_day

    manifest = write_day(
        root,
        day.isoformat(),
        profiles=profiles,
        objects=max(2, profiles // per_object),
        seed=day.toordinal(),
        target_bytes=target_bytes,
    )
    print(f"generated {manifest.profiles} profiles in {len(manifest.objects)} objects", flush=True)
    return root / f"dt={day.isoformat()}"


def stage_day_in_one_process(config: Any, day: date, input_dir: Path, output_dir: Path) -> tuple[int, float]:
    """(profiles, seconds): the partition function over the day's objects, staged files written as tasks do."""
    return stage_objects_in_one_process(config, day, sorted(input_dir.iterdir()), output_dir)


def stage_objects_in_one_process(config: Any, day: date, paths: list[Path], output_dir: Path) -> tuple[int, float]:
    """(profiles, seconds): the partition function over the given objects of a day, in this process."""
    from profile_pipeline.adapters.reference import load_reference
    from profile_pipeline.spark.partition import staged_batches
    from profile_pipeline.spark.staging import DayCounts, DayFiles, stage_batch
    from profile_pipeline.stages.context import StageContext

    ctx = StageContext(config=config, reference=load_reference(config.reference), run_id="baseline", day=day)

    def objects() -> Iterator[tuple[str, int, bytes]]:
        for path in paths:
            content = path.read_bytes()
            yield str(path), len(content), content

    started = time.perf_counter()
    files, counts = DayFiles(str(output_dir)), DayCounts()
    for batch in staged_batches(objects(), ctx):
        stage_batch(batch, files, counts)
    files.close()
    return counts.rows["profiles"], time.perf_counter() - started
