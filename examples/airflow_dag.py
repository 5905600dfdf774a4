"""Airflow DAG: process yesterday's profiles every night; `airflow dags backfill` runs past days one by one.

Each DAG run covers one day, its logical date `{{ ds }}` (the day that has just ended when the run
fires after midnight UTC). The job's exit status tells the task what happened:

* 0: the day finished (or had finished before): success;
* 1: the day failed: Airflow retries it later (finished days are never redone without --force);
* 2: wrong arguments or configuration: retried too, but only a fix helps;
* 3: another run holds the day and is working on it: the task is skipped, not failed;
* 4: the day is not known to be complete yet (`require_complete` in the production configuration): the
  archiver has not seen every partition pass it; Airflow retries later.

Before it, the archiver catches up with the topic (`--available-now`) and declares the days that are
complete; if it runs continuously elsewhere, drop that task.

Set the Airflow variable `profile_pipeline_home` to where the project is deployed on the workers.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow import DAG
from airflow.operators.bash import BashOperator

PROJECT = "{{ var.value.get('profile_pipeline_home', '/opt/profile-pipeline') }}"

ARCHIVE = (
    f"cd {PROJECT} && spark-submit --master yarn --deploy-mode client "
    "--properties-file conf/spark-defaults.production.conf "
    "jobs/archive_ingest.py --config conf/production.toml --available-now"
)

SPARK_SUBMIT = (
    f"cd {PROJECT} && spark-submit --master yarn --deploy-mode client "
    "--properties-file conf/spark-defaults.production.conf "
    "jobs/process_profiles.py --config conf/production.toml "
    "--date {{ ds }} --run-id airflow-{{ ds_nodash }}-{{ ti.try_number }}"
)

# After the night's processing: retention, erasures asked for since, compaction, vacuum (docs/operations.md).
MAINTAIN = (
    f"cd {PROJECT} && spark-submit --master yarn --deploy-mode client "
    "--properties-file conf/spark-defaults.production.conf "
    "jobs/maintain_tables.py --config conf/production.toml "
    "--today {{ macros.ds_add(ds, 1) }} --run-id airflow-maintain-{{ ds_nodash }}-{{ ti.try_number }}"
)

with DAG(
    dag_id="profile_pipeline_nightly",
    description="Sentry profile processing: one day of raw ingest messages into the Delta tables",
    schedule="30 1 * * *",  # 01:30 UTC, once the archive of the previous day is complete
    start_date=datetime(2026, 11, 1),
    catchup=False,  # past days are processed by an explicit backfill, not on deploy
    max_active_runs=1,  # one day at a time: Delta's S3 log store wants one writing driver per table
    default_args={
        "owner": "data-platform",
        "retries": 2,
        "retry_delay": timedelta(minutes=30),
        "execution_timeout": timedelta(hours=6),
    },
    tags=["profiling"],
) as dag:
    archive = BashOperator(task_id="archive_ingest", bash_command=ARCHIVE)
    process = BashOperator(task_id="process_profiles", bash_command=SPARK_SUBMIT, skip_on_exit_code=3)
    # Run after, never beside, the processing: one writing driver per table on S3.
    maintain = BashOperator(task_id="maintain_tables", bash_command=MAINTAIN, skip_on_exit_code=3)
    archive >> process >> maintain
