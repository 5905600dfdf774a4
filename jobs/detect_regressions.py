"""Find the functions whose p95 self time regressed: per day, into the `function_regressions` Delta table.

    python jobs/detect_regressions.py --config conf/local.toml --date 2026-11-24
    spark-submit --properties-file conf/spark-defaults.conf jobs/detect_regressions.py --warehouse ... --date ...

Run with --help for every flag.
"""

import sys
from pathlib import Path

# spark-submit runs this file as a script: make the `profile_pipeline` package beside it importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from profile_pipeline.run.regressions_cli import main

if __name__ == "__main__":
    sys.exit(main())
