"""The vroom stage (SPEC Part II §4.12 and §8), in the mode the configuration names (SPEC §I.5).

* `embedded`: vroomrs in-process (`profile_pipeline.stages.vroom.embedded`): blobs to `vroom.profiles_bucket`,
  functions, occurrences and chunk metadata onto each `ProfileWork`.
* `http`: push to a vroom service (`profile_pipeline.stages.vroom.push`); vroom does the rest itself, so no
  functions, occurrences or chunk metadata come back.
* `off`: nothing.

Failures are set on the works (`profiling_failed_vroomrs_processing` or `..._vroom_insertion`); the
metrics DSN (SPEC Part II §4.11) leaves every profile once the stage is over.
"""

from __future__ import annotations

from profile_pipeline.stages.context import StageContext
from profile_pipeline.stages.metrics_dsn import drop_metrics_dsn
from profile_pipeline.stages.vroom.embedded import process_embedded_batch
from profile_pipeline.stages.vroom.push import push_batch
from profile_pipeline.work import ProfileWork


def run_vroom_stage(works: list[ProfileWork], ctx: StageContext) -> None:
    config = ctx.config.vroom
    try:
        if config.mode == "embedded":
            process_embedded_batch(works, config.profiles_bucket)
        elif config.mode == "http":
            push_batch(works, config)
    finally:
        for work in works:
            if drop_metrics_dsn(work.profile):
                work.payload_json = None  # serialized with the DSN, which the payload column never holds
