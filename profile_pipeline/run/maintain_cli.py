"""The command line of `jobs/maintain_tables.py`: retention, erasure, compaction and vacuum of the warehouse.

Exit statuses as the processing job's (`profile_pipeline/run/cli.py`): 0 done; 1 failed (run it again: it
finishes what the failed run left); 2 wrong arguments or configuration; 3 refused because a processing run
holds a day that has rows to delete. Errors are one line on stderr.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from profile_pipeline.adapters import storage
from profile_pipeline.commands import EXIT_OK, EXIT_USAGE, OneLineParser, iso_day
from profile_pipeline.config import ConfigError, JobConfig, load_config
from profile_pipeline.run.cli import EXIT_DAY_FAILED, EXIT_REFUSED, check_local_warehouse, with_advice
from profile_pipeline.run.day_lock import DayRefused, check_supported
from profile_pipeline.run.maintenance import Request, Summary, maintain
from profile_pipeline.run.runner import describe_failure, new_run_id
from profile_pipeline.spark.expiry import Erasure

PROG = "maintain_tables.py"


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog=PROG,
        description="Delete expired and erased data from the Delta tables and the profiles bucket; compact; vacuum.",
    )
    parser.add_argument("--config", help="TOML configuration file, the processing job's (flags override it)")
    parser.add_argument("--warehouse", help="where the Delta tables live")
    parser.add_argument("--profiles-bucket", help="where the processing job stored the profile blobs")
    parser.add_argument("--today", type=iso_day, help="the date counted as today (default: the UTC date)")
    parser.add_argument(
        "--delete-organization", type=int, action="append", default=[], metavar="N", help="erase an organization"
    )
    parser.add_argument("--delete-project", type=int, action="append", default=[], metavar="N", help="erase a project")
    parser.add_argument("--vacuum-hours", type=float, help="time-travel window kept by VACUUM (default 168)")
    parser.add_argument("--dry-run", action="store_true", help="print what would be deleted; change nothing")
    parser.add_argument("--run-id", help="identifier recorded in deletions and maintenance_runs")
    return parser


def _config(args: argparse.Namespace) -> JobConfig:
    overrides = {
        "warehouse": args.warehouse,
        "vroom.profiles_bucket": args.profiles_bucket,
        "maintenance.vacuum_hours": args.vacuum_hours,
    }
    config = load_config(args.config, overrides)
    check_supported(config.warehouse)
    check_local_warehouse(config.warehouse)
    return config


def format_summary(run_id: str, summary: Summary, dry_run: bool) -> list[str]:
    if dry_run:
        return [f"run {run_id}: dry run, nothing changed ({summary.seconds:.1f}s)"]
    lines = []
    for reason, tables in sorted(summary.rows_deleted.items()):
        counts = ", ".join(f"{table} {rows}" for table, rows in sorted(tables.items()))
        lines.append(f"rows deleted ({reason}): {counts}")
    lines.append(f"blobs deleted: {summary.blobs_deleted}")
    if summary.retention_filled:
        counts = ", ".join(f"{table} {rows}" for table, rows in sorted(summary.retention_filled.items()))
        lines.append(f"rows given a retention: {counts}")
    for table, before in sorted(summary.files_before_compaction.items()):
        lines.append(f"compacted {table}: {before} file(s) -> {summary.files_after_compaction[table]}")
    if summary.compaction_refused:
        lines.append(f"not compacted (held by another run): {', '.join(summary.compaction_refused)}")
    lines.append(f"bytes vacuumed: {sum(summary.bytes_vacuumed.values())}")
    lines.append(f"run {run_id}: finished in {summary.seconds:.1f}s")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if any(value < 0 for value in (*args.delete_organization, *args.delete_project)):
        parser.error("organization and project ids are not negative")
    try:
        config = _config(args)
        storage.configure(config.storage)
    except ConfigError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    run_id = args.run_id or new_run_id()
    request = Request(
        today=args.today or datetime.now(UTC).date(),
        run_id=run_id,
        erasure=Erasure(frozenset(args.delete_organization), frozenset(args.delete_project)),
        vacuum_hours=config.maintenance.vacuum_hours,
        dry_run=args.dry_run,
    )
    try:
        summary = _run(config, request)
    except DayRefused as refused:
        print(f"{PROG}: error: refused: {refused}", file=sys.stderr)
        return EXIT_REFUSED
    except Exception as error:  # anything left: one line, never a traceback
        print(f"{PROG}: error: {with_advice(describe_failure(error))}", file=sys.stderr)
        return EXIT_DAY_FAILED
    for line in format_summary(run_id, summary, request.dry_run):
        print(line, flush=True)
    return EXIT_OK


def _run(config: JobConfig, request: Request) -> Summary:
    # Spark is imported late so that argument and configuration errors answer instantly.
    from profile_pipeline.spark.session import build_session

    uris = (config.warehouse, config.vroom.profiles_bucket)
    spark = build_session("profile-pipeline-maintenance", uris, storage=config.storage)
    print(f"run {request.run_id}: maintenance of {config.warehouse}, today {request.today}", flush=True)
    return maintain(spark, config, request, lambda line: print(line, flush=True))
