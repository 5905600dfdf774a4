"""A data file's Delta statistics: exact over all its batches, and no bound that could make a reader skip a
matching row."""

from __future__ import annotations

import json

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from profile_pipeline.spark.file_stats import STRING_PREFIX_LENGTH, FileStats

SCHEMA = pa.schema(
    [
        ("project_id", pa.int64()),
        ("platform", pa.string()),
        ("sampled", pa.bool_()),
        ("self_times_ns", pa.list_(pa.int64())),
    ]
)
ROWS = st.fixed_dictionaries(
    {
        "project_id": st.none() | st.integers(-(2**63), 2**63 - 1),
        "platform": st.none() | st.text(max_size=STRING_PREFIX_LENGTH + 8),
        "sampled": st.none() | st.booleans(),
        "self_times_ns": st.none() | st.lists(st.integers(0, 2**40), max_size=3),
    }
)


@settings(deadline=None)  # the first example pays for pyarrow's kernels
@given(st.lists(st.lists(ROWS, max_size=6), max_size=4))
def test_statistics_are_those_of_all_the_rows_written(batches: list[list[dict]]) -> None:
    stats = FileStats(SCHEMA)
    for batch in batches:
        stats.add(pa.Table.from_pylist(batch, schema=SCHEMA))
    rows = [row for batch in batches for row in batch]
    written = json.loads(stats.to_json())

    assert written["numRecords"] == len(rows)
    assert written["nullCount"] == {
        name: sum(row[name] is None for row in rows) for name in ("project_id", "platform", "sampled")
    }
    for name in ("project_id", "platform"):
        values = [row[name] for row in rows if row[name] is not None]
        long_text = any(isinstance(value, str) and len(value) > STRING_PREFIX_LENGTH for value in values)
        if name in written["minValues"]:
            assert (written["minValues"][name], written["maxValues"][name]) == (min(values), max(values))
            assert all(len(str(bound)) <= STRING_PREFIX_LENGTH for bound in (min(values), max(values)))
        else:
            # Left out only where there is nothing to bound, or a text too long to state.
            assert name not in written["maxValues"] and (not values or long_text)
    # Booleans and lists carry no bounds.
    assert set(written["minValues"]) <= {"project_id", "platform"}
