"""React Native on Android: the `js_profile` of an Android profile (SPEC Part II §4.7)."""

from __future__ import annotations

from transforms.context import StageContext
from transforms.work import ProfileWork


def process_js_profiles(works: list[ProfileWork], ctx: StageContext) -> None:
    if ctx.config.symbolication.mode == "off":
        return
    raise NotImplementedError("js_profile symbolication is not built yet")
