"""Function regressions: the detector over daily p95s, and `jobs/detect_regressions.py` over days processed by
the job in which one function gets slower with a release (found, with its breakpoint day) and another does not."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, timedelta

import numpy as np
import pytest
from deltalake import DeltaTable
from job_cli import PROJECT_ROOT

from profile_pipeline.config import RegressionConfig
from profile_pipeline.run.regressions_cli import main
from profile_pipeline.spark.trends import DailyPoint, new_regression
from synthetic.regression import REGRESSED, RELEASES, STEADY

SETTINGS = RegressionConfig()
SCRIPT = PROJECT_ROOT / "jobs" / "detect_regressions.py"
FIRST = date(2026, 11, 1)


def _series(values: list[float]) -> list[DailyPoint]:
    return [DailyPoint(FIRST + timedelta(days=index), value) for index, value in enumerate(values)]


def _first_reports(values: list[float]) -> list[tuple[date, date]]:
    """(day, breakpoint) of each day whose detection reports a new regression, as daily runs would."""
    series = _series(values)
    found = [(series[end].day, new_regression(series[: end + 1], SETTINGS)) for end in range(len(series))]
    return [(day, breakpoint) for day, breakpoint in found if breakpoint is not None]


MS = 1_000_000


def test_a_step_is_reported_once_on_its_first_day_with_its_breakpoint():
    values = [60 * MS, 62 * MS, 58 * MS, 61 * MS, 59 * MS, 60 * MS, 63 * MS, 60 * MS, 300 * MS, 310 * MS, 290 * MS]
    assert _first_reports(values) == [(FIRST + timedelta(days=8), FIRST + timedelta(days=8))]


def test_noise_a_small_rise_and_too_few_days_are_not_regressions():
    rng = np.random.default_rng(3)
    assert _first_reports(list(rng.normal(200 * MS, 15 * MS, 30))) == []
    # 60% slower, but 60 ms is under the smallest change worth a regression (Sentry's 100 ms).
    assert _first_reports([100 * MS] * 8 + [160 * MS] * 4) == []
    # A large step, but the moving averages have too few points to be trusted before it.
    assert _first_reports([60 * MS] * 4 + [400 * MS] * 2) == []


@pytest.fixture(scope="module")
def detected(regression_warehouse):
    """What the detection over every day (the fixture's, run id `first`) wrote."""
    return DeltaTable(f"{regression_warehouse.path}/function_regressions").to_pyarrow_table().to_pylist()


def test_the_slower_function_is_found_on_the_release_day_with_both_sides_measured(regression_warehouse, detected):
    (found,) = detected  # the steady query, the endpoint and the library function are not regressions
    generated = regression_warehouse.generated
    assert (found["function"], found["package"]) == REGRESSED
    assert found["breakpoint_day"] == generated.release_day and found["dt"] == generated.release_day

    functions = DeltaTable(f"{regression_warehouse.path}/functions").to_pyarrow_table().to_pylist()
    regressed = [row for row in functions if row["fingerprint"] == found["fingerprint"]]
    before = [t for row in regressed if row["dt"] < generated.release_day for t in row["self_times_ns"]]
    after = [t for row in regressed if row["dt"] == generated.release_day for t in row["self_times_ns"]]
    assert (found["count_before"], found["count_after"]) == (len(before), len(after))
    # percentile_approx answers a value of the data: the smallest with 95% of the values at or below it.
    assert found["p95_before_ns"] == np.percentile(before, 95, method="inverted_cdf")
    assert found["p95_after_ns"] == np.percentile(after, 95, method="inverted_cdf")
    assert found["p95_after_ns"] > 3 * found["p95_before_ns"]

    profiles = DeltaTable(f"{regression_warehouse.path}/profiles").to_pyarrow_table(columns=["event_id", "release"])
    release_of = dict(zip(*profiles.to_pydict().values(), strict=True))
    assert {release_of[i] for i in found["examples_before"]} == {RELEASES[0]}
    assert {release_of[i] for i in found["examples_after"]} == {RELEASES[1]}
    worst_after = max(after)
    assert any(
        worst_after in row["self_times_ns"] for row in regressed if row["profile_id"] == found["examples_after"][0]
    )
    assert STEADY[0] in {row["function"] for row in functions}


def test_detecting_a_day_again_replaces_its_rows_with_the_same(regression_warehouse, detected, capsys):
    day = regression_warehouse.generated.release_day.isoformat()
    assert main(["--warehouse", regression_warehouse.path, "--date", day, "--run-id", "again"]) == 0
    assert f"{day}: 1 function regression(s)" in capsys.readouterr().out
    table = DeltaTable(f"{regression_warehouse.path}/function_regressions")
    again = table.to_pyarrow_table().to_pylist()
    assert [{**row, "run_id": "first"} for row in again] == detected and again[0]["run_id"] == "again"
    assert table.history(1)[0]["operationParameters"]["mode"] == "Overwrite"


def _script(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *argv], capture_output=True, text=True, timeout=120)


def test_errors_are_one_line_with_the_processing_jobs_statuses(tmp_path):
    wrong = _script("--warehouse", str(tmp_path), "--date", "yesterday")
    no_table = _script("--warehouse", str(tmp_path), "--date", "2026-11-24")
    config = tmp_path / "bad.toml"
    config.write_text("[regressions]\nshort_days = 20\n")
    bad_config = _script("--config", str(config), "--date", "2026-11-24")
    for result, message in (
        (wrong, "is not a date"),
        (no_table, "no functions table at"),
        (bad_config, "regressions.short_days must be at least 1 and below regressions.long_days"),
    ):
        assert result.returncode == 2 and message in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
