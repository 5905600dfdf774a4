"""The notebooks run headless, with parameters: outcomes and profiles on a sample-day run, profiles on a regression."""

from __future__ import annotations

import subprocess
import sys
from datetime import date

import nbformat
import orjson
import papermill
import pytest
from deltalake import DeltaTable
from job_cli import PROJECT_ROOT

from profile_pipeline.explore import Selection, flame_graph
from profile_pipeline.explore.exports.collapsed import read_collapsed
from profile_pipeline.run import cli
from synthetic.regression import REGRESSED, RELEASES

DAY = "2026-11-24"
NOTEBOOK = PROJECT_ROOT / "notebooks" / "outcomes.ipynb"
PROFILES = PROJECT_ROOT / "notebooks" / "profiles.ipynb"


@pytest.fixture(scope="module")
def sample_run(spark, tmp_path_factory):
    """The warehouse of a run of the sample day (a small one), and its `job_runs` row."""
    root = tmp_path_factory.mktemp("sample")
    sample, conf = root / "sample-data", PROJECT_ROOT / "conf"
    make_sample_day = [sys.executable, str(PROJECT_ROOT / "jobs" / "make_sample_day.py"), "--root", str(sample)]
    make_sample_day += ["--date", DAY, "--profiles", "24", "--objects", "2", "--target-bytes", "12000"]
    subprocess.run(make_sample_day, check=True, capture_output=True)
    warehouse = root / "warehouse"
    argv = ["--config", str(conf / "local.toml"), "--reference", str(conf / "reference.json"), "--date", DAY]
    argv += ["--input", str(sample / "input"), "--symbols", str(sample / "symbols"), "--warehouse", str(warehouse)]
    argv += ["--profiles-bucket", str(root / "bucket"), "--batch-profiles", "16"]
    assert cli.main(argv) == cli.EXIT_OK
    (run,) = DeltaTable(str(warehouse / "job_runs")).to_pandas().to_dict("records")
    return warehouse, run


def test_outcomes_notebook_runs_on_the_sample_run(sample_run, tmp_path):
    warehouse, run = sample_run
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


@pytest.mark.parametrize("notebook", [NOTEBOOK, PROFILES])
def test_notebooks_are_committed_without_outputs(notebook):
    code = [cell for cell in nbformat.read(notebook, as_version=4).cells if cell.cell_type == "code"]
    assert all(not cell.outputs and cell.execution_count is None for cell in code)
    assert "parameters" in code[0].metadata.get("tags", [])


def _run_profiles(parameters: dict, executed) -> tuple[str, int]:
    """The profiles notebook run headless: its printed text and how many pictures it drew."""
    papermill.execute_notebook(str(PROFILES), str(executed), parameters=parameters, progress_bar=False)
    outputs = [
        o for cell in nbformat.read(executed, as_version=4).cells if cell.cell_type == "code" for o in cell.outputs
    ]
    assert not [output for output in outputs if output.output_type == "error"]
    text = "".join(output.get("text", "") for output in outputs if output.output_type == "stream")
    return text, len([output for output in outputs if "image/png" in output.get("data", {})])


def test_profiles_notebook_on_the_sample_day_draws_and_exports(sample_run, tmp_path):
    warehouse, _ = sample_run
    selection = Selection(project_id=2, start=date.fromisoformat(DAY), end=date.fromisoformat(DAY))
    tree = flame_graph(str(warehouse), selection)
    exports = tmp_path / "exports"
    parameters = {"warehouse": str(warehouse), "project_id": 2, "start": DAY, "end": DAY, "exports": str(exports)}
    text, pictures = _run_profiles(parameters, tmp_path / "profiles.ipynb")
    releases = {
        row["release"]
        for row in DeltaTable(str(warehouse / "profiles")).to_pyarrow_table().to_pylist()
        if row["project_id"] == 2 and row["sampled"]
    }
    compared = next(line for line in text.splitlines() if line.endswith(" profiles") and "; " in line)
    assert f"{tree.profiles} profiles" in text and {side.split(": ")[0] for side in compared.split("; ")} <= releases
    assert "no function regression found" in text
    assert pictures == 2  # the flame graph and the comparison of the two releases
    assert sorted(read_collapsed((exports / "flame.folded").read_text()).stacks()) == sorted(tree.stacks())
    assert (exports / "comparison.pb.gz").read_bytes()[:2] == b"\x1f\x8b"
    assert orjson.loads((exports / "comparison.speedscope.json").read_bytes())["profiles"]


def test_profiles_notebook_shows_the_generated_regression(regression_warehouse, tmp_path):
    parameters = {"warehouse": regression_warehouse.path, "project_id": 2, "exports": str(tmp_path / "exports")}
    text, pictures = _run_profiles(parameters, tmp_path / "profiles.ipynb")
    release_day = str(regression_warehouse.generated.release_day)
    (line,) = [line for line in text.splitlines() if line.startswith(release_day) and REGRESSED[0] in line]
    assert line.split()[:2] == [release_day, "2"] and line.split()[4] == release_day
    assert f"{RELEASES[0]}: 48 profiles; {RELEASES[1]}: 16 profiles" in text
    assert pictures == 3  # the flame graph, the comparison of the two releases, the regression's p95 over days
