"""The SparkSession with Delta Lake, and hadoop-aws when a location is on `s3a://`.

Under spark-submit the jars come through Spark's package resolution (`spark.jars.packages` of the
properties file). For a plain `python jobs/...` run, `conf/spark-defaults.conf` is read here as
spark-submit would read it, except that its packages are resolved once per machine (`packages.py`) and
named as jar files, so that a run neither repeats Ivy's resolution nor prints its report; where the machine has
the JVM's class archive (`class_archive.py`), the driver maps it. The job's
`[storage]` section, where set, is applied to the Hadoop configuration so that Spark's s3a connector and
the Python workers talk to the same store.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from collections.abc import Iterable
from pathlib import Path

from pyspark import SparkConf, SparkContext
from pyspark.java_gateway import launch_gateway
from pyspark.sql import SparkSession

from profile_pipeline.config import StorageConfig
from profile_pipeline.spark.class_archive import java_options
from profile_pipeline.spark.packages import DELTA_PACKAGE, HADOOP_AWS_PACKAGE, cache_dir, jars_for

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PROPERTIES = PROJECT_ROOT / "conf" / "spark-defaults.conf"


def read_properties(path: Path) -> dict[str, str]:
    """Spark's properties-file format: `key value` or `key=value` lines, `#` comments."""
    properties: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = re.match(r"([^\s=]+)\s*[=\s]\s*(.*)", line)
        if match:
            properties[match[1]] = match[2].strip()
    return properties


def _listed(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def _launched_by_spark_submit() -> bool:
    return "PYSPARK_GATEWAY_PORT" in os.environ or SparkSession.getActiveSession() is not None


def apply_storage(session: SparkSession, storage: StorageConfig) -> None:
    """Set the s3a connector's endpoint, addressing and region from `[storage]` (unset keys are left alone), and
    its retries (always: s3a's defaults retry too little and too fast for a store that throttles)."""
    hadoop = session.sparkContext._jsc.hadoopConfiguration()
    if storage.endpoint:
        hadoop.set("fs.s3a.endpoint", storage.endpoint)
        hadoop.set("fs.s3a.connection.ssl.enabled", str(storage.endpoint.startswith("https://")).lower())
        hadoop.set("fs.s3a.path.style.access", str(storage.path_style_access).lower())
    if storage.region:
        hadoop.set("fs.s3a.endpoint.region", storage.region)
    for key, value in s3a_retry_settings(storage).items():
        hadoop.set(key, value)


def s3a_retry_settings(storage: StorageConfig) -> dict[str, str]:
    """The s3a connector's retries and timeouts from `[storage]`: the AWS SDK's attempts of each request, then
    s3a's own retries of idempotent operations and of throttled ones, with exponential backoff."""
    attempts, interval = str(storage.retry_attempts), f"{int(storage.retry_interval_seconds * 1000)}ms"
    return {
        "fs.s3a.attempts.maximum": attempts,
        "fs.s3a.retry.limit": attempts,
        "fs.s3a.retry.interval": interval,
        "fs.s3a.retry.throttle.limit": attempts,
        "fs.s3a.retry.throttle.interval": interval,
        "fs.s3a.connection.establish.timeout": f"{int(storage.connect_timeout_seconds * 1000)}ms",
        "fs.s3a.connection.timeout": f"{int(storage.request_timeout_seconds * 1000)}ms",
    }


def build_session(
    app_name: str,
    uris: Iterable[str],
    properties_file: Path | None = None,
    storage: StorageConfig | None = None,
    packages: Iterable[str] = (),
) -> SparkSession:
    """A session for the job: under spark-submit the one it made, else a local one from the defaults.

    `packages` are Maven coordinates a command needs beyond Delta (the archiver's Kafka source); under
    spark-submit they must be in the properties file's `spark.jars.packages` or `--packages`.
    """
    conf = SparkConf().setAppName(app_name)
    conf.set("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
    conf.set("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")
    if not _launched_by_spark_submit():
        properties_path = properties_file or DEFAULT_PROPERTIES
        properties = read_properties(properties_path) if properties_path.exists() else {}
        needs_s3 = any(uri.startswith("s3a://") for uri in uris if uri)
        wanted = [DELTA_PACKAGE, *packages, *_listed(properties.pop("spark.jars.packages", ""))]
        wanted += [HADOOP_AWS_PACKAGE] if needs_s3 else []
        jars = [*jars_for(dict.fromkeys(wanted)), *_listed(properties.get("spark.jars", ""))]
        driver_options = [properties.pop("spark.driver.extraJavaOptions", ""), *java_options(cache_dir())]
        conf.setAll([*properties.items(), ("spark.jars", ",".join(jars))])
        if driver_options_line := " ".join(driver_options).strip():
            conf.set("spark.driver.extraJavaOptions", driver_options_line)
        # The Python workers must run the interpreter that runs the driver (the project's environment).
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        _start_jvm_quietly(conf)
    if not sys.stderr.isatty():
        # Spark's progress bar redraws one line with carriage returns: in a scheduler's log it is only noise.
        conf.set("spark.ui.showConsoleProgress", "false")
    session = SparkSession.builder.config(conf=conf).getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    apply_storage(session, storage or StorageConfig())
    return session


# Printed by the JVM itself before any logging is set up: Spark's launcher always adds
# `--add-modules=jdk.incubator.vector` (for MLlib's vectorized BLAS), and no JVM option silences it.
_JVM_NOTICES = (b"WARNING: Using incubator modules: jdk.incubator.vector\n",)


def _start_jvm_quietly(conf: SparkConf) -> None:
    """Start Spark's JVM with its stderr passed on to ours, less the notices a user can do nothing about."""
    if SparkContext._gateway is not None:  # a JVM of this process already runs (a second session)
        return
    read_end, write_end = os.pipe()
    threading.Thread(target=_pass_on, args=(read_end,), name="jvm-stderr", daemon=True).start()
    try:
        gateway = launch_gateway(conf, popen_kwargs={"stderr": write_end})
    finally:
        os.close(write_end)
    # pyspark's own way to take a gateway started elsewhere (what `SparkContext(gateway=...)` does); the
    # builder's `getOrCreate` then finds this JVM instead of launching one with stderr inherited.
    SparkContext._ensure_initialized(gateway=gateway, conf=conf)


def _pass_on(read_end: int) -> None:
    """Copy the JVM's stderr to ours as it comes (progress bars included), without the notices."""
    writable = True
    while chunk := os.read(read_end, 65536):
        for notice in _JVM_NOTICES:
            chunk = chunk.replace(notice, b"")
        view = memoryview(chunk)
        try:
            while writable and view:
                view = view[os.write(2, view) :]
        except OSError:  # our stderr is gone: keep draining, so that the JVM never blocks on a full pipe
            writable = False
