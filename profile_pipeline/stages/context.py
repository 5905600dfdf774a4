"""What every stage may read besides the profiles: configuration, reference data, the run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from profile_pipeline.adapters.reference import ReferenceData
from profile_pipeline.config import JobConfig


@dataclass(frozen=True)
class StageContext:
    config: JobConfig
    reference: ReferenceData
    run_id: str
    day: date

    @staticmethod
    def now() -> datetime:
        return datetime.now(UTC)
