"""Archive Relay's Kafka topic of profiles into the dt=YYYY-MM-DD objects that process_profiles.py reads.

    python jobs/archive_ingest.py --config conf/local.toml --bootstrap-servers 127.0.0.1:9092 --available-now
    spark-submit --packages org.apache.spark:spark-sql-kafka-0-10_2.13:4.2.0 jobs/archive_ingest.py --config ...

Run with --help for every flag.
"""

import sys
from pathlib import Path

# spark-submit runs this file as a script: make the `profile_pipeline` package beside it importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from profile_pipeline.run.archive_cli import main

if __name__ == "__main__":
    sys.exit(main())
