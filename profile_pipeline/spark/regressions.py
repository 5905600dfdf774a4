"""Function regressions over the `functions` table: daily p95 self times, their trends, the `function_regressions`
table.

For each day looked at, every function's daily p95 and count over the window of days before it are computed
in one Spark job; each function's series goes through `trends.new_regression` in a Python worker (one group per
function, a few dozen points); the regressions found are measured again from the self times themselves: the
p95 and counts of each side of the breakpoint and the profiles with the longest self times. Each day's rows
replace that day's partition in one commit, so a day can be detected again with the same result.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pyarrow as pa
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema

from profile_pipeline.config import RegressionConfig
from profile_pipeline.spark.job import table_uri
from profile_pipeline.spark.tables import FUNCTION_REGRESSIONS
from profile_pipeline.spark.trends import DailyPoint, new_regression

FUNCTIONS = "functions"
REGRESSIONS = "function_regressions"
KEY = ["organization_id", "project_id", "fingerprint"]
# percentile_approx's accuracy: a rank error of at most 1/10,000 of a group's values.
ACCURACY = 10_000

# What the detection of a function's series answers: the regression's key, the day found and the breakpoint.
_FOUND = pa.schema([FUNCTION_REGRESSIONS.field(name) for name in (*KEY, "dt", "breakpoint_day")])


def window_start(day: date, settings: RegressionConfig) -> date:
    return day - timedelta(days=settings.window_days - 1)


def self_times(spark: SparkSession, warehouse: str, days: list[date], settings: RegressionConfig) -> DataFrame:
    """One row per self time of the functions in the days' windows: key, dt, profile, function, package."""
    functions = spark.read.format("delta").load(table_uri(warehouse, FUNCTIONS))
    functions = functions.where(F.col("dt").between(window_start(days[0], settings), days[-1]))
    if settings.application_only:
        functions = functions.where(F.col("in_app"))
    return functions.select(
        *KEY, "dt", "profile_id", "function", "package", F.explode("self_times_ns").alias("self_ns")
    )


def daily_points(values: DataFrame, settings: RegressionConfig) -> DataFrame:
    """Per function and day: p95, count, and whether it is among its project's most called functions that day."""
    daily = values.groupBy(*KEY, "dt").agg(
        F.percentile_approx("self_ns", 0.95, ACCURACY).alias("p95_ns"), F.count("*").alias("count")
    )
    busiest = Window.partitionBy("organization_id", "project_id", "dt").orderBy(F.desc("count"), "fingerprint")
    return daily.withColumn("eligible", F.row_number().over(busiest) <= settings.functions_per_project)


def _series_regressions(series: pa.Table, days: tuple[date, ...], settings: RegressionConfig) -> pa.Table:
    """The regressions of one function's series that the days show first (a Python worker's group)."""
    rows = sorted(series.to_pylist(), key=lambda row: row["dt"])
    found = []
    for day in days:
        window = [row for row in rows if window_start(day, settings) <= row["dt"] <= day]
        if not window or window[-1]["dt"] != day or not window[-1]["eligible"]:
            continue
        breakpoint_day = new_regression([DailyPoint(row["dt"], float(row["p95_ns"])) for row in window], settings)
        if breakpoint_day is not None:
            found.append({**{name: rows[0][name] for name in KEY}, "dt": day, "breakpoint_day": breakpoint_day})
    return pa.Table.from_pylist(found, schema=_FOUND)


def _detector(days: tuple[date, ...], settings: RegressionConfig) -> Callable[[pa.Table], pa.Table]:
    """`_series_regressions` for these days, with the type hints by which Spark knows an Arrow group function."""

    def detect(series: pa.Table) -> pa.Table:
        return _series_regressions(series, days, settings)

    return detect


def _sides(values: DataFrame, found: DataFrame, settings: RegressionConfig) -> DataFrame:
    """Each regression's self times in its window, measured on each side of the breakpoint."""
    joined = values.join(F.broadcast(found.withColumnRenamed("dt", "day")), on=KEY)
    joined = joined.where(
        (F.col("dt") <= F.col("day")) & (F.col("dt") >= F.date_sub(F.col("day"), settings.window_days - 1))
    ).withColumn("after", F.col("dt") >= F.col("breakpoint_day"))
    group = [*KEY, "day", "breakpoint_day", "after"]
    worst = joined.groupBy(*group, "profile_id").agg(F.max("self_ns").alias("worst_ns"))
    examples = worst.groupBy(*group).agg(
        F.slice(
            F.sort_array(F.collect_list(F.struct((-F.col("worst_ns")).alias("rank"), "profile_id"))),
            1,
            settings.examples,
        )
        .getField("profile_id")
        .alias("examples"),
        F.count("*").alias("profiles"),
    )
    measured = joined.groupBy(*group).agg(
        F.percentile_approx("self_ns", 0.95, ACCURACY).alias("p95_ns"),
        F.count("*").alias("count"),
        F.min("function").alias("function"),
        F.min("package").alias("package"),
    )
    return measured.join(examples, on=group)


def _side(sides: DataFrame, after: bool, suffix: str) -> DataFrame:
    side = sides.where(F.col("after") == after)
    renamed = [F.col(name).alias(f"{name}_{suffix}") for name in ("p95_ns", "count", "profiles", "examples")]
    return side.select(*KEY, "day", "breakpoint_day", "function", "package", *renamed)


def _columns(run_id: str) -> list[Column]:
    """The table's columns, in its order and of its types."""
    schema = from_arrow_schema(FUNCTION_REGRESSIONS)
    names = {
        "dt": F.col("day"),
        "run_id": F.lit(run_id),
        "p95_before_ns": F.col("p95_ns_before"),
        "p95_after_ns": F.col("p95_ns_after"),
    }
    return [names.get(field.name, F.col(field.name)).cast(field.dataType).alias(field.name) for field in schema]


def detect_regressions(
    spark: SparkSession, warehouse: str, days: list[date], settings: RegressionConfig, run_id: str
) -> DataFrame:
    """The regressions that each of the days shows first, as rows of `function_regressions`."""
    values = self_times(spark, warehouse, days, settings)
    points = daily_points(values, settings)
    found = points.groupBy(*KEY).applyInArrow(_detector(tuple(days), settings), from_arrow_schema(_FOUND))
    sides = _sides(values, found, settings)
    before, after = _side(sides, False, "before"), _side(sides, True, "after")
    both = before.join(after.drop("function", "package"), on=[*KEY, "day", "breakpoint_day"])
    return both.select(*_columns(run_id))


def write_regressions(spark: SparkSession, warehouse: str, days: list[date], rows: DataFrame) -> None:
    """Make `rows` the whole of the days' partitions of `function_regressions`, in one commit."""
    literals = ", ".join(f"DATE'{day.isoformat()}'" for day in days)
    rows.write.format("delta").mode("overwrite").option("replaceWhere", f"dt IN ({literals})").partitionBy("dt").save(
        table_uri(warehouse, REGRESSIONS)
    )
