"""The single-process baseline of the benchmarks: what each Spark task runs, over a whole day, in this process."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any


def stage_day_in_one_process(config: Any, day: date, input_dir: Path, output_dir: Path) -> tuple[int, float]:
    """(profiles, seconds): the partition function over the day's objects, staged files written as tasks do."""
    from transforms.context import StageContext
    from transforms.partition import staged_batches
    from transforms.reference import load_reference
    from transforms.staging import DayCounts, DayFiles, stage_batch

    ctx = StageContext(config=config, reference=load_reference(config.reference), run_id="baseline", day=day)

    def objects() -> Iterator[tuple[str, int, bytes]]:
        for path in sorted(input_dir.iterdir()):
            content = path.read_bytes()
            yield str(path), len(content), content

    started = time.perf_counter()
    files, counts = DayFiles(str(output_dir)), DayCounts()
    for batch in staged_batches(objects(), ctx):
        stage_batch(batch, files, counts)
    files.close()
    return counts.rows["profiles"], time.perf_counter() - started
