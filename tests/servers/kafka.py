"""A Kafka broker on 127.0.0.1 for tests and benchmarks: Apache Kafka's own jars, in KRaft mode.

The broker (and its controller, in one process) is `kafka.Kafka` from `org.apache.kafka:kafka_2.13`,
resolved from Maven Central once per machine by the project's own package resolution
(`profile_pipeline/spark/packages.py`); Spark's resolution leaves out the Scala library, which comes from
the Spark distribution inside pyspark (the same 2.13 version), as do the SLF4J binding and log4j, so
that the broker logs. The log directory is formatted with Kafka's `StorageTool`, the broker started in
its own process group, and it is ready when it logs that it started. Messages are produced as Relay does,
with confluent-kafka (librdkafka): msgpack values, the `sampled` header, Kafka timestamps.
"""

from __future__ import annotations

import base64
import subprocess
import uuid
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pyspark
import pytest
from confluent_kafka import KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from servers.processes import ReadyLineWatch, free_port, stop_process_group

from profile_pipeline.spark.packages import resolve

KAFKA_PACKAGE = "org.apache.kafka:kafka_2.13:4.4.0"
_FROM_SPARK = ("scala-library-*.jar", "slf4j-api-*.jar", "log4j-slf4j2-impl-*.jar")
START_DEADLINE_SECONDS = 120.0
READY_LINE = b"Kafka Server started"
TOPIC = "profiles"
PARTITIONS = 3
# The topic of Sentry's `profiles` (sentry-kafka-schemas): messages up to 50 MB.
MAX_MESSAGE_BYTES = 52_428_800
_LOG4J = """\
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
"""


@dataclass(frozen=True)
class Message:
    """A message as Relay produces it: a value, a partition, a Kafka timestamp and headers."""

    value: bytes | None
    partition: int
    timestamp_ms: int
    headers: tuple[tuple[str, bytes], ...] = ()


@dataclass
class KafkaBroker:
    bootstrap_servers: str
    _topics: set[str] = field(default_factory=set)

    def create_topic(self, name: str, partitions: int = PARTITIONS) -> None:
        config = {"max.message.bytes": str(MAX_MESSAGE_BYTES)}
        admin = AdminClient({"bootstrap.servers": self.bootstrap_servers})
        for done in admin.create_topics([NewTopic(name, partitions, 1, config=config)]).values():
            done.result(timeout=60)
        self._topics.add(name)

    def produce(self, topic: str, messages: Iterable[Message]) -> None:
        """Produce and wait until the broker acknowledged every message (raising on the first failure)."""
        failures: list[str] = []

        def delivered(error: object, _: object) -> None:
            if error is not None:
                failures.append(str(error))

        producer = Producer(
            {
                "bootstrap.servers": self.bootstrap_servers,
                "acks": "all",
                "compression.type": "lz4",  # as the topic is configured for Relay
                "message.max.bytes": MAX_MESSAGE_BYTES,
                "linger.ms": 5,
            }
        )
        for message in messages:
            producer.produce(
                topic,
                value=message.value,
                partition=message.partition,
                timestamp=message.timestamp_ms,
                headers=list(message.headers),
                on_delivery=delivered,
            )
            producer.poll(0)
        remaining = producer.flush(60)
        if failures or remaining:
            raise KafkaException(f"{len(failures)} messages failed, {remaining} unacknowledged: {failures[:3]}")


def broker_classpath() -> str:
    """Kafka's jars, with the Scala library and the logging binding of the Spark inside pyspark first."""
    spark_jars = Path(pyspark.__file__).resolve().parent / "jars"
    first = [str(jar) for pattern in _FROM_SPARK for jar in sorted(spark_jars.glob(pattern))]
    return ":".join([*first, *(jar.removeprefix("file:") for jar in resolve(KAFKA_PACKAGE))])


def _properties(root: Path, port: int, controller_port: int) -> str:
    return "\n".join(
        [
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.voters=1@127.0.0.1:{controller_port}",
            f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}",
            "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=PLAINTEXT",
            "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            f"log.dirs={root / 'data'}",
            "auto.create.topics.enable=false",
            "offsets.topic.replication.factor=1",
            "offsets.topic.num.partitions=1",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "share.coordinator.state.topic.replication.factor=1",
            "group.initial.rebalance.delay.ms=0",
            f"message.max.bytes={MAX_MESSAGE_BYTES}",
            # Tests produce days ahead of the clock (a partition that has passed a day that is not over yet),
            # and days long past, which time-based retention would delete.
            "log.message.timestamp.after.max.ms=604800000",
            "log.retention.ms=-1",
            "",
        ]
    )


def _cluster_id() -> str:
    """A cluster id as Kafka makes one: a URL-safe base64 UUID that does not start with "-" (not an option)."""
    while (cluster_id := base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")).startswith("-"):
        continue
    return cluster_id


def _java(classpath: str, root: Path, *arguments: str) -> list[str]:
    return [
        "java", "-Xms128m", "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
        f"-Dlog4j2.configurationFile={root / 'log4j2.properties'}", "-cp", classpath, *arguments,
    ]  # fmt: skip


@contextmanager
def running_kafka_broker(root: Path) -> Iterator[KafkaBroker]:
    """A broker and controller on free ports of 127.0.0.1 until the block ends; its log under `root`."""
    root.mkdir(parents=True, exist_ok=True)
    classpath = broker_classpath()
    port, controller_port = free_port(), free_port()
    properties = root / "server.properties"
    properties.write_text(_properties(root, port, controller_port))
    (root / "log4j2.properties").write_text(_LOG4J)
    cluster_id = _cluster_id()
    subprocess.run(
        _java(classpath, root, "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(properties)),
        check=True,
        capture_output=True,
        timeout=START_DEADLINE_SECONDS,
    )
    log_path = root / "broker.log"
    with ExitStack() as stack:
        broker = subprocess.Popen(
            _java(classpath, root, "kafka.Kafka", str(properties)),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        watch = ReadyLineWatch(broker, stack.enter_context(log_path.open("wb")), READY_LINE, "the Kafka broker")
        stack.callback(watch.join)
        stack.callback(stop_process_group, broker)
        watch.wait(log_path, START_DEADLINE_SECONDS)
        yield KafkaBroker(bootstrap_servers=f"127.0.0.1:{port}")


@pytest.fixture(scope="module", name="kafka_broker")
def kafka_broker_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    """One broker for a test module (import this fixture where it is needed)."""
    with running_kafka_broker(tmp_path_factory.mktemp("kafka")) as broker:
        yield broker
