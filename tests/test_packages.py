"""Spark packages resolved once per machine: the jars a local run names instead of resolving through Ivy."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from profile_pipeline.spark import packages
from profile_pipeline.spark.packages import DELTA_PACKAGE, jars_for, resolve, resolved_jars


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PROFILE_PIPELINE_CACHE", str(tmp_path))
    return tmp_path


def _manifest(cache: Path, coordinate: str) -> Path:
    return cache / "spark-packages" / f"{coordinate.replace(':', '_')}.json"


def test_a_package_is_resolved_once_then_read_from_its_manifest(cache: Path, monkeypatch: pytest.MonkeyPatch):
    jars = resolve(DELTA_PACKAGE)
    names = [Path(jar).name for jar in jars]
    assert any(name.startswith("io.delta_delta-spark_4.2_2.13-4.4.0") for name in names)
    assert all(Path(jar.removeprefix("file:")).is_file() for jar in jars)
    assert json.loads(_manifest(cache, DELTA_PACKAGE).read_text()) == jars

    def no_child(*args, **kwargs):
        raise AssertionError("a resolved package was resolved again")

    monkeypatch.setattr(subprocess, "run", no_child)
    assert resolve(DELTA_PACKAGE) == jars == jars_for([DELTA_PACKAGE, DELTA_PACKAGE])


def test_a_manifest_whose_jars_are_gone_counts_as_unresolved(cache: Path, tmp_path: Path):
    manifest = _manifest(cache, "org.example:gone:1.0")
    manifest.parent.mkdir(parents=True)
    present = tmp_path / "present.jar"
    present.write_bytes(b"")
    manifest.write_text(json.dumps([f"file:{present}"]))
    assert resolved_jars("org.example:gone:1.0") == [f"file:{present}"]
    manifest.write_text(json.dumps([f"file:{present}", f"file:{tmp_path / 'missing.jar'}"]))
    assert resolved_jars("org.example:gone:1.0") is None


def test_an_unresolvable_package_fails_in_one_line_naming_its_log(cache: Path, capsys: pytest.CaptureFixture[str]):
    coordinate = "org.example.profile-pipeline:no-such-artifact:0.0.1"
    assert packages.main([coordinate]) == 1
    log = _manifest(cache, coordinate).with_suffix(".log")
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error == f"error: Spark could not resolve {coordinate}; see {log}"
    assert log.stat().st_size > 0 and not _manifest(cache, coordinate).exists()
