"""Named moments of a run where a recovery test can kill the driver as a crash would.

`PROFILE_PIPELINE_CRASH_AT=<point>` in the driver's environment makes the run SIGKILL itself (no cleanup,
no `finally`, no lock release) when it reaches that point, so that the tests can put a run into every
state a crash leaves behind, deterministically. Unset, `reach` does nothing.

Points: `staged` (the day's rows are staged, no table committed yet), `moved:<table>` (that table's staged
files are moved into it, its commit not made), `published:<table>` (that table's commit is done, the others
may not be), `published` (every table committed, `job_runs` not yet). Maintenance: `maintain:listed` (the
blobs to delete listed, no row deleted), `maintain:deleted:<table>` (that table's rows deleted, nothing recorded),
`maintain:blobs-deleted`, `maintain:recorded` (the deletions recorded, their list kept), `maintain:vacuumed`.
"""

from __future__ import annotations

import os
import signal

ENVIRONMENT = "PROFILE_PIPELINE_CRASH_AT"


def reach(point: str) -> None:
    if os.environ.get(ENVIRONMENT) == point:
        os.kill(os.getpid(), signal.SIGKILL)
