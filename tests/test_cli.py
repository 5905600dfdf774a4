"""The command line as a scheduler sees it: a bad configuration is one line on stderr and exit status 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from job_cli import PROJECT_ROOT, run_job

from profile_pipeline.config import load_config
from profile_pipeline.spark.session import read_properties

CONF = PROJECT_ROOT / "conf"


def _one_line_error(job) -> str:
    lines = job.stderr.strip().splitlines()
    assert len(lines) == 1, job.stderr
    assert "Traceback" not in job.stderr and "Exception" not in job.stderr
    assert job.stdout == ""  # refused before any Spark work
    return lines[0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[storage]\nendpiont = "http://127.0.0.1:9000"\n', "unknown config key storage.endpiont"),
        ('[storage]\npath_style_access = "yes"\n', "config key storage.path_style_access must be bool, not str"),
        ('[locks]\nexpiry_seconds = "soon"\n', "config key locks.expiry_seconds must be float, not str"),
        ("[locks]\nheartbeat_seconds = 900\n", "locks.heartbeat_seconds must be above 0 and below"),
        ('warehouse = "hdfs://namenode/lake"\n', "day locks need a local, file:// or s3a:// warehouse"),
        ('reference = "absent.json"\n', "cannot read reference data absent.json"),
    ],
)
def test_a_bad_configuration_is_one_line_and_exit_2(tmp_path: Path, text: str, message: str):
    config = tmp_path / "job.toml"
    config.write_text(f'input = "{tmp_path}"\n{text}')

    job = run_job("--config", str(config), "--date", "2026-11-24")

    assert job.returncode == 2
    line = _one_line_error(job)
    assert line.startswith("process_profiles.py: error: ") and message in line, line


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--date", "2026-13-01"], "is not a date of the form YYYY-MM-DD"),
        (["--start", "2026-11-02", "--end", "2026-11-01"], "--end is before --start"),
        (["--date", "2026-11-01", "--vroom", "sometimes"], "invalid choice: 'sometimes'"),
    ],
)
def test_bad_arguments_exit_2(tmp_path: Path, args: list[str], message: str):
    job = run_job("--input", str(tmp_path), *args)
    assert job.returncode == 2
    assert message in _one_line_error(job)


def test_production_examples_load_and_hold_no_credentials():
    production = load_config(CONF / "production.example.toml")
    assert production.warehouse.startswith("s3a://") and production.vroom.profiles_bucket.startswith("s3a://")
    assert production.storage.region and production.locks.expiry_seconds > production.locks.heartbeat_seconds
    properties = read_properties(CONF / "spark-defaults.production.conf")
    assert "org.apache.hadoop:hadoop-aws:3.5.0" in properties["spark.jars.packages"]
    # hadoop-aws 3.4+ is built on the AWS SDK v2: SDK v1 provider classes (com.amazonaws.*) are not on the classpath.
    assert properties["spark.hadoop.fs.s3a.aws.credentials.provider"].startswith("software.amazon.awssdk.")
    for path in (CONF / "production.example.toml", CONF / "spark-defaults.production.conf"):
        text = path.read_text().lower()
        assert "secret.key" not in text and "access.key" not in text and "aws_secret" not in text


def test_failures_are_one_line_with_what_to_do_where_the_cause_is_known():
    from profile_pipeline.run.cli import with_advice
    from profile_pipeline.run.runner import describe_failure

    assert describe_failure(NotADirectoryError(20, "Not a directory", "/data/lake/_locks")) == (
        "Not a directory: /data/lake/_locks"
    )
    assert describe_failure(ValueError("bad\nvalue")) == "ValueError: bad value"
    spark_line = 'Spark failed: Cannot run program "/opt/py/bin/python3": error=2, No such file or directory'
    assert "set PYSPARK_PYTHON" in with_advice(spark_line)
    assert with_advice("something new") == "something new"
