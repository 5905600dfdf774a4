"""Bad input (SPEC §I.8), each record with the quarantine error kind the job must give it.

A record is one of three scopes:
* `message`: one msgpack value; it can stand anywhere in a stream and the values after it stay readable;
* `tail`: bytes that end a stream (garbage, a truncated value); nothing after them can be read;
* `object`: the whole content of an object, named with `suffix` (an empty object, a broken `.gz`).
Most payloads are small real profiles with one thing broken, so that only that thing is wrong.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import orjson

from profile_pipeline.config import Limits
from synthetic.messages import envelope, ingest_message, pack
from synthetic.profiles import ProfileSpec, generate

MESSAGE = "message"
TAIL = "tail"
OBJECT = "object"

_SMALL = ProfileSpec(target_bytes=4_000)
# Nesting far beyond any JSON parser's recursion limit.
_NESTING = 100_000


@dataclass(frozen=True)
class BadRecord:
    name: str  # what is wrong, for test ids and reports
    kind: str  # the expected quarantine error kind
    scope: str  # MESSAGE | TAIL | OBJECT
    data: bytes
    suffix: str = ""  # object name ending an OBJECT record needs (".gz", ".zst")


@dataclass(frozen=True)
class _Context:
    rng: random.Random
    organization_id: int
    project_id: int
    received: int
    limits: Limits

    def profile(self, kind: str = "python_v1", spec: ProfileSpec = _SMALL) -> dict[str, Any]:
        return generate(kind, self.rng, replace(spec, start=float(self.received - 5)))

    def message(self, profile: dict[str, Any]) -> dict[str, Any]:
        return ingest_message(
            profile, organization_id=self.organization_id, project_id=self.project_id, received=self.received
        )

    def raw_payload(self, payload: bytes) -> dict[str, Any]:
        return envelope(
            payload,
            chunk=False,
            organization_id=self.organization_id,
            project_id=self.project_id,
            received=self.received,
        )


def _without(message: dict[str, Any], key: str) -> dict[str, Any]:
    return {name: value for name, value in message.items() if name != key}


def _with_message_key(ctx: _Context, key: str, value: Any) -> bytes:
    return pack({**ctx.message(ctx.profile()), key: value})


def _with_profile_key(ctx: _Context, kind: str, key: str, value: Any) -> bytes:
    profile = ctx.profile(kind)
    profile[key] = value
    return pack(ctx.message(profile))


def _over_frame_limit(ctx: _Context) -> bytes:
    profile = ctx.profile()
    profile["profile"]["frames"] += [{"function": "f", "lineno": line} for line in range(ctx.limits.max_frames + 1)]
    return pack(ctx.message(profile))


def _over_message_limit(ctx: _Context) -> bytes:
    profile = ctx.profile()
    profile["padding"] = "x" * (ctx.limits.max_message_bytes + 1)
    return pack(ctx.message(profile))


_MessageMaker = Callable[[_Context], bytes]

_MESSAGES: tuple[tuple[str, str, _MessageMaker], ...] = (
    ("list value", "not_a_map", lambda ctx: pack([1, 2, 3])),
    ("integer value", "not_a_map", lambda ctx: pack(42)),
    ("string value", "not_a_map", lambda ctx: pack("profile")),
    *(
        (f"no {key}", f"missing_field:{key}", lambda ctx, key=key: pack(_without(ctx.message(ctx.profile()), key)))
        for key in ("organization_id", "project_id", "received", "payload")
    ),
    ("project_id as string", "bad_type:project_id", lambda ctx: _with_message_key(ctx, "project_id", "2")),
    (
        "organization_id as float",
        "bad_type:organization_id",
        lambda ctx: _with_message_key(ctx, "organization_id", 1.5),
    ),
    ("received as string", "bad_type:received", lambda ctx: _with_message_key(ctx, "received", "today")),
    ("sampled as string", "bad_type:sampled", lambda ctx: _with_message_key(ctx, "sampled", "false")),
    ("payload as integer", "bad_type:payload", lambda ctx: _with_message_key(ctx, "payload", 7)),
    ("payload as map", "bad_type:payload", lambda ctx: _with_message_key(ctx, "payload", {"a": 1})),
    ("payload garbage", "payload_not_json", lambda ctx: pack(ctx.raw_payload(b"\x00\x01\x02 not json"))),
    ("payload truncated", "payload_not_json", lambda ctx: pack(ctx.raw_payload(orjson.dumps(ctx.profile())[:-200]))),
    ("payload invalid utf-8", "payload_not_json", lambda ctx: pack(ctx.raw_payload(b'{"version": "1\xff\xfe"}'))),
    (
        "payload nested too deeply",
        "payload_not_json",
        lambda ctx: pack(ctx.raw_payload(b"[" * _NESTING + b"]" * _NESTING)),
    ),
    ("payload no known keys", "unknown_format", lambda ctx: pack(ctx.raw_payload(b'{"foo": 1, "bar": [2]}'))),
    ("payload a JSON list", "unknown_format", lambda ctx: pack(ctx.raw_payload(orjson.dumps([ctx.profile()])))),
    ("payload a JSON string", "unknown_format", lambda ctx: pack(ctx.raw_payload(b'"profile"'))),
    ("version 3", "unknown_format", lambda ctx: _with_profile_key(ctx, "python_v1", "version", "3")),
    ("event_id a path", "bad_type:event_id", lambda ctx: _with_profile_key(ctx, "python_v1", "event_id", "../../etc")),
    ("event_id an integer", "bad_type:event_id", lambda ctx: _with_profile_key(ctx, "cocoa_v1", "event_id", 12)),
    (
        "profile_id a path",
        "bad_type:profile_id",
        lambda ctx: _with_profile_key(ctx, "android_legacy", "profile_id", "../../../profiles/1/2/x"),
    ),
    (
        "chunk_id with a slash",
        "bad_type:chunk_id",
        lambda ctx: _with_profile_key(ctx, "python_chunk", "chunk_id", "11cde81c68384f67/../87b3766f1285"),
    ),
    (
        "profiler_id not hex",
        "bad_type:profiler_id",
        lambda ctx: _with_profile_key(ctx, "android_chunk", "profiler_id", "zz" * 16),
    ),
    ("no event_id", "missing_field:event_id", lambda ctx: pack(ctx.message(_without(ctx.profile(), "event_id")))),
    ("frames over the limit", "too_large", _over_frame_limit),
)


def bad_messages(
    rng: random.Random,
    *,
    organization_id: int = 1,
    project_id: int = 2,
    received: int = 1795996800,
    limits: Limits | None = None,
    oversize: bool = True,
) -> list[BadRecord]:
    """Every bad single message. `oversize` adds a message over `limits.max_message_bytes` (50 MiB by default)."""
    ctx = _Context(rng, organization_id, project_id, received, limits or Limits())
    records = [BadRecord(name, kind, MESSAGE, make(ctx)) for name, kind, make in _MESSAGES]
    if oversize:
        records.append(BadRecord("message over the limit", "too_large", MESSAGE, _over_message_limit(ctx)))
    return records


def bad_tails(
    rng: random.Random, *, organization_id: int = 1, project_id: int = 2, received: int = 1795996800
) -> list[BadRecord]:
    """Bytes that break a stream after its good messages: garbage and a value cut short."""
    ctx = _Context(rng, organization_id, project_id, received, Limits())
    whole = pack(ctx.message(ctx.profile()))
    # 0xc1 is the one byte msgpack never uses: no decoder can take it for the start of a value.
    garbage = b"\xc1" + rng.randbytes(64)
    return [
        BadRecord("garbage after good messages", "corrupt_stream", TAIL, garbage),
        BadRecord("value truncated mid-stream", "corrupt_stream", TAIL, whole[: len(whole) // 2]),
    ]


def bad_objects() -> list[BadRecord]:
    """Whole objects that hold no readable stream."""
    return [
        BadRecord("empty object", "corrupt_stream", OBJECT, b""),
        BadRecord("gzip object that is not gzip", "corrupt_stream", OBJECT, b"this is not gzip data", ".gz"),
        BadRecord("zstd object that is not zstd", "corrupt_stream", OBJECT, b"this is not zstd data", ".zst"),
    ]
