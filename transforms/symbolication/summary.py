"""The symbolication summary of a processed profile, for the `profiles` table."""

from __future__ import annotations

from typing import Any


def symbolication_summary(profile: dict[str, Any]) -> tuple[int, int]:
    """(frames_total, frames_symbolicated) of a processed profile."""
    raise NotImplementedError
