"""What the test servers share: free loopback ports, daemons in their own process group, and a watch that
tells when a daemon has written its readiness line (or ended), so that nothing waits by polling."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
from pathlib import Path
from typing import IO

STOP_TIMEOUT_SECONDS = 30.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stop_process_group(process: subprocess.Popen[bytes]) -> None:
    """End the daemon's process group (children included): TERM, then KILL after STOP_TIMEOUT_SECONDS."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
            return
        except subprocess.TimeoutExpired:
            continue


class ReadyLineWatch:
    """Copies a daemon's output to its log and tells when the daemon has printed `line`, or ended."""

    def __init__(self, process: subprocess.Popen[bytes], log: IO[bytes], line: bytes, what: str) -> None:
        self.ready = False
        self._line, self._what = line, what
        self._settled = threading.Event()
        self._thread = threading.Thread(target=self._copy, args=(process, log), daemon=True)
        self._thread.start()

    def _copy(self, process: subprocess.Popen[bytes], log: IO[bytes]) -> None:
        assert process.stdout is not None
        for output in process.stdout:
            log.write(output)
            log.flush()
            if not self.ready and self._line in output:
                self.ready = True
                self._settled.set()
        self._settled.set()  # the daemon ended

    def wait(self, log_path: Path, timeout_seconds: float) -> None:
        if not self._settled.wait(timeout_seconds):
            raise TimeoutError(f"{self._what} was not ready within {timeout_seconds:.0f}s; see {log_path}")
        if not self.ready:
            raise RuntimeError(f"{self._what} ended before it was ready: {log_path.read_text()[-2000:]}")

    def join(self) -> None:
        self._thread.join(STOP_TIMEOUT_SECONDS)
