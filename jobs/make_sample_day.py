"""Write the bundled sample day and its symbol store.

    python jobs/make_sample_day.py --root sample-data --date 2026-11-24 [--profiles 200]

Lays out, under ROOT:
* `input/dt=DATE/part-*.msgpack[.gz|.zst]`: generated profiles of every format, the real ingest message,
  unsampled messages and bad records (the input of `conf/local.toml`);
* `symbols/`: the shipped debug files, ProGuard mappings and source map, sorted by the store tool, the
  source map once per release the generated JavaScript profiles name;
* `manifest-DATE.json`: what the day holds, for checking a run's accounting.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from synthetic.day import write_day
from synthetic.symbols import write_symbol_store


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default="sample-data", help="directory to write (default: sample-data)")
    parser.add_argument("--date", required=True, help="the day, YYYY-MM-DD")
    parser.add_argument("--profiles", type=int, default=200, help="generated good profiles (default: 200)")
    parser.add_argument("--objects", type=int, default=4, help="objects the profiles are spread over (default: 4)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--compression", choices=("none", "gz", "zst"), default="none")
    parser.add_argument("--target-bytes", type=int, default=100_000, help="JSON size of a profile")
    parser.add_argument(
        "--legacy-profiles",
        type=int,
        default=2,
        help="profiles of the dead legacy sampled_profile format, which fail the vroom stage (default: 2)",
    )
    args = parser.parse_args(argv)

    root = Path(args.root)
    day_directory = root / "input" / f"dt={args.date}"
    shutil.rmtree(day_directory, ignore_errors=True)  # a re-run replaces the day, never adds to it
    started = time.monotonic()
    manifest = write_day(
        root / "input",
        args.date,
        profiles=args.profiles,
        objects=args.objects,
        seed=args.seed,
        compression=None if args.compression == "none" else args.compression,
        target_bytes=args.target_bytes,
        legacy_profiles=args.legacy_profiles,
    )
    placed = write_symbol_store(str(root / "symbols"))
    manifest_path = root / f"manifest-{args.date}.json"
    manifest_path.write_text(json.dumps(manifest.to_dict(), indent=2, sort_keys=True) + "\n")
    print(
        f"{day_directory}: {len(manifest.objects)} objects, {manifest.profiles} profiles "
        f"({manifest.unsampled} unsampled), {sum(manifest.quarantine.values())} bad records, "
        f"{manifest.object_bytes / 1e6:.1f} MB in {time.monotonic() - started:.1f} s"
    )
    print(f"{root / 'symbols'}: {placed} files; manifest {manifest_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
