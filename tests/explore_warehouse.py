"""A small warehouse for the exploration tests: two days of every format, processed by the real job."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from profile_pipeline.adapters.reference import load_reference
from profile_pipeline.config import JobConfig, SymbolicationConfig, VroomConfig
from profile_pipeline.run.runner import run_days
from synthetic import write_day, write_symbol_store

DAYS = (date(2026, 11, 24), date(2026, 11, 25))
PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Warehouse:
    path: str
    days: tuple[date, ...]


def build_warehouse(spark, root: Path) -> Warehouse:
    """Each day 64 generated profiles (four of every kind), no bad input: the job's own tables."""
    for seed, day in enumerate(DAYS):
        write_day(
            root / "input",
            day.isoformat(),
            profiles=64,
            objects=2,
            seed=40 + seed,
            include_bad=False,
            target_bytes=8_000,
        )
    write_symbol_store(str(root / "symbols"))
    config = JobConfig(
        input=str(root / "input"),
        warehouse=str(root / "warehouse"),
        batch_profiles=32,
        symbolication=SymbolicationConfig(symbols=str(root / "symbols")),
        vroom=VroomConfig(profiles_bucket=str(root / "bucket")),
    )
    reference = load_reference(str(PROJECT_ROOT / "conf" / "reference.json"))
    results = run_days(
        spark, config, reference, list(DAYS), run_id="explore", force=False, arguments={}, report=lambda _: None
    )
    assert all(result.status == "finished" for result in results), [r.error for r in results]
    return Warehouse(str(root / "warehouse"), DAYS)
