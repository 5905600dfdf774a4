"""The command line of `jobs/process_profiles.py` (SPEC §I.9).

Exit status, for a scheduler to act on: 0 every requested day finished (or was already finished); 1 a day
failed (retry later; finished days are skipped on the re-run); 2 wrong arguments or configuration (fix
before retrying); 3 refused because another run holds a day (that run is working on it); 4 with
`--require-complete`, a day is not known to be complete yet (retry later). Errors are one line on stderr,
never a Java stack trace.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from typing import Any

from profile_pipeline.adapters import storage
from profile_pipeline.adapters.archive_layout import marker_uri, read_marker
from profile_pipeline.adapters.reference import load_reference
from profile_pipeline.commands import EXIT_OK, EXIT_USAGE, OneLineParser, iso_day
from profile_pipeline.config import ConfigError, JobConfig, load_config
from profile_pipeline.run.day_lock import check_supported
from profile_pipeline.run.runner import (
    FAILED,
    REFUSED,
    DayResult,
    config_summary,
    days_between,
    describe_failure,
    new_run_id,
    run_days,
)
from profile_pipeline.run.summary import format_day

EXIT_DAY_FAILED, EXIT_REFUSED, EXIT_INCOMPLETE = 1, 3, 4
__all__ = ["EXIT_DAY_FAILED", "EXIT_INCOMPLETE", "EXIT_OK", "EXIT_REFUSED", "EXIT_USAGE", "build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="process_profiles.py",
        description="Process one day (or a range of days) of raw profiling ingest messages into Delta tables.",
    )
    where = parser.add_argument_group("locations")
    where.add_argument("--input", help="directory or prefix holding dt=YYYY-MM-DD day partitions (file://, s3a://)")
    where.add_argument("--warehouse", help="where the Delta tables live, one directory per table")
    where.add_argument("--symbols", help="symbol store URI in Symbolicator's unified layout")
    where.add_argument("--profiles-bucket", help="where the vroom stage stores compressed profile blobs")
    where.add_argument("--reference", help="JSON file of per-organization/project reference data")
    add_day_arguments(parser, "process this day")
    run = parser.add_argument_group("run")
    run.add_argument("--config", help="TOML configuration file (flags override it)")
    run.add_argument("--run-id", help="identifier recorded with every row (default: time and random suffix)")
    run.add_argument("--force", action="store_true", help="reprocess days that job_runs records as finished")
    run.add_argument("--batch-profiles", type=int, help="profiles processed together inside a partition")
    run.add_argument(
        "--require-complete",
        action="store_true",
        help="process a day only once the archiver declared it complete (its marker under <input>/_complete/)",
    )
    stages = parser.add_argument_group("stages")
    stages.add_argument(
        "--symbolication",
        choices=("embedded", "symbolicator", "off"),
        help="symbolication and deobfuscation: in-process over --symbols, a Symbolicator service, or skipped",
    )
    stages.add_argument("--symbolicator-url", help="base URL of Symbolicator (with --symbolication symbolicator)")
    stages.add_argument(
        "--vroom", choices=("embedded", "http", "off"), help="the vroom stage: in-process vroomrs, vroom HTTP, or skip"
    )
    stages.add_argument("--vroom-url", help="base URL of vroom (with --vroom http)")
    return parser


def add_day_arguments(parser: argparse.ArgumentParser, date_help: str) -> None:
    """--date, or --start with --end: the days of a command, read back by `days_from_args`."""
    when = parser.add_argument_group("days (one of --date, or --start with --end)")
    when.add_argument("--date", type=iso_day, help=date_help)
    when.add_argument("--start", type=iso_day, help="first day of a range (inclusive)")
    when.add_argument("--end", type=iso_day, help="last day of a range (inclusive)")


def days_from_args(args: argparse.Namespace, parser: argparse.ArgumentParser) -> list[date]:
    """The days of --date, or of --start to --end; a wrong combination is an argument error."""
    if args.date and (args.start or args.end):
        parser.error("--date cannot be combined with --start/--end")
    if args.date:
        return [args.date]
    if not (args.start and args.end):
        parser.error("give --date, or both --start and --end")
    if args.end < args.start:
        parser.error("--end is before --start")
    return days_between(args.start, args.end)


def config_from_args(args: argparse.Namespace) -> JobConfig:
    overrides: dict[str, Any] = {
        "input": args.input,
        "warehouse": args.warehouse,
        "reference": args.reference,
        "batch_profiles": args.batch_profiles,
        "symbolication.mode": args.symbolication,
        "symbolication.symbols": args.symbols,
        "symbolication.symbolicator_url": args.symbolicator_url,
        "vroom.mode": args.vroom,
        "vroom.url": args.vroom_url,
        "vroom.profiles_bucket": args.profiles_bucket,
        "require_complete": args.require_complete or None,
    }
    config = load_config(args.config, overrides)
    if not config.input:
        raise ConfigError("no input: give --input or set `input` in the config file")
    check_supported(config.warehouse)
    check_local_warehouse(config.warehouse)
    return config


def check_local_warehouse(warehouse: str) -> None:
    """A warehouse on the local disk must be a directory this user can write, or be creatable as one."""
    path = warehouse.removeprefix("file://") if "://" not in warehouse or warehouse.startswith("file://") else None
    if path is None:
        return
    existing = os.path.abspath(path)
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if existing == os.path.abspath(path) and not os.path.isdir(existing):
        raise ConfigError(f"warehouse {warehouse} is a file, not a directory: give --warehouse a directory")
    if not os.path.isdir(existing):
        raise ConfigError(f"warehouse {warehouse} cannot be created: {existing} is a file")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"warehouse {warehouse} is not writable: {existing} does not let this user write")


# Known causes of a failure, and what to do about them.
_ADVICE = (
    (
        ("Cannot run program",),
        "the Python workers cannot start: set PYSPARK_PYTHON (or spark.pyspark.python) to a Python that has "
        "this project installed, on every executor",
    ),
    (("Python worker exited unexpectedly",), "a Python worker died (memory?): lower batch_profiles or add memory"),
    (("Java gateway process exited",), "Spark could not start: check Java 17 and that spark.jars.packages resolve"),
    (("Permission denied",), "check that this user may write the warehouse and read the input"),
    (("Not a directory",), "a location given as a directory is a file: check --input and --warehouse"),
    (("UnknownHostException",), "a host in a URI cannot be resolved: check the s3a endpoint or the URIs"),
    (("Connection refused",), "a service does not answer: check the endpoint in [storage] or the service URLs"),
)


def with_advice(message: str) -> str:
    """The message, followed by what to do where the cause is a known one."""
    for needles, advice in _ADVICE:
        if all(needle in message for needle in needles):
            return f"{message} ({advice})"
    return message


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    days = days_from_args(args, parser)
    try:
        config = config_from_args(args)
        storage.configure(config.storage)
        reference = load_reference(config.reference)
    except ConfigError as error:
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return EXIT_USAGE

    try:
        archive_offsets, incomplete = _complete_days(config, days) if config.require_complete else (None, None)
        if incomplete is not None:
            days = days[: days.index(incomplete)]
        status = _run(parser, args, days, config, reference, argv, archive_offsets) if days else EXIT_OK
        if incomplete is not None and status == EXIT_OK:
            print(
                f"{parser.prog}: error: {incomplete}: not known to be complete: no marker "
                f"{marker_uri(config.input, incomplete)} yet (the archiver writes it once every partition has "
                "passed the day); retry later",
                file=sys.stderr,
            )
            return EXIT_INCOMPLETE
        return status
    except Exception as error:  # anything left: one line, never a traceback
        print(f"{parser.prog}: error: {with_advice(describe_failure(error))}", file=sys.stderr)
        return EXIT_DAY_FAILED


def _complete_days(config: JobConfig, days: list[date]) -> tuple[dict[date, str], date | None]:
    """The offsets of each day's completion marker, up to the first day without one (returned too, or None)."""
    offsets: dict[date, str] = {}
    for day in days:
        marker = read_marker(config.input, day)
        if marker is None:
            return offsets, day
        offsets[day] = marker.offsets_json()
    return offsets, None


