"""Python's cycle collector, paused while batches of profiles are built and processed.

A batch holds millions of small containers (the JSON trees of its profiles, their frames and samples),
and the collector's allocation-triggered passes keep walking them, which cost about a quarter of the
per-profile time. Profiles hold no reference cycles, so those passes find nothing. Cyclic garbage that
other code may leave (exceptions with their tracebacks) is collected after each batch, when the batch
has been let go and the collector has little to walk.

What a process holds before its first partition (its modules, the Spark worker's own state) lives as long
as the process; it is frozen once (`gc.freeze`), so that no later collection walks it again. That is
what a collection costs between batches, and in a Spark worker the collection that PySpark's daemon runs
after every task: about 40 ms each over a worker's ~90,000 objects, some 15% of a worker's time on tasks
of 250 profiles. Frozen objects are still freed when their last reference goes; only a reference cycle
made of them would outlive the process's need for it.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """The collector off for the block (as it was before, afterwards)."""
    freeze_long_lived()
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


def freeze_long_lived() -> None:
    """Once per process: collect, then freeze every object that is left (see the module's notes)."""
    if gc.get_freeze_count() == 0:
        gc.collect()
        gc.freeze()
