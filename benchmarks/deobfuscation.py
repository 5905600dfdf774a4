"""Deobfuscation at partition scale: Android profiles sharing a few ProGuard mappings, in batches.

Generates Android profiles (legacy and chunks) whose method tables mix classes of the fixture
mappings with framework classes, 100-400 methods each, spread over the fixture mappings, and runs the
deobfuscation stage over them in batches as a partition does (embedded mode, one worker). Reported:
profiles per second, requests per batch, and how often each mapping was parsed (target: once per worker).

    .venv/bin/python benchmarks/deobfuscation.py [--profiles 5000] [--batch 500]
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from profile_pipeline.adapters.reference import ReferenceData  # noqa: E402
from profile_pipeline.adapters.symbol_store import object_uri  # noqa: E402
from profile_pipeline.adapters.symbolicator.mappings import mapping_cache  # noqa: E402
from profile_pipeline.config import JobConfig, SymbolicationConfig, VroomConfig  # noqa: E402
from profile_pipeline.formats import detect_format  # noqa: E402
from profile_pipeline.stages.context import StageContext  # noqa: E402
from profile_pipeline.stages.deobfuscation import deobfuscate_batch  # noqa: E402
from profile_pipeline.work import ProfileWork, Source  # noqa: E402

MAPPINGS = {
    "a48ca62b-df26-544e-a8b9-2a5ce210d1d5": ROOT / "fixtures" / "proguard" / "sample-app.txt",
    "d748e578-b3d1-5be5-b0e5-a42e8c9bf8e0": ROOT / "fixtures" / "proguard" / "resolving-inline.txt",
    "df272ecb-c8b6-53f3-9803-fdd0d9342ebd": ROOT / "fixtures" / "proguard" / "remap-exception.txt",
}
APP_METHODS = [
    ("io.sentry.sample.MainActivity", "a", "(Landroid/view/View;)V", 1),
    ("io.sentry.sample.MainActivity", "t", "()V", 1),
    ("e.a.c.a", "onClick", "(Landroid/view/View;)V", 2),
    ("org.a.b.g$a", "a", "()[Ljava/lang/Class;", 67),
    ("org.a.b.g$b", "<init>", "()V", 65),
]
FRAMEWORK = ["android.app.Activity", "android.view.View", "java.lang.Thread", "androidx.core.Foo", "kotlin.Bar"]


def build_store(directory: Path) -> str:
    for mapping_uuid, path in MAPPINGS.items():
        target = Path(object_uri(str(directory), mapping_uuid, "proguard"))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    return str(directory)


def android_profile(rng: random.Random, number: int) -> dict[str, Any]:
    methods = []
    for index in range(rng.randint(100, 400)):
        if rng.random() < 0.3:
            class_name, name, signature, line = rng.choice(APP_METHODS)
        else:
            class_name = rng.choice(FRAMEWORK)
            name, signature, line = f"m{rng.randint(0, 60)}", "(ILjava/lang/String;)V", rng.randint(1, 500)
        methods.append(
            {"id": index, "class_name": class_name, "name": name, "signature": signature, "source_line": line}
        )
    build_id = rng.choice(list(MAPPINGS))
    profile: dict[str, Any] = {
        "platform": "android",
        "organization_id": 1,
        "project_id": 2 + number % 3,
        "build_id": build_id,
        "debug_meta": {"images": [{"type": "proguard", "uuid": build_id}]},
        "transaction_metadata": {"app.identifier": "io.sentry.sample"},
        "profile": {
            "clock": "Dual",
            "start_time": 1,
            "threads": [{"id": 1, "name": "main"}],
            "methods": methods,
            "events": [],
        },
    }
    if number % 4:
        profile["profile_id"] = uuid.uuid4().hex
    else:
        profile.update(chunk_id=uuid.uuid4().hex, profiler_id=uuid.uuid4().hex)
    return profile


def work_of(profile: dict[str, Any]) -> ProfileWork:
    message = {"organization_id": 1, "project_id": profile["project_id"], "payload": b""}
    return ProfileWork(Source("memory://bench", 0, 0), b"", message, profile, detect_format(profile), True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()

    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as directory:
        store = build_store(Path(directory))
        profiles = [android_profile(rng, number) for number in range(args.profiles)]
        methods = sum(len(p["profile"]["methods"]) for p in profiles)
        config = JobConfig(symbolication=SymbolicationConfig(symbols=store), vroom=VroomConfig(mode="off"))
        ctx = StageContext(config=config, reference=ReferenceData(), run_id="bench", day=date(2026, 11, 24))
        works = [work_of(profile) for profile in profiles]

        started = time.perf_counter()
        for start in range(0, len(works), args.batch):
            deobfuscate_batch(works[start : start + args.batch], ctx)
        elapsed = time.perf_counter() - started

    failed = sum(1 for work in works if not work.ok)
    remapped = sum(
        1 for p in profiles for m in p["profile"]["methods"] if m.get("data", {}).get("deobfuscation_status")
    )
    loads = mapping_cache().loads
    print(f"profiles: {len(profiles)} ({methods} methods) in batches of {args.batch}; failed: {failed}")
    print(
        f"deobfuscation: {elapsed:.2f} s, {len(profiles) / elapsed:,.0f} profiles/s, {methods / elapsed:,.0f} methods/s"
    )
    print(f"methods answered by the mapping service: {remapped}")
    print(f"mapping loads per worker: {dict(sorted((str(key[1]), count) for key, count in loads.items()))}")
    once = all(count == 1 for count in loads.values()) and len(loads) == len(MAPPINGS)
    print(f"each mapping parsed at most once: {once}")


if __name__ == "__main__":
    main()
