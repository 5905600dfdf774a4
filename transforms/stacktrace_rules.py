"""Stack-trace rules (+app/-app) from project grouping enhancements (SPEC Part II §4.10)."""

from __future__ import annotations

from transforms.context import StageContext
from transforms.work import ProfileWork


def apply_stacktrace_rules_batch(works: list[ProfileWork], ctx: StageContext) -> None:
    """Not built yet: no project has rules until the reference data carries them."""
