"""The function regressions that `jobs/detect_regressions.py` found, and each regressed function's daily p95."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pyarrow.compute as pc
from deltalake import DeltaTable
from deltalake.exceptions import TableNotFoundError

from profile_pipeline.explore.selection import Selection, read_functions, table_uri

REGRESSIONS = "function_regressions"


def read_regressions(
    warehouse: str, selection: Selection, storage_options: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """The regressions detected on the selection's days for its organization and project (none: no table yet)."""
    try:
        table = DeltaTable(table_uri(warehouse, REGRESSIONS), storage_options=storage_options).to_pyarrow_table()
    except TableNotFoundError:
        return []
    wanted = {"organization_id": selection.organization_id, "project_id": selection.project_id}
    for column, value in wanted.items():
        if value is not None:
            table = table.filter(pc.equal(table[column], value))
    rows = table.to_pylist()
    rows = [row for row in rows if (selection.start or date.min) <= row["dt"] <= (selection.end or date.max)]
    return sorted(rows, key=lambda row: (row["dt"], -row["p95_after_ns"]))


def daily_p95(
    warehouse: str, selection: Selection, fingerprint: int, storage_options: dict[str, str] | None = None
) -> list[tuple[date, float, int]]:
    """(day, p95 self time, count of self times) of one function on each of the selection's days with data.

    The p95 is the smallest self time with 95% of the day's at or below it, as the detection measures it.
    """
    columns = ["dt", "fingerprint", "self_times_ns"]
    times: dict[date, list[int]] = {}
    for row in read_functions(warehouse, selection, columns, storage_options):
        if int(row["fingerprint"]) == int(fingerprint):
            times.setdefault(row["dt"], []).extend(row["self_times_ns"])
    return [
        (day, float(np.percentile(values, 95, method="inverted_cdf")), len(values))
        for day, values in sorted(times.items())
        if values
    ]
