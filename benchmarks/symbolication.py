"""Symbolication at partition scale: requests per 1,000 profiles and the cost of symbolicating.

Generates cocoa (Mach-O) and rust (ELF) sample profiles of a few releases, 200-2,000 frames each,
with images loaded at a different address in every profile and frame addresses inside the fixture
debug files, and processes them in batches as a partition would:

* Symbolicator mode against a local Symbolicator speaking the real protocol (answers from the
  embedded backend): requests per 1,000 profiles (target <= 20; one request per profile and pass,
  as Sentry sends, is >= 1,000);
* embedded mode: throughput (profiles/s) of decode + symbolicate + encode against decode + encode
  alone (target ratio >= 0.5).

    .venv/bin/python benchmarks/symbolication.py [--profiles 10000] [--batch 500]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
import symbolic

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from servers.symbol_profiles import (  # noqa: E402
    CRASH_ID,
    FIXTURES,
    LINUX_CODE_ID,
    LINUX_DEBUG_ID,
    build_store,
)
from servers.symbolicator import SymbolicatorServer  # noqa: E402

from transforms.config import SymbolicationConfig  # noqa: E402
from transforms.symbolication import symbolicate_profiles, symbolication_summary  # noqa: E402
from transforms.symbolication.embedded import EmbeddedBackend  # noqa: E402
from transforms.symbolication.symbolicator_client import SymbolicatorBackend  # noqa: E402

RELEASES = ("app@1.0", "app@1.1", "app@2.0")


def resolvable_offsets(path: Path, limit: int = 0x30000) -> list[int]:
    """Module-relative addresses that the debug file resolves to a function."""
    archive = symbolic.Archive.open(str(path))
    symcache = next(archive.iter_objects()).make_symcache()
    return [offset for offset in range(0x1000, limit, 2) if symcache.lookup(offset)]


def make_payloads(count: int, seed: int = 7) -> list[bytes]:
    rng = random.Random(seed)
    pools = {
        "cocoa": resolvable_offsets(FIXTURES / "debug-files" / "crash-macos.dwarf"),
        "rust": resolvable_offsets(FIXTURES / "debug-files" / "crash-linux.debug"),
    }
    release_pools = {
        (platform, release): rng.sample(pool, min(400, len(pool)))
        for platform, pool in pools.items()
        for release in RELEASES
    }
    payloads = []
    for number in range(count):
        platform = "cocoa" if number % 2 else "rust"
        release = RELEASES[number % len(RELEASES)]
        base = 0x100000000 + rng.randrange(1, 1 << 16) * 0x100000
        if platform == "cocoa":
            image = {"type": "macho", "code_file": "/private/var/App.app/App", "debug_id": CRASH_ID}
        else:
            image = {"type": "elf", "code_file": "/usr/bin/app", "debug_id": LINUX_DEBUG_ID, "code_id": LINUX_CODE_ID}
        image.update(image_addr=hex(base), image_size=0x100000)
        pool = release_pools[(platform, release)]
        frame_count = rng.randint(200, 2000)
        frames = [{"instruction_addr": hex(base + rng.choice(pool))} for _ in range(frame_count)]
        stacks = []
        for _ in range(max(1, frame_count // 20)):
            depth = rng.randint(5, 40)
            stacks.append([rng.randrange(frame_count) for _ in range(depth)])
        samples = [
            {"stack_id": rng.randrange(len(stacks)), "thread_id": 1, "elapsed_since_start_ns": i * 10_000_000}
            for i in range(len(stacks) * 3)
        ]
        profile = {
            "version": "1",
            "platform": platform,
            "event_id": f"{number:032x}",
            "release": release,
            "debug_meta": {"images": [image]},
            "profile": {"frames": frames, "stacks": stacks, "samples": samples},
        }
        payloads.append(orjson.dumps(profile))
    return payloads


def process(payloads: list[bytes], batch: int, backend: Any | None) -> tuple[float, int, int]:
    """(seconds, frames total, frames symbolicated) to decode, symbolicate and encode every batch."""
    started = time.perf_counter()
    total = symbolicated = 0
    for start in range(0, len(payloads), batch):
        profiles = [orjson.loads(payload) for payload in payloads[start : start + batch]]
        if backend is not None:
            errors = symbolicate_profiles([(profile, 1) for profile in profiles], lambda _: backend)
            assert not any(errors), errors
            for profile in profiles:
                frames, done = symbolication_summary(profile)
                total, symbolicated = total + frames, symbolicated + done
        for profile in profiles:
            orjson.dumps(profile)
    return time.perf_counter() - started, total, symbolicated


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--profiles", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    payloads = make_payloads(args.profiles)
    frames = sum(len(orjson.loads(p)["profile"]["frames"]) for p in payloads[:200]) / min(200, len(payloads))
    print(
        f"{len(payloads)} profiles (cocoa and rust, {len(RELEASES)} releases), "
        f"~{frames:.0f} frames each, batches of {args.batch}"
    )
    with tempfile.TemporaryDirectory() as directory:
        store = build_store(Path(directory))
        baseline, _, _ = process(payloads, args.batch, None)
        embedded, total, symbolicated = process(payloads, args.batch, EmbeddedBackend(store, 64, 1 << 30))
        print(f"embedded: {total} frames, {symbolicated} symbolicated ({symbolicated / max(total, 1):.1%})")
        print(f"throughput without symbolication: {len(payloads) / baseline:,.0f} profiles/s")
        print(f"throughput with embedded symbolication: {len(payloads) / embedded:,.0f} profiles/s")
        print(f"ratio with/without: {baseline / embedded:.2f} (target >= 0.5)")
        with SymbolicatorServer(store) as server:
            config = SymbolicationConfig(mode="symbolicator", symbolicator_url=server.url)
            remote, _, _ = process(payloads, args.batch, SymbolicatorBackend(config, 1))
            creates = len(server.creates())
        per_thousand = creates * 1000 / len(payloads)
        print(f"symbolicator mode: {creates} requests, {len(payloads)} profiles: {per_thousand:.1f} per 1,000 profiles")
        print("  (target <= 20; one request per profile and pass, as Sentry sends: >= 1,000)")
        print(f"throughput in symbolicator mode: {len(payloads) / remote:,.0f} profiles/s")


if __name__ == "__main__":
    main()
