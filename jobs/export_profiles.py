"""Export a profile, the flame graph of a selection, or a comparison of two, as speedscope, pprof or collapsed stacks.

    python jobs/export_profiles.py --warehouse warehouse --project 4 --start 2026-11-24 --end 2026-11-24 \\
        --format speedscope --output flame.speedscope.json

Run with --help for every flag.
"""

import sys
from pathlib import Path

# Run as a script: make the `profile_pipeline` package beside it importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from profile_pipeline.explore.cli import main

if __name__ == "__main__":
    sys.exit(main())
