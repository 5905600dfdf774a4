"""Maintain the warehouse: retention, erasure on request, compaction and vacuum; run after the nightly job.

    spark-submit --properties-file conf/spark-defaults.conf jobs/maintain_tables.py --config conf/job.toml
    python jobs/maintain_tables.py --warehouse warehouse --profiles-bucket profiles-bucket --dry-run

Run with --help for every flag.
"""

import sys
from pathlib import Path

# spark-submit runs this file as a script: make the `profile_pipeline` package beside it importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from profile_pipeline.run.maintain_cli import main

if __name__ == "__main__":
    sys.exit(main())
