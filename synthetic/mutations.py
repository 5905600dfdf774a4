"""Hypothesis strategies that break real-shaped profiles anywhere: for property tests and the fuzz benchmark.

A case starts from a payload of one kind (every generator kind of `profiles.KINDS`, and the shipped real
ingest message) and changes one to three values anywhere in it, or in its ingest message: another type,
null, a removed key, a number sent as a string, an extreme number, unicode, a huge string, an empty
container or a container of the other kind. The property the job promises for every such message: the
partition function does not raise and the message lands exactly once in `profiles`, `quarantine` or the
sampling gate's dropped count.

Needs `hypothesis` (a development dependency); nothing of the job imports this module.
"""

from __future__ import annotations

import copy
import json
import random
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import msgpack
import orjson
from hypothesis import assume
from hypothesis import strategies as st

from synthetic.catalog import FIXTURES
from synthetic.messages import ingest_message
from synthetic.profiles import KINDS, ProfileSpec, generate

REAL_KIND = "real_python_v1"
CASE_KINDS = (*KINDS, REAL_KIND)
_REAL_MESSAGE = Path(FIXTURES) / "ingest" / "python-sample-v1.msgpack"
_BASES_PER_KIND = 3
_SMALL = ProfileSpec(frames=12, target_bytes=3_000, start=1_764_000_000.0)
_RECEIVED = 1_764_000_000

_HUGE = "x" * 200_000
_EXTREMES: tuple[Any, ...] = (
    0,
    -1,
    -(2**31),
    2**31,
    2**53 + 1,
    2**63 - 1,
    2**63,
    2**64 - 1,
    -(2**63),
    1.5,
    -0.0,
    1e308,
    -1e308,
    5e-324,
)
_STRINGS: tuple[str, ...] = (
    "",
    " ",
    "0",
    "-1",
    "1.5",
    "1e400",
    "NaN",
    "nan",
    "Infinity",
    "-Infinity",
    "0x",
    "0xffffffffffffffffffff",
    "rel:99",
    "null",
    "true",
    "\x00",
    "💥 ünïcödé ☃",
    "\u202e\ufeff",
    "../../etc/passwd",
    "a" * 33,
)


@dataclass(frozen=True)
class Case:
    kind: str
    format: str
    raw: bytes  # the ingest message, packed
    mutations: tuple[str, ...]  # what was changed, for reports


@cache
def _real_message() -> dict[str, Any]:
    return msgpack.unpackb(_REAL_MESSAGE.read_bytes(), raw=False)


@cache
def _bases(kind: str) -> tuple[dict[str, Any], ...]:
    """A few clean messages of a kind, generated once per process (cases copy them)."""
    if kind == REAL_KIND:
        return (_real_message(),)
    rng = random.Random(f"fuzz-{kind}")
    messages = []
    for _ in range(_BASES_PER_KIND):
        profile = generate(kind, rng, _SMALL)
        messages.append(ingest_message(profile, organization_id=1, project_id=2, received=_RECEIVED))
    return tuple(messages)


def kind_format(kind: str) -> str:
    return "sample_v1" if kind == REAL_KIND else KINDS[kind].format


def _scalars() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.sampled_from(_EXTREMES),
        st.sampled_from(_STRINGS),
        st.just(None),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=40),
        st.just(_HUGE),
    )


def _replacement(original: Any) -> st.SearchStrategy[tuple[str, Any]]:
    """A new value for a node, named for the report."""
    options: list[st.SearchStrategy[tuple[str, Any]]] = [
        _scalars().map(lambda value: ("value", value)),
        st.sampled_from([[], {}, [None], {"": None}, [[[]]]]).map(lambda value: ("container", value)),
    ]
    if isinstance(original, int | float) and not isinstance(original, bool):
        options.append(st.just(("number as string", str(original))))
    if isinstance(original, str):
        options.append(st.just(("string repeated", original * 1_000)))
        options.append(st.just(("string in a list", [original])))
    if isinstance(original, dict):
        options.append(st.just(("map as list", list(original.values()))))
    if isinstance(original, list):
        options.append(st.just(("list as map", {str(index): item for index, item in enumerate(original)})))
    return st.one_of(*options)


