"""A partition's staged output, free of Spark: each table's rows as a Parquet file that is a Delta data file
as it is (the table's columns but `dt`, with Delta's statistics), and the day's counts taken from the same
batches.

Publishing then commits each table's files as they are (no filtering of a wide staged record, no rewrite),
and the driver adds up the counts of the tasks instead of reading the staged rows again.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyarrow import fs as pafs

from profile_pipeline.adapters import storage
from profile_pipeline.spark.file_stats import FileStats
from profile_pipeline.spark.tables import TABLES

# Columns that hold compressed bytes already (zstd payloads, msgpack records): compressing them again costs
# time and saves nothing.
_INCOMPRESSIBLE = {"payload", "raw"}
_OUTCOME_KEYS = ("outcome_name", "category_name", "reason")
# A task's rows are written in row groups of about this many bytes. A row group per staged batch (a few
# dozen profiles) made files of tiny row groups whose pages, dictionaries and statistics per column cost
# more to write than the rows; this bounds the rows a task holds before writing them.
ROW_GROUP_BYTES = 16 * 2**20


def staging_day_uri(staging_uri: str, day: date) -> str:
    return storage.join(staging_uri, f"dt={day.isoformat()}")


def table_rows(batch: pa.RecordBatch, table: str) -> pa.Table:
    """The rows of `table` in a staged batch, in the table's own columns.

    The partition function encodes each table's rows next to each other, so they are a slice of the batch
    (no copy); rows in any other order are filtered out.
    """
    column = batch.column(table)
    count = len(column) - column.null_count
    first = pc.index(column.is_valid(), True).as_py() if count else 0
    rows = column.slice(first, count)
    if rows.null_count:
        rows = column.filter(column.is_valid())
    return pa.Table.from_arrays(rows.flatten(), schema=TABLES[table])


@dataclass
class DayCounts:
    """What `job_runs` and the summary count of a day: rows per table and dropped, frames, outcomes by reason,
    quarantine by kind. Added up batch by batch in the workers, then task by task on the driver."""

    rows: dict[str, int] = field(default_factory=lambda: dict.fromkeys((*TABLES, "dropped", "erased"), 0))
    frames_total: int = 0
    frames_symbolicated: int = 0
    unexpected_failures: int = 0
    outcomes: dict[tuple[str | None, ...], list[int]] = field(default_factory=dict)  # key -> [rows, quantity]
    quarantine_by_kind: dict[str | None, int] = field(default_factory=dict)

    def add_table(self, table: str, rows: pa.Table) -> None:
        self.rows[table] += rows.num_rows
        if not rows.num_rows:
            return
        if table == "profiles":
            self.frames_total += pc.sum(rows["frames_total"]).as_py() or 0
            self.frames_symbolicated += pc.sum(rows["frames_symbolicated"]).as_py() or 0
        elif table == "quarantine":
            self.unexpected_failures += pc.sum(rows["unexpected"].cast(pa.int64())).as_py() or 0
            for group in rows.group_by("error_kind", use_threads=False).aggregate([([], "count_all")]).to_pylist():
                kind = group["error_kind"]
                self.quarantine_by_kind[kind] = self.quarantine_by_kind.get(kind, 0) + group["count_all"]
        elif table == "outcomes":
            grouped = rows.group_by(list(_OUTCOME_KEYS), use_threads=False).aggregate(
                [([], "count_all"), ("quantity", "sum")]
            )
            for group in grouped.to_pylist():
                totals = self.outcomes.setdefault(tuple(group[key] for key in _OUTCOME_KEYS), [0, 0])
                totals[0] += group["count_all"]
                totals[1] += group["quantity_sum"] or 0

    def add_dropped(self, dropped: int, erased: int) -> None:
        self.rows["dropped"] += dropped
        self.rows["erased"] += erased

    def merge(self, other: DayCounts) -> None:
        for name, rows in other.rows.items():
            self.rows[name] = self.rows.get(name, 0) + rows
        self.frames_total += other.frames_total
        self.frames_symbolicated += other.frames_symbolicated
        self.unexpected_failures += other.unexpected_failures
        for key, (rows, quantity) in other.outcomes.items():
            totals = self.outcomes.setdefault(key, [0, 0])
            totals[0] += rows
            totals[1] += quantity
        for kind, rows in other.quarantine_by_kind.items():
            self.quarantine_by_kind[kind] = self.quarantine_by_kind.get(kind, 0) + rows

    def to_json(self) -> str:
        return json.dumps(
            {
                "rows": self.rows,
                "frames": [self.frames_total, self.frames_symbolicated, self.unexpected_failures],
                "outcomes": [[*key, *totals] for key, totals in self.outcomes.items()],
                "quarantine_by_kind": [[kind, rows] for kind, rows in self.quarantine_by_kind.items()],
            }
        )

    @classmethod
    def from_json(cls, text: str) -> DayCounts:
        data = json.loads(text)
        frames_total, frames_symbolicated, unexpected = data["frames"]
        return cls(
            rows=data["rows"],
            frames_total=frames_total,
            frames_symbolicated=frames_symbolicated,
            unexpected_failures=unexpected,
            outcomes={tuple(entry[:3]): entry[3:] for entry in data["outcomes"]},
            quarantine_by_kind={kind: rows for kind, rows in data["quarantine_by_kind"]},
        )

    def summary(self) -> dict[str, Any]:
        """The counts as `job_runs` and the printed summary hold them (nulls sort first, as in Spark)."""
        return {
            **self.rows,
            "frames_total": self.frames_total,
            "frames_symbolicated": self.frames_symbolicated,
            "unexpected_failures": self.unexpected_failures,
            "outcomes_by_reason": [
                {**dict(zip(_OUTCOME_KEYS, key, strict=True)), "rows": rows, "quantity": quantity}
                for key, (rows, quantity) in sorted(self.outcomes.items(), key=lambda item: _nulls_first(item[0]))
            ],
            "quarantine_by_kind": {
                kind: self.quarantine_by_kind[kind] for kind in sorted(self.quarantine_by_kind, key=_null_first)
            },
        }


def _null_first(value: Any) -> tuple[bool, Any]:
    return (value is not None, value if value is not None else "")


def _nulls_first(values: tuple[Any, ...]) -> tuple[tuple[bool, Any], ...]:
    return tuple(_null_first(value) for value in values)


@dataclass(frozen=True)
class StagedFile:
    """A staged Parquet file as a Delta commit adds it: where it is, its bytes, modification time and statistics
    (Delta's JSON)."""

    uri: str
    size: int
    modified_ms: int
    stats: str

    def to_json(self) -> list[Any]:
        return [self.uri, self.size, self.modified_ms, self.stats]

    @classmethod
    def from_json(cls, fields: list[Any]) -> StagedFile:
        return cls(*fields)


def data_schema(table: str) -> pa.Schema:
    """A table's columns as its Delta data files hold them: all but the partition column `dt`, which Delta
    keeps in the file's entry of the log."""
    schema = TABLES[table]
    return schema.remove(schema.get_field_index("dt"))


class DayFiles:
    """One task attempt's Parquet files of one day, one per table, each opened at the table's first row.

    The files are Delta data files as they are: the day's partition is published by moving them into the
    table and committing them, never by rewriting them. A file is written under a name of its own
    (`<table>-<unique>.parquet`); only the files that a successful task returns are ever published, so a
    failed attempt's files are left unread.
    """

    def __init__(self, day_uri: str, row_group_bytes: int = ROW_GROUP_BYTES) -> None:
        self.day_uri = day_uri
        self.name = uuid.uuid4().hex
        self.row_group_bytes = row_group_bytes
        self.writers: dict[str, pq.ParquetWriter] = {}
        self.stats: dict[str, FileStats] = {}
        self.pending: dict[str, list[pa.Table]] = {}
        self.pending_bytes = 0

    def write(self, table: str, rows: pa.Table) -> None:
        """Add rows to the table's file; they are written with the next row group of every table."""
        if not rows.num_rows:
            return
        data = rows.drop_columns(["dt"])
        self.pending.setdefault(table, []).append(data)
        self.pending_bytes += data.nbytes
        if self.pending_bytes >= self.row_group_bytes:
            self.flush()

    def flush(self) -> None:
        """Write every table's pending rows as one row group of its file.

        All tables at once: their rows may be slices of the same staged batches, which stay in memory until
        every slice of them is written.
        """
        for table, pieces in self.pending.items():
            data = pa.concat_tables(pieces)
            self._writer(table).write_table(data)
            self.stats[table].add(data)
        self.pending, self.pending_bytes = {}, 0

    def _writer(self, table: str) -> pq.ParquetWriter:
        if table not in self.writers:
            filesystem, path = storage.resolve(self._uri(table))
            if isinstance(filesystem, pafs.LocalFileSystem):
                filesystem.create_dir(path.rsplit("/", 1)[0], recursive=True)
            schema = data_schema(table)
            compression = {name: "none" if name in _INCOMPRESSIBLE else "snappy" for name in schema.names}
            self.writers[table] = pq.ParquetWriter(path, schema, filesystem=filesystem, compression=compression)
            self.stats[table] = FileStats(schema)
        return self.writers[table]

    def close(self) -> dict[str, StagedFile]:
        """Writes what is pending and closes every file; returns each table's file."""
        self.flush()
        written = {}
        for table, writer in self.writers.items():
            writer.close()
            written[table] = _written_file(self._uri(table), self.stats[table])
        return written

    def _uri(self, table: str) -> str:
        return storage.join(self.day_uri, f"{table}-{self.name}.parquet")


def _written_file(uri: str, stats: FileStats) -> StagedFile:
    filesystem, path = storage.resolve(uri)
    info = filesystem.get_file_info(path)
    modified = info.mtime.timestamp() if info.mtime else time.time()
    return StagedFile(uri, info.size, int(modified * 1000), stats.to_json())


def write_data_file(uri: str, data: pa.Table) -> StagedFile:
    """`data` (without its partition column) as one Parquet data file at `uri`, with its Delta statistics."""
    filesystem, path = storage.resolve(uri)
    if isinstance(filesystem, pafs.LocalFileSystem):
        filesystem.create_dir(path.rsplit("/", 1)[0], recursive=True)
    pq.write_table(data, path, filesystem=filesystem, compression="snappy")
    stats = FileStats(data.schema)
    stats.add(data)
    return _written_file(uri, stats)


def stage_batch(batch: pa.RecordBatch, files: DayFiles, counts: DayCounts) -> None:
    """Write a staged batch's rows to their tables' files and count them."""
    for table in TABLES:
        rows = table_rows(batch, table)
        files.write(table, rows)
        counts.add_table(table, rows)
    counts.add_dropped(
        pc.sum(batch.column("dropped").is_valid()).as_py() or 0, pc.sum(batch.column("erased").is_valid()).as_py() or 0
    )
