"""The JVM's class archive of local runs: named for this JVM and Spark, mapped when present, harmless when stale."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from profile_pipeline.spark import class_archive


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PROFILE_PIPELINE_CACHE", str(tmp_path))
    return tmp_path


def test_a_machine_without_an_archive_starts_its_driver_as_before(cache: Path):
    archive = class_archive.archive_path(cache)
    assert archive is not None and archive.parent == cache / "jvm-class-archive" and archive.suffix == ".jsa"
    assert class_archive.java_options(cache) == []


def test_a_recorded_archive_is_mapped_by_the_driver_and_not_recorded_again(cache: Path):
    archive = class_archive.archive_path(cache)
    assert archive is not None
    archive.parent.mkdir(parents=True)
    archive.write_bytes(b"recorded")
    assert class_archive.java_options(cache) == [
        f"-XX:SharedArchiveFile={archive}",
        "-Xlog:cds=off",
        "-Xlog:cds+dynamic=off",
    ]
    assert class_archive.prepare(cache) == archive and archive.read_bytes() == b"recorded"


def test_the_archive_is_named_for_the_java_it_was_made_with(
    cache: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    mine = class_archive.archive_path(cache)
    other_java = tmp_path / "other-jdk" / "bin" / "java"
    other_java.parent.mkdir(parents=True)
    other_java.write_bytes(b"")
    (tmp_path / "other-jdk" / "release").write_text('JAVA_VERSION="21.0.1"\n')
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "other-jdk"))
    assert class_archive.archive_path(cache) not in (None, mine)


def test_a_change_to_the_recorded_modules_names_a_new_archive(
    cache: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    module = tmp_path / "delta_commit.py"
    module.write_text("def replace_days(): ...\n")
    monkeypatch.setattr(class_archive, "RECORDED_MODULES", (module,))
    before = class_archive.archive_path(cache)
    module.write_text("def replace_days(): return 1\n")
    assert class_archive.archive_path(cache) not in (None, before)


def test_recording_an_archive_deletes_the_stale_ones_beside_it(tmp_path: Path):
    for name in ("stale.jsa", "stale.log", "current.jsa", "current.log", "current.4242.tmp", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    class_archive.remove_others(tmp_path / "current.jsa")
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "current.4242.tmp",
        "current.jsa",
        "current.log",
        "notes.txt",
    ]


def test_a_reinstalled_spark_names_a_new_archive(cache: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """The JVM refuses an archive whose jars changed their modification time, even with the same contents."""
    jar = tmp_path / "spark" / "jars" / "spark-core.jar"
    jar.parent.mkdir(parents=True)
    jar.write_bytes(b"classes")
    monkeypatch.setattr(class_archive, "_find_spark_home", lambda: str(tmp_path / "spark"))
    before = class_archive.archive_path(cache)
    os.utime(jar, ns=(jar.stat().st_atime_ns, jar.stat().st_mtime_ns + 1_000_000_000))
    assert class_archive.archive_path(cache) not in (None, before)
