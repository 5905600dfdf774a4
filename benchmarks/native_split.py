"""The CPU time of a command split between Sentry's Rust libraries (vroomrs, symbolic) and everything else.

Linux `perf` samples the command's threads while they are on a CPU (the `cpu-clock` event, so waiting on a
disk or another process counts nowhere) with native stacks unwound from DWARF. A sample belongs to a
library when the innermost frame that is in a library or in the Python interpreter is in that library: the C
library's allocator and `memcpy` count for whoever called them. Everything else (the interpreter running the
project's code, orjson, pyarrow, zstd) is the project's own work.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

# A sample's owner, by the file name of the shared object its frame is in.
LIBRARY_OBJECTS = {"vroomrs": "vroomrs", "_lowlevel__lib": "symbolic"}
INTERPRETER_OBJECTS = ("libpython", "python3")
PROJECT = "the rest"
# Set by `record(..., only_measured=True)` for the command: the control and acknowledgement fifos of perf.
CONTROL_ENV = "NATIVE_SPLIT_CONTROL"


def available() -> bool:
    return shutil.which("perf") is not None


def record(command: list[str], output: Path, frequency: int = 97, only_measured: bool = False) -> str:
    """Run `command` under perf; returns its stdout. Raises if perf cannot sample (no permission).

    With `only_measured`, perf samples only while the command is inside `measured()` (not its imports and
    warm-up).
    """
    sampler = ["perf", "record", "-q", "-e", "cpu-clock", "-F", str(frequency), "--call-graph", "dwarf,16384"]
    env = None
    if only_measured:
        control, ack = output.with_suffix(".control"), output.with_suffix(".ack")
        for fifo in (control, ack):
            fifo.unlink(missing_ok=True)
            os.mkfifo(fifo)
        sampler += ["-D", "-1", f"--control=fifo:{control},{ack}"]
        env = {**os.environ, CONTROL_ENV: f"{control}:{ack}"}
    done = subprocess.run(
        [*sampler, "-o", str(output), "--", *command], check=True, capture_output=True, text=True, env=env
    )
    return done.stdout


@contextlib.contextmanager
def measured() -> Iterator[None]:
    """In a command that `record(..., only_measured=True)` runs, the block that perf samples; elsewhere nothing."""
    fifos = os.environ.get(CONTROL_ENV)
    if fifos:
        _tell_perf(fifos, "enable")
    try:
        yield
    finally:
        if fifos:
            _tell_perf(fifos, "disable")


def _tell_perf(fifos: str, command: str) -> None:
    control, ack = fifos.split(":")
    with open(control, "w") as pipe:
        pipe.write(command + "\n")
    with open(ack) as pipe:
        pipe.readline()


def split(recording: Path) -> Counter[str]:
    """Samples per owner (`vroomrs`, `symbolic`, `the rest`) of a perf recording."""
    script = subprocess.run(["perf", "script", "-i", str(recording)], check=True, capture_output=True, text=True)
    owners: Counter[str] = Counter()
    for sample in script.stdout.split("\n\n"):
        frames = [line.strip() for line in sample.strip().splitlines()[1:] if line.strip()]
        if frames:
            owners[_owner(frames)] += 1
    return owners


def _owner(frames: list[str]) -> str:
    for frame in frames:  # innermost first
        shared_object = frame[frame.rfind("(") + 1 : -1].rsplit("/", 1)[-1]
        for marker, library in LIBRARY_OBJECTS.items():
            if marker in shared_object:
                return library
        if shared_object.startswith(INTERPRETER_OBJECTS):
            return PROJECT
    return PROJECT
