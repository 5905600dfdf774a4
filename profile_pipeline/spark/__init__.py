"""The Spark and Delta wiring: the session, the job over a range of days, one partition's work, the staged
Parquet files, the table schemas and the Delta commit that publishes them."""
