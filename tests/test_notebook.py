"""The outcomes notebook runs headless, with parameters, against the warehouse of a sample-day run."""

from __future__ import annotations

import subprocess
import sys

import nbformat
import papermill
from deltalake import DeltaTable
from job_cli import PROJECT_ROOT

from profile_pipeline.run import cli

DAY = "2026-11-24"
NOTEBOOK = PROJECT_ROOT / "notebooks" / "outcomes.ipynb"


def test_outcomes_notebook_runs_on_the_sample_run(spark, tmp_path):
    sample, conf = tmp_path / "sample-data", PROJECT_ROOT / "conf"
    make_sample_day = [sys.executable, str(PROJECT_ROOT / "jobs" / "make_sample_day.py"), "--root", str(sample)]
    make_sample_day += ["--date", DAY, "--profiles", "24", "--objects", "2", "--target-bytes", "12000"]
    subprocess.run(make_sample_day, check=True, capture_output=True)
    warehouse = tmp_path / "warehouse"
    argv = ["--config", str(conf / "local.toml"), "--reference", str(conf / "reference.json"), "--date", DAY]
    argv += ["--input", str(sample / "input"), "--symbols", str(sample / "symbols"), "--warehouse", str(warehouse)]
    argv += ["--profiles-bucket", str(tmp_path / "bucket"), "--batch-profiles", "16"]
    assert cli.main(argv) == cli.EXIT_OK
    (run,) = DeltaTable(str(warehouse / "job_runs")).to_pandas().to_dict("records")

    executed = tmp_path / "outcomes.ipynb"
    papermill.execute_notebook(
        str(NOTEBOOK), str(executed), parameters={"warehouse": str(warehouse), "days": [DAY]}, progress_bar=False
    )

    notebook = nbformat.read(executed, as_version=4)
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    text = "".join(output.get("text", "") for output in outputs if output.output_type == "stream")
    assert f"{run['profiles_out']} profiles" in text and f"{run['quarantined']} quarantined" in text
    charts = [output for output in outputs if "image/png" in output.get("data", {})]
    assert (
        len(charts) >= 8
    )  # days, projects, platforms, reasons, kinds, symbolication, deobfuscation, durations, functions


def test_notebook_is_committed_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(not cell.outputs and cell.execution_count is None for cell in code)
    assert "parameters" in code[0].metadata.get("tags", [])