def _run(
    parser: argparse.ArgumentParser,
    args: argparse.Namespace,
    days: list[date],
    config: JobConfig,
    reference: Any,
    argv: list[str] | None,
    archive_offsets: dict[date, str] | None,
) -> int:
    # Spark is imported late so that argument and configuration errors answer instantly.
    from profile_pipeline.spark.session import build_session

    run_id = args.run_id or new_run_id()
    arguments = {"argv": sys.argv[1:] if argv is None else argv, "config": config_summary(config)}
    uris = (config.input, config.warehouse, config.symbolication.symbols, config.vroom.profiles_bucket)
    spark = build_session("profile-pipeline", uris, storage=config.storage)

    def report(result: DayResult) -> None:
        print(format_day(result), flush=True)

    def progress(line: str) -> None:
        print(line, flush=True)

    print(f"run {run_id}: {len(days)} day(s) from {days[0]} to {days[-1]}, input {config.input}", flush=True)
    results = run_days(
        spark,
        config,
        reference,
        days,
        run_id=run_id,
        force=args.force,
        arguments=arguments,
        report=report,
        progress=progress,
        archive_offsets=archive_offsets,
    )
    stopped = [result for result in results if result.status in (FAILED, REFUSED)]
    for result in stopped:
        print(f"{parser.prog}: error: {result.day}: {result.status}: {with_advice(str(result.error))}", file=sys.stderr)
    if any(result.status == REFUSED for result in stopped):
        return EXIT_REFUSED
    return EXIT_DAY_FAILED if stopped or len(results) < len(days) else EXIT_OK
