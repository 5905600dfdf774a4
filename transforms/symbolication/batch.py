"""Symbolication of many profiles at once: one deduplicated request per pass platform (SPEC §I.6)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from transforms.symbolication.backend import SymbolicationBackend


def symbolicate_profiles(
    profiles: list[tuple[dict[str, Any], int]],
    backend_for: Callable[[int], SymbolicationBackend],
    max_frames_per_request: int = 50_000,
) -> list[BaseException | None]:
    """Run §4.5 on each (profile, project id) pair, in place; the exception that failed a profile, else None."""
    raise NotImplementedError
