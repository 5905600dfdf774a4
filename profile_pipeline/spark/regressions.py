"""Function regressions over the `functions` table: daily p95 self times, their trends, the `function_regressions`
table.

For each day looked at, its busiest functions are found from their counts, and their daily p95 and count over
the window of days before it are computed; each function's series goes through `trends.new_regression` in a
Python worker (one group per function, a few dozen points); the regressions found are measured again from the
self times themselves: the p95 and counts of each side of the breakpoint and the profiles with the longest
self times. Each day's rows replace that day's partition in one commit, so a day can be detected again with
the same result.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from functools import partial
from itertools import groupby
from operator import itemgetter
from typing import Any

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


def _functions(spark: SparkSession, warehouse: str, days: list[date], settings: RegressionConfig) -> DataFrame:
    """The `functions` rows of the days' windows that the detection looks at."""
    functions = spark.read.format("delta").load(table_uri(warehouse, FUNCTIONS))
    functions = functions.where(F.col("dt").between(window_start(days[0], settings), days[-1]))
    return functions.where(F.col("in_app")) if settings.application_only else functions


def busiest(functions: DataFrame, days: list[date], settings: RegressionConfig) -> DataFrame:
    """(key, dt) of the functions among their project's `functions_per_project` most called on each of the days:
    the only ones looked at that day, as Sentry looks at a project's busiest functions."""
    counts = functions.where(F.col("dt").isin(days)).groupBy(*KEY, "dt").agg(F.sum(F.size("self_times_ns")).alias("n"))
    rank = Window.partitionBy("organization_id", "project_id", "dt").orderBy(F.desc("n"), "fingerprint")
    ranked = counts.withColumn("rank", F.row_number().over(rank))
    return ranked.where(F.col("rank") <= settings.functions_per_project).select(*KEY, "dt")


def self_times(functions: DataFrame, candidates: DataFrame) -> DataFrame:
    """One row per self time of the candidate functions: key, dt, profile, function, package."""
    chosen = functions.join(F.broadcast(candidates), on=KEY, how="left_semi")
    return chosen.select(*KEY, "dt", "profile_id", "function", "package", F.explode("self_times_ns").alias("self_ns"))


def daily_points(values: DataFrame, eligible: DataFrame) -> DataFrame:
    """Per function and day: p95, count, and whether it is among its project's busiest functions that day."""
    daily = values.groupBy(*KEY, "dt").agg(
        F.percentile_approx("self_ns", 0.95, ACCURACY).alias("p95_ns"), F.count("*").alias("count")
    )
    flagged = eligible.withColumn("eligible", F.lit(True))
    return daily.join(F.broadcast(flagged), on=[*KEY, "dt"], how="left").fillna(False, ["eligible"])


def _series_regressions(rows: list[dict[str, Any]], days: tuple[date, ...], settings: RegressionConfig) -> list[dict]:
    """The regressions of one function's series (its daily points, oldest first) that the days show first."""
    found = []
    for day in days:
        window = [row for row in rows if window_start(day, settings) <= row["dt"] <= day]
        if not window or window[-1]["dt"] != day or not window[-1]["eligible"]:
            continue
        breakpoint_day = new_regression([DailyPoint(row["dt"], float(row["p95_ns"])) for row in window], settings)
        if breakpoint_day is not None:
            found.append({**{name: rows[0][name] for name in KEY}, "dt": day, "breakpoint_day": breakpoint_day})
    return found


def _partition_regressions(
    batches: Iterator[pa.RecordBatch], days: tuple[date, ...], settings: RegressionConfig
) -> Iterator[pa.RecordBatch]:
    """The regressions of a partition's series, its rows sorted by function and day.

    One Python call per partition rather than per function (Spark's grouped Arrow functions cost tens of
    milliseconds a group); a partition holds the busiest functions' daily points, a few rows per function.
    """
    rows = [row for batch in batches for row in batch.to_pylist()]
    found = []
    for _, series in groupby(rows, key=itemgetter(*KEY)):
        found.extend(_series_regressions(list(series), days, settings))
    yield pa.RecordBatch.from_pylist(found, schema=_FOUND)


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
    functions = _functions(spark, warehouse, days, settings)
    # Only the functions busiest on some day are measured day by day: the p95s are the job's dearest part.
    eligible = busiest(functions, days, settings).cache()
    values = self_times(functions, eligible.select(*KEY).distinct())
    points = daily_points(values, eligible)
    series = points.repartition(*KEY).sortWithinPartitions(*KEY, "dt")
    detect = partial(_partition_regressions, days=tuple(days), settings=settings)
    # The regressions found are few: gathered here, so that measuring their sides is a plan of its own and the
    # detection is not computed again inside it.
    schema = from_arrow_schema(_FOUND)
    found = spark.createDataFrame(series.mapInArrow(detect, schema).collect(), schema)
    sides = _sides(self_times(functions, found.select(*KEY).distinct()), found, settings)
    before, after = _side(sides, False, "before"), _side(sides, True, "after")
    both = before.join(after.drop("function", "package"), on=[*KEY, "day", "breakpoint_day"])
    return both.select(*_columns(run_id))


def write_regressions(spark: SparkSession, warehouse: str, days: list[date], rows: DataFrame) -> None:
    """Make `rows` the whole of the days' partitions of `function_regressions`, in one commit."""
    literals = ", ".join(f"DATE'{day.isoformat()}'" for day in days)
    rows.write.format("delta").mode("overwrite").option("replaceWhere", f"dt IN ({literals})").partitionBy("dt").save(
        table_uri(warehouse, REGRESSIONS)
    )
