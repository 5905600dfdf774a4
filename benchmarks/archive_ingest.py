"""The archiver against a plain single-process consumer, over a day of real-sized profiles on a loopback broker.

    python benchmarks/archive_ingest.py                           # 20,000 profiles of ~100 KB
    python benchmarks/archive_ingest.py --profiles 2000 --process # a few minutes, with the job's time too

In one run it starts a Kafka broker on 127.0.0.1 (tests/servers/kafka.py), produces a day of profiles as
Relay does (msgpack maps, `sampled` headers, chunks without one) to a topic of `--partitions` partitions,
then times, over the same topic:
  (a) one Python process reading the topic with confluent-kafka (librdkafka) and writing the same objects
      with the archiver's own partition function (`write_partition`, given the messages as Arrow batches);
  (b) `jobs/archive_ingest.py --available-now` on local[2], the whole command (Spark's start-up included)
      and the archiving alone (from its first line to its last);
  (c) with `--process`, `jobs/process_profiles.py` over the archived day in its default mode (symbolication
      and vroom embedded, the fixtures' symbol store, which the generated profiles' frames refer to), the
      archiver's whole command set against it.
It prints MB/s and profiles/s of (a) and (b), and the ratios.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

DAY = datetime.now(UTC).date() - timedelta(days=1)  # yesterday: complete by the clock once caught up
TOPIC = "profiles"
KINDS = ("python_v1", "cocoa_v1", "node_v1", "python_chunk", "cocoa_chunk", "android_legacy")
# Distinct payloads generated; each is produced many times (the archiver's work does not depend on content).
DISTINCT = 60
PRODUCED_AT_ONCE = 1000


def relay_day(args: argparse.Namespace) -> list:
    from servers.kafka import Message

    from synthetic.messages import ingest_message, pack
    from synthetic.profiles import ProfileSpec, generate

    rng = random.Random(7)
    start_ms = int(datetime.combine(DAY, datetime.min.time(), UTC).timestamp() * 1000)
    pool = []
    for number in range(DISTINCT):
        kind = KINDS[number % len(KINDS)]
        profile = generate(kind, rng, ProfileSpec(target_bytes=args.target_bytes, start=start_ms / 1000))
        message = ingest_message(profile, organization_id=1, project_id=2, received=start_ms // 1000, key_id=4)
        headers = () if kind.endswith("chunk") else (("sampled", b"true"),)
        pool.append((pack(message), headers))
    spacing_ms = 86_400_000 // args.profiles
    return [
        Message(pool[number % DISTINCT][0], number % args.partitions, start_ms + number * spacing_ms,
                pool[number % DISTINCT][1])
        for number in range(args.profiles)
    ]  # fmt: skip


def plain_consumer(bootstrap: str, archive: Path, total: int, partitions: int) -> float:
    """Seconds for one process to consume the topic and write the objects as the archiver does."""
    import pyarrow as pa
    from confluent_kafka import Consumer, TopicPartition

    from profile_pipeline.config import StorageConfig
    from profile_pipeline.spark.archive_batch import write_partition

    started = time.perf_counter()
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "plain", "enable.auto.commit": False, "fetch.max.bytes": 52428800}
    )
    consumer.assign([TopicPartition(TOPIC, partition, 0) for partition in range(partitions)])
    columns: dict[int, dict[str, list]] = {}
    received = 0
    while received < total:
        for message in consumer.consume(num_messages=min(500, total - received), timeout=10):
            if message.error():
                raise RuntimeError(str(message.error()))
            rows = columns.setdefault(message.partition(), {name: [] for name in ("offset", "ts", "value", "h")})
            rows["offset"].append(message.offset())
            rows["ts"].append(message.timestamp()[1])
            rows["value"].append(message.value())
            rows["h"].append(dict(message.headers() or []).get("sampled"))
            received += 1
    consumer.close()
    for partition, rows in columns.items():
        batch = pa.RecordBatch.from_pydict(
            {
                "partition": [partition] * len(rows["offset"]),
                "offset": rows["offset"],
                "timestamp_ms": rows["ts"],
                "value": rows["value"],
                "sampled_header": rows["h"],
            }
        )
        for _ in write_partition(
            iter([batch]), archive=str(archive), topic=TOPIC, object_bytes=64 * 2**20, storage_config=StorageConfig()
        ):
            pass
    return time.perf_counter() - started


def timed(command: list[str]) -> tuple[float, float, list[str]]:
    """Seconds of the whole command, seconds from its first line of output to its end, and its lines."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert process.stdout is not None
    lines, first_line = [], None
    for line in process.stdout:
        first_line = first_line or time.perf_counter()
        lines.append(line.rstrip())
    if process.wait() != 0:
        raise RuntimeError(f"{command[1]} failed with status {process.returncode}")
    ended = time.perf_counter()
    return ended - started, ended - (first_line or started), lines


def rate(what: str, seconds: float, megabytes: float, profiles: int) -> str:
    return f"{what}: {seconds:6.1f} s  {megabytes / seconds:6.1f} MB/s  {profiles / seconds:7.0f} profiles/s"


def measure(broker: Any, work: Path, args: argparse.Namespace) -> None:
    broker.create_topic(TOPIC, args.partitions)
    messages = relay_day(args)
    megabytes = sum(len(message.value) for message in messages) / 1e6
    started = time.perf_counter()
    # In slices, each acknowledged before the next: with the whole day in flight the loopback broker died.
    for first in range(0, len(messages), PRODUCED_AT_ONCE):
        broker.produce(TOPIC, messages[first : first + PRODUCED_AT_ONCE])
    print(f"produced {len(messages)} messages, {megabytes:.0f} MB, in {time.perf_counter() - started:.1f} s")
    del messages

    plain = plain_consumer(broker.bootstrap_servers, work / "plain", args.profiles, args.partitions)
    whole, archiving, output = timed(
        [sys.executable, "jobs/archive_ingest.py", "--bootstrap-servers", broker.bootstrap_servers,
         "--archive", str(work / "archive"), "--available-now"]
    )  # fmt: skip
    print(output[-1])
    print(rate("(a) one process          ", plain, megabytes, args.profiles))
    print(rate("(b) the archiver         ", whole, megabytes, args.profiles), f"= {plain / whole:.2f}x one process")
    print(rate("    without its start-up ", archiving, megabytes, args.profiles), f"= {plain / archiving:.2f}x")
    if args.process:
        job = default_mode_job(work)
        print(f"(c) the job, default mode: {job:6.1f} s; the archiver costs {whole / job:.2f} of it")


def default_mode_job(work: Path) -> float:
    """Seconds of the processing job over the archived day as users run it: symbolication and vroom embedded."""
    from synthetic import write_symbol_store

    write_symbol_store(str(work / "symbols"))
    job, _, output = timed(
        [sys.executable, "jobs/process_profiles.py", "--input", str(work / "archive"), "--warehouse",
         str(work / "warehouse"), "--symbols", str(work / "symbols"), "--profiles-bucket", str(work / "bucket"),
         "--symbolication", "embedded", "--vroom", "embedded", "--date", DAY.isoformat()]
    )  # fmt: skip
    print(next(line.strip() for line in output if line.strip().startswith("symbolication:")))
    return job


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=20_000)
    parser.add_argument("--target-bytes", type=int, default=100_000)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--process", action="store_true", help="also time the processing job on the archived day")
    args = parser.parse_args()

    from servers.kafka import running_kafka_broker

    with tempfile.TemporaryDirectory(prefix="archive-bench-") as scratch:
        work = Path(scratch)
        with running_kafka_broker(work / "kafka") as broker:
            measure(broker, work, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
