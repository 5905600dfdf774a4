"""Which profiles to look at, and reading them from the warehouse's Delta tables with delta-rs (no Spark)."""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import zstandard
from deltalake import DeltaTable

from profile_pipeline.adapters.delta_reader import delta_rs_uri


@dataclass(frozen=True)
class Selection:
    """Profiles of a project and days; every field left None selects everything.

    `transaction` matches transaction profiles only (chunks have none). `thread` is the thread whose stacks
    are read; None takes each profile's active thread (transactions) or main thread (chunks, legacy).
    `end` is inclusive.
    """

    organization_id: int | None = None
    project_id: int | None = None
    start: date | None = None
    end: date | None = None
    platform: str | None = None
    release: str | None = None
    environment: str | None = None
    transaction: str | None = None
    thread: str | None = None
    profile_id: str | None = None

    def but(self, **changes: Any) -> Selection:
        """This selection with some fields changed: the other side of a comparison."""
        return replace(self, **changes)

    def describe(self) -> str:
        fields = {
            "organization": self.organization_id,
            "project": self.project_id,
            "days": f"{self.start}..{self.end}" if self.start or self.end else None,
            "platform": self.platform,
            "release": self.release,
            "environment": self.environment,
            "transaction": self.transaction,
            "thread": self.thread,
            "profile": self.profile_id,
        }
        chosen = [f"{name} {value}" for name, value in fields.items() if value is not None]
        return ", ".join(chosen) or "every profile"


class NothingSelected(LookupError):
    """No profile (or function) matches the selection."""


def table_uri(warehouse: str, table: str) -> str:
    """A table's location for delta-rs."""
    return delta_rs_uri(f"{warehouse.rstrip('/')}/{table}")


# The comparisons of `conditions`, which pyarrow expressions and Spark columns both overload.
OPERATORS: dict[str, Callable[[Any, Any], Any]] = {"==": operator.eq, ">=": operator.ge, "<=": operator.le}


def conditions(selection: Selection, table: str) -> list[tuple[str, str, Any]]:
    """The selection as (column, "==" | ">=" | "<=", value) on `profiles` or `functions` (their ids differ)."""
    wanted: dict[str, Any] = {
        "organization_id": selection.organization_id,
        "project_id": selection.project_id,
        "platform": selection.platform,
        "release": selection.release,
        "environment": selection.environment,
        "transaction_name": selection.transaction,
        ("event_id" if table == "profiles" else "profile_id"): selection.profile_id,
    }
    if table == "functions":
        wanted["thread_id"] = selection.thread
    else:
        # Only sampled profiles are kept for viewing in Sentry; the others count in the function metrics alone.
        wanted["sampled"] = True
    found = [(column, "==", value) for column, value in wanted.items() if value is not None]
    found += [("dt", ">=", selection.start)] if selection.start is not None else []
    found += [("dt", "<=", selection.end)] if selection.end is not None else []
    return found


# Columns whose conditions the Delta scan may prune files by. The job's file statistics bound only integers
# and short text (spark/file_stats.py), and delta-rs 1.6 takes a missing bound as null and so skips every file
# on a condition on such a column; the other conditions are applied to the rows read.
_PRUNABLE = frozenset({"dt", "organization_id", "project_id"})


def _expression(found: list[tuple[str, str, Any]]) -> ds.Expression:
    expression = pc.scalar(True)
    for column, op, value in found:
        scalar = pa.scalar(value, pa.date32()) if column == "dt" else value
        expression &= OPERATORS[op](pc.field(column), scalar)
    return expression


def _read(
    warehouse: str, table: str, selection: Selection, columns: list[str], storage_options: dict[str, str] | None
) -> Iterator[pa.Table]:
    """The selected rows of a table, a batch at a time: files pruned by day and ids, rows by the rest."""
    found = conditions(selection, table)
    pruned = _expression([c for c in found if c[0] in _PRUNABLE])
    rest = [c for c in found if c[0] not in _PRUNABLE]
    wanted = list(dict.fromkeys([*columns, *(c[0] for c in rest)]))
    dataset = DeltaTable(table_uri(warehouse, table), storage_options=storage_options).to_pyarrow_dataset()
    for batch in dataset.to_batches(columns=wanted, filter=pruned, batch_size=256):
        rows = pa.Table.from_batches([batch]).filter(_expression(rest)).select(columns)
        if rows.num_rows:
            yield rows


def read_functions(
    warehouse: str, selection: Selection, columns: list[str], storage_options: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """The selected rows of `functions`, as dictionaries of `columns`."""
    tables = _read(warehouse, "functions", selection, columns, storage_options)
    return [row for rows in tables for row in rows.to_pylist()]


def decode_payload(payload: bytes) -> dict[str, Any]:
    """The profile JSON of a `profiles` row (zstd-compressed, as the job writes it)."""
    return orjson.loads(zstandard.ZstdDecompressor().decompress(payload))


def read_payloads(
    warehouse: str, selection: Selection, storage_options: dict[str, str] | None = None
) -> Iterator[tuple[str, bytes]]:
    """(format, zstd-compressed profile JSON) of each selected profile, one batch of rows in memory at a time."""
    for rows in _read(warehouse, "profiles", selection, ["format", "payload"], storage_options):
        yield from zip(rows.column("format").to_pylist(), rows.column("payload").to_pylist(), strict=True)


def read_profiles(
    warehouse: str, selection: Selection, storage_options: dict[str, str] | None = None
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(format, profile JSON) of each selected profile."""
    for fmt, payload in read_payloads(warehouse, selection, storage_options):
        yield fmt, decode_payload(payload)
