"""A warehouse of generated days in which one function regresses with a release: processed by the real job, its
regressions detected by `jobs/detect_regressions.py`'s command line over every day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from profile_pipeline.adapters.reference import load_reference
from profile_pipeline.config import JobConfig, SymbolicationConfig, VroomConfig
from profile_pipeline.run import regressions_cli
from profile_pipeline.run.runner import run_days
from synthetic.regression import RegressionDays, write_regression_days

FIRST_DAY = date(2026, 11, 1)
PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class RegressionWarehouse:
    path: str
    generated: RegressionDays


def build_regression_warehouse(spark, root: Path) -> RegressionWarehouse:
    """Eight days of eight profiles each, the slower release from the seventh day."""
    generated = write_regression_days(root / "input", FIRST_DAY)
    config = JobConfig(
        input=str(root / "input"),
        warehouse=str(root / "warehouse"),
        symbolication=SymbolicationConfig(mode="off"),
        vroom=VroomConfig(profiles_bucket=str(root / "bucket")),
    )
    reference = load_reference(str(PROJECT_ROOT / "conf" / "reference.json"))
    days = list(generated.days)
    results = run_days(
        spark, config, reference, days, run_id="regression-days", force=False, arguments={}, report=lambda _: None
    )
    assert all(result.status == "finished" for result in results), [r.error for r in results]
    every_day = ["--start", days[0].isoformat(), "--end", days[-1].isoformat(), "--run-id", "first"]
    assert regressions_cli.main(["--warehouse", config.warehouse, *every_day]) == 0
    return RegressionWarehouse(str(root / "warehouse"), generated)
