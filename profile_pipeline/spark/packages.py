"""The Maven packages a local run needs (Delta Lake; hadoop-aws for `s3a://`), resolved once per machine.

Spark resolves `spark.jars.packages` through Ivy at every start: seconds of work and some 250 lines of
Ivy's report on the console, every run. Here each package is resolved once, by Spark's own resolution in
a child process whose output goes to a log file, and the jar files it chose are kept in a small manifest
(`<cache>/<coordinate>.json`, the cache being `$PROFILE_PIPELINE_CACHE` or `~/.cache/profile-pipeline`).
A session started by the job then names those jars in `spark.jars` and resolves nothing. A manifest whose
jars are gone (an emptied Ivy cache) is resolved again. Under spark-submit none of this applies: the
properties file's `spark.jars.packages` is resolved by spark-submit as usual.

The same command records the JVM's class archive of local runs once per machine (`class_archive.py`).

    python -m profile_pipeline.spark.packages [COORDINATE ...]   # default: Delta Lake
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

from profile_pipeline.spark.class_archive import ArchiveFailed, prepare

# delta-spark 4.4.0's jar for Spark 4.2 (Scala 2.13), as `configure_spark_with_delta_pip` would name it.
DELTA_PACKAGE = "io.delta:delta-spark_4.2_2.13:4.4.0"
# The Hadoop that pyspark 4.2 bundles; hadoop-aws must match it exactly (it brings its AWS SDK v2 bundle).
HADOOP_AWS_PACKAGE = "org.apache.hadoop:hadoop-aws:3.5.0"
# Spark's own Kafka source for the archiver, of the pinned Spark (it brings kafka-clients 3.9).
KAFKA_SOURCE_PACKAGE = "org.apache.spark:spark-sql-kafka-0-10_2.13:4.2.0"

# Run in the child: start a session that resolves the package, print the jars Spark put on `spark.jars`.
_RESOLVE = """
import json, sys
from pyspark.sql import SparkSession
session = (SparkSession.builder.master("local[1]").appName("resolve-packages")
           .config("spark.jars.packages", sys.argv[1]).config("spark.ui.enabled", "false").getOrCreate())
jars = session.sparkContext.getConf().get("spark.jars", "")
session.stop()
print("JARS " + json.dumps([jar for jar in jars.split(",") if jar]))
"""


class ResolutionFailed(RuntimeError):
    """Spark could not resolve a package (no network to Maven Central, a wrong coordinate)."""


def cache_dir() -> Path:
    return Path(os.environ.get("PROFILE_PIPELINE_CACHE") or Path.home() / ".cache" / "profile-pipeline")


def _manifest(coordinate: str) -> Path:
    return cache_dir() / "spark-packages" / f"{coordinate.replace(':', '_')}.json"


def _local_path(jar: str) -> Path:
    return Path(jar.removeprefix("file:"))


def resolved_jars(coordinate: str) -> list[str] | None:
    """The jars of a package resolved before, if every one of them is still on disk."""
    manifest = _manifest(coordinate)
    if not manifest.is_file():
        return None
    jars = json.loads(manifest.read_text())
    return jars if jars and all(_local_path(jar).is_file() for jar in jars) else None


def resolve(coordinate: str) -> list[str]:
    """The package's jars, resolved now (one line on stderr, Spark's report in a log file) unless known."""
    jars = resolved_jars(coordinate)
    if jars is not None:
        return jars
    manifest = _manifest(coordinate)
    manifest.parent.mkdir(parents=True, exist_ok=True)
    log = manifest.with_suffix(".log")
    print(f"resolving the Spark package {coordinate} (once; the report goes to {log})", file=sys.stderr)
    with open(log, "w") as output:
        done = subprocess.run(
            [sys.executable, "-c", _RESOLVE, coordinate], stdout=subprocess.PIPE, stderr=output, text=True
        )
    lines = [line for line in done.stdout.splitlines() if line.startswith("JARS ")]
    if done.returncode != 0 or not lines:
        raise ResolutionFailed(f"Spark could not resolve {coordinate}; see {log}")
    jars = json.loads(lines[-1].removeprefix("JARS "))
    temporary = manifest.with_suffix(".tmp")
    temporary.write_text(json.dumps(jars))
    temporary.replace(manifest)  # a killed resolution leaves no half-written manifest
    return jars


def jars_for(coordinates: Iterable[str]) -> list[str]:
    """Every jar of the packages, each package resolved at most once per machine, without repeats."""
    jars: dict[str, None] = {}
    for coordinate in coordinates:
        jars.update(dict.fromkeys(resolve(coordinate)))
    return list(jars)


def main(argv: list[str] | None = None) -> int:
    """Resolve the packages (default: Delta Lake), then record the JVM's class archive if the machine has none."""
    coordinates = (argv if argv is not None else sys.argv[1:]) or [DELTA_PACKAGE]
    try:
        jars_for(coordinates)
        prepare(cache_dir())
    except (ResolutionFailed, ArchiveFailed) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
