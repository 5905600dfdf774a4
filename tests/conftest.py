"""Shared fixtures: one SparkSession with Delta for the whole test run, tuned for a small machine."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# pyspark.testing imports pandas-on-Spark, which asks for this before any session starts.
os.environ.setdefault("PYARROW_IGNORE_TIMEZONE", "1")

PROJECT_ROOT = Path(__file__).resolve().parent.parent
FIXTURES = PROJECT_ROOT / "fixtures"


@pytest.fixture(scope="session")
def spark() -> Iterator[object]:
    """The fast settings of Delta Lake's own Python tests: local[2], few shuffle partitions, no UI."""
    from pyspark.sql import SparkSession

    from profile_pipeline.spark.packages import DELTA_PACKAGE, HADOOP_AWS_PACKAGE, KAFKA_SOURCE_PACKAGE, jars_for

    os.environ["PYSPARK_PYTHON"] = sys.executable
    builder = (
        SparkSession.builder.master("local[2]")
        .appName("profile-pipeline-tests")
        .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
        .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.files.maxPartitionBytes", "1m")
        .config("spark.databricks.delta.snapshotPartitions", "2")
        .config("spark.driver.memory", "2g")
        # The jars the job's and the archiver's local runs use, resolved once per machine (no Ivy per session);
        # hadoop-aws for the tests that run maintenance on the loopback S3 server in this session.
        .config("spark.jars", ",".join(jars_for([DELTA_PACKAGE, KAFKA_SOURCE_PACKAGE, HADOOP_AWS_PACKAGE])))
    )
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def explore_warehouse(spark, tmp_path_factory):
    """Two processed days of every profile format, shared by the exploration tests (made once)."""
    from explore_warehouse import build_warehouse

    return build_warehouse(spark, tmp_path_factory.mktemp("explore"))


@pytest.fixture(scope="session")
def speedscope_schema() -> dict:
    from explore_tools import speedscope_schema

    return speedscope_schema()


@pytest.fixture(scope="session")
def pprof_tool() -> Path:
    from explore_tools import pprof_binary

    return pprof_binary()


@pytest.fixture(scope="session")
def regression_warehouse(spark, tmp_path_factory):
    """Days in which one function gets slower with a new release, shared by the regression and notebook tests."""
    from regression_warehouse import build_regression_warehouse

    return build_regression_warehouse(spark, tmp_path_factory.mktemp("regression"))
