"""The regression job over 30 days x 5,000 profiles' functions, beyond Spark's start:

    python benchmarks/regressions.py                  # target: under 60 s
    python benchmarks/regressions.py --days 30 --profiles 5000 --functions 40

The `functions` table is generated once under benchmarks/out/ with the job's schema, by Spark: each profile has
`--functions` functions drawn from its project's pool of 500 (10 projects), each with one to three self times
around the function's own level; one busy function of project 1 is eight times slower from day 21 on (22 to
176 ms). Then `jobs/detect_regressions.py` (its `main`, in this process) is timed for the last day (a nightly
run, whose window reads the 30 days) and for every day of the range, after the Spark session has started.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FIRST = date(2026, 10, 1)
TARGET_SECONDS = 60.0
PROJECTS, POOL = 10, 500
REGRESSED_FINGERPRINT, REGRESSION_DAY = 10, 20  # in project 1, from the 21st day


def build_functions(spark, warehouse: str, days: int, profiles: int, functions: int) -> None:
    from pyspark.sql import functions as F
    from pyspark.sql.pandas.types import from_arrow_schema

    from profile_pipeline.spark.tables import FUNCTIONS

    slots = spark.range(days * profiles * functions)
    rows = slots.select(
        F.floor(F.col("id") / (profiles * functions)).cast("int").alias("day_index"),
        F.floor(F.col("id") / functions).alias("profile"),
        (F.col("id") % functions).alias("slot"),
    )
    rows = rows.withColumn("project_id", F.col("profile") % PROJECTS + 1)
    # Each slot of a profile draws a function of the pool, weighted to the low ids (some functions are busy).
    rows = rows.withColumn("fingerprint", (F.pow(F.rand(11), 2) * POOL).cast("long"))
    level = (F.col("fingerprint") % 50 + 1) * 2_000_000  # each function's own level: 2 to 100 ms
    slower = (F.col("project_id") == 1) & (F.col("fingerprint") == REGRESSED_FINGERPRINT)
    level = F.when(slower & (F.col("day_index") >= REGRESSION_DAY), level * 8).otherwise(level)
    times = F.sequence(F.lit(0), (F.rand(17) * 3).cast("int"))
    rows = rows.select(
        "*",
        F.date_add(F.lit(FIRST), F.col("day_index")).alias("dt"),
        F.lit("bench").alias("run_id"),
        F.lit(1).alias("organization_id"),
        F.format_string("%032x", F.col("profile")).alias("profile_id"),
        F.lit("python").alias("platform"),
        F.lit("backend@1.0.0").alias("release"),
        F.lit("production").alias("environment"),
        F.lit("/api/0/orders/").alias("transaction_name"),
        F.current_timestamp().alias("timestamp"),
        F.lit("transaction").alias("profiling_type"),
        F.lit(0.0).alias("start_timestamp"),
        F.lit(1.0).alias("end_timestamp"),
        F.format_string("function_%d", "fingerprint").alias("function"),
        F.format_string("app.module_%d", F.col("fingerprint") % 40).alias("package"),
        F.lit(True).alias("in_app"),
        F.transform(times, lambda _: (level * (0.5 + F.rand(13))).cast("long")).alias("self_times_ns"),
        F.lit("1").alias("thread_id"),
    )
    schema = from_arrow_schema(FUNCTIONS)
    table = rows.select(*(F.col(field.name).cast(field.dataType).alias(field.name) for field in schema))
    table.write.format("delta").mode("overwrite").partitionBy("dt").save(f"{warehouse}/functions")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--profiles", type=int, default=5000, help="profiles per day")
    parser.add_argument("--functions", type=int, default=40, help="functions per profile")
    parser.add_argument("--workdir", default=str(ROOT / "benchmarks" / "out" / "regressions"))
    args = parser.parse_args()
    warehouse = f"{args.workdir}/warehouse-{args.days}x{args.profiles}x{args.functions}"

    from profile_pipeline.run.regressions_cli import main as detect
    from profile_pipeline.spark.session import build_session

    clock = time.perf_counter()
    spark = build_session("regressions-benchmark", [warehouse])
    print(f"Spark session: {time.perf_counter() - clock:.1f} s")
    if not Path(warehouse, "functions", "_delta_log").exists():
        clock = time.perf_counter()
        build_functions(spark, warehouse, args.days, args.profiles, args.functions)
        print(f"functions table generated in {time.perf_counter() - clock:.1f} s")
    functions = spark.read.format("delta").load(f"{warehouse}/functions")
    values = functions.selectExpr("size(self_times_ns) AS n").groupBy().sum("n").first()[0]
    print(f"functions: {functions.count():,} rows, {values:,} self times over {args.days} days")
    last = FIRST + timedelta(days=args.days - 1)
    for label, days in (
        ("the last day", ["--date", str(last)]),
        ("every day", ["--start", str(FIRST), "--end", str(last)]),
    ):
        clock = time.perf_counter()
        status = detect(["--warehouse", warehouse, *days])
        seconds = time.perf_counter() - clock
        verdict = "FAILED" if status else "under" if seconds < TARGET_SECONDS else "OVER"
        print(f"detection of {label}: {seconds:.1f} s, exit {status} ({verdict} the {TARGET_SECONDS:.0f} s target)")


if __name__ == "__main__":
    main()
