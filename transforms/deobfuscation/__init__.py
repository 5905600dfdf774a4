"""ProGuard deobfuscation of Android methods (SPEC Part II §4.6)."""

from __future__ import annotations

from transforms.context import StageContext
from transforms.work import ProfileWork


def deobfuscate_batch(works: list[ProfileWork], ctx: StageContext) -> None:
    if ctx.config.symbolication.mode == "off":
        return
    raise NotImplementedError("deobfuscation modes other than 'off' are not built yet")
