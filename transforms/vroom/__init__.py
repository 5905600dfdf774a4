"""The vroom stage (SPEC Part II §4.12 and §8)."""

from __future__ import annotations

from transforms.context import StageContext
from transforms.work import ProfileWork


def run_vroom_stage(works: list[ProfileWork], ctx: StageContext) -> None:
    if ctx.config.vroom.mode == "off":
        return
    raise NotImplementedError("vroom modes other than 'off' are not built yet")
