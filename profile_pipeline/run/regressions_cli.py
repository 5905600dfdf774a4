"""The command line of `jobs/detect_regressions.py`: function regressions of days, into `function_regressions`.

Exit status as the processing job's: 0 every day detected; 1 the run failed (retry: a day's rows are replaced
whole, so a re-run gives the same table); 2 wrong arguments or configuration, or no `functions` table at the
warehouse. Errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
import uuid
from datetime import UTC, date, datetime
from typing import Any

from profile_pipeline.commands import EXIT_FAILED, EXIT_OK, EXIT_USAGE, OneLineParser
from profile_pipeline.config import ConfigError, JobConfig, load_config
from profile_pipeline.run.cli import add_day_arguments, days_from_args, with_advice
from profile_pipeline.run.runner import describe_failure


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="detect_regressions.py",
        description="Find the functions whose p95 self time regressed, per day, into function_regressions.",
    )
    parser.add_argument("--warehouse", help="where the Delta tables live (the job's; it reads functions)")
    parser.add_argument("--config", help="TOML configuration file: [regressions] and [storage] (flags override it)")
    parser.add_argument("--run-id", help="identifier recorded with every row (default: time and random suffix)")
    add_day_arguments(parser, "detect the regressions that this day shows first")
    return parser


def _functions_table_missing(warehouse: str) -> bool:
    """For a warehouse on the local disk: whether it lacks the `functions` table (others are asked of Spark)."""
    if "://" in warehouse and not warehouse.startswith("file://"):
        return False
    return not os.path.isdir(os.path.join(warehouse.removeprefix("file://"), "functions", "_delta_log"))


def _ms(nanos: int) -> str:
    return f"{nanos / 1e6:,.1f} ms"


def format_regression(row: dict[str, Any]) -> str:
    change = row["p95_after_ns"] / row["p95_before_ns"] - 1 if row["p95_before_ns"] else float("inf")
    return (
        f"  project {row['project_id']}: {row['function']} ({row['package']}) p95 {_ms(row['p95_before_ns'])} -> "
        f"{_ms(row['p95_after_ns'])} ({change:+.0%}) since {row['breakpoint_day']}, "
        f"{row['count_before']} -> {row['count_after']} self times"
    )


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    days = days_from_args(args, parser)
    try:
        config = load_config(args.config, {"warehouse": args.warehouse})
    except ConfigError as error:
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    if _functions_table_missing(config.warehouse):
        print(f"{parser.prog}: error: no functions table at {config.warehouse}", file=sys.stderr)
        return EXIT_USAGE
    try:
        return _run(parser.prog, config, days, args.run_id or _run_id())
    except Exception as error:  # anything left: one line, never a traceback
        print(f"{parser.prog}: error: {with_advice(describe_failure(error))}", file=sys.stderr)
        return EXIT_FAILED


def _run_id() -> str:
    return f"regressions-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


def _run(prog: str, config: JobConfig, days: list[date], run_id: str) -> int:
    # Spark is imported late so that argument and configuration errors answer instantly.
    from delta.tables import DeltaTable
    from pyspark.sql.pandas.types import from_arrow_schema

    from profile_pipeline.spark.job import table_uri
    from profile_pipeline.spark.regressions import FUNCTIONS, detect_regressions, write_regressions
    from profile_pipeline.spark.session import build_session
    from profile_pipeline.spark.tables import FUNCTION_REGRESSIONS

    spark = build_session("profile-pipeline-regressions", [config.warehouse], storage=config.storage)
    if not DeltaTable.isDeltaTable(spark, table_uri(config.warehouse, FUNCTIONS)):
        print(f"{prog}: error: no functions table at {config.warehouse}", file=sys.stderr)
        return EXIT_USAGE
    print(f"run {run_id}: function regressions of {len(days)} day(s) from {days[0]} to {days[-1]}", flush=True)
    # Regressions are few: gathered once, so that writing them does not run the detection again.
    found = detect_regressions(spark, config.warehouse, days, config.regressions, run_id).collect()
    rows = spark.createDataFrame(found, from_arrow_schema(FUNCTION_REGRESSIONS))
    write_regressions(spark, config.warehouse, days, rows)
    for day in days:
        of_day = sorted((row.asDict() for row in found if row["dt"] == day), key=lambda row: -row["p95_after_ns"])
        print(f"{day}: {len(of_day)} function regression(s)", flush=True)
        for row in of_day:
            print(format_regression(row), flush=True)
    return EXIT_OK
