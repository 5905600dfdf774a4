"""The JVM's class archive for local runs: Spark's and Delta's classes mapped from a file, not loaded again.

A local run is a fresh JVM every time, and before its first Spark job that JVM loads, verifies and links the
classes of Spark, Scala and Delta. Java's class data sharing keeps those classes, already parsed and verified,
in an archive that later JVMs map instead: in fresh runs of a day it took the session's start from 6.5-8.8 s
to 4.9-5.1 s (docs/performance.md: A nightly run is a fresh process). The archive is made once per machine
(`prepare`, where the packages are resolved: `python -m profile_pipeline.spark.packages`), by a child process
that runs the job's kinds of Spark and Delta work once with `-XX:ArchiveClassesAtExit` and waits for its JVM
to write the archive at exit; the archive then replaces its name whole.

Its name is a digest of the JVM, of Spark's class path (each jar's name, size and modification time, which the JVM
checks before it maps an archive) and of the project's modules whose JVM work the recording runs
(`RECORDED_MODULES`): another Java, a reinstalled pyspark, or a change to publishing or to the Delta package finds
no archive, starts as before, and has the next `prepare` record a new one, which deletes the others (~180 MB
each). With the logging options given here the JVM ignores an archive that does not match without a word: a run
is never wrong for having one, at worst as slow as without (a fresh session's first Delta commit took 5.8 s with
an archive the JVM refused, 3.8 s with one it mapped).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from pyspark.find_spark_home import _find_spark_home

# The project's modules whose JVM work `_RECORD` runs (Delta's package, the session, listing, publishing).
RECORDED_MODULES = tuple(
    Path(__file__).with_name(name)
    for name in ("class_archive.py", "packages.py", "session.py", "job.py", "delta_commit.py")
)
# Mapping an archive that does not match is not an error: say nothing, start as without one.
_QUIET = ("-Xlog:cds=off", "-Xlog:cds+dynamic=off")

# Run in the child with the archive's temporary name: the job's kinds of Spark and Delta work on a scratch
# warehouse (a table created, read with a filter, replaced through Delta's transaction as publishing does, a
# listing of input objects handed to Python workers), then the JVM stopped and waited for, so that it writes
# the archive before this process ends.
_RECORD = r"""
import sys, tempfile
from datetime import date
from pathlib import Path
from pyspark import SparkContext
from pyspark.sql import functions as F
from profile_pipeline.spark.delta_commit import replace_days
from profile_pipeline.spark.job import list_objects
from profile_pipeline.spark.session import DEFAULT_PROPERTIES, build_session, read_properties
from profile_pipeline.spark.tables import TABLES

with tempfile.TemporaryDirectory(prefix="class-archive-") as scratch:
    properties = read_properties(DEFAULT_PROPERTIES)
    options = properties.get("spark.driver.extraJavaOptions", "") + " -XX:ArchiveClassesAtExit=" + sys.argv[1]
    properties["spark.driver.extraJavaOptions"] = options.strip()
    properties_file = Path(scratch) / "spark-defaults.conf"
    properties_file.write_text("".join(f"{key} {value}\n" for key, value in properties.items()))
    spark = build_session("class-archive", [scratch], properties_file=properties_file)
    (Path(scratch) / "input").mkdir()
    (Path(scratch) / "input" / "object").write_bytes(b"x")
    for table, schema in TABLES.items():
        uri = f"{scratch}/warehouse/{table}"
        replace_days(spark, uri, schema, [date(2026, 1, 1)], [])
        spark.read.format("delta").load(uri).where(F.col("dt") == date(2026, 1, 1)).select("dt").distinct().collect()
    listed = list_objects(spark, f"{scratch}/input")
    listed.mapInArrow(lambda batches: batches, listed.schema).collect()
    process = SparkContext._gateway.proc
    spark.stop()
    SparkContext._gateway.shutdown()
    process.stdin.close()
    process.wait(timeout=600)
print("RECORDED")
"""


def _java() -> Path | None:
    """The java that Spark's launcher runs: $JAVA_HOME/bin/java, else the first on PATH."""
    java_home = os.environ.get("JAVA_HOME")
    found = Path(java_home) / "bin" / "java" if java_home else shutil.which("java")
    return Path(found).resolve() if found and Path(found).is_file() else None


def archive_path(cache: Path) -> Path | None:
    """Where, under `cache`, the archive of this machine's JVM and Spark class path is (made or not); None without
    a java."""
    java = _java()
    if java is None:
        return None
    release = java.parent.parent / "release"
    jars = Path(_find_spark_home()) / "jars"
    digest = hashlib.sha256(str(java).encode())
    digest.update(release.read_bytes() if release.is_file() else str(java.stat().st_mtime_ns).encode())
    for jar in sorted(jars.glob("*.jar")):
        # The JVM maps an archive only if every jar of the class path has the size and the modification time it
        # had at recording; reinstalling the same pyspark changes the times.
        status = jar.stat()
        digest.update(f"{jar.name}:{status.st_size}:{status.st_mtime_ns}".encode())
    for module in RECORDED_MODULES:
        digest.update(module.read_bytes())
    return cache / "jvm-class-archive" / f"{digest.hexdigest()[:16]}.jsa"


def java_options(cache: Path) -> list[str]:
    """The driver's JVM options that map the archive, when `cache` holds one for this machine; none otherwise."""
    archive = archive_path(cache)
    if archive is None or not archive.is_file():
        return []
    return [f"-XX:SharedArchiveFile={archive}", *_QUIET]


class ArchiveFailed(RuntimeError):
    """The child that records the archive failed (its output is in the log file named)."""


def prepare(cache: Path) -> Path | None:
    """Make this machine's archive under `cache` unless it exists (one line on stderr, the child's output in a log
    file); returns its path, None where there is no java to make it for."""
    archive = archive_path(cache)
    if archive is None or archive.is_file():
        return archive
    archive.parent.mkdir(parents=True, exist_ok=True)
    log = archive.with_suffix(".log")
    temporary = archive.with_suffix(f".{os.getpid()}.tmp")
    print(f"recording the JVM's class archive for local runs (once; the output goes to {log})", file=sys.stderr)
    with open(log, "w") as output:
        done = subprocess.run(
            [sys.executable, "-c", _RECORD, str(temporary)], stdout=subprocess.PIPE, stderr=output, text=True
        )
    if done.returncode != 0 or "RECORDED" not in done.stdout or not temporary.is_file():
        temporary.unlink(missing_ok=True)
        raise ArchiveFailed(f"the JVM's class archive could not be recorded; see {log}")
    temporary.replace(archive)  # whole or not at all: a killed recording leaves only its temporary file
    remove_others(archive)
    return archive


def remove_others(archive: Path) -> None:
    """Delete the archives (and their logs) beside `archive`, made for another JVM, Spark or project version."""
    for other in archive.parent.iterdir():
        if other.stem != archive.stem and other.suffix in (".jsa", ".log"):
            other.unlink(missing_ok=True)
