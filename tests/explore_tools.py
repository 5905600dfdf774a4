"""The real consumers of the exports, fetched once per machine into the project's cache directory.

speedscope's file-format JSON schema comes from its npm package (`npm pack`); Google's `pprof` is built from
its Go module through the module proxy (`go install`). Pinned, so that a test run means the same thing later.
"""

from __future__ import annotations

import json
import os
import subprocess
import tarfile
from pathlib import Path

from profile_pipeline.spark.packages import cache_dir

SPEEDSCOPE = "speedscope@1.25.0"
SPEEDSCOPE_SCHEMA = "package/dist/release/file-format-schema.json"
# pprof has no release tags: this is the module proxy's version of its commit of 2026-11-05.
PPROF = "github.com/google/pprof@v0.0.0-20261105003125-4bf881d7fb0b"


def _tools() -> Path:
    directory = cache_dir() / "test-tools"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def speedscope_schema() -> dict:
    """speedscope's published JSON schema of its file format."""
    target = _tools() / f"{SPEEDSCOPE.replace('@', '-')}-file-format-schema.json"
    if not target.exists():
        packed = (
            subprocess.run(
                ["npm", "pack", SPEEDSCOPE, "--pack-destination", str(_tools()), "--silent"],
                check=True,
                capture_output=True,
                text=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        with tarfile.open(_tools() / packed) as archive:
            schema = archive.extractfile(SPEEDSCOPE_SCHEMA)
            assert schema is not None
            target.write_bytes(schema.read())
    return json.loads(target.read_text())


def pprof_binary() -> Path:
    """Google's pprof command, built for this machine."""
    version = PPROF.rsplit("@", 1)[1]
    gobin = _tools() / f"pprof-{version}"
    binary = gobin / "pprof"
    if not binary.exists():
        environment = {**os.environ, "GOBIN": str(gobin)}
        subprocess.run(["go", "install", PPROF], check=True, capture_output=True, env=environment, timeout=900)
    return binary
