"""A data file's statistics as a Delta `add` action carries them, for readers to skip files by (data skipping).

Gathered batch by batch while the file is written. Only what can be stated exactly goes in, because a
wrong bound would make a reader skip rows that match: the row count, null counts of flat columns, and
minimum and maximum of integer columns and of text. Text bounds longer than Delta's prefix length are left
out rather than cut, to keep the log small. A column without bounds is simply never skipped on.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

# Delta compares at most this many characters of text statistics (`delta.dataSkippingStringPrefixLength`).
STRING_PREFIX_LENGTH = 32


def _bounded(data_type: pa.DataType) -> bool:
    return pa.types.is_integer(data_type) or pa.types.is_string(data_type)


class FileStats:
    """`numRecords`, `nullCount`, `minValues` and `maxValues` of the rows written to one file."""

    def __init__(self, schema: pa.Schema) -> None:
        self.rows = 0
        self.nulls = {field.name: 0 for field in schema if not pa.types.is_nested(field.type)}
        self.bounds: dict[str, tuple[Any, Any] | None] = {field.name: None for field in schema if _bounded(field.type)}
        self.unbounded: set[str] = set()

    def add(self, rows: pa.Table) -> None:
        self.rows += rows.num_rows
        for name in self.nulls:
            self.nulls[name] += rows[name].null_count
        for name in self.bounds.keys() - self.unbounded:
            low, high = pc.min_max(rows[name]).values()
            if not low.is_valid:
                continue  # only nulls in this batch
            low, high = low.as_py(), high.as_py()
            if isinstance(low, str) and max(len(low), len(high)) > STRING_PREFIX_LENGTH:
                self.unbounded.add(name)
                continue
            known = self.bounds[name]
            self.bounds[name] = (low, high) if known is None else (min(known[0], low), max(known[1], high))

    def to_json(self) -> str:
        bounds = {
            name: bound for name, bound in self.bounds.items() if bound is not None and name not in self.unbounded
        }
        return json.dumps(
            {
                "numRecords": self.rows,
                "minValues": {name: low for name, (low, _) in bounds.items()},
                "maxValues": {name: high for name, (_, high) in bounds.items()},
                "nullCount": self.nulls,
            },
            separators=(",", ":"),
        )
