"""The Kafka consumer settings of the archiver: the `[archive.kafka]` section, the password from the environment.

The same settings configure Spark's Kafka source (as `kafka.<key>` options) and the consumer that asks
the topic's end offsets. The SASL password never comes from a file: it is read from the environment
variable the configuration names, and it never appears in a message.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from profile_pipeline.config import ConfigError, KafkaConfig

_LOGIN_MODULES = {
    "PLAIN": "org.apache.kafka.common.security.plain.PlainLoginModule",
    "SCRAM-SHA-256": "org.apache.kafka.common.security.scram.ScramLoginModule",
    "SCRAM-SHA-512": "org.apache.kafka.common.security.scram.ScramLoginModule",
}


def consumer_settings(kafka: KafkaConfig, environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """Kafka consumer properties (without Spark's `kafka.` prefix)."""
    if not kafka.bootstrap_servers:
        raise ConfigError("no Kafka brokers: give --bootstrap-servers or set archive.kafka.bootstrap_servers")
    settings = {str(key): str(value) for key, value in kafka.consumer.items()}
    settings.update({"bootstrap.servers": kafka.bootstrap_servers, "security.protocol": kafka.security_protocol})
    if kafka.security_protocol.startswith("SASL_"):
        if not kafka.sasl_mechanism or not kafka.sasl_username:
            raise ConfigError(f"{kafka.security_protocol} needs archive.kafka.sasl_mechanism and sasl_username")
        password = environ.get(kafka.sasl_password_env)
        if not password:
            raise ConfigError(f"the SASL password is not set: export {kafka.sasl_password_env}")
        settings["sasl.mechanism"] = kafka.sasl_mechanism
        settings["sasl.jaas.config"] = (
            f'{_LOGIN_MODULES[kafka.sasl_mechanism]} required username="{_quoted(kafka.sasl_username)}" '
            f'password="{_quoted(password)}";'
        )
    return settings


def _quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')
