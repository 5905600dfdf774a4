"""The command line of `jobs/archive_ingest.py`: the Kafka topic into the archive the processing job reads.

Exit status: 0 caught up (`--available-now`) or stopped by SIGTERM/SIGINT; 1 the archiver failed (the
brokers or the storage unreachable, a failed Spark job: run it again, it resumes from its checkpoint);
2 wrong arguments or configuration. Errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from profile_pipeline.adapters import storage
from profile_pipeline.adapters.kafka_settings import consumer_settings
from profile_pipeline.commands import EXIT_FAILED, EXIT_OK, EXIT_USAGE, OneLineParser
from profile_pipeline.config import ConfigError, load_config
from profile_pipeline.run.cli import with_advice
from profile_pipeline.run.runner import describe_failure
from profile_pipeline.spark.archive_settings import ArchiveSettings, starting_option
from profile_pipeline.spark.archive_stream import run_archiver
from profile_pipeline.spark.packages import KAFKA_SOURCE_PACKAGE
from profile_pipeline.spark.session import build_session

PROG = "archive_ingest.py"


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog=PROG,
        description="Archive the Kafka topic of profiles into dt=YYYY-MM-DD objects, exactly once, and declare "
        "the days that are complete.",
    )
    parser.add_argument("--config", help="TOML configuration file (its [archive] section; flags override it)")
    parser.add_argument("--bootstrap-servers", metavar="HOST:PORT", help="the Kafka brokers, comma-separated")
    parser.add_argument("--topic", metavar="NAME", help="the topic Relay produces to (default profiles)")
    parser.add_argument("--archive", metavar="URI", help="where the day objects go (default: the job's input)")
    parser.add_argument("--checkpoint", metavar="URI", help="the streaming checkpoint (default <archive>/_checkpoint)")
    parser.add_argument("--available-now", action="store_true", help="archive what the topic holds, then stop")
    parser.add_argument(
        "--starting-offsets",
        metavar="{earliest,latest,TIME}",
        help="where a first start begins: earliest, latest, or an ISO-8601 time such as 2026-11-24T00:00:00Z",
    )
    parser.add_argument("--trigger-seconds", type=float, help="continuous mode: a micro-batch every N seconds")
    parser.add_argument("--max-offsets-per-trigger", type=int, help="at most N messages per micro-batch")
    parser.add_argument("--lateness-seconds", type=float, help="how long past its end a day may still get messages")
    return parser


def settings_from_args(args: argparse.Namespace) -> ArchiveSettings:
    overrides = {
        "archive.archive": args.archive,
        "archive.checkpoint": args.checkpoint,
        "archive.starting_offsets": args.starting_offsets,
        "archive.trigger_seconds": args.trigger_seconds,
        "archive.max_offsets_per_trigger": args.max_offsets_per_trigger,
        "archive.lateness_seconds": args.lateness_seconds,
        "archive.kafka.bootstrap_servers": args.bootstrap_servers,
        "archive.kafka.topic": args.topic,
    }
    config = load_config(args.config, overrides)
    section = config.archive
    archive = section.archive or config.input
    if not archive:
        raise ConfigError("no archive: give --archive, or set archive.archive or input in the config file")
    try:
        starting = starting_option(section.starting_offsets)
    except ValueError as error:
        raise ConfigError(f"archive.starting_offsets: {error}") from None
    return ArchiveSettings(
        archive=archive,
        checkpoint=section.checkpoint or storage.join(archive, "_checkpoint"),
        topic=section.kafka.topic,
        consumer=consumer_settings(section.kafka),
        starting=starting,
        available_now=args.available_now,
        trigger_seconds=section.trigger_seconds,
        max_offsets_per_trigger=section.max_offsets_per_trigger,
        object_bytes=section.object_bytes,
        lateness_seconds=section.lateness_seconds,
        late_horizon_days=section.late_horizon_days,
        storage=config.storage,
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = settings_from_args(args)
        storage.configure(settings.storage)
    except ConfigError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    try:
        return _run(settings)
    except Exception as error:  # anything left: one line, never a traceback
        print(f"{PROG}: error: {with_advice(describe_failure(error))}", file=sys.stderr)
        return EXIT_FAILED


def _run(settings: ArchiveSettings) -> int:
    # SIGTERM or SIGINT: stop after the running wait (at most a trigger interval); the next start resumes.
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    uris = (settings.archive, settings.checkpoint)
    spark = build_session("profile-pipeline-archiver", uris, storage=settings.storage, packages=[KAFKA_SOURCE_PACKAGE])
    mode = "catching up" if settings.available_now else f"every {settings.trigger_seconds:g}s"
    print(f"archiving topic {settings.topic} into {settings.archive} ({mode})", flush=True)
    totals = run_archiver(spark, settings, lambda line: print(line, flush=True), stop)
    if stop.is_set():
        print("stopped by a signal; the next start resumes from the checkpoint", flush=True)
    print(
        f"archived {totals.messages} messages ({totals.raw_bytes / 1e6:.1f} MB) in {totals.batches} batches, "
        f"{totals.objects} objects ({totals.unreadable} unreadable messages alone); "
        f"{len(totals.markers)} day markers written",
        flush=True,
    )
    return EXIT_OK
