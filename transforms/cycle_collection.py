"""Python's cycle collector, paused while batches of profiles are built and processed.

A batch holds millions of small containers (the JSON trees of its profiles, their frames and samples),
and the collector's allocation-triggered passes keep walking them, which cost about a quarter of the
per-profile time. Profiles hold no reference cycles, so those passes find nothing. Cyclic garbage that
other code may leave (exceptions with their tracebacks) is collected after each batch, when the batch
has been let go and the collector has little to walk.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """The collector off for the block (as it was before, afterwards)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def collect_between_batches() -> None:
    """What the paused collector would have freed: call it once a batch is let go."""
    gc.collect()
