"""Hadoop's view of a URI, through the session's JVM: what Spark itself reads and writes with."""

from __future__ import annotations

from typing import Any

from pyspark.sql import SparkSession


def hadoop_path(spark: SparkSession, uri: str) -> tuple[Any, Any]:
    """The Hadoop `Path` of `uri` and the `FileSystem` that holds it."""
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(uri)
    return path, path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
