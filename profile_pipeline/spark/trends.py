"""Whether one function's daily p95 self time has just regressed, and since which day (no Spark here).

Sentry's statistical detector, in daily points: a short and a long exponential moving average of the p95,
a regression when the short one rises more than `threshold` (relative) over the long one once enough points
are in; the breakpoint is the day that splits the series into the two steadiest levels. A regression is
reported on the first day that shows it, so that a daily run names each regression once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import NamedTuple

from profile_pipeline.config import RegressionConfig

# Fewest days on the baseline side of a breakpoint: a level needs more than a day or two to be one.
MIN_BASELINE_DAYS = 3


class DailyPoint(NamedTuple):
    day: date
    p95_ns: float


def _weight(span_days: int) -> float:
    return 2.0 / (span_days + 1)


def relative_changes(values: Sequence[float], settings: RegressionConfig) -> list[float]:
    """(short - long) / long of the moving averages after each point (0 while the long one is 0)."""
    short_weight, long_weight = _weight(settings.short_days), _weight(settings.long_days)
    changes = []
    short = long = 0.0
    for index, value in enumerate(values):
        short = value if index == 0 else short + short_weight * (value - short)
        long = value if index == 0 else long + long_weight * (value - long)
        changes.append((short - long) / abs(long) if long else 0.0)
    return changes


def step_breakpoint(values: Sequence[float]) -> int:
    """The index where the after level begins: the split of least squared error around the two means."""
    best, best_error = MIN_BASELINE_DAYS, float("inf")
    for split in range(MIN_BASELINE_DAYS, len(values)):
        error = _squared_error(values[:split]) + _squared_error(values[split:])
        if error < best_error:
            best, best_error = split, error
    return best


def _squared_error(values: Sequence[float]) -> float:
    mean = sum(values) / len(values)
    return sum((value - mean) ** 2 for value in values)


def new_regression(points: Sequence[DailyPoint], settings: RegressionConfig) -> date | None:
    """The breakpoint day when the last point is the first to show a regression since it, else None.

    `points` are the function's days with data, oldest first, ending on the day being looked at.
    """
    if len(points) <= max(settings.min_data_points, MIN_BASELINE_DAYS):
        return None
    values = [point.p95_ns for point in points]
    changes = relative_changes(values, settings)
    if changes[-1] <= settings.threshold:
        return None
    split = step_breakpoint(values)
    # Points that already showed this regression, once the averages were trusted: reported on that day.
    trusted = max(split, settings.min_data_points)
    if any(change > settings.threshold for change in changes[trusted:-1]):
        return None
    before = sum(values[:split]) / split
    after = sum(values[split:]) / (len(values) - split)
    if after - before < settings.min_change_ns or after <= before * (1 + settings.threshold):
        return None
    return points[split].day
