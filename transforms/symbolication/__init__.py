"""Symbolication of native and JavaScript frames (SPEC Part II §4.5)."""

from __future__ import annotations

from transforms.context import StageContext
from transforms.work import ProfileWork


def symbolicate_batch(works: list[ProfileWork], ctx: StageContext) -> None:
    if ctx.config.symbolication.mode == "off":
        return
    raise NotImplementedError("symbolication modes other than 'off' are not built yet")
