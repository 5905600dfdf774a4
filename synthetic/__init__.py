"""Synthetic input for tests, benchmarks and the bundled sample day.

* `profiles.generate(kind, rng, ProfileSpec(...))`: a payload of any format of SPEC Part II §3.1;
* `messages.ingest_message(...)`, `messages.pack_stream(...)`: ingest messages and msgpack streams;
* `bad.bad_messages/bad_tails/bad_objects(...)`: bad input with the quarantine kind it must get;
* `day.write_day(root, day, ...)`: a whole input day on disk and its `DayManifest`;
* `symbols.write_symbol_store(store)`: the fixtures sorted into a symbol store the profiles resolve against.
"""

from synthetic.bad import BadRecord, bad_messages, bad_objects, bad_tails
from synthetic.day import DayManifest, write_day
from synthetic.messages import ingest_message, pack_stream
from synthetic.profiles import KINDS, ProfileSpec, generate
from synthetic.symbols import write_symbol_store

__all__ = [
    "KINDS",
    "BadRecord",
    "DayManifest",
    "ProfileSpec",
    "bad_messages",
    "bad_objects",
    "bad_tails",
    "generate",
    "ingest_message",
    "pack_stream",
    "write_day",
    "write_symbol_store",
]
