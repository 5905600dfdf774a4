"""Running `jobs/process_profiles.py` as a scheduler does: a separate process, its exit status and output."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
JOB = PROJECT_ROOT / "jobs" / "process_profiles.py"
# A job that has not finished by then is hung: fail the test rather than the whole suite.
JOB_TIMEOUT_SECONDS = 600


def job_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This environment without S3 endpoint variables (configuration must carry them), plus `extra`."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    environment.update(extra or {})
    return environment


def job_command(*args: str) -> list[str]:
    return [sys.executable, str(JOB), *args]


def run_job(*args: str, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_from_project_root(job_command(*args), job_environment(extra_env))


def run_from_project_root(command: list[str], environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`command` run from the project root as a scheduler runs the job: output captured, a hang a failure."""
    return subprocess.run(
        command,
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=JOB_TIMEOUT_SECONDS,
        check=False,
    )


def assert_one_line_error(stderr: str, prog: str = JOB.name) -> str:
    """The command's failure is one line; Spark's own log lines are one line each; nothing is a traceback."""
    assert "Traceback" not in stderr and "\tat " not in stderr and "Exception in thread" not in stderr, stderr
    errors = [line for line in stderr.replace("\r", "\n").splitlines() if line.startswith(f"{prog}:")]
    assert len(errors) == 1, stderr[-3000:]
    return errors[0]
