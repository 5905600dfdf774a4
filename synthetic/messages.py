"""Ingest messages (SPEC Part II §2.1) around generated payloads, and msgpack streams of them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgpack
import orjson

from profile_pipeline.formats import is_chunk


def envelope(
    payload: bytes,
    *,
    chunk: bool,
    organization_id: int,
    project_id: int,
    received: int,
    sampled: bool | None = None,
    key_id: int | None = None,
    retention_days: int = 90,
) -> dict[str, Any]:
    """The message map around raw payload bytes. Chunks carry no `key_id` and no `sampled` header."""
    message: dict[str, Any] = {
        "type": "profile_chunk" if chunk else "profile",
        "organization_id": organization_id,
        "project_id": project_id,
    }
    if not chunk:
        message["key_id"] = key_id
    message.update(received=received, retention_days=retention_days, payload=payload)
    if sampled is not None and not chunk:
        message["sampled"] = sampled
    return message


def ingest_message(
    profile: dict[str, Any],
    *,
    organization_id: int,
    project_id: int,
    received: int,
    sampled: bool | None = None,
    key_id: int | None = None,
    retention_days: int = 90,
) -> dict[str, Any]:
    """The message Relay would have produced for this payload; `sampled=None` leaves the key out."""
    return envelope(
        orjson.dumps(profile),
        chunk=is_chunk(profile),
        organization_id=organization_id,
        project_id=project_id,
        received=received,
        sampled=sampled,
        key_id=key_id,
        retention_days=retention_days,
    )


def pack(value: Any) -> bytes:
    """One msgpack value, bytes as `bin` and strings as `str`, as Relay writes them."""
    return msgpack.packb(value, use_bin_type=True)


def pack_stream(messages: Iterable[Any]) -> bytes:
    """Concatenated msgpack values: the content of one uncompressed input object."""
    return b"".join(pack(message) for message in messages)
