"""Process raw profiling ingest messages into Delta tables.

    spark-submit --properties-file conf/spark-defaults.conf jobs/process_profiles.py --input ... --date ...
    python jobs/process_profiles.py --input ... --warehouse ... --date 2026-11-24

Run with --help for every flag.
"""

import sys
from pathlib import Path

# spark-submit runs this file as a script: make the `profile_pipeline` package beside it importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from profile_pipeline.run.cli import main

if __name__ == "__main__":
    sys.exit(main())