def _mutate(data: st.DataObject, root: dict[str, Any]) -> str:
    """Change one node somewhere under `root` (in place); returns a description."""
    parent: Any = root
    path: list[str] = []
    while True:
        keys = list(parent) if isinstance(parent, dict) else list(range(len(parent)))
        if not keys:
            break
        key = data.draw(st.sampled_from(keys), label="key")
        path.append(str(key))
        child = parent[key]
        descend = isinstance(child, dict | list) and child and data.draw(st.booleans(), label="deeper")
        if not descend:
            break
        parent = child
    if not path:
        return "nothing (empty root)"
    where = ".".join(path)
    if isinstance(parent, dict) and data.draw(st.integers(0, 4), label="remove?") == 0:
        del parent[key]
        return f"removed {where}"
    how, value = data.draw(_replacement(parent[key]), label="replacement")
    parent[key] = value
    return f"{how} at {where}"


@st.composite
def cases(draw: st.DrawFn, kinds: tuple[str, ...] = CASE_KINDS) -> Case:
    """A message of one of `kinds` with one to three values changed (mostly in the payload)."""
    kind = draw(st.sampled_from(kinds), label="kind")
    base = draw(st.sampled_from(_bases(kind)), label="base")
    data = draw(st.data())
    profile = orjson.loads(base["payload"])
    message = {key: copy.deepcopy(value) for key, value in base.items() if key != "payload"}
    mutations = []
    for _ in range(draw(st.integers(1, 3), label="mutations")):
        if draw(st.integers(0, 9), label="envelope?") == 0:
            mutations.append("envelope: " + _mutate(data, message))
        else:
            mutations.append(_mutate(data, profile))
    # The standard library writes what orjson refuses (integers beyond 64 bits), as an SDK could.
    message["payload"] = json.dumps(profile, ensure_ascii=False).encode("utf-8", "surrogatepass")
    try:
        raw = msgpack.packb(message)
    except (OverflowError, ValueError, TypeError):
        assume(False)  # msgpack cannot carry it, so no ingest message can
    return Case(kind, kind_format(kind), raw, tuple(mutations))


def fuzz_context(root: Path, reference: Path) -> Any:
    """The context of the cases: embedded symbolication over a symbol store written under `root`, embedded
    vroom into a bucket there, unsampled profiles processed, the reference data (stack-trace rules) given."""
    from datetime import date

    from profile_pipeline.adapters.reference import load_reference
    from profile_pipeline.config import JobConfig, SentryOptions, SymbolicationConfig, VroomConfig
    from profile_pipeline.stages.context import StageContext
    from synthetic.symbols import write_symbol_store

    write_symbol_store(str(root / "symbols"))
    config = JobConfig(
        batch_profiles=4,
        symbolication=SymbolicationConfig(symbols=str(root / "symbols")),
        vroom=VroomConfig(profiles_bucket=str(root / "bucket")),
        options=SentryOptions(unsampled_profiles_enabled=True),
    )
    return StageContext(config, load_reference(str(reference)), "fuzz", date(2026, 11, 24))


@dataclass(frozen=True)
class Verdict:
    """What the partition function made of a case: an escape (it raised, or lost or doubled a message)."""

    escape: str | None
    unexpected: tuple[str, ...]  # `kind: message` of each message the fence caught (quarantined as unexpected)


def run_case(case: Case, ctx: Any) -> Verdict:
    """The case's message and a clean message of its kind after it, through the whole partition function."""
    from profile_pipeline.spark.partition import staged_batches

    clean = msgpack.packb(_bases(case.kind)[0])
    content = case.raw + clean
    expected = {0: 1, len(case.raw): 1}
    places: dict[int, int] = {}
    unexpected: list[str] = []
    try:
        for batch in staged_batches([("fuzz/object", len(content), content)], ctx):
            for table in ("profiles", "quarantine", "dropped"):
                column = batch.column(table)
                for row in column.filter(column.is_valid()).to_pylist():
                    places[row["source_offset"]] = places.get(row["source_offset"], 0) + 1
                    if table == "quarantine" and row["unexpected"]:
                        unexpected.append(f"{row['error_kind']}: {row['error_message'][:200]}")
    except BaseException as error:
        return Verdict(f"raised {type(error).__name__}: {str(error)[:300]}", tuple(unexpected))
    if places != expected:
        return Verdict(f"messages placed {places}, expected {expected}", tuple(unexpected))
    return Verdict(None, tuple(unexpected))
