"""[A]'s metrics DSN (SPEC Part II §4.11), behind `options.metrics_dsn.enabled`."""

from __future__ import annotations

from transforms.context import StageContext
from transforms.work import ProfileWork


def attach_metrics_dsn_batch(works: list[ProfileWork], ctx: StageContext) -> None:
    if not ctx.config.options.metrics_dsn.enabled:
        return
    raise NotImplementedError("the metrics DSN option is not built yet")
